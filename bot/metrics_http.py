"""The worker's own small HTTP server on METRICS_PORT: GET /metrics and GET /healthz.

The worker has no web server of its own; a platform's health check and Prometheus need one.
/healthz fails (503) when no round succeeded for HEALTHY_ROUNDS poll intervals: a worker stuck
in a dead database, a hung call or a crash loop says so instead of looking alive.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import bot
from bot.clock import Clock, SystemClock
from bot.metrics import METRICS_PATH, Metrics

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
HEALTHY_ROUNDS = 5


class WorkerHealth:
    """Healthy while a round succeeded within HEALTHY_ROUNDS poll intervals (or since start)."""

    def __init__(self, metrics: Metrics, interval: float, clock: Clock | None = None) -> None:
        self._metrics = metrics
        self._limit = HEALTHY_ROUNDS * interval
        self._clock: Clock = clock or SystemClock()
        self._started = self._wall()
        self.waiting_for: str | None = None  # before the start: what it waits for (fixed words)

    def started(self) -> None:
        """The worker runs: its rounds are due from now on."""
        self.waiting_for = None
        self._started = self._wall()

    def _wall(self) -> float:
        """Wall seconds, as the metrics' `last_round_at` counts them."""
        return self._clock.now().timestamp()

    def status(self) -> tuple[bool, dict[str, Any]]:
        if self.waiting_for is not None:
            return False, {"status": "starting", "version": bot.__version__,
                           "waiting_for": self.waiting_for}
        now = self._wall()
        last = self._metrics.last_round_at
        since = now - (self._started if last is None else last)
        ok = since <= self._limit
        return ok, {
            "status": "ok" if ok else "error",
            "version": bot.__version__,
            "last_successful_round_seconds_ago": None if last is None else round(since, 1),
            "limit_seconds": self._limit,
        }


class MetricsServer:
    """Serves /metrics and /healthz on a thread of its own; `close()` stops it."""

    def __init__(self, metrics: Metrics, health: WorkerHealth, port: int,
                 host: str = "0.0.0.0") -> None:  # noqa: S104 - scraped from outside
        self._server = ThreadingHTTPServer((host, port), _handler(metrics, health))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="metrics-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("worker metrics and health on port %d (%s, %s)", self.port, METRICS_PATH,
                 HEALTH_PATH)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(metrics: Metrics, health: WorkerHealth) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # scrapes every few seconds would drown the worker's log

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            try:
                if path == METRICS_PATH:
                    body, ctype = metrics.render()
                    self._send(200, body, ctype)
                elif path == HEALTH_PATH:
                    ok, status = health.status()
                    self._send(200 if ok else 503, json.dumps(status, sort_keys=True).encode(),
                               "application/json")
                else:
                    self._send(404, b"not found\n", "text/plain")
            except Exception:
                log.exception("the worker's %s failed", path[:40])
                self._send(500, b"error\n", "text/plain")

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
