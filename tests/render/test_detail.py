from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.render import actions as act
from bot.render.detail import DESCRIPTION_LIMIT, render_detail
from bot.render.message import Message
from tests.render.limits import all_text, assert_valid, buttons
from tests.render.support import (
    LONG_DESCRIPTION,
    MENTIONS,
    NASTY,
    NOW,
    detail,
    fresh,
    nasty_release,
    release,
)

START = datetime(2022, 1, 1, 23, 0, tzinfo=UTC)
END = datetime(2022, 1, 7, 23, 0, tzinfo=UTC)


def _fields(message: Message) -> dict[str, str]:
    section = next(b for b in message.blocks if b["type"] == "section" and "fields" in b)
    return dict(f["text"].split("\n", 1) for f in section["fields"])


def _labels(message: Message) -> list[str]:
    return [b["text"]["text"] for b in buttons(message)]


def _by_label(message: Message, label: str) -> dict[str, Any]:
    return next(b for b in buttons(message) if b["text"]["text"] == label)


def test_detail_shows_name_status_group_and_local_dates() -> None:
    r = release(21, "R1", start=START, end=END, days=None, description="First release")
    message = render_detail(detail(r), NOW)
    assert_valid(message)
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": ":red_circle: R1", "emoji": True},
    }
    fields = _fields(message)
    assert fields["*Status*"] == "Open, overdue"
    assert fields["*Group*"] == "DWH_GROUP"
    assert fields["*Start*"] == (
        "<!date^1641078000^{date_short_pretty} {time}|2022-01-01 23:00 UTC> (793 days ago)"
    )
    assert fields["*End*"].startswith(
        "<!date^1641596400^{date_short_pretty} {time}|2022-01-07 23:00 UTC>"
    )
    assert "*Description*\nFirst release" in all_text(message)
    assert "Release #21" in all_text(message)
    assert "data from 2 min ago" in all_text(message)
    assert message.text == (
        "Release R1 (DWH_GROUP): open, overdue, 2022-01-01 23:00 UTC → 2022-01-07 23:00 UTC"
    )


def test_null_dates_group_and_description() -> None:
    r = release(5, days=None, group_id=None, description=None, closed=True)
    message = render_detail(detail(r, group_names={}), NOW)
    assert_valid(message)
    fields = _fields(message)
    assert fields["*Start*"] == "not set"
    assert fields["*End*"] == "not set"
    assert fields["*Group*"] == "no group"
    assert fields["*Status*"] == "Closed"
    assert "*Description*\n_None._" in all_text(message)
    assert "no start date → no end date" in message.text


def test_long_description_is_escaped_and_cut_with_an_ellipsis() -> None:
    message = render_detail(detail(release(description=LONG_DESCRIPTION)), NOW)
    assert_valid(message)
    text = next(
        b["text"]["text"]
        for b in message.blocks
        if b.get("text", {}).get("text", "").startswith("*Description*")
    )
    body = text.split("\n", 1)[1]
    assert body.endswith("…")
    assert len(body) <= DESCRIPTION_LIMIT
    assert body.startswith("Line with &lt;!here&gt; &amp; *stars*")


def test_links_to_previous_parent_and_hotfixes() -> None:
    parent = release(9, "R9")
    previous = release(12, "R9.HF1", hotfix_of_id=9)
    me = release(13, "R9.HF2", hotfix_of_id=9, prev_release_id=12)
    hotfixes = tuple(release(100 + i, f"R9.HF2.{i}") for i in range(8))
    message = render_detail(
        detail(me, previous=previous, hotfix_parent=parent, hotfixes=hotfixes), NOW
    )
    assert_valid(message)
    assert _labels(message) == [
        "← Previous: R9.HF1",
        "Hotfix of: R9",
        *(f":adhesive_bandage: R9.HF2.{i}" for i in range(5)),
        "Share in channel",
    ]
    nav = message.blocks[-1]
    assert nav["block_id"] == act.BLOCK_DETAIL_LINKS
    prev = _by_label(message, "← Previous: R9.HF1")
    assert prev["action_id"] == "release_related:prev"
    assert act.decode(prev["action_id"], prev["value"]) == act.ReleaseRef(12)
    parent_button = _by_label(message, "Hotfix of: R9")
    assert act.decode(parent_button["action_id"], parent_button["value"]) == act.ReleaseRef(9)
    hotfix = _by_label(message, ":adhesive_bandage: R9.HF2.3")
    assert hotfix["action_id"] == "release_related:hotfix:103"
    assert act.decode(hotfix["action_id"], hotfix["value"]) == act.ReleaseRef(103)
    assert "+3 more hotfixes: R9.HF2.5, R9.HF2.6, R9.HF2.7" in all_text(message)
    fields = _fields(message)
    assert fields["*Hotfix of*"] == "R9 (#9)"
    assert fields["*Previous release*"] == "R9.HF1 (#12)"
    assert fields["*Hotfixes*"] == "8"
    share = _by_label(message, "Share in channel")
    assert act.decode(share["action_id"], share["value"]) == act.ShareRequest(
        "detail", release_id=13
    )


def test_links_by_id_when_the_related_release_was_not_fetched() -> None:
    me = release(13, hotfix_of_id=9, prev_release_id=12)
    message = render_detail(detail(me), NOW)
    assert _labels(message) == ["← Previous: #12", "Hotfix of: #9", "Share in channel"]
    assert _fields(message)["*Hotfix of*"] == "#9"


def test_previous_equal_to_parent_is_linked_once() -> None:
    me = release(13, hotfix_of_id=9, prev_release_id=9)
    message = render_detail(detail(me, hotfix_parent=release(9)), NOW)
    assert _labels(message) == ["Hotfix of: R9", "Share in channel"]
    assert "*Previous release*" not in _fields(message)


def test_many_hotfixes_with_nasty_names_stay_within_limits() -> None:
    hotfixes = tuple(nasty_release(i) for i in range(200))
    message = render_detail(
        detail(nasty_release(1), previous=nasty_release(2), hotfixes=hotfixes), NOW
    )
    assert_valid(message)
    text = all_text(message)
    for mention in MENTIONS:
        assert mention not in text
    assert "&lt;!channel&gt;" in message.blocks[0]["text"]["text"]
    assert "+195 more hotfixes" in text


def test_stale_detail_warns() -> None:
    message = render_detail(
        detail(release(), freshness=fresh(7, stale=True, reason="MetaKraftwerk answered 503")),
        NOW,
    )
    assert message.blocks[1]["elements"][0]["text"] == (
        ":warning: MetaKraftwerk answered 503; showing data from 7 min ago."
    )


def test_shared_detail_has_no_share_button() -> None:
    message = render_detail(detail(release(prev_release_id=3)), NOW, shared_by="U42")
    assert_valid(message, allow=("<@U42>",))
    assert "Share in channel" not in _labels(message)
    assert "← Previous: #3" in _labels(message)


def test_unicode_and_mrkdwn_characters_in_names_survive() -> None:
    message = render_detail(detail(release(name=NASTY, description=NASTY)), NOW)
    assert_valid(message)
    assert "*bold* _it_ ~s~ `code` 🚀 Ünïcödé" in all_text(message)
