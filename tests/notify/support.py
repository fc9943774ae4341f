"""Shared test helpers for the notification package: release builders and the state of an
outbox row (which only tests need to read). The clock is `tests.fakes.clock.FakeClock`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import select, text, update

from bot.metakraftwerk.models import Release
from bot.notify.records import DeliveryState
from bot.notify.store import Store
from bot.notify.store.schema import outbox, subscriptions

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def release(release_id: int, **changes: Any) -> Release:
    """A plausible open release; keyword arguments override single fields."""
    values: dict[str, Any] = {
        "id": release_id,
        "name": f"R{release_id}",
        "group_id": 1,
        "description": None,
        "start_date": datetime(2026, 1, 1, 23, 0, tzinfo=UTC),
        "end_date": datetime(2026, 1, 7, 23, 0, tzinfo=UTC),
        "closed": False,
        "deleted": False,
        "hotfix_of_id": None,
        "prev_release_id": None,
    }
    values.update(changes)
    return Release(**values)


def snapshot_of(*releases: Release) -> dict[int, Release]:
    return {r.id: r for r in releases}


def delivery_state(store: Store, delivery_id: int) -> DeliveryState | None:
    """An outbox row's state, `sending` while claimed; None once the row is gone."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(outbox.c.state, outbox.c.sending_at).where(outbox.c.id == delivery_id)
        ).one_or_none()
    if row is None:
        return None
    if row.state == "pending" and row.sending_at is not None:
        return "sending"
    return cast(DeliveryState, row.state)


def end_lock_sessions(store: Store, name: str) -> int:
    """PostgreSQL: end the sessions holding the advisory lock `name`, as a process killed or
    cut off from the database would; SQLite has none (0)."""
    if store.engine.dialect.name != "postgresql":
        return 0
    with store.engine.begin() as conn:
        return int(conn.scalar(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() "
            "AND objid = (hashtext(current_schema() || ':' || :name)::bigint & 4294967295)"
        ), {"name": name}) or 0)


def resume_channel(store: Store, team_id: str, channel_id: str) -> int:
    """Resume every paused subscription of a channel; the bot itself resumes one at a time."""
    with store.engine.begin() as conn:
        return conn.execute(
            update(subscriptions)
            .where(
                subscriptions.c.team_id == team_id,
                subscriptions.c.channel_id == channel_id,
                subscriptions.c.paused_at.is_not(None),
            )
            .values(paused_at=None, paused_reason=None)
        ).rowcount


def pause(store: Store, subscription_id: int, reason: str, at: datetime | None = None) -> bool:
    """Pause one subscription and cancel what is pending for it, as the bot does a channel."""
    with store.engine.begin() as conn:
        paused = conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id, subscriptions.c.paused_at.is_(None))
            .values(paused_at=at or datetime.now(UTC), paused_reason=reason)
        ).rowcount
        conn.execute(
            update(outbox)
            .where(outbox.c.subscription_id == subscription_id, outbox.c.state == "pending")
            .values(state="failed", last_error=f"cancelled, subscription paused: {reason}")
        )
    return bool(paused)
