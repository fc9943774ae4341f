"""Stand-ins and a reference model for the outbox state machine test.

`CrashingSlack` is a WebClient that answers in-process: it records which outbox row each post
carries (the one row of that channel claimed at that moment), fails a post or makes the worker
die (a BaseException, which no handler of the worker catches) before or after Slack took it.
`expected_kinds` is an independent, deliberately plain statement of which changes a poll
reveals, to check the worker against rather than with its own planning code.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.web.slack_response import SlackResponse
from sqlalchemy import select

from bot.app.finder import EVERYTHING, FindResult, ReleaseFinder
from bot.metakraftwerk.models import Release
from bot.notify.release_record import release_from_record
from bot.notify.store import Store
from bot.notify.store.outbox import SHARED_PAYLOAD
from bot.notify.store.schema import outbox, outbox_payloads, subscriptions

CrashPoint = Literal["before_post", "after_post"]


class Crash(BaseException):
    """The worker process dies here: nothing in the worker may catch it."""


@dataclass(frozen=True, slots=True)
class Post:
    """One chat.postMessage Slack took, and the outbox row it carried."""

    channel: str
    ts: str
    thread_ts: str | None
    row_id: int
    release_id: int
    kind: str
    created_at: datetime
    state: Release
    subscription_alive: bool
    subscription_id: int
    worker_died: bool  # the worker died right after Slack took it, before recording it


class CrashingSlack(WebClient):
    """chat.postMessage and chat.update, answered without a network, with scripted faults."""

    def __init__(self, store: Store) -> None:
        super().__init__(token="xoxb-test")
        self._store = store
        self._ts = itertools.count(1)
        self.posts: list[Post] = []
        self.shown: dict[tuple[str, str], Release] = {}  # (channel, ts) -> state on screen
        self.fail_next: list[Exception] = []
        self.crash_next: CrashPoint | None = None

    def api_call(
        self, api_method: str, *, json: dict[str, Any] | None = None, **kwargs: Any
    ) -> SlackResponse:
        args = dict(json or kwargs.get("params") or kwargs.get("data") or {})
        if api_method == "chat.update":
            last = [p for p in self.posts if p.channel == args["channel"]][-1]
            self.shown[(str(args["channel"]), str(args["ts"]))] = last.state
            return self._ok({"ts": args["ts"]})
        if api_method != "chat.postMessage":
            raise AssertionError(f"unexpected Slack call {api_method}")
        row = self._in_flight(str(args["channel"]))
        if self.crash_next == "before_post":
            self.crash_next = None
            raise Crash("worker died before posting")
        if self.fail_next and row["attempts"] + 2 < _max_attempts():
            raise self.fail_next.pop(0)
        ts = f"{next(self._ts)}.000100"
        state = release_from_record(row["payload"]["release"])
        self.posts.append(Post(
            channel=str(args["channel"]), ts=ts, thread_ts=args.get("thread_ts"),
            row_id=row["id"], release_id=row["release_id"], kind=row["kind"],
            created_at=naive(row["created_at"]), state=state,
            subscription_alive=row["alive"], subscription_id=row["subscription_id"],
            worker_died=self.crash_next == "after_post",
        ))
        if args.get("thread_ts") is None:
            self.shown[(str(args["channel"]), ts)] = state
        if self.crash_next == "after_post":
            self.crash_next = None
            raise Crash("worker died after Slack took the post, before marking it sent")
        return self._ok({"ts": ts})

    def _in_flight(self, channel: str) -> dict[str, Any]:
        with self._store.engine.connect() as conn:
            rows = conn.execute(
                select(outbox, subscriptions.c.id.label("sub"), SHARED_PAYLOAD)
                .outerjoin(subscriptions, subscriptions.c.id == outbox.c.subscription_id)
                .outerjoin(outbox_payloads, outbox_payloads.c.id == outbox.c.payload_id)
                .where(outbox.c.channel_id == channel, outbox.c.sending_at.is_not(None))
            ).all()
        assert len(rows) == 1, f"{len(rows)} rows in flight in {channel} while posting"
        (row,) = rows
        return {
            "id": row.id, "release_id": row.release_id, "kind": row.kind,
            "payload": row.payload if row.payload_id is None else row.shared_payload,
            "created_at": row.created_at, "attempts": row.attempts,
            "alive": row.sub is not None, "subscription_id": row.subscription_id,
        }

    def _ok(self, data: dict[str, Any]) -> SlackResponse:
        return SlackResponse(
            client=self, http_verb="POST", api_url="https://slack.test/api",
            req_args={}, data={"ok": True, **data}, headers={}, status_code=200,
        )


def _max_attempts() -> int:
    from bot.notify.worker.backoff import MIN_ATTEMPTS

    return MIN_ATTEMPTS


class ListFinder(ReleaseFinder):
    """`all_releases` answers whatever list the test put up, fresh, in one group."""

    def __init__(self) -> None:  # no cache: nothing else is asked
        self.listed: tuple[Release, ...] = ()

    def all_releases(self, refresh: bool = False) -> FindResult:
        return FindResult(EVERYTHING, self.listed, {1: "Group"})


def naive(moment: datetime) -> datetime:
    """SQLite hands datetimes back without a zone: compare them as naive UTC."""
    return moment.replace(tzinfo=None)


def expected_kinds(old: Release | None, new: Release | None) -> list[str]:
    """Which changes one release shows between two polls, in the order they are announced."""
    if new is None:
        return [] if old is None or old.deleted else ["deleted"]
    if old is None:
        return [] if new.deleted else ["created"]
    if new.deleted:
        return [] if old.deleted else ["deleted"]
    kinds = []
    if old.deleted:
        kinds.append("restored")
    if old.closed and not new.closed:
        kinds.append("reopened")
    if old.name != new.name:
        kinds.append("renamed")
    if (old.start_date, old.end_date) != (new.start_date, new.end_date):
        kinds.append("dates_changed")
    if new.closed and not old.closed:
        kinds.append("closed")
    return kinds


def open_filter(release: Release) -> bool:
    return not release.closed and not release.deleted


def all_filter(release: Release) -> bool:
    return not release.deleted
