"""When a connection is polled next: the adaptive interval, as a pure function of its history.

A connection whose releases changed recently is polled at its base interval; a quiet one backs
off, doubling for each further `recent` span of quiet, up to `quiet_max_seconds`; a failing one
backs off exponentially with jitter and, after `failing_after` failures in a row, is shown as
failing (its admins hear once, on the poll that crosses the line). Every interval is spread by
a little jitter, so connections registered together do not stay in lockstep. The random number
is an argument: the function itself has no state and no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from bot.notify.scale.records import ScheduleStatus


@dataclass(frozen=True, slots=True)
class Cadence:
    recent: timedelta = timedelta(hours=1)  # changes within this: the base interval
    quiet_max_seconds: float = 900.0  # a quiet connection is polled at least every 15 min
    failing_after: int = 3  # failures in a row before the connection shows as failing
    failure_max_seconds: float = 900.0
    jitter: float = 0.1  # every interval is spread by up to ±10 %

    def __post_init__(self) -> None:
        if self.recent <= timedelta(0) or self.failing_after < 1:
            raise ValueError("recent must be positive and failing_after at least 1")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError("jitter is a fraction in [0, 1)")


@dataclass(frozen=True, slots=True)
class NextPoll:
    delay_seconds: float
    status: ScheduleStatus
    became_failing: bool = False  # this failure crossed the line: tell the admins, once


def quiet_interval(cadence: Cadence, base_seconds: float, quiet_for: timedelta) -> float:
    """The interval before jitter: the base while changes are recent, then doubling for every
    further `recent` of quiet, capped (a base above the cap is kept: never faster by quiet)."""
    if quiet_for <= cadence.recent:
        return base_seconds
    doublings = math.floor(quiet_for / cadence.recent)
    cap = max(base_seconds, cadence.quiet_max_seconds)
    return min(cap, base_seconds * 2.0 ** min(doublings, 64))


def after_success(
    cadence: Cadence, base_seconds: float, quiet_for: timedelta, random: float
) -> NextPoll:
    """A good poll; `quiet_for` is the time since the last change (zero if this one changed)."""
    interval = quiet_interval(cadence, base_seconds, max(quiet_for, timedelta(0)))
    return NextPoll(delay_seconds=_spread(cadence, interval, random), status="active")


def failure_backoff(cadence: Cadence, base_seconds: float, failures: int) -> float:
    """The back-off before jitter after `failures` (>= 1) in a row: base, 2x, 4x ..., capped."""
    cap = max(base_seconds, cadence.failure_max_seconds)
    return min(cap, base_seconds * 2.0 ** min(failures - 1, 64))


def after_failure(
    cadence: Cadence, base_seconds: float, failures_before: int, random: float
) -> NextPoll:
    """A failed poll, the `failures_before + 1`-th in a row. Equal jitter (half fixed, half
    random) keeps the back-off growing while failing connections spread out."""
    failures = failures_before + 1
    backoff = failure_backoff(cadence, base_seconds, failures)
    failing = failures >= cadence.failing_after
    return NextPoll(
        delay_seconds=backoff / 2 + _unit(random) * backoff / 2,
        status="failing" if failing else "active",
        became_failing=failures == cadence.failing_after,
    )


def _spread(cadence: Cadence, interval: float, random: float) -> float:
    return interval * (1.0 + cadence.jitter * (2.0 * _unit(random) - 1.0))


def _unit(random: float) -> float:
    if not 0.0 <= random <= 1.0:
        raise ValueError(f"random must be in [0, 1], not {random!r}")
    return random
