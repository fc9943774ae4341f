"""The WSGI app in-process: /healthz, and everything else handed to Bolt."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from slack_bolt import App
from slack_sdk import WebClient

import bot
from bot.web import WebApp
from tests.fakes.signing import SIGNING_SECRET, signed_headers, slash_command_body
from tests.fakes.slack_api import FakeSlack

SECRET_IN_ERROR = "xoxb-leaked-in-an-exception"


def call(
    app: WebApp, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> Any:
        seen["status"], seen["headers"] = status, dict(response_headers)

    out = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], out


@pytest.fixture(scope="module")
def bolt() -> Iterator[App]:
    # Bolt checks the token (auth.test) on a verified request's way in; FakeSlack answers.
    with FakeSlack() as slack:
        yield App(
            signing_secret=SIGNING_SECRET,
            client=WebClient(token="xoxb-test", base_url=slack.url),
            token_verification_enabled=False,
        )


def test_healthz(bolt: App) -> None:
    app = WebApp(bolt, lambda: {"cache": {"hits": 3}})
    status, headers, body = call(app, "GET", "/healthz")
    assert status == "200 OK"
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)
    assert json.loads(body) == {"status": "ok", "version": bot.__version__, "cache": {"hits": 3}}


def test_healthz_head(bolt: App) -> None:
    status, _, _ = call(WebApp(bolt, dict), "HEAD", "/healthz")
    assert status == "200 OK"


def test_a_failing_health_check_says_error_and_nothing_more(bolt: App) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError(f"cannot reach the store with {SECRET_IN_ERROR}")

    status, _, body = call(WebApp(bolt, broken), "GET", "/healthz")
    assert status.startswith("500")
    assert json.loads(body) == {"status": "error", "version": bot.__version__}
    assert SECRET_IN_ERROR.encode() not in body


def test_other_paths_go_to_bolt(bolt: App) -> None:
    app = WebApp(bolt, dict)
    assert call(app, "GET", "/")[0].startswith("404")
    assert call(app, "POST", "/healthz")[0].startswith("404")


def test_unsigned_and_signed_events(bolt: App) -> None:
    app = WebApp(bolt, dict)
    body = slash_command_body("open", response_url="http://127.0.0.1:9/response/x")
    form = "application/x-www-form-urlencoded"
    status, _, _ = call(app, "POST", "/slack/events", body.encode(), {"Content-Type": form})
    assert status.startswith("401")
    signed = signed_headers(body, content_type=form)
    status, _, _ = call(app, "POST", "/slack/events", body.encode(), signed)
    assert status.startswith("404")  # verified, but this bare app has no /releases listener
