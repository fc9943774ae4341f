"""The adaptive interval, checked over a grid of every case and with Hypothesis: recent changes
poll at the base, quiet backs off to the cap, failures back off with jitter and show as failing
from the `failing_after`-th on, with exactly one poll that says to tell the admins."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.notify.scale.cadence import (
    Cadence,
    after_failure,
    after_success,
    failure_backoff,
    quiet_interval,
)

C = Cadence()
HOUR = timedelta(hours=1)
BASES = (1.0, 30.0, 60.0, 300.0, 1200.0)  # 1200 s: a base above the 900 s caps
RANDOMS = (0.0, 0.25, 0.5, 0.999, 1.0)
QUIETS = tuple(HOUR * h for h in (0, 0.5, 1, 1.01, 2, 3, 4, 5, 6, 10, 100, 10_000))


def test_recent_changes_poll_at_the_base_interval() -> None:
    for base, quiet in itertools.product(BASES, (timedelta(0), HOUR / 2, HOUR)):
        assert quiet_interval(C, base, quiet) == base


def test_quiet_doubles_for_each_further_hour_up_to_fifteen_minutes() -> None:
    expected = {1: 60.0, 1.01: 120.0, 2: 240.0, 3: 480.0, 4: 900.0, 100: 900.0}
    for hours, interval in expected.items():
        assert quiet_interval(C, 60.0, HOUR * hours) == interval, hours


def test_quiet_never_polls_faster_nor_past_the_cap() -> None:
    for base, (before, after) in itertools.product(BASES, itertools.pairwise(QUIETS)):
        slower = quiet_interval(C, base, after)
        assert slower >= quiet_interval(C, base, before) >= base
        assert slower <= max(base, C.quiet_max_seconds)


def test_every_success_is_active_and_spread_by_the_jitter() -> None:
    for base, quiet, random in itertools.product(BASES, QUIETS, RANDOMS):
        nxt = after_success(C, base, quiet, random)
        interval = quiet_interval(C, base, quiet)
        assert (nxt.status, nxt.became_failing) == ("active", False)
        assert interval * 0.9 <= nxt.delay_seconds <= interval * 1.1
    assert after_success(C, 60.0, HOUR, 0.5).delay_seconds == 60.0
    assert after_success(C, 60.0, HOUR, 0.0).delay_seconds == pytest.approx(54.0)


def test_a_negative_quiet_time_from_a_clock_step_counts_as_recent() -> None:
    assert after_success(C, 60.0, -HOUR, 0.5).delay_seconds == 60.0


def test_failures_back_off_exponentially_to_the_cap() -> None:
    assert [failure_backoff(C, 60.0, n) for n in range(1, 7)] == [
        60.0, 120.0, 240.0, 480.0, 900.0, 900.0]
    assert failure_backoff(C, 1200.0, 5) == 1200.0
    assert failure_backoff(C, 60.0, 10_000) == 900.0  # no overflow


def test_failure_delays_stay_within_equal_jitter() -> None:
    for base, before, random in itertools.product(BASES, range(12), RANDOMS):
        backoff = failure_backoff(C, base, before + 1)
        delay = after_failure(C, base, before, random).delay_seconds
        assert backoff / 2 <= delay <= backoff


def test_failing_from_the_third_failure_and_the_admins_hear_once() -> None:
    for cadence in (C, Cadence(failing_after=1), Cadence(failing_after=5)):
        streak = [after_failure(cadence, 60.0, before, 0.5) for before in range(10)]
        statuses = [n.status for n in streak]
        k = cadence.failing_after
        assert statuses == ["active"] * (k - 1) + ["failing"] * (10 - k + 1)
        assert [n.became_failing for n in streak].count(True) == 1
        assert streak[k - 1].became_failing


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_a_random_number_outside_the_unit_interval_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="random"):
        after_success(C, 60.0, HOUR, bad)
    with pytest.raises(ValueError, match="random"):
        after_failure(C, 60.0, 0, bad)


@pytest.mark.parametrize("options", [
    {"recent": timedelta(0)}, {"failing_after": 0}, {"jitter": 1.0}, {"jitter": -0.1},
])
def test_nonsense_settings_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"must be|fraction"):
        Cadence(**options)  # type: ignore[arg-type]


@given(
    base=st.floats(min_value=1.0, max_value=3600.0),
    quiet=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)),
    random=st.floats(min_value=0.0, max_value=1.0),
    before=st.integers(min_value=0, max_value=10_000),
)
def test_any_history_gives_a_bounded_positive_delay(
    base: float, quiet: timedelta, random: float, before: int
) -> None:
    ok = after_success(C, base, quiet, random).delay_seconds
    assert base * 0.9 <= ok <= max(base, C.quiet_max_seconds) * 1.1
    failed = after_failure(C, base, before, random).delay_seconds
    assert base / 2 <= failed <= max(base, C.failure_max_seconds)
