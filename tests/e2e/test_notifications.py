"""Notifications end to end: the Procfile's `web` and `worker` processes on one SQLite file.

Subscriptions are made with signed slash commands to the web process; the worker process polls
the demo API every second and posts to the Slack fake. Every test gets a fresh demo API, Slack
fake and database (the `notifier` fixture), so counts are per test. Nothing is timed: the tests
wait for worker rounds (counted as the complete release lists the demo API served) or for a
state, with generous timeouts, and then count what Slack accepted.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.notify.records import Subscription
from bot.notify.store import Store
from bot.notify.store.schema import subscriptions
from tests.e2e.conftest import Notifier, RecordingSlack, all_text, new_key
from tests.fakes.signing import post_signed, slash_command_body

pytestmark = pytest.mark.slow

TEAM = "T0001"  # the team of every signed request
GROUP = "DWH_GROUP"
WAIT = 30.0  # seconds: generous bounds for states the worker reaches within a round or two

# Phrases of the notification fallback text (`change_line(rich=False)`), most specific first.
KIND_PHRASES = (
    ("dates_changed", " dates changed: "),
    ("renamed", " renamed (was "),
    ("restored", " restored (no longer deleted)"),
    ("reopened", " reopened"),
    ("created", " created"),
    ("closed", " closed"),
    ("deleted", " deleted"),
)
RELEASE_ID = re.compile(r"Release #(\d+)\b")


# ---- helpers ------------------------------------------------------------------------------


def command(notifier: Notifier, channel: str, text: str) -> dict[str, Any]:
    """`/releases <text>` typed in `channel`; the answer that reached response_url."""
    key = new_key()
    body = slash_command_body(
        text, response_url=notifier.slack.response_url(key), channel_id=channel
    )
    response = post_signed(notifier.web.http, notifier.web.events_url, body)
    assert response.status_code == 200, response.text
    return notifier.web.answer(key)


def subscribe(notifier: Notifier, channel: str, text: str) -> dict[str, Any]:
    """A subscribe or digest command; it must be confirmed in the channel."""
    answer = command(notifier, channel, text)
    assert answer.get("response_type") == "in_channel", answer
    assert "subscribed this channel" in answer["text"] or "digest" in answer["text"], answer
    return answer


@contextmanager
def opened_store(notifier: Notifier) -> Iterator[Store]:
    """The worker's database, opened from the test process (SQLite in WAL mode allows it)."""
    store = Store.from_url(notifier.database_url)
    try:
        yield store
    finally:
        store.close()


def channel_subscriptions(notifier: Notifier, channel: str) -> list[Subscription]:
    with opened_store(notifier) as store:
        return store.subscriptions.in_channel(TEAM, channel)


def wait_until(what: str, check: Callable[[], bool], notifier: Notifier) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT:.0f} s: {what}\n{notifier.workers.logs()}")
        time.sleep(0.05)


def wait_baselines(notifier: Notifier, *channels: str) -> None:
    """Until the worker recorded the baseline of every change subscription in `channels`."""

    def done() -> bool:
        subs = [s for c in channels for s in channel_subscriptions(notifier, c)]
        return bool(subs) and all(s.baseline_done for s in subs if s.kind == "change")

    wait_until(f"baselines of the subscriptions in {channels}", done, notifier)


@dataclass(frozen=True)
class Post:
    """One chat.postMessage Slack accepted, read back as a notification."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str
    release_id: int | None
    kind: str | None


def kind_of(text: str) -> str | None:
    return next((kind for kind, phrase in KIND_PHRASES if phrase in text), None)


def posts(slack: RecordingSlack, channel: str) -> list[Post]:
    """The accepted posts in `channel`, in order; replies take the release of their parent."""
    parents: dict[str, int | None] = {}
    found: list[Post] = []
    for answered in slack.accepted("chat.postMessage", channel):
        args, ts = answered.args, str(answered.body["ts"])
        thread_ts = args.get("thread_ts")
        text = str(args.get("text", ""))
        if thread_ts is None:
            match = RELEASE_ID.search(all_text(args.get("blocks") or []))
            release_id = int(match.group(1)) if match else None
            parents[ts] = release_id
        else:
            release_id = parents.get(str(thread_ts))
        found.append(Post(channel, ts, thread_ts, text, release_id, kind_of(text)))
    return found


def per_change(found: list[Post]) -> Counter[tuple[str, int | None, str | None]]:
    """How often each (channel, release, change) was posted: exactly once is the promise."""
    return Counter((p.channel, p.release_id, p.kind) for p in found)


def wait_post(notifier: Notifier, channel: str, release_id: int, kind: str) -> Post:
    """Until `kind` of `release_id` was posted in `channel`; that post (the first such)."""

    def seen() -> bool:
        return any(
            p.release_id == release_id and p.kind == kind for p in posts(notifier.slack, channel)
        )

    wait_until(f"{kind} of release {release_id} posted in {channel}", seen, notifier)
    return next(
        p for p in posts(notifier.slack, channel) if p.release_id == release_id and p.kind == kind
    )


def add_release(notifier: Notifier, name: str) -> int:
    """A running release of our own in DWH_GROUP, so no sample release's name can confuse the
    text checks; add it before subscribing, or the channel hears that it was created."""
    now = datetime.now(UTC)
    release = notifier.demo.data.add(
        name, GROUP, start=now - timedelta(days=3), end=now + timedelta(days=10)
    )
    return release.id


# ---- change notifications ----------------------------------------------------------------


def test_changes_reach_the_channel_once_across_restarts_and_a_second_worker(
    notifier: Notifier,
) -> None:
    slack, data = notifier.slack, notifier.demo.data
    release_id = add_release(notifier, "NOTIFY-E2E-A")

    answer = subscribe(notifier, "C1", f"subscribe group:{GROUP}")
    assert "subscribed this channel to release changes" in answer["text"]

    # The subscription's first round only records where things stand.
    wait_baselines(notifier, "C1")
    notifier.wait_rounds(1)
    assert posts(slack, "C1") == []

    # Closed: one parent message.
    data.close(release_id)
    parent = wait_post(notifier, "C1", release_id, "closed")
    assert parent.thread_ts is None
    assert "NOTIFY-E2E-A closed" in parent.text

    # The default subscription is for open releases ("a release that closes is reported too"),
    # so a closed release's later changes are not news to it; reopen first, then move dates.
    data.open(release_id)
    reopened = wait_post(notifier, "C1", release_id, "reopened")
    assert reopened.thread_ts == parent.ts
    data.set_dates(release_id, end=datetime.now(UTC) + timedelta(days=30))
    moved = wait_post(notifier, "C1", release_id, "dates_changed")
    assert moved.thread_ts == parent.ts

    # Each reply rewrites the parent to the current state.
    def parent_updated() -> bool:
        return any(
            "dates changed" in str(u.args.get("text", ""))
            for u in slack.accepted("chat.update", "C1")
            if u.args.get("ts") == parent.ts
        )

    wait_until("chat.update of the parent after the dates changed", parent_updated, notifier)

    # A restart between polls: SIGTERM, a clean exit, a new process. What it finds sent stays
    # sent; what changed while it was down is posted once.
    first = notifier.workers.started[0]
    first.stop()
    data.rename(release_id, "NOTIFY-E2E-B")
    second = notifier.workers.start()
    wait_post(notifier, "C1", release_id, "renamed")

    # A second worker beside the running one waits for the lease instead of posting.
    third = notifier.workers.start()
    wait_until(
        "the extra worker to wait for the lease", lambda: "waits" in third.stderr(), notifier
    )
    data.delete(release_id)
    wait_post(notifier, "C1", release_id, "deleted")
    notifier.wait_rounds(2)

    # The leader stops; the waiting worker takes over where it left off.
    second.stop()
    data.update(release_id, deleted=False)
    wait_post(notifier, "C1", release_id, "restored")
    notifier.wait_rounds(2)

    found = posts(slack, "C1")
    counts = per_change(found)
    kinds = ["closed", "reopened", "dates_changed", "renamed", "deleted", "restored"]
    assert counts == Counter({("C1", release_id, k): 1 for k in kinds}), found
    assert [p.kind for p in found] == kinds
    assert all(p.thread_ts == parent.ts for p in found[1:])
    assert slack.refused("chat.postMessage") == []
    # Clean stops leave no post half done that a successor would have to repeat.
    assert "may show it twice" not in notifier.workers.logs(tail=1_000_000)
    updates = [u for u in slack.accepted("chat.update", "C1") if u.args.get("ts") == parent.ts]
    assert len(updates) == len(kinds) - 1
    assert "NOTIFY-E2E-B" in str(updates[-1].args.get("text"))

    listing = command(notifier, "C1", "subscriptions")
    assert listing.get("response_type", "ephemeral") == "ephemeral"
    text = all_text(listing)
    assert "Subscriptions in this channel · 1" in text
    assert f"group {GROUP}" in text
    assert "Paused" not in text


# ---- digests -------------------------------------------------------------------------------


def test_a_digest_is_posted_once_at_its_minute(notifier: Notifier) -> None:
    slack = notifier.slack
    minute = datetime.now(UTC).strftime("%H:%M")
    subscribe(notifier, "CDIGEST", f"digest daily {minute} tz:UTC group:{GROUP}")
    [digest] = channel_subscriptions(notifier, "CDIGEST")

    # Today's HH:MM:00 lies before the subscription's created_at (HH:MM:ss), and occurrences
    # from before a subscription existed never fire: as made, it is first due tomorrow.
    notifier.wait_rounds(1)
    assert slack.accepted("chat.postMessage", "CDIGEST") == []

    # Move created_at back an hour, as if it had been made earlier: today's occurrence is then
    # due now, and well within the grace window, without waiting a day or faking the clock of
    # another process.
    with opened_store(notifier) as store, store.engine.begin() as conn:
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == digest.id)
            .values(created_at=digest.created_at - timedelta(hours=1))
        )

    def digest_posted() -> bool:
        return bool(slack.accepted("chat.postMessage", "CDIGEST"))

    wait_until("the digest in CDIGEST", digest_posted, notifier)
    notifier.wait_rounds(2)
    [post] = slack.accepted("chat.postMessage", "CDIGEST")
    assert "thread_ts" not in post.args
    assert "Digest" in all_text(post.args), post.args
    assert slack.refused("chat.postMessage") == []


# ---- failures ------------------------------------------------------------------------------


def test_a_channel_without_the_app_is_paused_and_holds_up_no_other(notifier: Notifier) -> None:
    slack, data = notifier.slack, notifier.demo.data
    release_id = add_release(notifier, "NOTIFY-E2E-C")
    slack.script.channel_errors["C2"] = "not_in_channel"
    # C2 subscribes first, so its delivery comes first in the outbox.
    subscribe(notifier, "C2", f"subscribe group:{GROUP}")
    subscribe(notifier, "C1", f"subscribe group:{GROUP}")
    wait_baselines(notifier, "C1", "C2")

    data.close(release_id)
    wait_post(notifier, "C1", release_id, "closed")
    wait_until(
        "C2's subscription paused",
        lambda: all(s.paused for s in channel_subscriptions(notifier, "C2")),
        notifier,
    )
    [c2] = channel_subscriptions(notifier, "C2")
    assert c2.paused_reason is not None
    assert "not_in_channel" in c2.paused_reason
    assert not any(s.paused for s in channel_subscriptions(notifier, "C1"))

    text = all_text(command(notifier, "C2", "subscriptions"))
    assert "Paused" in text
    assert "not_in_channel" in text

    # Reported once, then left alone: the next change reaches C1 and is not tried in C2.
    data.open(release_id)
    wait_post(notifier, "C1", release_id, "reopened")
    notifier.wait_rounds(1)
    assert slack.refused("chat.postMessage", "C2") == [(200, "not_in_channel")]
    assert per_change(posts(slack, "C1")) == Counter(
        {("C1", release_id, "closed"): 1, ("C1", release_id, "reopened"): 1}
    )


def test_rate_limits_are_waited_out_and_the_post_arrives_once(notifier: Notifier) -> None:
    slack, data = notifier.slack, notifier.demo.data
    release_id = add_release(notifier, "NOTIFY-E2E-D")
    subscribe(notifier, "C5", f"subscribe group:{GROUP}")
    wait_baselines(notifier, "C5")

    slack.script.retry_after = 1
    slack.script.rate_limit_next = 2  # the next two chat calls answer 429, Retry-After: 1
    data.close(release_id)
    wait_post(notifier, "C5", release_id, "closed")
    notifier.wait_rounds(2)

    assert slack.refused("chat.postMessage", "C5") == [(429, "ratelimited")] * 2
    assert per_change(posts(slack, "C5")) == Counter({("C5", release_id, "closed"): 1})
    assert len(slack.calls_to("chat.postMessage")) == 3
