"""The release snapshot: written as a diff every poll, and kept in memory by its writer.

Reading 10,000 stored records back costs a JSON decode each, about a third of a second a
round, and the worker that wrote the snapshot already holds every record. Each write stores a
fresh token; while the stored token is the one this process wrote, nobody else has written
the snapshot since, and the kept copy is exact. A worker that took over, or any other
writer, leaves another token, and the next read goes to the database.

Each MetaKraftwerk connection has its own rows and token (release ids are unique only inside one
customer); single-workspace mode has the one connection SINGLE_CONNECTION, under the keys it
always had.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, delete, insert, select, update

from bot.metakraftwerk.models import Release
from bot.notify.release_record import release_from_record, snapshot_record
from bot.notify.store.database import upsert
from bot.notify.store.schema import release_snapshot, worker_state

WRITER_KEY = "snapshot_written_as"  # the worker_state row holding the last write's token
TAKEN_KEY = "snapshot_taken_at"  # the worker_state row holding when the last poll was written
SINGLE_CONNECTION = "single"  # the connection of single-workspace mode (migration 0012)


def state_key(key: str, connection_id: str) -> str:
    """A worker_state key of one connection's snapshot; the single connection's is `key`."""
    return key if connection_id == SINGLE_CONNECTION else f"{key}:{connection_id}"


@dataclass(frozen=True, slots=True)
class _Kept:
    token: str
    records: dict[int, Any]  # release id -> its stored record, as stored
    releases: dict[int, Release]  # the same, read back


class SnapshotTable:
    """One per store and connection: its rows, and the copy this process last read or wrote."""

    def __init__(self, connection_id: str = SINGLE_CONNECTION) -> None:
        self.connection_id = connection_id
        self._writer_key = state_key(WRITER_KEY, connection_id)
        self._kept: _Kept | None = None
        self._lock = threading.Lock()

    def load(self, conn: Connection) -> dict[int, Release]:
        """Every stored release by id: the kept copy while it is current, else read."""
        token = self._token(conn)
        kept = self._current(token)
        if kept is not None:
            return dict(kept.releases)
        records = self._read(conn)
        releases = {r.id: r for r in (release_from_record(data) for data in records.values())}
        if token is not None:
            self._keep(_Kept(token, records, releases))
        return dict(releases)

    def replace(
        self, conn: Connection, snapshot: Mapping[int, Release], now: datetime
    ) -> Callable[[], None]:
        """Write what changed, in one batched statement per kind, inside the caller's
        transaction; returns what to call once that transaction has committed."""
        kept = self._current(self._token(conn))
        stored = kept.records if kept is not None else self._read(conn)
        gone = [release_id for release_id in stored if release_id not in snapshot]
        if gone:
            conn.execute(delete(release_snapshot).where(
                self._mine, release_snapshot.c.release_id.in_(gone)
            ))
        records: dict[int, Any] = {}
        added: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for release_id, release in snapshot.items():
            if release_id != release.id:
                raise ValueError(f"snapshot key {release_id} holds release {release.id}")
            prior = stored.get(release_id)
            data = snapshot_record(release, prior, now)
            if release_id not in stored:
                added.append({"connection_id": self.connection_id, "release_id": release_id,
                              "data": data, "updated_at": now})
            elif prior != data:
                changed.append({"key": release_id, "data": data, "updated_at": now})
            else:
                data = prior
            records[release_id] = data
        if added:
            conn.execute(insert(release_snapshot), added)
        if changed:
            conn.execute(
                update(release_snapshot).where(
                    self._mine, release_snapshot.c.release_id == bindparam("key")
                ),
                changed,
            )
        token = uuid.uuid4().hex
        upsert(conn, worker_state, ("key",), {"key": self._writer_key, "value": token})
        if kept is None:
            return self._forget  # the next load reads back what was written
        fresh = {row["release_id"] for row in added} | {row["key"] for row in changed}
        releases = {
            release_id: _unchanged(kept, release_id, fresh) or release_from_record(data)
            for release_id, data in records.items()
        }
        return lambda: self._keep(_Kept(token, records, releases))

    @property
    def _mine(self) -> ColumnElement[bool]:
        return release_snapshot.c.connection_id == self.connection_id

    def _token(self, conn: Connection) -> str | None:
        value = conn.scalar(
            select(worker_state.c.value).where(worker_state.c.key == self._writer_key)
        )
        return None if value is None else str(value)

    def _read(self, conn: Connection) -> dict[int, Any]:
        rows = conn.execute(
            select(release_snapshot.c.release_id, release_snapshot.c.data).where(self._mine)
        ).all()
        return {int(release_id): data for release_id, data in rows}

    def _current(self, token: str | None) -> _Kept | None:
        with self._lock:
            kept = self._kept
        return kept if kept is not None and token is not None and kept.token == token else None

    def _keep(self, kept: _Kept) -> None:
        with self._lock:
            self._kept = kept

    def _forget(self) -> None:
        with self._lock:
            self._kept = None


def _unchanged(kept: _Kept, release_id: int, fresh: set[int]) -> Release | None:
    return None if release_id in fresh else kept.releases.get(release_id)
