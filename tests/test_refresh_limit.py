"""The per-user rate of `refresh`: a sliding window per user, on the injected clock."""

from __future__ import annotations

from bot.app.refresh_limit import RefreshLimit
from tests.fakes.clock import FakeClock


def test_a_window_of_refreshes_per_user_then_the_wait_until_the_oldest_leaves() -> None:
    clock = FakeClock()
    limit = RefreshLimit(clock, per_window=3, window_seconds=60)
    assert [limit.wait("ada") for _ in range(3)] == [0.0, 0.0, 0.0]
    clock.advance(10)
    assert limit.wait("ada") == 50.0
    assert limit.wait("bob") == 0.0  # per user
    clock.advance(50)
    assert limit.wait("ada") == 0.0  # the first three left the window
    refusal = [limit.refusal("ada") for _ in range(3)][-1]
    assert refusal is not None
    assert "Try again in 60 s" in refusal


def test_a_refused_refresh_does_not_count() -> None:
    clock = FakeClock()
    limit = RefreshLimit(clock, per_window=1, window_seconds=60)
    assert limit.wait("ada") == 0.0
    for _ in range(5):
        clock.advance(10)
        assert limit.wait("ada") > 0
    clock.advance(10.5)
    assert limit.wait("ada") == 0.0
