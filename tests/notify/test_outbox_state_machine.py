"""A stateful property test of change detection, the outbox and delivery under crashes.

Hypothesis drives random sequences of API states (releases created, closed, reopened, renamed,
moved, deleted and undeleted, one vanishing for a poll, an empty list that is a glitch),
subscriptions added and removed in two channels (`open` and `all`), Slack failing a post, and
the worker dying before or after Slack took a post (a new worker then takes over the same
store). A plain reference model says what each poll should announce where; at the end, with
the faults over, the worker drains the outbox and the invariants are checked:

- every change a live subscription should hear was posted at least once;
- at most one repeat per crash;
- a release's thread keeps its order, replies go to its parent, and the parent shows the latest
  state posted (unless a worker died right after that post and its subscription was deleted
  before a new worker took it up: the row is orphaned, and the parent waits for the next
  change, even in a channel that has subscribed anew);
- nothing is posted for a subscription that no longer exists, nor anything the model did not
  expect (a glitch is never news).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse
from sqlalchemy import select

from bot.config import Settings
from bot.metakraftwerk.models import Release
from bot.notify.records import Subscription
from bot.notify.store import Store
from bot.notify.store.schema import parent_messages
from bot.notify.worker import Worker
from tests.fakes.clock import FakeClock
from tests.notify.outbox_model import (
    CrashingSlack,
    CrashPoint,
    ListFinder,
    all_filter,
    expected_kinds,
    naive,
    open_filter,
)
from tests.notify.support import T0, release

TEAM = "T1"
FILTERS = {"C1": ("open", open_filter), "C2": ("all", all_filter)}
POLL = timedelta(seconds=61)
SETTINGS = Settings(poll_interval_seconds=60, digest_grace_minutes=60)
CHANGES = ("close", "reopen", "rename", "move", "delete", "undelete")
FAULTS = ("none", "none", "slack_down", "one_timeout", "before_post", "after_post")
Key = tuple[str, int, str, datetime]  # channel, release id, kind, poll time


class OutboxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="outbox-machine-"))
        self.clock = FakeClock(T0)
        self.store = Store.from_url(f"sqlite:///{self.dir / 'bot.db'}", clock=self.clock)
        self.slack = CrashingSlack(self.store)
        self.finder = ListFinder()
        self.workers = 0
        self.worker = self._new_worker()
        self.api: dict[int, Release] = {i: release(i) for i in (1, 2, 3)}
        self.seen: dict[int, Release] | None = None  # what the last real poll saw
        self.vanish: int | None = None
        self.glitch_next = False
        self.last_was_glitch = False
        self.subs: dict[str, Subscription] = {}  # live subscription per channel
        self.baselined: set[int] = set()
        self.expected: dict[int, set[Key]] = {}  # subscription id -> what it should hear
        self.crashes = 0
        self.dates = 0
        for channel in sorted(FILTERS):  # both channels listen from the first step on
            self.subscribe(channel)
        self._poll(POLL)

    def _new_worker(self) -> Worker:
        self.workers += 1
        return Worker(self.store, self.finder, self.slack, settings=SETTINGS, clock=self.clock,
                      holder_id=f"w{self.workers}")

    # ---- the API ------------------------------------------------------------------------

    @precondition(lambda self: len(self.api) < 6)
    @rule(closed=st.booleans())
    def create(self, closed: bool) -> None:
        new_id = max(self.api) + 1
        self.api[new_id] = release(new_id, closed=closed)

    def edit(self, rid: int, change: str) -> None:
        r = self.api[rid]
        if change == "rename":
            self.dates += 1
            self.api[rid] = replace(r, name=f"R{rid}-{self.dates}")
        elif change == "move":
            self.dates += 1
            self.api[rid] = replace(r, end_date=datetime(2026, 2, 1, tzinfo=UTC)
                                    + timedelta(days=self.dates))
        else:
            closed = {"close": True, "reopen": False}.get(change, r.closed)
            deleted = {"delete": True, "undelete": False}.get(change, r.deleted)
            self.api[rid] = replace(r, closed=closed, deleted=deleted)

    @rule(data=st.data())
    def vanish_for_one_poll(self, data: st.DataObject) -> None:
        self.vanish = data.draw(st.sampled_from(sorted(self.api)))

    @precondition(lambda self: not self.last_was_glitch and self.seen is not None
                  and sum(not r.deleted for r in self.seen.values()) >= 3)
    @rule()
    def empty_list_glitch(self) -> None:
        self.glitch_next = True

    # ---- subscriptions ------------------------------------------------------------------

    @rule(channel=st.sampled_from(sorted(FILTERS)))
    def subscribe(self, channel: str) -> None:
        if channel in self.subs:
            return
        sub = self.store.subscriptions.add_change(
            team_id=TEAM, channel_id=channel, filters=FILTERS[channel][0], created_by="U1")
        self.subs[channel] = sub
        self.expected[sub.id] = set()

    @rule(channel=st.sampled_from(sorted(FILTERS)))
    def unsubscribe(self, channel: str) -> None:
        sub = self.subs.pop(channel, None)
        if sub is not None:
            assert self.store.subscriptions.delete(TEAM, channel, sub.id)

    # ---- Slack and the worker -----------------------------------------------------------

    @rule(data=st.data(), fault=st.sampled_from(FAULTS))
    def poll(self, data: st.DataObject, fault: str) -> None:
        """Some edits in the API, then one round of the worker with at most one fault."""
        for change in data.draw(st.lists(st.sampled_from(CHANGES), max_size=3)):
            self.edit(data.draw(st.sampled_from(sorted(self.api))), change)
        self.worker_round(fault)

    def worker_round(self, fault: str) -> None:
        """One round of the worker with at most one fault (one of FAULTS)."""
        if fault in ("before_post", "after_post"):
            self.slack.crash_next = cast(CrashPoint, fault)
        elif fault == "slack_down":  # every post of this round fails
            self.slack.fail_next.extend(self._failure(i % 2 == 0) for i in range(20))
        elif fault == "one_timeout":
            self.slack.fail_next.append(self._failure(False))
        self._poll(POLL)
        self.slack.fail_next.clear()
        self.slack.crash_next = None

    def _failure(self, server_error: bool) -> Exception:
        if not server_error:
            return TimeoutError("The read operation timed out")
        response = SlackResponse(client=self.slack, http_verb="POST", api_url="x",
                                 req_args={}, data={"ok": False, "error": "internal_error"},
                                 headers={}, status_code=500)
        return SlackApiError("internal_error", response)  # type: ignore[no-untyped-call]

    def _poll(self, step: timedelta) -> None:
        self.clock.advance(step)
        polled = [r for rid, r in sorted(self.api.items()) if rid != self.vanish]
        glitch = self.glitch_next
        self.finder.listed = () if glitch else tuple(polled)
        self.glitch_next, self.last_was_glitch, self.vanish = False, glitch, None
        if not glitch:
            self._expect(polled)
        try:
            self.worker.poll_once()
        except BaseException as exc:
            if type(exc).__name__ != "Crash":
                raise
            self.crashes += 1
            self.clock.advance(timedelta(seconds=20))  # the dead worker's lease runs out
            self.worker = self._new_worker()

    def _expect(self, polled: list[Release]) -> None:
        """What this poll should announce to each live, baselined subscription."""
        new = {r.id: r for r in polled}
        now = naive(self.clock.now())
        if self.seen is not None:
            threads = self._threads()
            for rid in sorted(self.seen.keys() | new.keys()):
                old, cur = self.seen.get(rid), new.get(rid)
                state = cur or (replace(old, deleted=True) if old else None)
                for kind in expected_kinds(old, cur):
                    for channel, sub in self.subs.items():
                        if sub.id not in self.baselined:
                            continue
                        hit = any(s is not None and FILTERS[channel][1](s) for s in (old, state))
                        if hit or (channel, rid) in threads:
                            self.expected[sub.id].add((channel, rid, kind, now))
            merged = dict(new)
            for rid, r in self.seen.items():
                merged.setdefault(rid, replace(r, deleted=True))
            new = merged
        self.seen = new
        self.baselined |= {sub.id for sub in self.subs.values()}

    def _threads(self) -> set[tuple[str, int]]:
        """A channel has a thread for a release once it has a parent message there, or owes a
        live subscription a post about it (the post will become the parent)."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(parent_messages.c.channel_id,
                                       parent_messages.c.release_id)).all()
        owed = {(k[0], k[1]) for sub in self.subs.values() for k in self.expected[sub.id]}
        return {(r.channel_id, r.release_id) for r in rows} | owed

    # ---- invariants ---------------------------------------------------------------------

    @invariant()
    def only_live_subscriptions_and_expected_changes_are_posted(self) -> None:
        wanted = set().union(*self.expected.values()) if self.expected else set()
        for post in self.slack.posts:
            assert post.subscription_alive, post
            key = (post.channel, post.release_id, post.kind, post.created_at)
            assert key in wanted, f"posted what no subscription should hear: {post}"

    @invariant()
    def threads_keep_their_order(self) -> None:
        rows: dict[tuple[str, int], list[int]] = {}
        parents: dict[tuple[str, int], set[str]] = {}
        for post in self.slack.posts:
            thread = (post.channel, post.release_id)
            if post.thread_ts is None:
                parents.setdefault(thread, set()).add(post.ts)
            else:
                assert post.thread_ts in parents.get(thread, set()), post
            seq = rows.setdefault(thread, [])
            if not seq or seq[-1] != post.row_id:
                assert not seq or seq[-1] < post.row_id, (thread, seq, post.row_id)
                seq.append(post.row_id)

    def teardown(self) -> None:
        try:
            self.slack.fail_next.clear()
            self.slack.crash_next = None
            for _ in range(3):  # the faults are over: drain the outbox
                self._poll(timedelta(hours=3))
            self._check_delivered()
        finally:
            self.store.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    def _check_delivered(self) -> None:
        posted = Counter((p.channel, p.release_id, p.kind, p.created_at)
                         for p in self.slack.posts)
        for sub in self.subs.values():
            missing = self.expected[sub.id] - posted.keys()
            assert not missing, f"never posted to {sub.channel_id}: {sorted(missing)}"
        repeats = sum(n - 1 for n in posted.values())
        assert repeats <= self.crashes, (repeats, self.crashes, posted)
        with self.store.engine.connect() as conn:
            parents = conn.execute(select(parent_messages)).all()
        live = {sub.id for sub in self.subs.values()}
        for parent in parents:
            thread = [p for p in self.slack.posts
                      if (p.channel, p.release_id) == (parent.channel_id, parent.release_id)]
            shown = self.slack.shown.get((parent.channel_id, parent.ts))
            last = thread[-1]
            if last.subscription_id in live or not last.worker_died:
                assert shown == last.state, (parent, shown, last)
            else:
                # The worker died after Slack took this post, and its subscription is gone:
                # its row is never taken up again, nor the parent's update the worker did not
                # make, even if the channel has subscribed anew since. The parent shows a
                # state it was told, if not the last one.
                assert shown in [p.state for p in thread], (parent, shown, thread)


OutboxMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow tracing
)
TestOutboxMachine = OutboxMachine.TestCase


def _check(machine: OutboxMachine) -> None:
    machine.only_live_subscriptions_and_expected_changes_are_posted()
    machine.threads_keep_their_order()


def _crash_after_reply_then_subscribe_anew(machine: OutboxMachine) -> None:
    """R1 is deleted and announced; restored while Slack is down; C1's reply goes out and the
    worker dies before recording it or updating the parent; while no worker runs, C1's
    subscription is deleted (its row in flight is orphaned) and C1 subscribes anew."""
    machine.edit(1, "close")
    machine.edit(1, "delete")
    machine.worker_round("none")
    machine.edit(1, "close")
    machine.edit(1, "undelete")
    machine.worker_round("slack_down")
    machine.worker_round("after_post")
    machine.unsubscribe("C1")
    machine.subscribe("C1")
    _check(machine)
    assert machine.crashes == 1


def test_a_channel_subscribed_anew_keeps_the_parent_a_dead_worker_left() -> None:
    """The orphaned reply is never posted again, so C1's parent still says "deleted" under
    a "restored" reply: the channel has a live subscription, but not the one that posted."""
    machine = OutboxMachine()
    try:
        _crash_after_reply_then_subscribe_anew(machine)
    finally:
        machine.teardown()
    last = [p for p in machine.slack.posts if p.channel == "C1"][-1]
    assert (last.kind, last.worker_died, last.subscription_alive) == ("restored", True, True)
    assert not any(p.row_id == last.row_id for p in machine.slack.posts if p != last)


def test_the_next_change_brings_that_parent_up_to_date() -> None:
    """The new subscription hears R1's next change in the old thread (R1 is closed, so only
    through the thread), and its update of the parent shows the latest state again."""
    machine = OutboxMachine()
    try:
        _crash_after_reply_then_subscribe_anew(machine)
        machine.worker_round("none")  # the new subscription's baseline
        machine.edit(1, "rename")
        machine.worker_round("none")
        _check(machine)
        last = [p for p in machine.slack.posts if p.channel == "C1"][-1]
        assert (last.kind, last.subscription_id) == ("renamed", machine.subs["C1"].id)
        assert last.thread_ts == "1.000100"
    finally:
        machine.teardown()
