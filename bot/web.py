"""HTTP mode: the WSGI app, GET /healthz beside the request front for Slack (bot/slack/front.py).

Pages for browsers (the connect page in distributed mode) are served beside the front, by path
prefix: browsers send no Slack signature, so they never reach the front.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import bot

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"


class WebApp:
    """The WSGI callable: /healthz to a small JSON status, everything else to the front.

    `health()` returns details to show; it sets "status" to something other than "ok" when a
    part the process needs is down, which answers 503. `close` releases the process's parts.
    """

    def __init__(
        self,
        front: WSGIApplication,
        health: Callable[[], dict[str, Any]],
        close: Callable[[], None] | None = None,
        metrics: Callable[[], tuple[bytes, str]] | None = None,
        pages: Sequence[tuple[str, WSGIApplication]] = (),
    ) -> None:
        self._front = front
        self._health = health
        self.close = close or (lambda: None)
        self._metrics = metrics  # Prometheus text of this process: (body, content type)
        self._pages = tuple(pages)  # (path prefix, WSGI app) for browsers

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, page in self._pages:
            if path.startswith(prefix):
                return page(environ, start_response)
        if path == METRICS_PATH and self._metrics is not None:
            if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
                start_response(
                    "405 Method Not Allowed",
                    [("Allow", "GET, HEAD"), ("Content-Type", "text/plain"),
                     ("Content-Length", "0")],
                )
                return [b""]
            body, ctype = self._metrics()
            start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
            return [body]
        if path == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            try:
                status = {"status": "ok", "version": bot.__version__, **self._health()}
                code = "200 OK" if status["status"] == "ok" else "503 Service Unavailable"
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
        return self._front(environ, start_response)

