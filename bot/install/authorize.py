"""Bolt's authorize for many installations: the store read through a short cache, no auth.test.

Bolt's InstallationStoreAuthorize calls auth.test on every request (300-500 ms of the 3 s ack,
and a 429 risk in bursts). The installation row already holds the bot id and user id, so this
reads it (through a TTL cache of CACHE_SECONDS) and asks Slack nothing. Uninstalling evicts
the tenant here at once; other processes see it within the TTL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TTLCache
from slack_bolt import BoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize

from bot.install.store import InstalledBot, TenantInstallationStore
from bot.tenant import Tenant

CACHE_SECONDS = 45.0
CACHE_ENTRIES = 10_000


class TenantAuthorize(Authorize):
    def __init__(
        self,
        store: TenantInstallationStore,
        *,
        ttl_seconds: float = CACHE_SECONDS,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._cache: TTLCache[Tenant, InstalledBot] = TTLCache(
            CACHE_ENTRIES, ttl_seconds, timer=timer
        )
        self._lock = threading.Lock()

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        tenant = Tenant.of(enterprise_id, team_id, bool(context.is_enterprise_install))
        found = self.bot(tenant)
        org = tenant.org()
        if found is None and org is not None:
            found = self.bot(org)  # a workspace of an org the app is installed on org-wide
        if found is None:
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=found.bot_token,
            bot_id=found.bot_id,
            bot_user_id=found.bot_user_id,
            bot_scopes=list(found.bot_scopes),
            user_id=user_id,
        )

    def bot(self, tenant: Tenant) -> InstalledBot | None:
        with self._lock:
            if tenant in self._cache:
                return self._cache[tenant]
        found = self._store.bot_of(tenant)
        if found is not None:  # not a miss: an install in another process shows at once
            with self._lock:
                self._cache[tenant] = found
        return found

    def evict(self, tenant: Tenant) -> None:
        """Forget `tenant` now (uninstalled, revoked, reinstalled)."""
        with self._lock:
            self._cache.pop(tenant, None)
