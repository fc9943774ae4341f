"""HTTP mode: Bolt behind a WSGI app that also answers GET /healthz, served by gunicorn."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

import bot

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from slack_bolt import App

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


class WebApp:
    """The WSGI callable: /slack/events to Bolt, /healthz to a small JSON status."""

    def __init__(self, app: App, health: Callable[[], dict[str, Any]]) -> None:
        self._slack = SlackRequestHandler(app, path=SLACK_PATH)
        self._health = health

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            try:
                status = {"status": "ok", "version": bot.__version__, **self._health()}
                code = "200 OK"
            except Exception:
                log.exception("health check failed")
                status, code = (
                    {"status": "error", "version": bot.__version__},
                    "500 Internal Server Error",
                )
            body = json.dumps(status, sort_keys=True).encode()
            start_response(
                code,
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self._slack(environ, start_response)
