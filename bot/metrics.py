"""Prometheus metrics of one process, on a registry passed in (never the library's global one),
so tests and several apps in one process each count their own.

Counters that other parts already keep (the API cache's hits, misses and stale answers; the
outbox's depth) are read when /metrics is scraped, not mirrored on every call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.clock import Clock, SystemClock

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

METRICS_PATH = "/metrics"
PREFIX = "releases_bot"
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)
CACHE_COUNTERS = ("hits", "misses", "stale", "coalesced", "errors")

# (pending rows, created_at of the oldest pending row or None)
OutboxDepth = Callable[[], tuple[int, datetime | None]]


class Metrics:
    """The instruments of one process; the web process and the worker use different parts."""

    def __init__(self, registry: CollectorRegistry, clock: Clock | None = None):
        self.registry = registry
        self._clock: Clock = clock or SystemClock()
        self.ack_seconds = Histogram(
            f"{PREFIX}_ack_seconds", "Time from a Slack request's arrival to its ack (HTTP "
            "answer), POST /slack/events", registry=registry, buckets=LATENCY_BUCKETS)
        self.command_seconds = Histogram(
            f"{PREFIX}_command_seconds", "Time to work out the answer of a /releases command",
            registry=registry, buckets=LATENCY_BUCKETS)
        self.upstream_seconds = Histogram(
            f"{PREFIX}_upstream_seconds", "MetaKraftwerk API calls, one per attempt",
            registry=registry, buckets=LATENCY_BUCKETS)
        self.upstream_responses = Counter(
            f"{PREFIX}_upstream_responses", "MetaKraftwerk API answers by HTTP status",
            ["status"], registry=registry)
        self.upstream_retries = Counter(
            f"{PREFIX}_upstream_retries", "MetaKraftwerk API answers that call for a retry "
            "(429 and 5xx), by status", ["status"], registry=registry)
        self.delivery_failures = Counter(
            f"{PREFIX}_delivery_failures", "Failed posts to Slack by the worker, by Slack "
            "error (or exception type)", ["error"], registry=registry)
        self.worker_leader = Gauge(
            f"{PREFIX}_worker_leader", "1 while this worker holds the lease and posts",
            registry=registry)
        self.last_round = Gauge(
            f"{PREFIX}_worker_last_successful_round_timestamp_seconds",
            "When this worker last finished a round without an error (Unix time)",
            registry=registry)
        self.last_round_at: float | None = None

    # ---- what the parts report ------------------------------------------------------------

    def delivery_failed(self, error: str) -> None:
        self.delivery_failures.labels(error=error[:64]).inc()

    def round_done(self, leader: bool) -> None:
        self.last_round_at = self._clock.now().timestamp()
        self.worker_leader.set(1 if leader else 0)
        self.last_round.set(self.last_round_at)

    def round_failed(self, leader: bool) -> None:
        self.worker_leader.set(1 if leader else 0)

    def upstream_answer(self, status: int, seconds: float | None) -> None:
        self.upstream_responses.labels(status=str(status)).inc()
        if status == 429 or status >= 500:
            self.upstream_retries.labels(status=str(status)).inc()
        if seconds is not None:
            self.upstream_seconds.observe(seconds)

    # ---- read at scrape time --------------------------------------------------------------

    def watch_cache(self, stats: Callable[[], Mapping[str, int]]) -> None:
        self.registry.register(_CacheCollector(stats))

    def watch_outbox(self, depth: OutboxDepth) -> None:
        self.registry.register(_OutboxCollector(depth, self._clock))

    # ---- exposition -----------------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _CacheCollector(Collector):
    def __init__(self, stats: Callable[[], Mapping[str, int]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[CounterMetricFamily]:
        stats = self._stats()
        family = CounterMetricFamily(
            f"{PREFIX}_cache_lookups", "API cache lookups by outcome: hits, misses, stale "
            "answers (the API failed, an older copy stood in), coalesced, errors",
            labels=["outcome"])
        for outcome in CACHE_COUNTERS:
            family.add_metric([outcome], float(stats.get(outcome, 0)))
        yield family


class _OutboxCollector(Collector):
    def __init__(self, depth: OutboxDepth, clock: Clock) -> None:
        self._depth = depth
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            count, oldest = self._depth()
        except Exception:
            return  # the database is down: /healthz says so; no made-up numbers here
        yield GaugeMetricFamily(f"{PREFIX}_outbox_pending", "Notifications not yet posted",
                                value=count)
        now = self._clock.now().timestamp()
        age = 0.0 if oldest is None else max(0.0, now - oldest.timestamp())
        yield GaugeMetricFamily(f"{PREFIX}_outbox_oldest_pending_age_seconds",
                                "Age of the oldest notification not yet posted (0: none)",
                                value=age)


def httpx_hooks(metrics: Metrics) -> dict[str, list[Callable[[Any], None]]]:
    """httpx event hooks that time each attempt and count answers by status."""

    def on_request(request: Any) -> None:
        request.extensions["releases_bot_started"] = time.monotonic()

    def on_response(response: Any) -> None:
        started = response.request.extensions.get("releases_bot_started")
        seconds = None if started is None else time.monotonic() - started
        metrics.upstream_answer(response.status_code, seconds)

    return {"request": [on_request], "response": [on_response]}


class TimedFront:
    """WSGI middleware: times POST /slack/events until the ack's status line is sent."""

    def __init__(self, front: WSGIApplication, histogram: Histogram,
                 path: str = "/slack/events") -> None:
        self._front = front
        self._histogram = histogram
        self._path = path

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self._path or environ.get("REQUEST_METHOD") != "POST":
            return self._front(environ, start_response)
        started = time.monotonic()

        def timed_start(status: str, headers: Any, exc_info: Any = None) -> Any:
            self._histogram.observe(time.monotonic() - started)
            return start_response(status, headers, exc_info)

        return self._front(environ, timed_start)
