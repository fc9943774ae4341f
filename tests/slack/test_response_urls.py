"""Response URLs: Slack's hooks origin or SLACK_API_URL's own only; one kept-alive connection."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.slack.response_urls import (
    Origin,
    ResponseUrls,
    allowed_origins,
    make_response_http_client,
    make_response_http_clients,
)
from tests.e2e.conftest import free_port


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.slack.com/commands/T1/2/abc", True),
        ("https://HOOKS.slack.com:443/actions/T1/2/abc", True),
        ("http://hooks.slack.com/commands/T1/2/abc", False),
        ("https://hooks.slack.com:8443/commands/T1/2/abc", False),
        ("https://hooks.slack.com.evil.example/commands", False),
        ("https://evil.example/?https://hooks.slack.com/", False),
        ("https://user:pw@hooks.slack.com/commands", False),
        ("https://slack.com/api/", False),
        ("//hooks.slack.com/commands", False),
        ("file:///etc/passwd", False),
        ("https://hooks.slack.com:99999/x", False),
        ("", False),
    ],
)
def test_by_default_only_slacks_hooks_origin_is_allowed(url: str, allowed: bool) -> None:
    urls = ResponseUrls.from_settings(Settings(), httpx.Client())
    assert urls.allowed(url) is allowed


def test_an_overridden_slack_api_url_adds_its_own_origin_only() -> None:
    origins = allowed_origins("http://127.0.0.1:8123/api/")
    urls = ResponseUrls(httpx.Client(), origins)
    assert urls.allowed("http://127.0.0.1:8123/response/x")
    assert urls.allowed("https://hooks.slack.com/commands/x")
    assert not urls.allowed("http://127.0.0.1:8124/response/x")
    assert not urls.allowed("https://127.0.0.1:8123/response/x")
    assert not urls.allowed("http://localhost:8123/response/x")


def test_origin_parsing() -> None:
    assert Origin.of("https://hooks.slack.com/x") == Origin("https", "hooks.slack.com", 443)
    assert Origin.of("http://a:8/x") == Origin("http", "a", 8)
    assert Origin.of("ftp://a/x") is None


class _Receiver(ThreadingHTTPServer):
    """An HTTP/1.1 receiver that counts the connections it accepted."""

    daemon_threads = True

    def __init__(self) -> None:
        self.connections = 0
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                receiver.connections += 1

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                status = 404 if self.path.endswith("/gone") else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_answers_share_one_kept_alive_connection(receiver: _Receiver) -> None:
    with make_response_http_client() as http:
        urls = ResponseUrls(http, allowed_origins(receiver.url + "/api/"))
        for i in range(5):
            assert urls.post(f"{receiver.url}/response/{i}", {"text": str(i)})
    assert [b["text"] for b in receiver.bodies] == ["0", "1", "2", "3", "4"]
    assert receiver.connections == 1


def test_a_foreign_origin_is_dropped_with_a_warning_and_nothing_sent(
    receiver: _Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    with make_response_http_client() as http:
        urls = ResponseUrls(http, allowed_origins("https://slack.com/api/"))
        assert not urls.post(f"{receiver.url}/response/secret-token", {"text": "x"})
    assert receiver.bodies == []
    warning = caplog.records[-1]
    assert warning.levelno == logging.WARNING
    assert "response_url outside" in warning.getMessage()
    assert "secret-token" not in warning.getMessage()


def test_a_refusing_or_unreachable_url_is_one_warning(
    receiver: _Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    with make_response_http_client() as http:
        urls = ResponseUrls(http, allowed_origins(receiver.url + "/api/"))
        assert not urls.post(f"{receiver.url}/gone", {"text": "x"})
        assert "HTTP 404" in caplog.records[-1].getMessage()
        closed = f"http://127.0.0.1:{free_port()}"
        urls = ResponseUrls(http, allowed_origins(closed + "/api/"))
        assert not urls.post(f"{closed}/response/x", {"text": "x"})
        assert "failed" in caplog.records[-1].getMessage()


def test_each_posting_thread_keeps_its_own_connection(receiver: _Receiver) -> None:
    clients = make_response_http_clients()
    urls = ResponseUrls(clients, allowed_origins(receiver.url + "/api/"))
    start = threading.Barrier(3)

    def post_three(name: str) -> None:
        start.wait()
        for i in range(3):
            assert urls.post(f"{receiver.url}/response/{name}{i}", {"text": f"{name}{i}"})

    threads = [threading.Thread(target=post_three, args=(n,)) for n in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    clients.close()
    assert sorted(b["text"] for b in receiver.bodies) == sorted(f"{n}{i}" for n in "abc"
                                                                for i in range(3))
    assert receiver.connections == 3  # one per thread, kept alive across its three answers


def test_closed_thread_clients_open_no_new_connection(receiver: _Receiver) -> None:
    clients = make_response_http_clients()
    first = clients.get()
    assert clients.get() is first
    clients.close()
    assert first.is_closed
    with pytest.raises(RuntimeError):
        clients.get()
    other: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(clients.get, other))
    thread.start()
    thread.join()
    assert isinstance(other[0], RuntimeError)


def _capture(call: Any, errors: list[BaseException]) -> None:
    try:
        call()
    except BaseException as exc:
        errors.append(exc)
