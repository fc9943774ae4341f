from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from bot.query import Query
from bot.render import actions as act
from bot.render.listing import paginate, render_list
from bot.render.message import Message
from tests.render.limits import ZWSP, all_text, assert_inert, assert_valid, buttons
from tests.render.support import (
    GROUPS,
    LONG_DESCRIPTION,
    MENTIONS,
    NASTY,
    NOW,
    find,
    fresh,
    many,
    nasty_release,
    release,
)


def _sections(message: Message) -> list[dict[str, Any]]:
    return [b for b in message.blocks if b["type"] == "section"]


def _button(message: Message, prefix: str) -> dict[str, Any] | None:
    found = [b for b in buttons(message) if b["action_id"].startswith(prefix)]
    assert len(found) <= 1
    return found[0] if found else None


def test_header_sections_and_details_buttons() -> None:
    query = Query(groups=("DWH_GROUP",))
    message = render_list(find(many(4), query), NOW)
    assert_valid(message)
    assert message.blocks[0]["text"]["text"] == "Open releases · DWH_GROUP · 4"
    sections = _sections(message)
    assert len(sections) == 4
    first = sections[0]
    assert first["text"]["text"].startswith(":large_green_circle: *R1* #1 · DWH_GROUP · ")
    assert first["accessory"]["action_id"] == "release_detail:1"
    assert first["accessory"]["value"] == "1"
    assert act.decode(first["accessory"]["action_id"], first["accessory"]["value"]) == (
        act.ReleaseRef(1)
    )
    assert message.text.startswith("Open releases · DWH_GROUP: 4: R1 (DWH_GROUP)")


def test_context_states_filters_total_and_age() -> None:
    message = render_list(find(many(3), Query(groups=("DWH_GROUP",))), NOW)
    context = next(b for b in message.blocks if b["type"] == "context")
    texts = [e["text"] for e in context["elements"]]
    assert texts[0] == f"Filters: {Query(groups=('DWH_GROUP',)).describe()}"
    assert "3 releases" in texts
    assert "data from 2 min ago" in texts


def test_stale_data_is_flagged_with_its_reason() -> None:
    freshness = fresh(3, stale=True, reason="MetaKraftwerk did not answer in 5 s <!here>")
    message = render_list(find(many(2), freshness=freshness), NOW)
    assert_valid(message)
    warning = message.blocks[1]
    assert warning["type"] == "context"
    assert warning["elements"][0]["text"] == (
        ":warning: MetaKraftwerk did not answer in 5 s &lt;!here&gt;; showing data from 3 min ago."
    )


def test_release_line_shows_dates_hints_and_markers() -> None:
    parent = release(9, "R9")
    hotfix = release(10, "R9.HF1", hotfix_of_id=9, prev_release_id=9)
    after = release(11, "R10", prev_release_id=5, group_id=7, deleted=True, days=(-9, -2))
    message = render_list(find((parent, hotfix, after), Query(deleted="yes")), NOW)
    assert_valid(message)
    texts = [s["text"]["text"] for s in _sections(message)]
    start = int((NOW - timedelta(days=3)).timestamp())
    end = int((NOW + timedelta(days=4)).timestamp())
    assert texts[0] == (
        ":large_green_circle: *R9* #9 · DWH_GROUP · "
        f"<!date^{start}^{{date_short_pretty}}|2024-03-02 09:00 UTC> → "
        f"<!date^{end}^{{date_short_pretty}}|2024-03-09 09:00 UTC>"
    )
    assert texts[1].endswith(" · :adhesive_bandage: hotfix of R9")  # prev == parent: said once
    assert ":wastebasket: *R10* #11 · group 7 · " in texts[2]
    assert texts[2].endswith(" · after #5 · overdue · deleted")


def test_null_dates_and_unknown_group() -> None:
    message = render_list(
        find(
            (
                release(1, days=None),
                release(2, days=None, start=NOW, group_id=None),
                release(3, days=None, end=NOW),
            ),
            group_names={},
        ),
        NOW,
    )
    assert_valid(message)
    texts = [s["text"]["text"] for s in _sections(message)]
    assert texts[0].endswith("* #1 · group 1 · no dates")
    assert "· no group · from <!date^" in texts[1]
    assert texts[1].endswith(", no end date")
    assert "· until <!date^" in texts[2]


@pytest.mark.parametrize(
    ("page", "expected_page", "first", "prev", "next_"),
    [
        (1, 1, "R1", None, 2),
        (2, 2, "R11", 1, 3),
        (5, 5, "R41", 4, None),
        (6, 5, "R41", 4, None),  # beyond the last: clamped to the last
        (99, 5, "R41", 4, None),
        (0, 1, "R1", None, 2),
    ],
)
def test_paging(
    page: int, expected_page: int, first: str, prev: int | None, next_: int | None
) -> None:
    query = Query(groups=("DWH_GROUP",), page=page)
    message = render_list(find(many(45), query), NOW)
    assert_valid(message)
    assert message.meta["page"] == expected_page
    assert message.meta["pages"] == 5
    sections = _sections(message)
    assert sections[0]["text"]["text"].split(" · ")[0].endswith(f"*{first}* #{first[1:]}")
    assert len(sections) == (5 if expected_page == 5 else 10)
    assert f"page {expected_page} of 5" in all_text(message)
    query_text = query.with_page(1).to_text()
    for prefix, target in (("releases_page:prev", prev), ("releases_page:next", next_)):
        button = _button(message, prefix)
        if target is None:
            assert button is None
        else:
            assert button is not None
            assert act.decode(button["action_id"], button["value"]) == act.PageRequest(
                query_text, target
            )
    share = _button(message, "share_in_channel")
    assert share is not None
    assert act.decode(share["action_id"], share["value"]) == act.ShareRequest(
        "list", query_text=query_text, page=expected_page
    )


def test_buttons_of_a_refreshed_list_read_from_the_cache() -> None:
    """`refresh` skips the cache once; Next, Prev and Share re-run the query from the cache."""
    message = render_list(find(many(25), Query(refresh=True)), NOW)
    values = [act.decode(b["action_id"], b["value"]) for b in buttons(message)]
    texts = [v.query_text for v in values if isinstance(v, act.PageRequest | act.ShareRequest)]
    assert len(texts) == 2
    assert all(t == "open" for t in texts)


def test_one_page_has_no_paging_buttons() -> None:
    message = render_list(find(many(10)), NOW)
    assert _button(message, "releases_page") is None
    assert "page 1 of" not in all_text(message)
    assert _button(message, "share_in_channel") is not None


def test_paging_buttons_and_page_text_sit_with_the_filters() -> None:
    message = render_list(find(many(25), Query(page=2)), NOW)
    assert [b["type"] for b in message.blocks[-2:]] == ["context", "actions"]
    nav = message.blocks[-1]
    assert nav["block_id"] == act.BLOCK_LIST_NAV
    assert [e["text"]["text"] for e in nav["elements"]] == ["‹ Prev", "Next ›", "Share in channel"]


def test_full_format_shows_descriptions_with_fewer_per_page() -> None:
    releases = (*many(9), release(10, description=LONG_DESCRIPTION), release(11, description=None))
    compact = render_list(find(releases), NOW)
    full = render_list(find(releases, Query(format="full")), NOW)
    assert len(_sections(compact)) == 10
    assert len(_sections(full)) == 5
    assert "First release" not in all_text(compact)
    assert "\nFirst release" in _sections(full)[0]["text"]["text"]
    second = render_list(find(releases, Query(format="full", page=2)), NOW)
    long_one = _sections(second)[-1]["text"]["text"]
    assert long_one.endswith("…")
    assert "&lt;!here&gt;" in long_one
    assert len(long_one) < 1000
    third = render_list(find(releases, Query(format="full", page=3)), NOW)
    assert _sections(third)[0]["text"]["text"].endswith("\n_No description._")
    for message in (full, second, third):
        assert_valid(message)


def test_page_size_is_capped() -> None:
    message = render_list(find(many(200)), NOW, page_size=500)
    assert message.meta["page_size"] == 15
    assert len(_sections(message)) == 15
    assert_valid(message)


def test_empty_result_says_what_was_searched_and_what_to_try() -> None:
    query = Query(groups=("DWH_GROUP",))
    message = render_list(find((), query), NOW)
    assert_valid(message)
    assert message.blocks[0]["text"]["text"] == "Open releases · DWH_GROUP · 0"
    text = _sections(message)[0]["text"]["text"]
    assert text.startswith(f"Nothing matched *{query.describe()}*.")
    assert "`/releases all group:DWH_GROUP`" in text
    (search,) = buttons(message)  # no paging, nothing to share: only the search form
    assert search["action_id"] == "open_search"
    assert act.decode(search["action_id"], search["value"]) == act.OpenSearch(
        "open group:DWH_GROUP"
    )
    assert message.text == "Open releases · DWH_GROUP: 0"


def test_empty_result_for_all_suggests_checking_names() -> None:
    message = render_list(find((), Query(status="all", names=("R5*",))), NOW)
    assert "`*` and `?` match any characters" in all_text(message)


def test_two_hundred_results_with_nasty_data_stay_within_limits() -> None:
    releases = tuple(nasty_release(i) for i in range(1, 201))
    for fmt in ("compact", "full"):
        for page in (1, 7, 200):
            message = render_list(find(releases, Query(format=fmt, page=page)), NOW)
            assert_valid(message)


def test_foreign_text_is_escaped_everywhere() -> None:
    nasty = nasty_release()
    query = Query(groups=("<!channel>",), names=("<@U123>",), deleted="yes")
    message = render_list(find((nasty, release(1)), query, group_names={99: NASTY}), NOW)
    assert_valid(message)
    text = all_text(message)
    for mention in MENTIONS:
        assert mention not in text
    assert "&lt;!channel&gt;" in message.blocks[0]["text"]["text"]
    assert "&lt;@U123&gt;" in message.text
    # unicode survives as it is; the name's backticks open no code span
    assert "ˋcodeˋ 🚀 Ünï" in text


def test_query_text_too_long_for_buttons_drops_paging_with_a_hint() -> None:
    query = Query(names=("n" * 2100,))
    message = render_list(find(many(30), query), NOW)
    assert_valid(message)
    assert _button(message, "releases_page") is None
    assert _button(message, "share_in_channel") is None
    assert "too long for paging buttons" in all_text(message)
    assert message.meta["pages"] == 3


def test_shared_copy_names_the_sharer_without_paging_or_share() -> None:
    message = render_list(find(many(25), Query(page=2)), NOW, shared_by="U0ABC")
    assert_valid(message, allow=("<@U0ABC>",))
    assert "Shared by <@U0ABC>" in all_text(message)
    assert {b["action_id"].split(":")[0] for b in buttons(message)} == {"release_detail"}


def test_shared_by_must_be_a_user_id() -> None:
    message = render_list(find(many(2)), NOW, shared_by="<!channel>")
    assert_valid(message)
    assert "Shared by" not in all_text(message)


def test_every_value_fits_and_every_action_id_matches_the_listener_pattern() -> None:
    message = render_list(find(many(45), Query(page=3)), NOW)
    for button in buttons(message):
        assert re.fullmatch(act.ACTION_ID_PATTERN, button["action_id"])
        act.decode(button["action_id"], button["value"])
        if button["value"].startswith("{"):
            assert json.loads(button["value"])["v"] == 1


def test_group_names_come_from_the_result() -> None:
    message = render_list(find(many(1), Query(group_ids=(2,)), group_names=GROUPS), NOW)
    assert message.blocks[0]["text"]["text"] == "Open releases · LAKE · 1"


@pytest.mark.parametrize(
    ("total", "page", "size", "expected"),
    [(0, 1, 10, (1, 1, 0, 0)), (10, 2, 10, (1, 1, 0, 10)), (11, 2, 10, (2, 2, 10, 11))],
)
def test_paginate(total: int, page: int, size: int, expected: tuple[int, int, int, int]) -> None:
    result = paginate(total, page, size)
    assert (result.number, result.count, result.start, result.end) == expected


FORMATTING_NAMES = ["*bold*", "_it_", "~s~", "`code`", "```block```", "two\nlines", "a *b* c",
                    "R_59_", "*", "x_", "_x", "DWH_GROUP"]


@pytest.mark.parametrize("name", FORMATTING_NAMES)
def test_a_release_name_formats_nothing_in_its_row(name: str) -> None:
    """Names are foreign text: their stars, underscores, tildes, backticks and line breaks
    must not turn the row bold, italic, struck or into code, nor break it."""
    message = render_list(find((release(21, name, group_id=7),)), NOW)
    row = next(s["text"]["text"] for s in _sections(message) if "#21" in s["text"]["text"])
    assert row.count("\n") == 0
    shown = row.split(" #21")[0].split(" ", 1)[1]  # after the status emoji
    inner = shown[1:-1] if shown.startswith("*") and shown.endswith("*") else shown
    assert_inert(inner)
    assert inner.replace(ZWSP, "").replace("ˋ", "`") == " ".join(name.split())


def test_a_release_that_has_not_started_has_its_own_status_emoji_everywhere() -> None:
    from bot.render import parts
    from bot.render.detail import render_detail
    from bot.render.standup import render_standup
    from tests.render.support import detail

    later = release(7, "R7", days=(2, 30))
    listed = _sections(render_list(find((later,), Query()), NOW))[0]["text"]["text"]
    assert listed.startswith(f"{parts.EMOJI_NOT_STARTED} *R7* #7 · ")
    assert parts.EMOJI_NOT_STARTED != parts.EMOJI_OPEN
    card = render_detail(detail(later), NOW)
    assert card.blocks[0]["text"]["text"].startswith(parts.EMOJI_NOT_STARTED)
    assert "Open, not started yet" in all_text(card)
    standup = all_text(render_standup(find((later,), Query()), NOW))
    assert f"{parts.EMOJI_NOT_STARTED} Not started yet" in standup
    # Running releases keep the green dot.
    running = _sections(render_list(find((release(8, "R8"),), Query()), NOW))[0]["text"]["text"]
    assert running.startswith(":large_green_circle: *R8*")
