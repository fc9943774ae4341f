"""What the notification side stores: plain frozen records, free of any database code.

The pure planning modules (`plan`, `digests`) and the worker share these with the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.metakraftwerk.models import Release

SubscriptionKind = Literal["change", "digest"]
DeliveryState = Literal["pending", "sending", "sent", "failed"]
DigestOutcome = Literal["sent", "skipped"]


class LeaseLost(RuntimeError):
    """The worker no longer holds its lease; nothing of the transaction was written."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel's change subscription or digest; it belongs to the channel, not its creator."""

    id: int
    team_id: str
    channel_id: str
    kind: SubscriptionKind
    filters: str  # Query.to_text()
    schedule: str | None  # Schedule.to_text(), digests only
    timezone: str | None  # IANA name, digests only
    mention: str | None
    created_by: str
    created_at: datetime
    paused_reason: str | None = None
    paused_at: datetime | None = None
    baseline_done: bool = False
    events: tuple[str, ...] = ()  # kinds of change heard (`bot.query.events`); empty: all
    language: str | None = None  # the language its posts use (`lang:de`); None: the default

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The releases as last polled; `taken_at` is None before the very first poll."""

    releases: dict[int, Release]
    taken_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """Something to post: a change event (with its release id) or a digest (without)."""

    subscription_id: int
    team_id: str
    channel_id: str
    kind: str
    payload: Mapping[str, Any] = field(hash=False)
    release_id: int | None = None
    follow_id: int | None = None  # a follower's direct message (channel_id is the user)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A pending outbox row, with the subscription's mention for the parent message."""

    id: int
    subscription_id: int
    team_id: str
    channel_id: str
    release_id: int | None
    kind: str
    payload: Mapping[str, Any] = field(hash=False)
    created_at: datetime
    attempts: int
    mention: str | None
    follow_id: int | None = None  # a follower's direct message: channel_id is the user's id
    language: str | None = None  # its subscription's (`lang:de`); None: the workspace default


@dataclass(frozen=True, slots=True)
class Follow:
    """One user follows one release: changes to it come as direct messages."""

    id: int
    team_id: str
    user_id: str
    release_id: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Lease:
    """Who (holder) may run the single worker (name)."""

    name: str
    holder: str


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    """A row delivery gave up on, with the reason, for `/releases subscriptions`."""

    id: int
    subscription_id: int
    release_id: int | None
    kind: str
    attempts: int
    last_error: str | None
    created_at: datetime
