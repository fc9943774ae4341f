"""Session tokens renew between 65 % and 85 % of their lifetime, spread, and stay sealed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Settings
from bot.connect.links import LinkSigner
from bot.connect.records import Account, Connection
from bot.connect.renewal import SessionRenewer, renewal_time
from bot.connect.schedule import MIN_LEFT, is_due, renew_at
from bot.connect.store import ConnectionStore
from bot.connect.verify import NO_PASSWORD, WRONG_LOGIN, Verifier
from bot.demo import DEMO_EMAIL, DEMO_PASSWORD, DemoApiServer
from bot.metakraftwerk.client import make_http_client
from bot.notify.store import Store
from bot.secret_box import SecretBox, new_key
from bot.tenant import Tenant
from tests.fakes.clock import FakeClock

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
DAY = timedelta(hours=20)


@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=48 * 60))
def test_renewal_falls_inside_the_lifetime_and_before_expiry(seed: int, minutes: int) -> None:
    expires = T0 + timedelta(minutes=minutes)
    at = renew_at(T0, expires, random.Random(seed))
    assert T0 <= at <= expires
    if expires - T0 > MIN_LEFT:
        assert at <= expires - MIN_LEFT
        earliest = min(T0 + (expires - T0) * 0.65, expires - MIN_LEFT)
        assert at >= earliest - timedelta(microseconds=1)


def test_a_thousand_tokens_issued_at_once_renew_spread_over_hours() -> None:
    times = sorted(renew_at(T0, T0 + DAY, random.Random(n)) for n in range(1000))
    assert times[0] >= T0 + DAY * 0.65
    assert times[-1] <= T0 + DAY * 0.85
    assert times[-1] - times[0] > timedelta(hours=3)
    per_hour: dict[int, int] = {}
    for at in times:
        per_hour[at.hour] = per_hour.get(at.hour, 0) + 1
    assert max(per_hour.values()) < 400  # no single hour takes most of them


def test_a_connection_renews_at_the_same_time_in_every_process() -> None:
    made = [Connection(n, Tenant("", f"T{n}"), "https://m", "e", "U", T0, "active", T0 + DAY)
            for n in range(1, 4)]
    assert [renewal_time(c) for c in made] == [renewal_time(c) for c in made]
    assert len({renewal_time(c) for c in made}) == 3
    assert is_due(None, T0, timedelta(0))


@pytest.fixture
def connected(sqlite_url: str, demo_api: DemoApiServer) -> Iterator[
    tuple[ConnectionStore, FakeClock, Verifier]
]:
    clock = FakeClock(T0)
    store = Store.from_url(sqlite_url, clock=clock)
    connections = ConnectionStore(store.engine, SecretBox([new_key()]), clock)
    settings = Settings(metakraftwerk_url=demo_api.url)
    verifier = Verifier(lambda url: make_http_client(settings, base_url=url), clock, 3.0)
    _token, nonce_hash = LinkSigner("k").new_link()
    connections.add_link(nonce_hash, Tenant("", "T1"), "U1")
    grant = connections.link(nonce_hash)
    assert grant is not None
    connections.connect(grant, Account(demo_api.url, DEMO_EMAIL, DEMO_PASSWORD, "old-token",
                                       T0 + DAY))
    yield connections, clock, verifier
    store.close()


def test_a_due_token_is_renewed_and_saved_sealed(
    connected: tuple[ConnectionStore, FakeClock, Verifier], demo_api: DemoApiServer
) -> None:
    connections, clock, verifier = connected
    renewer = SessionRenewer(connections, verifier, clock)
    assert renewer.run_once().renewed == ()  # fresh: nothing due, nobody logs in
    assert demo_api.counts.count("/authentication") == 0
    clock.advance(DAY * 0.86)
    (renewed,) = renewer.run_once().renewed
    connection = connections.for_workspace(Tenant("", "T1"))
    assert connection is not None
    assert renewed == connection.id
    token = connections.session_token(connection)
    assert token != "old-token"
    assert token is not None
    assert demo_api.token_is_valid(token)
    # A restart: a new store over the same database opens the same token.
    assert connections.session_token(connection) == token


def test_a_refused_renewal_is_recorded_for_app_home(
    connected: tuple[ConnectionStore, FakeClock, Verifier], demo_api: DemoApiServer
) -> None:
    connections, clock, verifier = connected
    demo_api.password = "changed"
    clock.advance(DAY * 0.9)
    assert SessionRenewer(connections, verifier, clock).run_once().failed
    connection = connections.for_workspace(Tenant("", "T1"))
    assert connection is not None
    assert (connection.status, connection.last_error) == ("failing", WRONG_LOGIN)


def test_a_password_sealed_under_a_dropped_key_is_reported(
    connected: tuple[ConnectionStore, FakeClock, Verifier], sqlite_url: str
) -> None:
    _connections, clock, verifier = connected
    store = Store.from_url(sqlite_url, clock=clock)
    other = ConnectionStore(store.engine, SecretBox([new_key()]), clock)
    clock.advance(DAY * 0.9)
    assert SessionRenewer(other, verifier, clock).run_once().failed
    connection = other.for_workspace(Tenant("", "T1"))
    store.close()
    assert connection is not None
    assert connection.last_error == NO_PASSWORD
