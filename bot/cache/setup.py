"""Builds the shared parts from the settings: nothing without CACHE_URL, one Redis link with it.

The cache store and the replay guard of one process share that link, so one outage is noticed,
logged and recovered from once.
"""

from __future__ import annotations

import logging

from bot.cache.port import StoreFactory
from bot.cache.redis.link import RedisLink
from bot.cache.redis.store import RedisStore
from bot.cache.replay import LocalReplayGuard, RedisReplayGuard, ReplayGuard
from bot.clock import Clock
from bot.config import Settings

log = logging.getLogger(__name__)


def shared_link(settings: Settings, clock: Clock | None = None) -> RedisLink | None:
    """The Redis named by CACHE_URL, checked once so that an outage shows in the log at start."""
    if settings.cache_url is None:
        return None
    link = RedisLink.from_url(settings.cache_url, clock=clock)
    if link.check()["backend"] == "redis":
        log.info("the API cache is shared through %s", link.name)
    return link


def cache_store(link: RedisLink | None, scope: str = "") -> StoreFactory | None:
    """The release cache's store: shared on Redis, or None for the in-process default;
    `scope` keeps one connection's keys apart from every other's in Redis."""
    return None if link is None else RedisStore.factory(link, scope=scope)


def replay_guard(link: RedisLink | None) -> ReplayGuard:
    return LocalReplayGuard() if link is None else RedisReplayGuard(link)
