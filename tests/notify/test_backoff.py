"""The delivery back-off: full jitter under a doubling, capped ceiling, and when a row is
given up. The random source is injected, so every draw is known."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.notify.worker.backoff import (
    GIVE_UP_AFTER,
    MAX_BACKOFF_SECONDS,
    MIN_ATTEMPTS,
    RETRY_BASE_SECONDS,
    Backoff,
    gives_up,
)

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _fixed(value: float) -> Backoff:
    return Backoff(uniform=lambda low, high: value)


def test_the_ceiling_doubles_from_the_base_and_stops_at_the_cap() -> None:
    ceilings = [Backoff().ceiling(n) for n in range(8)]
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0, 20.0]
    assert RETRY_BASE_SECONDS == 1.0
    assert MAX_BACKOFF_SECONDS < 60  # a Slack blip costs seconds, never minutes


@pytest.mark.parametrize("attempts", [0, 1, 5, 61, 62, 1_000, 10**6])
def test_many_attempts_never_overflow_and_stay_at_the_cap(attempts: int) -> None:
    assert Backoff().ceiling(attempts) == min(MAX_BACKOFF_SECONDS, 2.0**min(attempts, 60))


def test_negative_attempts_count_as_none() -> None:
    assert Backoff().ceiling(-3) == RETRY_BASE_SECONDS


def test_each_draw_is_uniform_between_zero_and_the_ceiling() -> None:
    asked: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        asked.append((low, high))
        return (low + high) / 2

    backoff = Backoff(base_seconds=0.5, cap_seconds=6.0, uniform=uniform)
    waits = [backoff.delay(n).total_seconds() for n in range(6)]
    assert asked == [(0.0, 0.5), (0.0, 1.0), (0.0, 2.0), (0.0, 4.0), (0.0, 6.0), (0.0, 6.0)]
    assert waits == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize("drawn", [-5.0, -0.0, math.nan, 1e9, math.inf, -math.inf])
def test_a_draw_outside_the_range_is_clamped_into_it(drawn: float) -> None:
    for attempts in range(10):
        wait = _fixed(drawn).delay(attempts).total_seconds()
        assert 0.0 <= wait <= Backoff().ceiling(attempts)


def test_the_extremes_of_the_draw_are_zero_and_the_ceiling() -> None:
    assert _fixed(0.0).delay(3) == timedelta(0)
    assert Backoff(uniform=lambda low, high: high).delay(3) == timedelta(seconds=8)


def test_with_the_real_random_source_every_wait_is_in_range_and_they_spread() -> None:
    rng = random.Random(17)
    backoff = Backoff(uniform=rng.uniform)
    for attempts in range(12):
        waits = [backoff.delay(attempts).total_seconds() for _ in range(500)]
        ceiling = backoff.ceiling(attempts)
        assert all(0.0 <= w <= ceiling for w in waits)
        assert max(waits) - min(waits) > ceiling / 2  # jittered, not in lockstep


def test_four_failures_in_a_row_wait_at_most_fifteen_seconds_in_all() -> None:
    longest = Backoff(uniform=lambda low, high: high)
    assert sum(longest.delay(n).total_seconds() for n in range(4)) == 15.0


@pytest.mark.parametrize(
    ("attempts", "age", "parked"),
    [
        (MIN_ATTEMPTS - 1, GIVE_UP_AFTER * 3, False),  # old, but not tried enough
        (MIN_ATTEMPTS, GIVE_UP_AFTER - timedelta(seconds=1), False),  # tried, but young
        (MIN_ATTEMPTS, GIVE_UP_AFTER, True),
        (MIN_ATTEMPTS * 100, timedelta(hours=1), False),  # an hour of outage: keep trying
        (MIN_ATTEMPTS + 1, GIVE_UP_AFTER * 2, True),
        (1, timedelta(0), False),
    ],
)
def test_a_row_is_given_up_only_after_enough_attempts_and_a_day(
    attempts: int, age: timedelta, parked: bool,
) -> None:
    assert gives_up(attempts, NOW - age, NOW) is parked
