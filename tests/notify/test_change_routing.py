"""From poll to outbox: baselines, routing and the whole cycle against a real store."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.metakraftwerk.models import Release
from bot.notify.change_routing import plan_poll
from bot.notify.changes import ChangeEvent
from bot.notify.records import Snapshot, Subscription
from bot.notify.store import Store
from tests.fakes.clock import FakeClock
from tests.notify.support import T0, release, snapshot_of


def sub(
    sub_id: int, channel: str = "C1", *, baseline_done: bool = True, **kw: object
) -> Subscription:
    values: dict[str, object] = {
        "id": sub_id, "team_id": "T1", "channel_id": channel, "kind": "change",
        "filters": "", "schedule": None, "timezone": None, "mention": None,
        "created_by": "U1", "created_at": T0, "baseline_done": baseline_done,
    }
    values.update(kw)
    return Subscription(**values)  # type: ignore[arg-type]


def group_filter(subscription: Subscription, r: Release) -> bool:
    """Stands in for the query grammar: `filters` holds a group id, or nothing for all."""
    return not subscription.filters or str(r.group_id) == subscription.filters


PREVIOUS = Snapshot(snapshot_of(release(1), release(2, group_id=2)), taken_at=T0)


def test_first_poll_ever_only_records_baselines() -> None:
    plan = plan_poll(Snapshot({}, None), [release(1)], [sub(1), sub(2, baseline_done=False)],
                     group_filter)
    assert plan.events == ()
    assert plan.deliveries == ()
    assert plan.baselined == (1, 2)
    assert plan.snapshot == snapshot_of(release(1))


def test_a_new_subscription_is_baselined_although_the_snapshot_exists() -> None:
    polled = [release(1, closed=True), release(2, group_id=2), release(3)]
    plan = plan_poll(PREVIOUS, polled, [sub(1), sub(2, "C2", baseline_done=False)], group_filter)
    assert [(d.subscription_id, d.release_id, d.kind) for d in plan.deliveries] == [
        (1, 1, "closed"), (1, 3, "created")
    ]
    assert plan.baselined == (2,)


def test_routing_follows_filters_and_skips_paused_and_digests() -> None:
    subscriptions = [
        sub(1, filters="2"),
        sub(2, "C2", paused_at=T0, paused_reason="not_in_channel"),
        sub(3, "C3", kind="digest", schedule="daily 09:00", timezone="UTC"),
        sub(4, "C4", filters="1"),
    ]
    polled = [release(1, closed=True), release(2, group_id=2, closed=True)]
    plan = plan_poll(PREVIOUS, polled, subscriptions, group_filter)
    assert [(d.subscription_id, d.channel_id, d.release_id) for d in plan.deliveries] == [
        (4, "C4", 1), (1, "C1", 2)
    ]
    assert plan.baselined == ()
    event = ChangeEvent.from_payload(plan.deliveries[0].payload)
    assert event == ChangeEvent("closed", release(1, closed=True), release(1))


def test_a_release_that_leaves_the_filter_is_still_reported() -> None:
    # Moved from group 1 to 2 and closed: a group-1 channel hears it closed.
    plan = plan_poll(PREVIOUS, [release(1, group_id=2, closed=True)], [sub(1, filters="1")],
                     group_filter)
    assert [(d.release_id, d.kind) for d in plan.deliveries] == [(1, "closed")]
    assert plan.snapshot[2] == release(2, group_id=2, deleted=True)


def test_a_release_with_a_thread_keeps_it_current_after_leaving_the_filter() -> None:
    # Release 2 (group 2) was reported in C1 and C2 before; a group-1 subscription no longer
    # matches it, but its thread in C1 hears the change. C2 has no thread and hears nothing.
    previous = Snapshot(snapshot_of(release(1), release(2, group_id=2, closed=True)), T0)
    moved = release(2, group_id=2, closed=True, end_date=T0 + timedelta(days=3))
    plan = plan_poll(
        previous, [release(1), moved], [sub(1, filters="1"), sub(2, "C2", filters="1")],
        group_filter, threads={("T1", "C1", 2), ("T1", "C3", 2)},
    )
    assert [(d.channel_id, d.release_id, d.kind) for d in plan.deliveries] == [
        ("C1", 2, "dates_changed")
    ]


def test_one_channel_hears_an_event_once() -> None:
    plan = plan_poll(PREVIOUS, [release(1, closed=True), release(2, group_id=2)],
                     [sub(1), sub(2, filters="1"), sub(3, "C2")], group_filter)
    assert [(d.subscription_id, d.channel_id) for d in plan.deliveries] == [(1, "C1"), (3, "C2")]


def test_a_matching_subscription_with_a_mention_carries_the_event() -> None:
    # An older "everything" subscription must not swallow the mention of a team's own one.
    team = "<!subteam^S1|@dwh>"
    plan = plan_poll(PREVIOUS, [release(1, closed=True), release(2, group_id=2)],
                     [sub(1), sub(2, filters="1", mention=team)], group_filter)
    assert [(d.subscription_id, d.release_id) for d in plan.deliveries] == [(2, 1)]


def test_a_mention_whose_filter_does_not_match_is_not_borrowed_through_a_thread() -> None:
    plan = plan_poll(PREVIOUS, [release(1, closed=True), release(2, group_id=2)],
                     [sub(1, filters="2", mention="<@U1LAKE>"), sub(2)], group_filter,
                     threads={("T1", "C1", 1)})
    assert [(d.subscription_id, d.release_id) for d in plan.deliveries] == [(2, 1)]


def test_a_broken_filter_skips_only_its_subscription() -> None:
    def flaky(subscription: Subscription, r: Release) -> bool:
        if subscription.id == 1:
            raise ValueError("unreadable filters")
        return True

    plan = plan_poll(PREVIOUS, [release(1, closed=True)], [sub(1), sub(2, "C2")], flaky)
    assert {d.subscription_id for d in plan.deliveries} == {2}


def test_worker_cycle_against_the_store(store: Store, clock: FakeClock) -> None:
    """poll -> plan -> commit -> deliver -> mark sent, with a subscription added in between."""

    def poll(releases: list[Release]) -> list[tuple[int, int, str]]:
        plan = plan_poll(store.outbox.load_snapshot(), releases, store.subscriptions.all("change"),
                         group_filter)
        store.outbox.commit_poll(plan.snapshot, plan.deliveries, baselined=plan.baselined)
        clock.advance(timedelta(minutes=1))
        sent = []
        for delivery in store.outbox.pending_deliveries():
            assert delivery.release_id is not None
            parent = store.outbox.get_parent(
                delivery.team_id, delivery.channel_id, delivery.release_id
            )
            store.outbox.mark_sent(delivery.id, f"{delivery.id}.0", parent=parent is None)
            sent.append((delivery.subscription_id, delivery.release_id, delivery.kind))
        return sent

    early = store.subscriptions.add_change(team_id="T1", channel_id="C1", filters="",
                                          created_by="U1").id
    assert poll([release(1)]) == []  # first poll: baseline
    assert poll([release(1, closed=True)]) == [(early, 1, "closed")]

    late = store.subscriptions.add_change(team_id="T1", channel_id="C2", filters="",
                                         created_by="U1").id
    assert poll([release(1, closed=True), release(2)]) == [(early, 2, "created")]  # late: baseline
    assert poll([release(1), release(2)]) == [(early, 1, "reopened"), (late, 1, "reopened")]
    assert poll([release(1), release(2)]) == []
    assert store.outbox.get_parent("T1", "C1", 1) == "1.0"  # the thread started with the first post
    assert store.outbox.get_parent("T1", "C2", 1) is not None


def test_plan_keeps_tombstones_in_the_snapshot() -> None:
    plan = plan_poll(PREVIOUS, [release(1)], [sub(1)], group_filter)
    assert plan.snapshot == {1: release(1), 2: replace(release(2, group_id=2), deleted=True)}
    assert [d.kind for d in plan.deliveries] == ["deleted"]


def _keyed_scenario() -> tuple[Snapshot, list[Release], list[Subscription]]:
    previous = Snapshot(snapshot_of(*(release(i, group_id=i % 3) for i in range(1, 13))), T0)
    polled = [release(i, group_id=i % 3, closed=i % 2 == 0) for i in range(1, 13)]
    subscriptions = [
        sub(n, f"C{n % 5}", filters=str(n % 4) if n % 4 != 3 else "",
            mention="@here" if n % 7 == 0 else None,
            events="closed" if n % 6 == 0 else None)
        for n in range(1, 31)
    ]
    return previous, polled, subscriptions


def test_routing_by_match_key_plans_exactly_what_routing_each_subscription_plans() -> None:
    previous, polled, subscriptions = _keyed_scenario()
    threads = {("T1", "C1", 4), ("T1", "C2", 6), ("T1", "C4", 8)}
    each = plan_poll(previous, polled, subscriptions, group_filter, threads)
    keyed = plan_poll(previous, polled, subscriptions, group_filter, threads,
                      match_key=lambda s: s.filters)
    assert len(each.deliveries) > 6
    assert keyed == each


def test_routing_by_match_key_applies_each_filter_once_per_event() -> None:
    previous, polled, subscriptions = _keyed_scenario()
    seen: list[tuple[str, int]] = []

    def counting(subscription: Subscription, r: Release) -> bool:
        seen.append((subscription.filters, r.id))
        return group_filter(subscription, r)

    plan = plan_poll(previous, polled, subscriptions, counting, match_key=lambda s: s.filters)
    filters = {s.filters for s in subscriptions}
    assert len(seen) <= 2 * len(filters) * len(plan.events)  # old and new state of each event


def test_routing_by_match_key_skips_only_subscriptions_whose_filter_fails() -> None:
    def broken_one(subscription: Subscription, r: Release) -> bool:
        if subscription.filters == "bad":
            raise ValueError("unreadable filters")
        return True

    plan = plan_poll(PREVIOUS, [release(1, closed=True)],
                     [sub(1, filters="bad"), sub(2, "C2"), sub(3, "C3", filters="bad")],
                     broken_one, match_key=lambda s: s.filters)
    assert {d.subscription_id for d in plan.deliveries} == {2}


def group_gate(subscription: Subscription, group_id: int | None) -> bool:
    """What `group_filter` admits of a group, as Query.admits_group does for real filters."""
    return not subscription.filters or str(group_id) == subscription.filters


def _moving_scenario() -> tuple[Snapshot, list[Release], list[Subscription]]:
    """The keyed scenario, plus a release that closes moving from group 1 to group 2, and one
    that closes losing its group."""
    previous, polled, subscriptions = _keyed_scenario()
    moved = release(20, group_id=1)
    orphaned = release(21, group_id=2)
    previous = Snapshot({**previous.releases, 20: moved, 21: orphaned}, previous.taken_at)
    polled = [*polled, replace(moved, group_id=2, closed=True),
              replace(orphaned, group_id=None, closed=True)]
    return previous, polled, subscriptions


def test_routing_through_the_group_gate_plans_exactly_what_routing_each_subscription_plans(
) -> None:
    previous, polled, subscriptions = _moving_scenario()
    threads = {("T1", "C1", 4), ("T1", "C2", 6), ("T1", "C4", 8), ("T1", "C3", 20)}
    each = plan_poll(previous, polled, subscriptions, group_filter, threads)
    gated = plan_poll(previous, polled, subscriptions, group_filter, threads,
                      match_key=lambda s: s.filters, group_gate=group_gate)
    assert {d.release_id for d in gated.deliveries} >= {20, 21}
    assert gated == each


def test_the_group_gate_applies_a_filter_only_to_events_of_groups_it_admits() -> None:
    previous, polled, subscriptions = _moving_scenario()
    seen: list[tuple[str, int]] = []

    def counting(subscription: Subscription, r: Release) -> bool:
        seen.append((subscription.filters, r.id))
        return group_filter(subscription, r)

    plan = plan_poll(previous, polled, subscriptions, counting,
                     match_key=lambda s: s.filters, group_gate=group_gate)
    by_id = {e.release.id: e for e in plan.events}
    for filters, release_id in seen:
        event = by_id[release_id]
        groups = {event.release.group_id, None if event.previous is None
                  else event.previous.group_id}
        assert not filters or any(str(g) == filters for g in groups), (filters, release_id)
    assert ("1", 20) in seen
    assert ("2", 20) in seen
    assert ("0", 20) not in seen


def test_a_gate_that_fails_lets_the_filter_decide() -> None:
    def failing_gate(subscription: Subscription, group_id: int | None) -> bool:
        raise ValueError("unreadable filters")

    previous, polled, subscriptions = _keyed_scenario()
    each = plan_poll(previous, polled, subscriptions, group_filter)
    gated = plan_poll(previous, polled, subscriptions, group_filter,
                      match_key=lambda s: s.filters, group_gate=failing_gate)
    assert gated == each
