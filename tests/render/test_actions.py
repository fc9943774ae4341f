from __future__ import annotations

import json
import re

import pytest

from bot.render import actions as act


@pytest.mark.parametrize("base", act.ACTION_IDS)
@pytest.mark.parametrize("suffix", ["", ":next", ":21", ":hotfix:22", ":21:2", ":a.b-c_d"])
def test_pattern_accepts_base_and_suffixed_ids(base: str, suffix: str) -> None:
    action_id = base + suffix
    assert re.search(act.ACTION_ID_PATTERN, action_id)
    assert re.search(act.action_pattern(base), action_id)
    assert act.base_action_id(action_id) == base


@pytest.mark.parametrize(
    "action_id",
    [
        "",
        "releases_pagex",
        "xreleases_page",
        "release_detail:",
        "release_detail::1",
        "release_detail:a b",
        "other",
        "share_in_channel\n",
    ],
)
def test_pattern_rejects_other_ids(action_id: str) -> None:
    assert not re.fullmatch(act.ACTION_ID_PATTERN, action_id)
    with pytest.raises(act.ActionValueError):
        act.decode(action_id, "1")


def test_action_ids_are_unique_within_a_message() -> None:
    ids = act.ActionIds()
    made = [ids(act.ACTION_DETAIL, 21), ids(act.ACTION_DETAIL, 21), ids(act.ACTION_DETAIL, 21)]
    assert made == ["release_detail:21", "release_detail:21:2", "release_detail:21:3"]
    assert ids(act.ACTION_SHARE) == "share_in_channel"
    assert ids(act.ACTION_SHARE) == "share_in_channel:2"
    weird = ids(act.ACTION_RELATED, "hot fix/<!channel>", "x" * 500)
    assert re.fullmatch(act.ACTION_ID_PATTERN, weird)
    assert len(weird) <= 255


def test_page_value_round_trips() -> None:
    value = act.encode_page('open group:"DWH GROUP" name:R5*', 3)
    assert value is not None
    assert json.loads(value) == {"v": 1, "q": 'open group:"DWH GROUP" name:R5*', "p": 3}
    decoded = act.decode("releases_page:next", value)
    assert decoded == act.PageRequest('open group:"DWH GROUP" name:R5*', 3)


def test_page_value_too_long_is_none() -> None:
    assert act.encode_page("x" * 1981, 2) is None
    assert act.encode_page("x" * 1980, 2) is not None
    assert act.encode_page("ü" * 1900, 2) is not None  # counted in characters, not bytes


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (
            act.ShareRequest("list", query_text="open", page=2),
            {"v": 1, "k": "list", "q": "open", "p": 2},
        ),
        (act.ShareRequest("standup", query_text="all"), {"v": 1, "k": "standup", "q": "all"}),
        (act.ShareRequest("detail", release_id=21), {"v": 1, "k": "detail", "id": 21}),
    ],
)
def test_share_values_round_trip(request_: act.ShareRequest, expected: dict[str, object]) -> None:
    value = act.encode_share(request_)
    assert value is not None
    assert json.loads(value) == expected
    assert act.decode("share_in_channel", value) == request_


def test_share_value_too_long_is_none() -> None:
    assert act.encode_share(act.ShareRequest("list", query_text="x" * 2000)) is None


def test_release_and_subscription_refs() -> None:
    assert act.decode("release_detail:21", act.encode_release_ref(21)) == act.ReleaseRef(21)
    assert act.decode("release_related:hotfix:22", "#22") == act.ReleaseRef(22)
    remove = act.encode_subscription_remove(7)
    assert act.decode("subscription_remove:7", remove) == act.RemoveSubscription(7)


def test_open_search_prefill_is_cut_to_fit() -> None:
    value = act.encode_open_search('"quoted" ' * 400)
    assert len(value) <= 2000
    decoded = act.decode("open_search", value)
    assert isinstance(decoded, act.OpenSearch)
    assert decoded.prefill.startswith('"quoted"')
    assert act.decode("open_search", "") == act.OpenSearch("")


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        ("releases_page", "not json"),
        ("releases_page", "[1, 2]"),
        ("releases_page", '{"v": 2, "q": "open", "p": 1}'),
        ("releases_page", '{"v": 1, "q": "open", "p": 0}'),
        ("releases_page", '{"v": 1, "q": "open", "p": true}'),
        ("releases_page", '{"v": 1, "q": 5, "p": 1}'),
        ("share_in_channel", '{"v": 1, "k": "gif"}'),
        ("share_in_channel", '{"v": 1, "k": "detail", "id": "x"}'),
        ("release_detail", "abc"),
        ("release_detail", ""),
        ("subscription_remove", "-1"),
        ("subscription_remove", "0"),
        ("releases_page", "{" + " " * 2100 + "}"),
    ],
)
def test_bad_values_raise(action_id: str, value: str) -> None:
    with pytest.raises(act.ActionValueError):
        act.decode(action_id, value)
