"""The WSGI app in-process: /healthz, and everything else handed to the request front."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import bot
from bot.startup import Starting
from bot.web import WebApp
from tests.slack.support import call

SECRET_IN_ERROR = "xoxb-leaked-in-an-exception"


def front(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("418 I'm a Teapot", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].encode()]


def test_healthz() -> None:
    app = WebApp(front, lambda: {"cache": {"hits": 3}})
    answer = call(app, "GET", "/healthz")
    assert answer.status == "200 OK"
    assert answer.headers["Content-Type"] == "application/json"
    assert int(answer.headers["Content-Length"]) == len(answer.body)
    assert json.loads(answer.body) == {
        "status": "ok", "version": bot.__version__, "cache": {"hits": 3}
    }


def test_healthz_head() -> None:
    assert call(WebApp(front, dict), "HEAD", "/healthz").status == "200 OK"


def test_a_part_that_is_down_answers_503_and_says_which() -> None:
    app = WebApp(front, lambda: {"status": "error", "database": "down: OperationalError"})
    answer = call(app, "GET", "/healthz")
    assert answer.status == "503 Service Unavailable"
    body = json.loads(answer.body)
    assert body["status"] == "error"
    assert body["database"] == "down: OperationalError"


def test_a_failing_health_check_says_error_and_nothing_more() -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError(f"cannot reach the store with {SECRET_IN_ERROR}")

    answer = call(WebApp(front, broken), "GET", "/healthz")
    assert answer.status.startswith("500")
    assert json.loads(answer.body) == {"status": "error", "version": bot.__version__}
    assert SECRET_IN_ERROR.encode() not in answer.body


def test_other_paths_and_methods_go_to_the_front() -> None:
    app = WebApp(front, dict)
    assert call(app, "POST", "/slack/events").body == b"/slack/events"
    assert call(app, "GET", "/").status.startswith("418")
    assert call(app, "POST", "/healthz").status.startswith("418")


def test_close_is_what_it_was_given() -> None:
    closed: list[bool] = []
    WebApp(front, dict, close=lambda: closed.append(True)).close()
    assert closed == [True]


def test_metrics_answer_get_and_head_only() -> None:
    app = WebApp(front, dict, metrics=lambda: (b"up 1\n", "text/plain"))
    assert call(app, "GET", "/metrics").body == b"up 1\n"
    head = call(app, "HEAD", "/metrics")
    assert head.status == "200 OK"
    assert head.headers["Content-Length"] == "5"
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        answer = call(app, method, "/metrics", b"x=1")
        assert answer.status == "405 Method Not Allowed", method
        assert answer.headers["Allow"] == "GET, HEAD"
        assert b"up 1" not in answer.body


def test_while_starting_healthz_says_503_and_what_it_waits_for() -> None:
    starting = Starting()
    starting.waiting_for = "the database"
    answer = call(starting, "GET", "/healthz")
    assert answer.status.startswith("503")
    assert json.loads(answer.body) == {
        "status": "starting", "version": bot.__version__, "waiting_for": "the database"
    }
    assert call(starting, "POST", "/slack/events").status.startswith("503")
    starting.ready(WebApp(front, dict))
    assert call(starting, "GET", "/healthz").status == "200 OK"
