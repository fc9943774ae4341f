"""Answers and Web API calls on urllib3's pools, against a real HTTP/1.1 server on loopback
that fails as servers and load balancers do: what is sent again arrives, what may have
arrived is not sent twice, and every failure ends in one clear log line. Default settings
throughout (retries, back-off, timeouts), except the idle expiry's clock and the read timeout
of the one test that waits for it.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import trustme

from bot.config import Secret, Settings
from bot.slack.http_pool import RESENDS, Pools, make_pool_manager
from bot.slack.response_urls import ResponseUrls, allowed_origins, make_response_http
from bot.slack.webclient import make_web_client
from tests.e2e.conftest import free_port
from tests.waiting import wait_for

IDLE = RESENDS + 3  # more stale connections than the budget for connections not made


def _reset(sock: socket.socket) -> None:
    """Close with an RST, as a load balancer drops a connection it no longer knows."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Server(ThreadingHTTPServer):
    """Answers `{"ok": true}`; each counter below makes the next so many of its kind fail."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None, idle_timeout: float | None = None):
        self.tls = tls
        self.lock = threading.Lock()
        self.accepted = 0
        self.open = 0
        self.read: list[bytes] = []  # every request body the server read
        self.answered: list[bytes] = []  # those it answered
        self.reset_handshakes = 0  # connections reset before the TLS handshake
        self.reset_reused = 0  # posts on a kept-alive connection: read, then reset
        self.reset_any = 0  # posts on any connection: read, then reset
        self.reset_after_reply = 0  # connections reset once `reset_now` is set after a reply
        self.reset_now = threading.Event()
        self.hang = 0  # posts read and never answered (until `reset_now`)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = idle_timeout  # a connection idle this long is closed (FIN)
            requests = 0

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.requests += 1
                with server.lock:
                    server.read.append(body)
                if server.take("hang"):
                    server.reset_now.wait(timeout=30)
                    self.close_connection = True
                    return
                if (self.requests > 1 and server.take("reset_reused")) or server.take(
                    "reset_any"
                ):
                    self.close_connection = True
                    _reset(self.connection)
                    return
                with server.lock:  # before the reply: the client may look at once
                    server.answered.append(body)
                reply = b'{"ok":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                if server.take("reset_after_reply"):
                    server.reset_now.wait(timeout=30)
                    self.close_connection = True
                    _reset(self.connection)

        super().__init__(("127.0.0.1", 0), Handler)

    def take(self, counter: str) -> bool:
        with self.lock:
            left = int(getattr(self, counter))
            if left > 0:
                setattr(self, counter, left - 1)
            return left > 0

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.accepted += 1
        if self.tls is not None and self.take("reset_handshakes"):
            _reset(request)
            return
        super().process_request(request, client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.open += 1
        try:
            if self.tls is not None:
                request = self.tls.wrap_socket(request, server_side=True)
            super().finish_request(request, client_address)
        except OSError:
            pass  # a refused certificate, a reset
        finally:
            with self.lock:
                self.open -= 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        return

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server_address[1]}"


S = TypeVar("S", bound=ThreadingHTTPServer)


def _serve(server: S) -> Iterator[S]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def server() -> Iterator[_Server]:
    yield from _serve(_Server())


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def pools() -> Iterator[Pools]:
    made = make_response_http()
    assert isinstance(made, Pools)
    yield made
    made.close()


def _urls(pools: Pools, server: _Server) -> ResponseUrls:
    return ResponseUrls(pools, allowed_origins(server.url + "/api/"))


def _answer(urls: ResponseUrls, server: _Server, text: str) -> bool:
    return urls.post(f"{server.url}/commands/T1/1/secret-token", {"text": text})


def _texts(bodies: list[bytes]) -> list[str]:
    return [json.loads(b)["text"] for b in bodies]


def _idle(pools: Pools, server: _Server) -> list[Any]:
    pool = pools.connection_from_url(server.url)
    assert pool.pool is not None
    return [c for c in list(pool.pool.queue) if c is not None]


def _messages(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= level]


def test_answers_on_kept_alive_connections_a_load_balancer_resets_all_arrive(
    server: _Server, pools: Pools, caplog: pytest.LogCaptureFixture
) -> None:
    """The load balancer forgot each idle connection: it reads the next post, then resets."""
    caplog.set_level(logging.INFO, logger="bot.slack.http_pool")
    urls = _urls(pools, server)
    assert _answer(urls, server, "first")
    server.reset_reused = 3
    assert [_answer(urls, server, f"a{i}") for i in range(3)] == [True] * 3
    assert _texts(server.answered) == ["first", "a0", "a1", "a2"]  # each once
    assert server.accepted == 4  # each reset connection replaced by one new one
    assert _messages(caplog) == []
    resent = [m for m in _messages(caplog, logging.INFO) if m.startswith("sending again")]
    assert resent == ["sending again after ConnectionResetError on a kept-alive connection"] * 3
    assert not any("secret-token" in r.getMessage() for r in caplog.records)


def test_thirty_answer_threads_at_once_against_a_standard_library_server_lose_nothing(
    server: _Server, pools: Pools, caplog: pytest.LogCaptureFixture
) -> None:
    """The Slack stand-in of the report: http.server, kept alive, its default backlog of 5."""
    urls = _urls(pools, server)
    start = threading.Barrier(30)
    delivered: list[bool] = []

    def three(name: int) -> None:
        start.wait()
        delivered.extend(_answer(urls, server, f"{name}.{i}") for i in range(3))

    threads = [threading.Thread(target=three, args=(n,)) for n in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert delivered == [True] * 90
    expected = sorted(f"{n}.{i}" for n in range(30) for i in range(3))
    assert sorted(_texts(server.answered)) == expected
    assert _messages(caplog) == []


def test_an_answer_gets_through_after_every_idle_connection_was_forgotten(
    server: _Server, pools: Pools, caplog: pytest.LogCaptureFixture
) -> None:
    urls = _urls(pools, server)
    pool = pools.connection_from_url(server.url)
    held = [  # answers in flight at once: that many connections, then all idle
        pool.urlopen("POST", "/warm", body=b'{"text":"warm"}', preload_content=False)
        for _ in range(IDLE)
    ]
    for response in held:
        response.read()
        response.release_conn()
    assert len(_idle(pools, server)) == IDLE
    server.reset_reused = IDLE  # a load balancer forgot every idle connection
    assert _answer(urls, server, "late")
    assert _texts(server.answered) == ["warm"] * IDLE + ["late"]
    assert server.accepted == IDLE + 1
    assert _messages(caplog) == []


def test_a_post_read_and_reset_on_a_new_connection_is_not_sent_twice(
    server: _Server, pools: Pools, caplog: pytest.LogCaptureFixture
) -> None:
    """The server may have acted on it: one copy read, one warning that says so."""
    urls = _urls(pools, server)
    server.reset_any = 1
    assert not _answer(urls, server, "maybe")
    assert (_texts(server.read), server.answered) == (["maybe"], [])
    assert _messages(caplog) == [
        "response_url post failed: ConnectionResetError on a new connection "
        "(not sent again: it may have arrived)"
    ]
    assert _answer(urls, server, "next")  # and the next answer is not held up


def test_a_stale_connection_then_a_reset_on_the_new_one_is_sent_once_more_only(
    server: _Server, pools: Pools, caplog: pytest.LogCaptureFixture
) -> None:
    urls = _urls(pools, server)
    assert _answer(urls, server, "first")
    server.reset_any = 5
    assert not _answer(urls, server, "x")
    assert _texts(server.read) == ["first", "x", "x"]
    assert _messages(caplog) == [
        "response_url post failed: ConnectionResetError on a new connection "
        "(not sent again: it may have arrived)"
    ]


@pytest.fixture
def impatient() -> Iterator[_Server]:
    yield from _serve(_Server(idle_timeout=0.2))


def test_an_idle_connection_the_server_closed_is_replaced_before_use(
    impatient: _Server, pools: Pools, caplog: pytest.LogCaptureFixture
) -> None:
    urls = _urls(pools, impatient)
    assert _answer(urls, impatient, "a")
    wait_for(lambda: impatient.open == 0)  # it closed the idle connection
    wait_for(lambda: not any(c.is_connected for c in _idle(pools, impatient)))
    assert _answer(urls, impatient, "b")
    assert (_texts(impatient.read), impatient.accepted) == (["a", "b"], 2)
    assert _messages(caplog) == []


def test_an_idle_connection_reset_before_the_next_request_is_replaced(
    server: _Server, pools: Pools, caplog: pytest.LogCaptureFixture
) -> None:
    urls = _urls(pools, server)
    server.reset_after_reply = 1
    assert _answer(urls, server, "a")
    server.reset_now.set()
    wait_for(lambda: server.open == 0)
    wait_for(lambda: not any(c.is_connected for c in _idle(pools, server)))
    assert _answer(urls, server, "b")
    assert (_texts(server.read), server.accepted) == (["a", "b"], 2)
    assert _messages(caplog) == []


def test_a_post_without_a_reply_in_time_is_not_sent_twice(
    server: _Server, caplog: pytest.LogCaptureFixture
) -> None:
    pools = make_pool_manager(ssl.create_default_context(), read_seconds=0.5)
    urls = _urls(pools, server)
    server.hang = 1
    assert not _answer(urls, server, "slow")
    server.reset_now.set()
    assert (_texts(server.read), server.answered) == (["slow"], [])
    assert _messages(caplog) == [
        "response_url post failed: ReadTimeoutError (not sent again: it may have arrived)"
    ]
    pools.close()


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_connection_idle_past_the_expiry_is_not_reused(server: _Server) -> None:
    clock = _Clock()
    pools = make_pool_manager(ssl.create_default_context(), idle_expiry=5.0, clock=clock)
    urls = _urls(pools, server)
    assert _answer(urls, server, "a")
    clock.now += 4.9
    assert _answer(urls, server, "b")
    assert server.accepted == 1
    clock.now += 5.1
    assert _answer(urls, server, "c")
    assert server.accepted == 2
    pools.close()


def test_a_refused_connection_is_tried_again_then_one_warning(
    pools: Pools, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    urls = ResponseUrls(pools, allowed_origins(closed + "/api/"))
    assert not urls.post(f"{closed}/commands/x", {"text": "x"})
    assert _messages(caplog) == [
        f"response_url post failed: ConnectionRefusedError connecting, {RESENDS + 1} tries"
    ]


@pytest.fixture
def local_ca(tmp_path: Path) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ca, ca_file


@pytest.fixture
def tls_server(local_ca: tuple[trustme.CA, Path]) -> Iterator[_Server]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    local_ca[0].issue_cert("127.0.0.1").configure_cert(context)
    yield from _serve(_Server(tls=context))


@pytest.fixture
def tls_pools(
    local_ca: tuple[trustme.CA, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pools]:
    monkeypatch.setenv("SSL_CERT_FILE", str(local_ca[1]))
    made = make_response_http()
    assert isinstance(made, Pools)
    yield made
    made.close()


def test_handshakes_reset_within_the_budget_still_deliver_the_answer(
    tls_server: _Server, tls_pools: Pools, caplog: pytest.LogCaptureFixture
) -> None:
    urls = _urls(tls_pools, tls_server)
    tls_server.reset_handshakes = RESENDS
    assert _answer(urls, tls_server, "a")
    assert _texts(tls_server.answered) == ["a"]
    assert tls_server.accepted == RESENDS + 1
    assert _messages(caplog) == []


def test_handshakes_reset_past_the_budget_end_in_one_warning(
    tls_server: _Server, tls_pools: Pools, caplog: pytest.LogCaptureFixture
) -> None:
    urls = _urls(tls_pools, tls_server)
    tls_server.reset_handshakes = RESENDS + 1
    assert not _answer(urls, tls_server, "a")
    assert tls_server.read == []
    [message] = _messages(caplog)
    assert re.fullmatch(
        rf"response_url post failed: (ConnectionResetError|SSLEOFError|SSLZeroReturnError)"
        rf" connecting, {RESENDS + 1} tries", message
    ), message
    assert _answer(urls, tls_server, "b")  # the server recovered


def test_https_answers_share_one_connection_and_trust_ssl_cert_file(
    tls_server: _Server, tls_pools: Pools
) -> None:
    urls = _urls(tls_pools, tls_server)
    assert _answer(urls, tls_server, "1")
    assert _answer(urls, tls_server, "2")
    assert (_texts(tls_server.answered), tls_server.accepted) == (["1", "2"], 1)


def test_an_untrusted_certificate_is_refused_once_and_nothing_sent(
    tls_server: _Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    pools = make_response_http()
    assert not _answer(_urls(pools, tls_server), tls_server, "1")  # type: ignore[arg-type]
    pools.close()
    assert (tls_server.read, tls_server.accepted) == ([], 1)  # not tried again
    assert _messages(caplog) == ["response_url post failed: SSLCertVerificationError"]


def test_threads_that_come_and_go_share_the_pool_and_leave_no_socket_open(
    server: _Server, pools: Pools
) -> None:
    urls = _urls(pools, server)
    for i in range(5):
        thread = threading.Thread(target=lambda i=i: _answer(urls, server, f"t{i}"))
        thread.start()
        thread.join()
    assert (len(server.answered), server.accepted) == (5, 1)
    start = threading.Barrier(4)

    def three() -> None:
        start.wait()
        for i in range(3):
            assert _answer(urls, server, f"c{i}")

    threads = [threading.Thread(target=three) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(server.answered) == 17
    assert server.accepted <= 5  # at most one per thread posting at the same time
    pools.close()
    wait_for(lambda: server.open == 0)  # closing the pools closed every idle connection


def test_closed_pools_open_no_new_connection(
    server: _Server, caplog: pytest.LogCaptureFixture
) -> None:
    pools = make_response_http()
    urls = _urls(pools, server)  # type: ignore[arg-type]
    assert _answer(urls, server, "1")
    pools.close()
    assert not _answer(urls, server, "2")
    assert server.accepted == 1
    assert _messages(caplog) == ["response_url post failed: ClosedPoolError"]


def test_web_api_calls_survive_a_reset_kept_alive_connection_without_slack_sdks_retry(
    server: _Server,
) -> None:
    settings = Settings(slack_api_url=server.url + "/api/", slack_bot_token=Secret("xoxb-t"))
    client = make_web_client(settings)
    client.retry_handlers = []  # only the pool's own resend is left
    assert client.auth_test()["ok"]
    server.reset_reused = 1
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert (len(server.read), len(server.answered)) == (3, 2)  # the reset one went again
    client.close()


def test_response_url_posts_never_follow_a_redirect(
    caplog: pytest.LogCaptureFixture, pools: Pools
) -> None:
    target = _Server()

    def redirect(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", target.url + "/elsewhere")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    for srv in _serve(_Redirecting(redirect)):
        for _ in _serve(target):
            urls = ResponseUrls(pools, allowed_origins(srv.url + "/api/"))
            assert not urls.post(f"{srv.url}/commands/x", {"text": "x"})
            assert target.read == []
    assert _messages(caplog) == ["response_url answered HTTP 302"]


class _Redirecting(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: Callable[[BaseHTTPRequestHandler], None]) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer(self)

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def test_a_proxy_in_the_environment_posts_through_httpx_which_honours_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    client = make_response_http()
    assert isinstance(client, httpx.Client)
    client.close()
