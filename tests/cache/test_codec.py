"""The JSON form of cache entries: exact round trips, and anything else refused as corrupt."""

from __future__ import annotations

import json
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cache.port import GROUPS_KEY, Cached
from bot.cache.redis.codec import CorruptEntry, decode, encode, key_name
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release

AT = datetime(2026, 3, 4, 9, 0, 0, 123456, tzinfo=UTC)
FULL = Release(
    id=7,
    name="R7 – Übergabe",
    group_id=3,
    description="line one\nline two",
    start_date=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    end_date=datetime(2026, 2, 1, tzinfo=timezone(timedelta(hours=2))),
    closed=True,
    deleted=False,
    hotfix_of_id=5,
    prev_release_id=6,
)
BARE = Release(id=8, name="R8")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (ApiFilter(group="DWH", closed=False), (FULL, BARE)),
        (ApiFilter(), ()),
        (("release", 7), FULL),
        (GROUPS_KEY, {1: "DWH_GROUP", 2: "Ä"}),
        (GROUPS_KEY, {}),
    ],
)
def test_entries_come_back_exactly(key: Hashable, value: object) -> None:
    entry: Cached[object] = Cached(value, AT)
    assert decode(key, encode(key, entry)) == entry


releases = st.builds(
    Release,
    id=st.integers(),
    name=st.text(min_size=1),
    group_id=st.none() | st.integers(),
    description=st.none() | st.text(),
    start_date=st.none() | st.datetimes(timezones=st.just(UTC)),
    end_date=st.none() | st.datetimes(timezones=st.just(UTC)),
    closed=st.booleans(),
    deleted=st.booleans(),
    hotfix_of_id=st.none() | st.integers(),
    prev_release_id=st.none() | st.integers(),
)


@given(st.lists(releases, max_size=5).map(tuple))
def test_any_list_of_releases_comes_back_exactly(value: tuple[Release, ...]) -> None:
    entry: Cached[object] = Cached(value, AT)
    assert decode(ApiFilter(), encode(ApiFilter(), entry)) == entry


def _good(release: dict[str, object] | None = None) -> dict[str, object]:
    body = json.loads(encode(("release", 7), Cached(FULL, AT)))
    if release is not None:
        body["value"].update(release)
    return dict(body)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x80\x04\x95 pickled",
        "not json",
        "[]",
        "null",
        json.dumps({**_good(), "format": 2}),
        json.dumps({**_good(), "extra": 1}),
        json.dumps({k: v for k, v in _good().items() if k != "fetched_at"}),
        json.dumps({**_good(), "fetched_at": "2026-03-04T09:00:00"}),  # no zone
        json.dumps({**_good(), "fetched_at": "yesterday"}),
        json.dumps(_good({"id": "7"})),
        json.dumps(_good({"id": True})),
        json.dumps(_good({"name": ""})),
        json.dumps(_good({"closed": 1})),
        json.dumps(_good({"start_date": 5})),
        json.dumps(_good({"description": ["x"]})),
        json.dumps(_good({"id": 8})),  # another release than the key names
        json.dumps({**_good(), "value": {"id": 7}}),
    ],
)
def test_anything_else_is_corrupt(raw: str | bytes) -> None:
    with pytest.raises(CorruptEntry):
        decode(("release", 7), raw)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (ApiFilter(), {"not": "a list"}),
        (ApiFilter(), [{"id": 1}]),
        (GROUPS_KEY, {"1": "DWH"}),
        (GROUPS_KEY, [["1", "DWH"]]),
        (GROUPS_KEY, [[1, 2]]),
        (GROUPS_KEY, [[1]]),
    ],
)
def test_a_value_of_the_wrong_shape_is_corrupt(key: Hashable, value: object) -> None:
    raw = json.dumps({"format": 1, "fetched_at": AT.isoformat(), "value": value})
    with pytest.raises(CorruptEntry):
        decode(key, raw)


def test_key_names_are_distinct_and_bounded() -> None:
    names = {
        key_name(ApiFilter()),
        key_name(ApiFilter(group="A")),
        key_name(ApiFilter(group="A", closed=True)),
        key_name(ApiFilter(name="A")),
        key_name(("release", 1)),
        key_name(GROUPS_KEY),
    }
    assert len(names) == 6
    assert len(key_name(ApiFilter(name="x" * 5000))) < 100
    assert key_name(ApiFilter(name="x" * 5000)) != key_name(ApiFilter(name="x" * 4999))
