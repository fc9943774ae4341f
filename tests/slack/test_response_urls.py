"""Response URLs: Slack's hooks origin or SLACK_API_URL's own only; one kept-alive connection.

The posting tests run twice: through an httpx client (tests, and a process behind an HTTP proxy)
and through the urllib3 pools the web process uses (their failures: test_http_pool.py).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.slack.http_pool import RESENDS
from bot.slack.response_urls import (
    Origin,
    Poster,
    ResponseUrls,
    allowed_origins,
    make_response_http,
    make_response_http_client,
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

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.connections = 0
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.tls = tls
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
                receiver.paths.append(self.path)
                receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                status = 404 if self.path.endswith("/gone") else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        super().__init__(("127.0.0.1", 0), Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True)
        return sock, address

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}"


def _serve(server: _Receiver) -> Iterator[_Receiver]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    yield from _serve(_Receiver())


@pytest.fixture(params=["httpx client", "pools"])
def http(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Poster]:
    """Either way of posting: one httpx client, or the web process's urllib3 pools."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    client = make_response_http_client() if request.param == "httpx client" else (
        make_response_http()
    )
    yield client
    client.close()


def test_answers_share_one_kept_alive_connection(
    receiver: _Receiver, http: Poster
) -> None:
    urls = ResponseUrls(http, allowed_origins(receiver.url + "/api/"))
    for i in range(5):
        assert urls.post(f"{receiver.url}/response/{i}", {"text": str(i)})
    assert [b["text"] for b in receiver.bodies] == ["0", "1", "2", "3", "4"]
    assert receiver.paths == [f"/response/{i}" for i in range(5)]
    assert {h["content-type"] for h in receiver.headers} == {"application/json"}
    assert receiver.connections == 1


def test_the_body_is_compact_utf8_json_and_the_target_keeps_its_query(
    receiver: _Receiver, http: Poster
) -> None:
    urls = ResponseUrls(http, allowed_origins(receiver.url + "/api/"))
    body = {"text": "Größe ✓", "blocks": [{"type": "divider"}]}
    assert urls.post(f"{receiver.url}/response/a%2Fb?x=1&y=2#frag", body)
    assert receiver.bodies == [body]
    assert receiver.paths == ["/response/a%2Fb?x=1&y=2"]
    expected = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert receiver.headers[0]["content-length"] == str(len(expected))


def test_a_non_ascii_path_goes_out_percent_encoded(
    receiver: _Receiver, http: Poster
) -> None:
    urls = ResponseUrls(http, allowed_origins(receiver.url + "/api/"))
    assert urls.post(f"{receiver.url}/response/ä b", {"text": "x"})
    assert receiver.paths == ["/response/%C3%A4%20b"]


def test_a_foreign_origin_is_dropped_with_a_warning_and_nothing_sent(
    receiver: _Receiver, http: Poster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    urls = ResponseUrls(http, allowed_origins("https://slack.com/api/"))
    assert not urls.post(f"{receiver.url}/response/secret-token", {"text": "x"})
    assert receiver.bodies == []
    warning = caplog.records[-1]
    assert warning.levelno == logging.WARNING
    assert "response_url outside" in warning.getMessage()
    assert "secret-token" not in warning.getMessage()


def test_a_refusing_or_unreachable_url_is_one_warning(
    receiver: _Receiver, http: Poster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    urls = ResponseUrls(http, allowed_origins(receiver.url + "/api/"))
    assert not urls.post(f"{receiver.url}/gone", {"text": "x"})
    assert "HTTP 404" in caplog.records[-1].getMessage()
    closed = f"http://127.0.0.1:{free_port()}"
    urls = ResponseUrls(http, allowed_origins(closed + "/api/"))
    caplog.clear()
    assert not urls.post(f"{closed}/response/x", {"text": "x"})
    refused = "ConnectError" if isinstance(http, httpx.Client) else (
        f"ConnectionRefusedError connecting, {RESENDS + 1} tries"
    )
    assert [r.getMessage() for r in caplog.records] == [f"response_url post failed: {refused}"]
