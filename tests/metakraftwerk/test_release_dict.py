"""Our one stored form of a release: every release comes back exactly, anything else is refused."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given

from bot.metakraftwerk.models import RELEASE_FIELDS, InvalidRecord, Release
from tests.metakraftwerk.strategies import releases

FULL = Release(
    id=21, name="R21", group_id=3, description="d",
    start_date=datetime(2026, 1, 1, 23, 0, tzinfo=UTC),
    end_date=datetime(2026, 1, 7, 21, 30, tzinfo=UTC),
    closed=True, deleted=False, hotfix_of_id=20, prev_release_id=19,
)


@given(releases)
def test_every_release_comes_back_exactly_through_json(release: Release) -> None:
    stored = json.loads(json.dumps(release.to_dict()))
    assert Release.from_dict(stored) == release


def test_the_form_holds_every_field_of_the_model() -> None:
    """A field added to Release and not to the form fails here, not in a store."""
    assert {f.name for f in dataclasses.fields(Release)} == RELEASE_FIELDS
    assert set(FULL.to_dict()) == RELEASE_FIELDS


def test_dates_are_written_in_utc_with_their_offset() -> None:
    assert FULL.to_dict()["start_date"] == "2026-01-01T23:00:00+00:00"


def test_the_api_shape_is_the_same_form_with_the_apis_dates() -> None:
    assert FULL.to_api() == FULL.to_dict() | {
        "start_date": "2026-01-01T23:00:00.000Z", "end_date": "2026-01-07T21:30:00.000Z",
    }
    assert Release.from_api(FULL.to_api()) == FULL


def test_other_keys_are_the_callers_business() -> None:
    assert Release.from_dict({**FULL.to_dict(), "v": 2, "closed_at": None}) == FULL


@pytest.mark.parametrize(
    "changes",
    [
        {"id": "21"},
        {"id": None},
        {"id": True},
        {"name": ""},
        {"name": " R21 "},
        {"name": 21},
        {"group_id": 3.0},
        {"description": 5},
        {"start_date": "2026-01-01T23:00:00"},  # no offset
        {"start_date": "yesterday"},
        {"start_date": 1767308400},
        {"end_date": "0001-01-01T00:00:00+14:00"},  # year 0 in UTC
        {"closed": 1},
        {"deleted": "false"},
        {"hotfix_of_id": "20"},
        {"prev_release_id": False},
    ],
)
def test_a_value_it_would_not_write_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidRecord):
        Release.from_dict({**FULL.to_dict(), **changes})


@pytest.mark.parametrize("field", sorted(RELEASE_FIELDS))
def test_a_missing_field_is_refused(field: str) -> None:
    with pytest.raises(InvalidRecord, match=field):
        Release.from_dict({k: v for k, v in FULL.to_dict().items() if k != field})


def test_what_is_no_object_is_refused() -> None:
    with pytest.raises(InvalidRecord):
        Release.from_dict(["not", "an", "object"])
