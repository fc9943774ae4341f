"""A Slack user's locale (`users.info` with `include_locale`), cached per team and user.

The lookup runs on its own small pool and the answer thread waits at most `wait_seconds`
for it: a slow Slack then costs one answer in the default language, never a held thread.
The lookup still finishes in the background and fills the cache for the next answer. A
failure is remembered for a short while, so a user Slack cannot tell about is not asked
about again on every command.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from cachetools import TTLCache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.clock import Clock, SystemClock

log = logging.getLogger(__name__)

TTL_SECONDS = 3600.0  # people rarely change their Slack language
FAILED_TTL_SECONDS = 300.0
WAIT_SECONDS = 1.0  # the most an answer waits for Slack to say the language
LOOKUP_THREADS = 2


class SlackLocales:
    """`locale(team_id, user_id)`: the user's Slack locale tag, or None (unknown, or slow)."""

    def __init__(
        self,
        web_client: WebClient,
        *,
        wait_seconds: float = WAIT_SECONDS,
        max_entries: int = 4096,
        clock: Clock | None = None,
    ) -> None:
        timer = (clock or SystemClock()).monotonic
        self._client = web_client
        self._wait = wait_seconds
        self._known: TTLCache[tuple[str, str], str | None] = TTLCache(
            maxsize=max_entries, ttl=TTL_SECONDS, timer=timer
        )
        self._failed: TTLCache[tuple[str, str], bool] = TTLCache(
            maxsize=max_entries, ttl=FAILED_TTL_SECONDS, timer=timer
        )
        self._pending: dict[tuple[str, str], Future[str | None]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="locale")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __call__(self, team_id: str, user_id: str) -> str | None:
        return self.locale(team_id, user_id)

    def locale(self, team_id: str, user_id: str) -> str | None:
        key = (team_id, user_id)
        with self._lock:
            if key in self._known:
                return self._known[key]
            if key in self._failed:
                return None
            pending = self._pending.get(key)
            if pending is None:  # one lookup per user at a time, however many answers wait
                # The lookup runs on the pool in this request's context, so it carries the
                # answering team's token (bound per request in distributed mode).
                pending = self._pool.submit(contextvars.copy_context().run, self._lookup, key)
                self._pending[key] = pending
        try:
            return pending.result(timeout=self._wait)
        except FutureTimeout:
            log.info("users.info for %s is slow; answering in the default language", user_id)
            return None

    def _lookup(self, key: tuple[str, str]) -> str | None:
        user_id = key[1]
        try:
            response = self._client.users_info(user=user_id, include_locale=True)
        except SlackApiError as exc:
            self._forget(key, failed=True)
            log.warning("users.info for %s failed (%s); using the default language",
                        user_id, exc.response.get("error", "unknown error"))
            return None
        except Exception as exc:
            self._forget(key, failed=True)
            log.warning("users.info for %s failed (%s); using the default language",
                        user_id, type(exc).__name__)
            return None
        user = response.get("user")
        raw = user.get("locale") if isinstance(user, dict) else None
        locale = raw if isinstance(raw, str) and raw.strip() else None
        with self._lock:
            self._known[key] = locale
            self._pending.pop(key, None)
        return locale

    def _forget(self, key: tuple[str, str], *, failed: bool) -> None:
        with self._lock:
            self._pending.pop(key, None)
            if failed:
                self._failed[key] = True
