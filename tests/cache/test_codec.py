"""The JSON form of cache entries: exact round trips, and anything else refused as corrupt."""

from __future__ import annotations

import json
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cache.port import GROUPS_KEY, Cached
from bot.cache.redis.codec import (
    CorruptEntry,
    decode,
    decode_outcome,
    encode,
    encode_outcome,
    key_name,
)
from bot.metakraftwerk.errors import BadResponse, Unavailable
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release
from tests.metakraftwerk.strategies import releases

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


# ---- what the API's answers pass, Redis's entries pass too ----------------------------------


def _stored(**changes: object) -> str:
    body = json.loads(encode(("release", 7), Cached(FULL, AT)))
    body["value"].update(changes)
    return json.dumps(body)


@pytest.mark.parametrize(
    "changes",
    [
        {"start_date": "0001-01-01T00:00:00+14:00"},  # year 0 in UTC: crashed /releases open
        {"end_date": "9999-12-31T23:59:59-14:00"},  # year 10000 in UTC
        {"name": "   "},
        {"name": " R7 "},
    ],
    ids=["year-0-in-utc", "year-10000-in-utc", "blank-name", "unstripped-name"],
)
def test_what_the_api_parser_refuses_or_changes_is_corrupt_from_redis(
    changes: dict[str, object],
) -> None:
    with pytest.raises(CorruptEntry):
        decode(("release", 7), _stored(**changes))


def test_a_fetched_at_utc_cannot_hold_is_corrupt() -> None:
    body = json.loads(encode(("release", 7), Cached(FULL, AT)))
    body["fetched_at"] = "0001-01-01T00:00:00+14:00"
    with pytest.raises(CorruptEntry):
        decode(("release", 7), json.dumps(body))


def test_dates_come_back_in_utc_as_from_the_api() -> None:
    entry = decode(("release", 7), _stored(end_date="2026-02-01T00:00:00+02:00"))
    assert isinstance(entry.value, Release)
    assert entry.value.end_date is not None
    assert entry.value.end_date.tzinfo == UTC


@pytest.mark.parametrize("names", [[[1, "  "]], [[1, " DWH "]]])
def test_blank_or_unstripped_group_names_are_corrupt(names: list[list[object]]) -> None:
    raw = json.dumps({"format": 1, "fetched_at": AT.isoformat(), "value": names})
    with pytest.raises(CorruptEntry):
        decode(GROUPS_KEY, raw)


# ---- fetch outcomes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        None,
        Unavailable("MetaKraftwerk did not answer within 8 s", cause="timeout"),
        Unavailable("MetaKraftwerk did not answer in time", cause="timeout"),
        Unavailable("MetaKraftwerk is unavailable (HTTP 503)", cause="HTTP 503"),
        Unavailable("MetaKraftwerk is busy (HTTP 429)", cause="HTTP 429"),
        Unavailable("MetaKraftwerk cannot be reached (connection refused)",
                    cause="connection refused"),
    ],
)
def test_outcomes_of_our_own_come_back_in_the_same_words(error: Unavailable | None) -> None:
    outcome = decode_outcome(encode_outcome(error))
    if error is None:
        assert outcome.kind == "ok"
        assert outcome.error() is None
        return
    shared = outcome.error()
    assert isinstance(shared, Unavailable)
    assert (shared.user_message, shared.cause) == (error.user_message, error.cause)


def test_a_bad_response_reaches_waiters_in_our_words_with_its_ref() -> None:
    error = BadResponse("MetaKraftwerk answered HTTP 500 (ref a1b2c3)", ref="a1b2c3")
    shared = decode_outcome(encode_outcome(error)).error()
    assert isinstance(shared, BadResponse)
    assert "a1b2c3" in shared.user_message
    assert shared.user_message.startswith("MetaKraftwerk ")


@pytest.mark.parametrize(
    "forged",
    [
        {"ok": False, "kind": "unavailable", "message": "<!channel> pay at evil.example",
         "cause": "HTTP 503"},
        {"ok": False, "kind": "unavailable", "cause": "<!channel> pay at evil.example"},
        {"ok": False, "kind": "unavailable", "cause": "timeout", "within": 1e300},
        {"ok": False, "kind": "unavailable", "cause": "timeout", "within": "8 s <!here>"},
        {"ok": False, "kind": "bad_response", "ref": "<!channel>"},
        {"ok": False, "kind": "bad_response", "message": "*Pay here* <!channel>"},
    ],
)
def test_a_forged_outcome_never_carries_the_forgers_words(forged: dict[str, object]) -> None:
    outcome = decode_outcome(json.dumps(forged))
    error = outcome.error()
    if error is not None:
        assert "<" not in error.user_message
        assert "evil" not in error.user_message
        assert "Pay" not in error.user_message
        assert "e+300" not in error.user_message
    else:
        assert outcome.kind == "unreadable"


@pytest.mark.parametrize("raw", [b"\x80", b"[]", b'{"ok":"yes"}', b"{}", 5, None])
def test_an_outcome_that_is_no_object_of_ours_is_unreadable(raw: object) -> None:
    assert decode_outcome(raw).kind == "unreadable"


# ---- what Redis already holds ------------------------------------------------------------------

# Entries exactly as format 1 has written them: a release's dates kept their offset then.
STORED_LIST = (
    '{"format":1,"fetched_at":"2026-03-04T09:00:00.123456+00:00","value":[{"id":7,"name":'
    '"R7 \\u2013 \\u00dcbergabe","group_id":3,"description":"line one\\nline two","start_date":'
    '"2026-01-02T03:04:05.678901+00:00","end_date":"2026-02-01T00:00:00+02:00","closed":true,'
    '"deleted":false,"hotfix_of_id":5,"prev_release_id":6},{"id":8,"name":"R8","group_id":null,'
    '"description":null,"start_date":null,"end_date":null,"closed":false,"deleted":false,'
    '"hotfix_of_id":null,"prev_release_id":null}]}'
)
STORED_RELEASE = (
    '{"format":1,"fetched_at":"2026-03-04T09:00:00.123456+00:00","value":{"id":7,"name":'
    '"R7 \\u2013 \\u00dcbergabe","group_id":3,"description":"line one\\nline two","start_date":'
    '"2026-01-02T03:04:05.678901+00:00","end_date":"2026-02-01T00:00:00+02:00","closed":true,'
    '"deleted":false,"hotfix_of_id":5,"prev_release_id":6}}'
)


def test_entries_already_in_redis_still_read() -> None:
    assert decode(ApiFilter(group="DWH", closed=False), STORED_LIST) == Cached((FULL, BARE), AT)
    assert decode(("release", 7), STORED_RELEASE) == Cached(FULL, AT)


def test_what_is_written_now_has_the_stored_shape() -> None:
    """The same keys in the same envelope, so a bot of the version before reads it too."""
    now = json.loads(encode(("release", 7), Cached(FULL, AT)))
    before = json.loads(STORED_RELEASE)
    assert set(now) == set(before)
    assert set(now["value"]) == set(before["value"])
    assert now["value"]["end_date"] == "2026-01-31T22:00:00+00:00"  # the same instant, in UTC
