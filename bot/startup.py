"""Waiting for the database at start: one log line, retries with back-off, no traceback.

A platform starts the bot's processes in any order, and PostgreSQL may come up after them or
restart. Rather than die after a long wait with a traceback (and be restarted in a loop), a
process says once what is wrong, keeps its health check answering (503), and tries again.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bot
from bot.config import ConfigError, database_kind, redact_url
from bot.notify.store.probe import ProbeFailed, probe_database

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 15.0
WAITING_FOR_DATABASE = "the database"
_HEALTH_PATH = "/healthz"  # as bot.web serves it


# Where each process runs in a container of its own: (environment variable, what to call it).
_PLATFORMS = (
    ("DYNO", "a Heroku dyno"),
    ("KUBERNETES_SERVICE_HOST", "a Kubernetes pod"),
    ("FLY_APP_NAME", "a Fly.io machine"),
    ("RENDER_SERVICE_ID", "a Render service"),
    ("RAILWAY_ENVIRONMENT", "a Railway service"),
    ("K_SERVICE", "a Cloud Run service"),
)
_CONTAINER_MARKS = (".dockerenv", "run/.containerenv")


def private_database(
    database_url: str, environ: Mapping[str, str] | None = None, root: Path = Path("/")
) -> str | None:
    """Why no other process can share this SQLite database, or None (PostgreSQL, or no sign
    of a container: processes on one machine share one file)."""
    if database_kind(database_url) != "sqlite":
        return None
    env = os.environ if environ is None else environ
    where = next((name for variable, name in _PLATFORMS if env.get(variable)), None)
    if where is None and any((root / mark).exists() for mark in _CONTAINER_MARKS):
        where = "a container"
    if where is None:
        return None
    return (
        f"DATABASE_URL is a SQLite file inside {where}: the web process and the worker in "
        "containers of their own each get their own file, so subscriptions never reach the "
        "worker; give both the same PostgreSQL (postgresql://user@host/db)"
    )


def warn_of_a_private_database(database_url: str, process: str) -> None:
    warning = private_database(database_url)
    if warning is not None:
        log.warning("%s starts with a database no other process can share: %s", process, warning)


def needs_waiting(database_url: str) -> bool:
    """A server database may come up later; a SQLite file is there or is created at once."""
    return database_kind(database_url) != "sqlite"


def database_reachable_now(
    database_url: str, probe: Callable[[str], object] = probe_database
) -> None:
    """Raise ConfigError (one line, no traceback) unless DATABASE_URL answers now."""
    if not needs_waiting(database_url):
        return
    try:
        probe(database_url)
    except ProbeFailed as exc:
        raise ConfigError(
            f"the database at {redact_url(database_url)} cannot be reached ("
            + " ".join(str(exc).split())[:200] + ")"
        ) from None


def wait_for_database(
    database_url: str,
    stop: threading.Event,
    *,
    probe: Callable[[str], object] = probe_database,
    first: float = FIRST_RETRY_SECONDS,
    cap: float = MAX_RETRY_SECONDS,
) -> bool:
    """Return True once DATABASE_URL answers, False when `stop` is set first."""
    if not needs_waiting(database_url):
        return True
    delay, failed = first, False
    while not stop.is_set():
        try:
            probe(database_url)
        except ProbeFailed as exc:
            if not failed:
                log.warning(
                    "the database at %s cannot be reached (%s); retrying, every %g s at most, "
                    "until it can; meanwhile /healthz answers 503",
                    redact_url(database_url), " ".join(str(exc).split())[:200], cap,
                )
                failed = True
            else:
                log.debug("the database is still unreachable: %s", exc)
            stop.wait(delay * random.uniform(0.8, 1.2))
            delay = min(cap, delay * 2)
            continue
        if failed:
            log.warning("the database at %s answers; starting", redact_url(database_url))
        return True
    return False


class Starting:
    """The WSGI app while the real one is built (or waits for its database): /healthz says
    503 "starting" and what it waits for; every other request gets 503 and Retry-After. Once
    `ready(app)` is called, every request goes to that app."""

    def __init__(self) -> None:
        self.app: WSGIApplication | None = None
        self.waiting_for: str | None = None  # fixed words, e.g. "the database"

    def ready(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app = self.app
        if app is not None:
            return app(environ, start_response)
        if environ.get("PATH_INFO", "") == _HEALTH_PATH:
            status: dict[str, Any] = {"status": "starting", "version": bot.__version__}
            if self.waiting_for:
                status["waiting_for"] = self.waiting_for
            body = json.dumps(status, sort_keys=True).encode()
            ctype = "application/json"
        else:
            body, ctype = b"starting; try again shortly\n", "text/plain; charset=utf-8"
        start_response(
            "503 Service Unavailable",
            [("Content-Type", ctype), ("Content-Length", str(len(body))), ("Retry-After", "5")],
        )
        return [body]
