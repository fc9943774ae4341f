"""Two MetaKraftwerk connections asking the same thing never share an answer: not a cache
entry, not a stale copy, not a single flight's outcome, in process and over one Redis.

Release ids are unique only inside one MetaKraftwerk customer: both sources here have a
release 21 and a group 1, with different names. Each cache is built as distributed mode builds
a connection's (bot/connect/finders.py): its own cache over its own source, its Redis keys
under the connection's scope.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import redis

from bot.cache.port import StoreFactory
from bot.cache.redis.store import RedisStore
from bot.cache.release_cache import ReleaseCache
from bot.metakraftwerk.errors import Unavailable
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release
from tests.cache.conftest import LinkFactory
from tests.fakes.clock import FakeClock
from tests.fakes.release_source import FakeSource

OPEN = ApiFilter(closed=False)
ONE = Release(id=21, name="R1 of customer one", group_id=1)
TWO = Release(id=21, name="R1 of customer two", group_id=1)

# A connection's cache store: None (in process) or Redis under its scope.
Stores = Callable[[int], StoreFactory | None]


@pytest.fixture(params=["local", "redis"])
def stores(
    request: pytest.FixtureRequest,
) -> Iterator[Stores]:
    if request.param == "local":
        yield lambda connection_id: None
        return
    make_link: LinkFactory = request.getfixturevalue("make_link")
    prefix: str = request.getfixturevalue("prefix")
    link = make_link()  # one Redis link for the process, shared by every connection

    def scoped(connection_id: int) -> StoreFactory:
        return RedisStore.factory(link, prefix=prefix, scope=f"conn{connection_id}")

    yield scoped


def _pair(
    stores: Stores, clock: FakeClock
) -> tuple[FakeSource, ReleaseCache, FakeSource, ReleaseCache]:
    one = FakeSource(clock, releases=(ONE,), groups={1: "GROUP_ONE"})
    two = FakeSource(clock, releases=(TWO,), groups={1: "GROUP_TWO"})
    cache_one = ReleaseCache(one, clock=clock, store=stores(1), wait_timeout=5)
    cache_two = ReleaseCache(two, clock=clock, store=stores(2), wait_timeout=5)
    return one, cache_one, two, cache_two


def test_the_same_query_is_answered_from_each_connections_own_entries(stores: Stores) -> None:
    clock = FakeClock()
    one, cache_one, two, cache_two = _pair(stores, clock)
    assert cache_one.releases(OPEN).value == (ONE,)
    assert cache_two.releases(OPEN).value == (TWO,)  # not the first connection's entry
    assert cache_one.release(21).value == ONE  # by-id entries filled by the list, per connection
    assert cache_two.release(21).value == TWO
    assert dict(cache_one.groups().value) == {1: "GROUP_ONE"}
    assert dict(cache_two.groups().value) == {1: "GROUP_TWO"}
    assert one.calls == ["list", "groups"]
    assert two.calls == ["list", "groups"]
    # Held again: each answers from its own entries, no call made.
    assert cache_two.releases(OPEN).value == (TWO,)
    assert cache_one.releases(OPEN).value == (ONE,)
    assert len(one.calls) == len(two.calls) == 2


def test_a_failing_connection_never_gets_another_connections_stale_answer(
    stores: Stores,
) -> None:
    clock = FakeClock()
    _one, cache_one, two, cache_two = _pair(stores, clock)
    cache_one.releases(OPEN)
    clock.advance(3600)  # every entry is stale now
    two.error = Unavailable("MetaKraftwerk did not answer", cause="timeout")
    with pytest.raises(Unavailable):
        cache_two.releases(OPEN)  # its own stale copy there is none; the other's is not used
    held = cache_one.releases(OPEN)
    assert held.value == (ONE,)


def test_concurrent_identical_lookups_of_two_connections_share_no_flight(
    stores: Stores,
) -> None:
    clock = FakeClock()
    one, cache_one, two, cache_two = _pair(stores, clock)
    one.gate = threading.Event()  # the first connection's call hangs until released
    answers: list[tuple[Release, ...]] = []
    first = threading.Thread(target=lambda: answers.append(cache_one.releases(OPEN).value))
    first.start()
    while cache_one.stats()["in_flight"] == 0 or not one.calls:
        threading.Event().wait(0.01)
    # The same query of the second connection runs its own call, at once, and is not the
    # first connection's outcome.
    assert cache_two.releases(OPEN).value == (TWO,)
    assert two.calls == ["list"]
    assert cache_two.stats()["coalesced"] == 0
    one.gate.set()
    first.join(10)
    assert answers == [(ONE,)]


def test_a_failure_of_one_connections_flight_does_not_reach_the_other(stores: Stores) -> None:
    clock = FakeClock()
    one, cache_one, two, cache_two = _pair(stores, clock)
    one.error = Unavailable("MetaKraftwerk did not answer", cause="timeout")
    one.gate = threading.Event()
    failures: list[Exception] = []

    def ask_one() -> None:
        try:
            cache_one.releases(OPEN)
        except Unavailable as exc:
            failures.append(exc)

    first = threading.Thread(target=ask_one)
    first.start()
    while not one.calls:
        threading.Event().wait(0.01)
    second = threading.Thread(target=lambda: cache_two.releases(OPEN))
    second.start()
    second.join(10)
    assert two.calls == ["list"]
    one.gate.set()
    first.join(10)
    assert len(failures) == 1
    assert cache_two.releases(OPEN).value == (TWO,)


def test_redis_keys_carry_the_connection(
    make_link: LinkFactory, prefix: str, redis_client: redis.Redis
) -> None:
    clock = FakeClock()
    link = make_link()
    for connection_id, release in ((1, ONE), (2, TWO)):
        source = FakeSource(clock, releases=(release,))
        cache = ReleaseCache(
            source, clock=clock,
            store=RedisStore.factory(link, prefix=prefix, scope=f"conn{connection_id}"),
        )
        cache.releases(OPEN)
    names = sorted(k.decode() for k in redis_client.scan_iter(match=prefix + "*"))
    assert names, "nothing was stored in Redis"
    scopes = {name[len(prefix):].split(":")[2] for name in names}
    assert scopes == {"conn1", "conn2"}
    for name in names:
        value = redis_client.get(name)
        assert isinstance(value, bytes)
        text = value.decode()
        if "conn1:" in name:
            assert "customer two" not in text
        else:
            assert "customer one" not in text
