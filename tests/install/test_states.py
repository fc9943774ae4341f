"""Install states are single-use and expire."""

from __future__ import annotations

from datetime import timedelta

from bot.install.states import TenantStateStore
from bot.notify.store.database import Database
from tests.fakes.clock import FakeClock


def test_a_state_is_consumed_once(database: Database) -> None:
    states = TenantStateStore(database)
    state = states.issue()
    assert states.consume(state)
    assert not states.consume(state)
    assert not states.consume("never-issued")
    assert not states.consume("")


def test_an_expired_state_is_refused_and_purged(database: Database, clock: FakeClock) -> None:
    states = TenantStateStore(database, expiration_seconds=300)
    old = states.issue()
    clock.advance(timedelta(seconds=301))
    fresh = states.issue()
    assert not states.consume(old)
    assert states.purge() == 0  # issuing purged the expired one already
    clock.advance(timedelta(seconds=301))
    assert states.purge() == 1
    assert not states.consume(fresh)
