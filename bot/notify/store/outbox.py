"""The release snapshot, the delivery outbox and the parent message of each release thread.

A poll's new snapshot and the deliveries it causes are written in one transaction
(`commit_poll`), so a worker that dies between polling and posting neither loses nor repeats
a notification; the outbox then survives restarts until each row is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from bot.metakraftwerk.models import Release
from bot.notify.records import Delivery, FailedDelivery, Lease, NewDelivery, Snapshot
from bot.notify.release_record import closed_at_of
from bot.notify.store.database import Database, upsert
from bot.notify.store.follow_pauses import FollowPauses
from bot.notify.store.follows import end_follows, live_follows
from bot.notify.store.leases import check_fence
from bot.notify.store.poll_writes import enqueue_all
from bot.notify.store.schema import (
    outbox,
    outbox_payloads,
    parent_messages,
    release_snapshot,
    subscriptions,
    worker_state,
)
from bot.notify.store.snapshots import TAKEN_KEY, SnapshotTable, state_key

SHARED_PAYLOAD = outbox_payloads.c.payload.label("shared_payload")


class OutboxRepository:
    """What the worker last saw, and what it still owes Slack."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._snapshots = SnapshotTable()
        self.paused_follows = FollowPauses(db)  # follows whose direct messages Slack refused

    def load_snapshot(self, snapshots: SnapshotTable | None = None) -> Snapshot:
        """What the last poll saw: of the single connection, or of the one `snapshots` keeps."""
        with self._db.read() as conn:
            return read_snapshot(conn, snapshots or self._snapshots)

    def closed_times(self, release_ids: Iterable[int]) -> dict[int, datetime]:
        """When the snapshots saw these releases close; a release not seen closing is absent."""
        column = release_snapshot.c.release_id
        with self._db.read() as conn:
            query = select(column, release_snapshot.c.data).where(
                release_snapshot.c.connection_id == self._snapshots.connection_id,
                column.in_(set(release_ids)),
            )
            times = {int(i): closed_at_of(data, strict=False) for i, data in conn.execute(query)}
        return {release_id: when for release_id, when in times.items() if when is not None}

    def commit_poll(
        self,
        snapshot: Mapping[int, Release],
        deliveries: Sequence[NewDelivery] = (),
        *,
        baselined: Iterable[int] = (),
        fence: Lease | None = None,
        ended_follows: Iterable[int] = (),
    ) -> list[int]:
        """Atomically: store the snapshot, enqueue its deliveries, mark baselines recorded.

        Follows in `ended_follows` (of releases deleted in this poll) end here; their last
        message, among `deliveries`, stays queued and is still delivered.

        With `fence`, first checks (and on PostgreSQL locks) that the lease is still held and
        raises LeaseLost otherwise, so a worker that lost its lease cannot write a poll.
        Deliveries for subscriptions deleted or paused, or follows ended, since the caller read
        them are dropped.
        Returns the new outbox ids in the order given.
        """
        now = self._db.now()
        with self._db.write() as conn:
            if fence is not None:
                check_fence(conn, fence, now)
            ids, keep_snapshot = write_poll(
                conn, self._snapshots, snapshot, deliveries, now,
                baselined=baselined, ended_follows=ended_follows,
            )
        keep_snapshot()
        return ids

    def pending_deliveries(self, limit: int = 100, *, after_id: int = 0) -> list[Delivery]:
        """Pending rows that are due, oldest first, for subscriptions that are not paused, and
        followers' direct messages (an unfollow deletes those).

        A row waits while an older pending row of its channel waits for a retry or is in
        flight: a channel backs off as a whole, and a release's newer change never
        overtakes an older one, so the parent message always ends on the latest state.
        Found as each channel's first blocking row (one grouped scan of the pending rows),
        then the due rows older than it: a cost that grows with the pending rows, not with
        their square.
        """
        now = self._db.now()
        older, owner = aliased(outbox), aliased(subscriptions)
        blockers = (
            select(
                older.c.team_id, older.c.channel_id, func.min(older.c.id).label("first_id")
            )
            .outerjoin(owner, owner.c.id == older.c.subscription_id)
            .where(
                older.c.state == "pending",
                or_(older.c.available_at > now, older.c.sending_at.is_not(None)),
                or_(
                    owner.c.id.is_not(None) & owner.c.paused_at.is_(None),
                    older.c.follow_id.is_not(None),
                ),
            )
            .group_by(older.c.team_id, older.c.channel_id)
            .subquery("blockers")
        )
        query = (
            select(outbox, subscriptions.c.mention, subscriptions.c.language, SHARED_PAYLOAD)
            .outerjoin(subscriptions, subscriptions.c.id == outbox.c.subscription_id)
            .outerjoin(outbox_payloads, outbox_payloads.c.id == outbox.c.payload_id)
            .outerjoin(
                blockers,
                (blockers.c.team_id == outbox.c.team_id)
                & (blockers.c.channel_id == outbox.c.channel_id),
            )
            .where(
                outbox.c.id > after_id,  # the caller has seen the rows up to there
                outbox.c.state == "pending",
                outbox.c.sending_at.is_(None),
                outbox.c.available_at <= now,
                or_(
                    subscriptions.c.id.is_not(None) & subscriptions.c.paused_at.is_(None),
                    outbox.c.follow_id.is_not(None),
                ),
                or_(blockers.c.first_id.is_(None), outbox.c.id < blockers.c.first_id),
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [delivery_record(row) for row in rows]

    def next_retry_at(self) -> datetime | None:
        """When the soonest row waiting for a retry (a back-off, a Retry-After) is due; None
        if none waits. Rows due already are posted by the round, or held by a waiting row."""
        live = or_(subscriptions.c.id.is_not(None) & subscriptions.c.paused_at.is_(None),
                   outbox.c.follow_id.is_not(None))
        query = select(func.min(outbox.c.available_at)).select_from(outbox).outerjoin(
            subscriptions, subscriptions.c.id == outbox.c.subscription_id
        ).where(outbox.c.state == "pending", outbox.c.sending_at.is_(None),
                outbox.c.available_at > self._db.now(), live)
        with self._db.read() as conn:
            due: datetime | None = conn.scalar(query)
        return due

    def claim_delivery(self, delivery_id: int, *, fence: Lease | None = None) -> bool:
        """Mark a pending row as being posted now; False if it is not (or no longer) ours to post.

        One UPDATE decides, so two processes can never both claim a row; with `fence`, a worker
        that lost its lease claims nothing (LeaseLost). The mark lets a successor see which rows
        were in flight when a worker died (`recover_in_flight`).
        """
        now = self._db.now()
        with self._db.write() as conn:
            if fence is not None:
                check_fence(conn, fence, now)
            return bool(
                conn.execute(
                    update(outbox)
                    .where(
                        outbox.c.id == delivery_id,
                        outbox.c.state == "pending",
                        outbox.c.sending_at.is_(None),
                    )
                    .values(
                        sending_at=now, sending_by=None if fence is None else fence.holder
                    )
                ).rowcount
            )

    def unclaim_delivery(self, delivery_id: int) -> None:
        """Undo a claim when the post certainly did not happen (nothing reached Slack)."""
        with self._db.write() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == delivery_id, outbox.c.state == "pending")
                .values(sending_at=None, sending_by=None)
            )

    def recover_in_flight(self, *, fence: Lease | None = None) -> list[Delivery]:
        """Rows a worker claimed but never finished (it died mid-post): made pending again.

        Whether Slack got such a post is unknown; the caller logs them, and the next delivery
        posts them again (at least once). Call only while holding the worker lease.
        """
        now = self._db.now()
        with self._db.write() as conn:
            if fence is not None:
                check_fence(conn, fence, now)
            rows = conn.execute(
                select(outbox, subscriptions.c.mention, subscriptions.c.language, SHARED_PAYLOAD)
                .outerjoin(subscriptions, subscriptions.c.id == outbox.c.subscription_id)
                .outerjoin(outbox_payloads, outbox_payloads.c.id == outbox.c.payload_id)
                .where(
                    outbox.c.state == "pending",
                    outbox.c.sending_at.is_not(None),
                    subscriptions.c.id.is_not(None) | outbox.c.follow_id.is_not(None),
                )
                .order_by(outbox.c.id)
            ).all()
            if rows:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([row.id for row in rows]))
                    .values(sending_at=None, sending_by=None)
                )
        return [delivery_record(row) for row in rows]

    def mark_sent(self, delivery_id: int, ts: str, *, parent: bool = False) -> None:
        """Record a posted row; with `parent`, its ts becomes the release's parent message."""
        now = self._db.now()
        with self._db.write() as conn:
            row = conn.execute(
                update(outbox)
                .where(outbox.c.id == delivery_id)
                .values(
                    state="sent", slack_ts=ts, sent_at=now, attempts=outbox.c.attempts + 1,
                    sending_at=None, sending_by=None,
                )
                .returning(outbox.c.team_id, outbox.c.channel_id, outbox.c.release_id)
            ).one_or_none()
            if row is None:
                raise KeyError(f"no outbox row {delivery_id}")
            if parent:
                if row.release_id is None:
                    raise ValueError(f"outbox row {delivery_id} has no release for a parent")
                upsert_parent(conn, row.team_id, row.channel_id, row.release_id, ts, now)

    def mark_failed(
        self, delivery_id: int, error: str, *, retry_at: datetime | None = None
    ) -> None:
        """Count a failed attempt: retry at `retry_at` (e.g. after a 429), or give up."""
        values: dict[str, Any] = {
            "attempts": outbox.c.attempts + 1, "last_error": error[:2000],
            "sending_at": None, "sending_by": None,
        }
        if retry_at is None:
            values["state"] = "failed"
        else:
            values["available_at"] = retry_at
        with self._db.write() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == delivery_id, outbox.c.state == "pending")
                .values(**values)
            )

    def failed_deliveries(
        self, team_id: str, channel_id: str, limit: int = 20
    ) -> list[FailedDelivery]:
        """The channel's rows that delivery gave up on, newest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(outbox)
                .where(outbox.c.team_id == team_id, outbox.c.channel_id == channel_id,
                       outbox.c.state == "failed")
                .order_by(outbox.c.id.desc())
                .limit(limit)
            ).all()
        return [
            FailedDelivery(
                id=r.id, subscription_id=r.subscription_id, release_id=r.release_id,
                kind=r.kind, attempts=r.attempts, last_error=r.last_error,
                created_at=r.created_at,
            )
            for r in rows
        ]

    def purge(self, older_than: timedelta) -> int:
        """Delete sent and failed rows older than this, and rows nobody can deliver any more.

        Pending rows of live subscriptions are kept however old: they are still owed.
        """
        cutoff = self._db.now() - older_than
        orphaned = ~select(subscriptions.c.id).where(
            subscriptions.c.id == outbox.c.subscription_id
        ).exists()
        referenced = select(outbox.c.payload_id).where(outbox.c.payload_id.is_not(None))
        with self._db.write() as conn:
            removed = conn.execute(
                delete(outbox).where(
                    or_(
                        (outbox.c.state != "pending") & (outbox.c.created_at < cutoff),
                        orphaned & outbox.c.follow_id.is_(None),
                    )
                )
            ).rowcount
            # Payloads no row needs any more; young ones stay, whatever a writer is doing.
            conn.execute(
                delete(outbox_payloads).where(
                    outbox_payloads.c.created_at < cutoff,
                    outbox_payloads.c.id.not_in(referenced),
                )
            )
            return removed

    def record_parent(self, team_id: str, channel_id: str, release_id: int, ts: str) -> None:
        """A parent message posted outside a delivery's own bookkeeping (a repost)."""
        with self._db.write() as conn:
            upsert_parent(conn, team_id, channel_id, release_id, ts, self._db.now())

    def get_parent(self, team_id: str, channel_id: str, release_id: int) -> str | None:
        with self._db.read() as conn:
            return conn.scalar(
                select(parent_messages.c.ts).where(
                    parent_messages.c.team_id == team_id,
                    parent_messages.c.channel_id == channel_id,
                    parent_messages.c.release_id == release_id,
                )
            )

    def threads(self, teams: Collection[str] | None = None) -> set[tuple[str, str, int]]:
        """(team, channel, release id) of every release that has a parent message, or a post
        still owed to a live subscription that will become the parent once it goes out; with
        `teams`, of those workspaces only.

        Without the owed posts, a change made while a release's first post waits for a retry
        would not follow it into the channel when it no longer matches the filter.
        """
        parents = select(
            parent_messages.c.team_id, parent_messages.c.channel_id, parent_messages.c.release_id
        )
        owed = (
            select(outbox.c.team_id, outbox.c.channel_id, outbox.c.release_id)
            .join(subscriptions, subscriptions.c.id == outbox.c.subscription_id)
            .where(
                outbox.c.state == "pending",
                outbox.c.release_id.is_not(None),
                outbox.c.follow_id.is_(None),
            )
            .distinct()
        )
        if teams is not None:
            parents = parents.where(parent_messages.c.team_id.in_(set(teams)))
            owed = owed.where(outbox.c.team_id.in_(set(teams)))
        with self._db.read() as conn:
            rows = conn.execute(parents).all()
            owing = conn.execute(owed).all()
        return {(r.team_id, r.channel_id, r.release_id) for r in (*rows, *owing)}


def read_snapshot(conn: Connection, snapshots: SnapshotTable) -> Snapshot:
    """One connection's snapshot and when it was taken, inside the caller's transaction."""
    releases = snapshots.load(conn)
    key = state_key(TAKEN_KEY, snapshots.connection_id)
    taken = conn.scalar(select(worker_state.c.value).where(worker_state.c.key == key))
    return Snapshot(
        releases=releases, taken_at=None if taken is None else datetime.fromisoformat(taken)
    )


def write_poll(
    conn: Connection,
    snapshots: SnapshotTable,
    snapshot: Mapping[int, Release],
    deliveries: Sequence[NewDelivery],
    now: datetime,
    *,
    baselined: Iterable[int] = (),
    ended_follows: Iterable[int] = (),
) -> tuple[list[int], Callable[[], None]]:
    """A poll's writes inside the caller's (fenced) transaction: the connection's snapshot, the
    deliveries of subscriptions still active and follows still live, ended follows, recorded
    baselines. The new outbox ids, and what to call once the transaction has committed."""
    keep_snapshot = snapshots.replace(conn, snapshot, now)
    wanted = {d.subscription_id for d in deliveries if d.follow_id is None}
    active = set(
        conn.scalars(
            select(subscriptions.c.id).where(
                subscriptions.c.id.in_(wanted), subscriptions.c.paused_at.is_(None)
            )
        )
    ) if wanted else set()
    following = live_follows(conn, deliveries)
    ids = enqueue_all(
        conn,
        [
            delivery
            for delivery in deliveries
            if (delivery.subscription_id in active and delivery.follow_id is None)
            or delivery.follow_id in following
        ],
        now,
    )
    end_follows(conn, ended_follows)
    baseline_ids = list(baselined)
    if baseline_ids:
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id.in_(baseline_ids))
            .values(baseline_done=True)
        )
    set_state(conn, state_key(TAKEN_KEY, snapshots.connection_id), now.isoformat())
    return ids, keep_snapshot


def delivery_record(row: Any) -> Delivery:
    return Delivery(
        id=row.id, subscription_id=row.subscription_id, team_id=row.team_id,
        channel_id=row.channel_id, release_id=row.release_id, kind=row.kind,
        payload=row.payload if row.payload_id is None else row.shared_payload or {},
        created_at=row.created_at, attempts=row.attempts,
        mention=row.mention, follow_id=row.follow_id, language=row.language,
    )


def upsert_parent(
    conn: Connection, team_id: str, channel_id: str, release_id: int, ts: str, now: datetime
) -> None:
    upsert(
        conn, parent_messages, ("team_id", "channel_id", "release_id"),
        {"team_id": team_id, "channel_id": channel_id, "release_id": release_id,
         "ts": ts, "updated_at": now},
    )


def set_state(conn: Connection, key: str, value: str) -> None:
    upsert(conn, worker_state, ("key",), {"key": key, "value": value})
