"""The long-lived parts of one process: the httpx client, the API client, the cache and the
finder, built once from settings, and what closes them. In distributed mode there is no account
in the settings: these parts answer NotConnected, and the requests read their workspace's
connection instead (bot/connect/finders.py, built by bot/wiring/distributed.py).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from bot.app.finder import ReleaseFinder
from bot.cache.redis.link import RedisLink
from bot.cache.release_cache import ReleaseCache, ReleaseSource
from bot.cache.setup import cache_store, shared_link
from bot.clock import Clock, SystemClock
from bot.config import Secret, Settings, metakraftwerk_source
from bot.connect.finders import NoConnection
from bot.demo.api_server import DEMO_TOKEN, DemoApiServer
from bot.health import OK, DatabaseProbe
from bot.metakraftwerk.client import MetaKraftwerkClient, make_http_client
from bot.metrics import Metrics, httpx_hooks

log = logging.getLogger(__name__)

@dataclass
class Services:
    """The long-lived parts of one process; `close()` releases sockets and threads."""

    settings: Settings
    http: httpx.Client
    client: ReleaseSource  # the one account of single-workspace mode (or none: distributed)
    cache: ReleaseCache
    finder: ReleaseFinder
    clock: Clock
    demo: DemoApiServer | None = None
    shared: RedisLink | None = None  # CACHE_URL's Redis, for the cache and the replay guard
    database: DatabaseProbe | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:
                log.exception("error while shutting down")
        self.finder.close()
        self.http.close()
        if self.demo is not None:
            self.demo.close()

    def on_close(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def health(self) -> dict[str, Any]:
        status = {
            "cache": {**self.cache.stats(), **self.cache.backend()},
            "metakraftwerk": (
                "demo" if self.demo is not None
                else "per connection" if self.settings.is_distributed else "configured"
            ),
        }
        if self.database is not None:
            database = self.database.check()
            status["database"] = database
            if database != OK:
                status["status"] = "error"
        return status



def start_demo(settings: Settings) -> tuple[Settings, DemoApiServer]:
    """Start the demo API in-process and point the settings at it."""
    demo = DemoApiServer().start()
    log.info("using the built-in demo MetaKraftwerk API at %s", demo.url)
    return replace(
        settings,
        metakraftwerk_url=demo.url,
        metakraftwerk_token=Secret(DEMO_TOKEN),
        metakraftwerk_email=None,
        metakraftwerk_password=None,
    ), demo



def build_services(
    settings: Settings, *, demo: bool = False, clock: Clock | None = None
) -> Services:
    """The data path; with `demo`, or no credentials where that is allowed, the demo API.

    Distributed mode has no account of its own: each workspace's requests read its connection
    (bot/connect/finders.py), and the worker polls each connection with its own account; the
    finder built here answers NotConnected to whatever asks it."""
    demo_server: DemoApiServer | None = None
    if demo:
        settings, demo_server = start_demo(settings)
    elif not settings.is_distributed:
        metakraftwerk_source(settings, demo_allowed=False)
    clock = clock or SystemClock()
    http = make_http_client(settings)
    client: ReleaseSource = (
        NoConnection(clock, settings.api_deadline_seconds)
        if settings.is_distributed and demo_server is None
        else MetaKraftwerkClient.from_settings(settings, http, clock=clock)
    )
    shared = shared_link(settings, clock)
    cache = ReleaseCache.from_settings(client, settings, clock=clock, store=cache_store(shared))
    finder = ReleaseFinder(cache, clock=clock)
    services = Services(settings, http, client, cache, finder, clock, demo_server, shared)
    services.on_close(cache.close)
    return services



def instrument(
    services: Services,
    metrics: Metrics,
    cache_stats: Callable[[], Mapping[str, int]] | None = None,
) -> None:
    """Count the API cache's lookups (or those `cache_stats` sums up: every connection's, in
    distributed mode) and time each MetaKraftwerk call in `metrics`."""
    metrics.watch_cache(cache_stats or services.cache.stats)
    hooks = httpx_hooks(metrics)
    current = services.http.event_hooks
    services.http.event_hooks = {
        kind: [*current.get(kind, []), *hooks[kind]] for kind in ("request", "response")
    }



def freeze_startup_objects() -> None:
    """Take what startup made (about 100k objects: modules, settings, the cache, Bolt) out of
    the garbage collector's scans: it lives as long as the process. Otherwise the first full
    collection walks all of it in the middle of the first burst of commands (33 ms)."""
    gc.collect()
    gc.freeze()
