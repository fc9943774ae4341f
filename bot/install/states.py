"""OAuth install states: issued with an expiry, consumed once, purged when stale.

slack_sdk's SQLAlchemyOAuthStateStore selects then deletes (a state replayed between the two
passes), and its StatelessOAuthStateStore has no replay guard at all; here `consume` is one
`DELETE ... RETURNING` of a state that has not expired, so only one callback can win it.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from slack_sdk.oauth.state_store import OAuthStateStore
from sqlalchemy import delete, insert
from sqlalchemy.exc import SQLAlchemyError

from bot.notify.store.database import Database
from bot.notify.store.schema import oauth_states
from bot.notify.store.trouble import StoreUnavailable

log = logging.getLogger(__name__)

STATE_SECONDS = 600  # Bolt's cookie lives as long


class TenantStateStore(OAuthStateStore):
    def __init__(self, database: Database, *, expiration_seconds: int = STATE_SECONDS) -> None:
        self._db = database
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(32)
        with self._db.write() as conn:
            now = self._db.now()
            conn.execute(delete(oauth_states).where(oauth_states.c.expires_at <= now))
            conn.execute(insert(oauth_states).values(
                state=state, expires_at=now + timedelta(seconds=self.expiration_seconds),
            ))
        return state

    def consume(self, state: str) -> bool:
        """True once for a state issued here and not expired; False ever after."""
        if not state or len(state) > oauth_states.c.state.type.length:  # type: ignore[attr-defined]
            return False
        try:
            with self._db.write() as conn:
                won = conn.execute(delete(oauth_states).where(
                    oauth_states.c.state == state, oauth_states.c.expires_at > self._db.now(),
                ).returning(oauth_states.c.state)).first()
        except (SQLAlchemyError, StoreUnavailable) as exc:
            log.warning("could not consume an install state: %s", type(exc).__name__)
            return False
        return won is not None

    def purge(self) -> int:
        """Delete expired states; the number deleted."""
        with self._db.write() as conn:
            return int(conn.execute(
                delete(oauth_states).where(oauth_states.c.expires_at <= self._db.now())
            ).rowcount)
