"""What a claim is and what a poll hands back, free of database and HTTP code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.notify.records import LeaseLost

ScheduleStatus = Literal["active", "failing", "paused"]

# The write callback gets the fenced transaction's connection (a SQLAlchemy Connection, typed
# loosely here so this module stays free of the database library).
Write = Callable[[Any], None]


class ClaimLost(LeaseLost):
    """The claim's lease ran out or was taken over: nothing of the commit was written."""


class ClaimsNeedPostgreSQL(ValueError):
    """Claims rely on row locks that skip locked rows; SQLite has none."""


@dataclass(frozen=True, slots=True)
class Claim:
    """One worker's hold on one connection, for one poll: the fence is (owner, generation)."""

    connection_id: str
    owner: str
    generation: int
    expires_at: datetime
    interval_seconds: int
    consecutive_failures: int
    status: ScheduleStatus
    last_change_at: datetime | None


def _no_write(_conn: Any) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Polled:
    """A poll's result: whether anything changed, and what to write in the fenced commit (the
    snapshot and the outbox rows of every subscribing workspace)."""

    changed: bool
    write: Write = field(default=_no_write)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A connection's schedule row as `check` and App Home would show it."""

    connection_id: str
    next_poll_at: datetime
    interval_seconds: int
    lease_owner: str | None
    lease_expires_at: datetime | None
    lease_generation: int
    consecutive_failures: int
    status: ScheduleStatus
    last_change_at: datetime | None
    last_error: str | None
    last_good_poll_at: datetime | None
