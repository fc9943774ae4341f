"""Whatever JSON the API sends, parsing never fails with an unexpected exception."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.metakraftwerk.models import (
    InvalidRecord,
    Release,
    format_datetime,
    parse_datetime,
    parse_groups,
    parse_releases,
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = (
    "id",
    "group_id",
    "name",
    "description",
    "start_date",
    "end_date",
    "closed",
    "deleted",
    "hotfix_of_id",
    "prev_release_id",
)
date_texts = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.isoformat()),
    st.text(max_size=40),
)
release_like = st.fixed_dictionaries(
    {},
    optional={
        **{f: json_values for f in FIELDS},
        "start_date": date_texts | json_values,
        "end_date": date_texts | json_values,
        "name": st.text(max_size=20) | json_values,
        "id": st.integers() | json_values,
    },
)


@settings(max_examples=150, deadline=None)
@given(release_like | json_values)
def test_a_record_parses_or_is_refused_as_invalid(data: Any) -> None:
    try:
        release = Release.from_api(data)
    except InvalidRecord:
        return
    assert isinstance(release.id, int)
    assert release.name.strip() == release.name
    assert release.name
    for value in (release.start_date, release.end_date):
        assert value is None or value.tzinfo is not None
    # what we parsed survives the trip the demo server and snapshots take
    again = Release.from_api(release.to_api())
    assert again.id == release.id
    assert again.name == release.name


@settings(max_examples=100, deadline=None)
@given(st.lists(release_like | json_values, max_size=8))
def test_a_list_never_fails(items: list[Any]) -> None:
    releases = parse_releases(items)
    assert len(releases) <= len(items)
    assert all(isinstance(r, Release) for r in releases)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_groups_never_fail(data: Any) -> None:
    names = parse_groups(data)
    assert all(isinstance(k, int) and isinstance(v, str) and v for k, v in names.items())


@settings(max_examples=150, deadline=None)
@given(date_texts | json_values)
def test_dates_never_fail(value: Any) -> None:
    parsed = parse_datetime(value)
    assert parsed is None or parsed.tzinfo is not None


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1)))
def test_dates_round_trip_to_the_millisecond(value: datetime) -> None:
    aware = value.replace(microsecond=value.microsecond // 1000 * 1000, tzinfo=UTC)
    assert parse_datetime(format_datetime(aware)) == aware


def test_documented_example() -> None:
    release = Release.from_api(
        {
            "id": 21,
            "group_id": 1,
            "name": "R1",
            "description": "First release",
            "start_date": "2022-01-01T23:00:00.000Z",
            "end_date": "2022-01-07T23:00:00.000Z",
            "closed": False,
            "deleted": False,
            "hotfix_of_id": None,
            "prev_release_id": None,
        }
    )
    assert release.start_date == datetime(2022, 1, 1, 23, tzinfo=UTC)
    assert release.is_open
    assert not release.is_hotfix


def test_a_deeply_nested_id_is_refused_in_a_short_line() -> None:
    nested: list[object] = []
    for _ in range(5000):
        nested = [nested]
    with pytest.raises(InvalidRecord) as caught:
        Release.from_api({"id": nested, "name": "R1"})
    assert len(str(caught.value)) < 120
    assert parse_releases([{"id": nested, "name": "R1"}, {"id": 2, "name": "R2"}]) == (
        Release(id=2, name="R2"),
    )
