"""The poll of one MetaKraftwerk connection, for the claiming workers of the distributed mode.

For a claim: load the connection, reach its base URL with its sealed session token (logging in
with its sealed password when there is none or it expired, and keeping the new one sealed),
list every release, compare against *this connection's* snapshot, and route the changes to
the subscriptions and follows of the workspaces it serves (its own, or an org's workspaces
without a connection of their own). The HTTP happens here, outside any transaction; what it
found is written by `Polled.write` inside the claim's fenced commit, so a worker that lost its
lease writes nothing. The planning is the single worker's (`detect_changes`), not a copy.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from bot.clock import Clock
from bot.config import Secret
from bot.connect.records import Connection
from bot.connect.store import ConnectionStore, record_good_poll, schedule_key
from bot.connect.verify import NO_PASSWORD, failure_reason
from bot.logs import register_secrets
from bot.metakraftwerk.auth import LoginSession
from bot.metakraftwerk.client import MetaKraftwerkClient
from bot.metakraftwerk.errors import MetaKraftwerkError
from bot.metakraftwerk.filter import ApiFilter
from bot.notify.filters import StoredQueries
from bot.notify.scale.records import Claim, Polled
from bot.notify.store import Store
from bot.notify.store.outbox import write_poll
from bot.notify.store.schema import connection_schedules
from bot.notify.store.snapshots import SnapshotTable
from bot.notify.worker.detection import detect_changes, log_detected
from bot.notify.worker.glitch import GlitchGuard
from bot.secret_box import SecretError

log = logging.getLogger(__name__)

# An httpx client on a base URL; the poll keeps one per base URL for the life of the process.
HttpOn = Callable[[str], httpx.Client]
KEPT_SNAPSHOTS = 256


class PollFailed(Exception):
    """A poll that cannot be used; `reason` is a short fixed text App Home shows."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Session:
    client: MetaKraftwerkClient
    kept: tuple[Secret, datetime] | None  # the token the store holds, as this client knows it


class ConnectionPoll:
    """`poll(claim) -> Polled` for `ClaimingWorker`; thread-safe, one per worker process."""

    def __init__(
        self,
        connections: ConnectionStore,
        store: Store,
        http_on: HttpOn,
        clock: Clock,
        *,
        deadline_seconds: float = 8.0,
        queries: StoredQueries | None = None,
    ) -> None:
        self._connections = connections
        self._store = store
        self._http_on = http_on
        self._clock = clock
        self._deadline_seconds = deadline_seconds
        self._queries = queries or StoredQueries()
        self._lock = threading.Lock()
        self._http: dict[str, httpx.Client] = {}
        # Keyed by id and connect time: a reconnected account gets a new client and login.
        self._sessions: dict[tuple[int, datetime], _Session] = {}
        self._glitches: dict[int, GlitchGuard] = {}
        # The snapshots this process last wrote, so a poll reads its rows once, not twice;
        # bounded, since one process may poll thousands of connections.
        self._snapshots: OrderedDict[int, SnapshotTable] = OrderedDict()

    def __call__(self, claim: Claim) -> Polled:
        connection = self._connections.get(int(claim.connection_id))
        if connection is None:  # disconnected after the claim: its schedule row goes too
            return Polled(changed=False, write=_forget_schedule(claim.connection_id))
        try:
            return self._poll(connection)
        except PollFailed as failed:
            log.warning("connection %d: the poll failed: %s", connection.id, failed.reason)
            self._connections.record_poll_error(connection.id, failed.reason)
            raise

    def on_failing(self, connection_id: str) -> None:
        """The claiming worker's hook, once per run of failures: App Home shows the connection
        as failing, with its last error, to everyone in its workspaces and Reconnect to its
        admins."""
        if self._connections.mark_failing(int(connection_id)):
            log.warning("connection %s keeps failing; App Home shows it as failing",
                        connection_id)

    def close(self) -> None:
        with self._lock:
            clients, self._http = list(self._http.values()), {}
        for client in clients:
            client.close()

    def _poll(self, connection: Connection) -> Polled:
        session = self._session(connection)
        client = session.client
        deadline = client.new_deadline()
        try:
            releases = client.list_releases(ApiFilter(), deadline=deadline)
            names = client.list_groups(deadline=deadline)
        except MetaKraftwerkError as exc:
            log.info("connection %d: MetaKraftwerk failed: %s", connection.id, exc)
            raise PollFailed(failure_reason(exc)) from None
        self._keep_session(connection, session)
        snapshots = self._snapshot_table(connection.id)
        previous = self._store.outbox.load_snapshot(snapshots)
        if self._glitch(connection.id).reason(previous, releases) is not None:
            return Polled(changed=False, write=self._good(connection.id))
        teams = self._connections.served_teams(connection)
        detected = detect_changes(
            previous, releases, names,
            self._store.subscriptions.all("change", teams=teams),
            self._store.outbox.threads(teams), self._store.follows.all(teams), self._queries,
        )
        plan = detected.plan
        good = self._good(connection.id)

        def write(conn: Any) -> None:
            now = self._clock.now()
            ids, keep_snapshot = write_poll(
                conn, snapshots, plan.snapshot, detected.deliveries, now,
                baselined=plan.baselined, ended_follows=detected.ended_follows,
            )
            good(conn)
            log_detected(previous, detected, ids)
            # Kept as written only if this transaction commits: a later read checks the token.
            keep_snapshot()

        return Polled(changed=bool(plan.events), write=write)

    def _good(self, connection_id: int) -> Callable[[Any], None]:
        def write(conn: Any) -> None:
            record_good_poll(conn, connection_id, self._clock.now())

        return write

    def _snapshot_table(self, connection_id: int) -> SnapshotTable:
        with self._lock:
            table = self._snapshots.pop(connection_id, None)
            if table is None:
                table = SnapshotTable(schedule_key(connection_id))
            self._snapshots[connection_id] = table
            while len(self._snapshots) > KEPT_SNAPSHOTS:
                self._snapshots.popitem(last=False)
            return table

    def _glitch(self, connection_id: int) -> GlitchGuard:
        with self._lock:
            return self._glitches.setdefault(connection_id, GlitchGuard())

    def _session(self, connection: Connection) -> _Session:
        key = (connection.id, connection.connected_at)
        with self._lock:
            session = self._sessions.get(key)
        if session is not None:
            return session
        try:
            password = self._connections.password(connection)
            token = self._connections.session_token(connection)
        except (SecretError, LookupError):
            raise PollFailed(NO_PASSWORD) from None
        register_secrets([password, *([token] if token else [])])
        client = MetaKraftwerkClient(
            self._http_for(connection.base_url), email=connection.email,
            password=Secret(password), deadline_seconds=self._deadline_seconds,
            clock=self._clock,
        )
        kept = None
        if token and connection.session_expires_at is not None:
            kept = (Secret(token), connection.session_expires_at)
            if isinstance(client.auth, LoginSession):
                client.auth.resume(*kept)
        session = _Session(client, kept)
        with self._lock:
            for old in [k for k in self._sessions if k[0] == connection.id]:
                del self._sessions[old]  # the account was reconnected: the old login is stale
            self._sessions[key] = session
        return session

    def _keep_session(self, connection: Connection, session: _Session) -> None:
        """A login made by this poll is stored sealed, so no restart logs in again."""
        auth = session.client.auth
        current = auth.current() if isinstance(auth, LoginSession) else None
        if current is None or current == session.kept:
            return
        register_secrets([current[0].value])
        self._connections.save_session(connection, current[0].value, current[1])
        with self._lock:
            self._sessions[(connection.id, connection.connected_at)] = _Session(
                session.client, current
            )
        log.info("connection %d: logged in; the session is kept until %s", connection.id,
                 current[1].isoformat(timespec="seconds"))

    def _http_for(self, base_url: str) -> httpx.Client:
        with self._lock:
            client = self._http.get(base_url)
            if client is None:
                client = self._http[base_url] = self._http_on(base_url)
            return client


def _forget_schedule(connection_id: str) -> Callable[[Any], None]:
    def write(conn: Any) -> None:
        conn.execute(connection_schedules.delete().where(
            connection_schedules.c.connection_id == connection_id
        ))

    return write

