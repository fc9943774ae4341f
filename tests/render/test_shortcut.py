from __future__ import annotations

from bot.query import Query
from bot.render import actions as act
from bot.render.shortcut import MAX_SHOWN, ShortcutFindings, render_shortcut_result
from tests.render.limits import all_text, assert_valid, buttons
from tests.render.support import GROUPS, MENTIONS, NOW, find, fresh, many, nasty_release, release


def test_found_releases_with_details_buttons_and_missing_ids() -> None:
    findings = ShortcutFindings(
        releases=(release(21), release(59, "R59"), release(21)),
        missing_ids=(99999,),
        missing_names=("R<!here>",),
        group_names=GROUPS,
        freshness=fresh(1),
    )
    message = render_shortcut_result(findings, NOW)
    assert_valid(message)
    assert message.blocks[0]["text"]["text"] == "Releases in this message · 2"
    ids = [b["action_id"] for b in buttons(message)]
    assert ids == ["release_detail:21", "release_detail:59"]
    text = all_text(message)
    assert "No release with id #99999; no release named R&lt;!here&gt;." in text
    assert "data from 1 min ago" in text
    assert message.text.startswith("Releases in this message: R21 (DWH_GROUP), R59 (DWH_GROUP)")


def test_filter_matches_follow_mentioned_releases_with_show_all() -> None:
    query = Query(groups=("DWH_GROUP",))
    findings = ShortcutFindings(releases=(release(3),), search=find(many(30), query))
    message = render_shortcut_result(findings, NOW)
    assert_valid(message)
    assert message.blocks[0]["text"]["text"] == "Releases in this message · 30"
    details = [b for b in buttons(message) if b["action_id"].startswith("release_detail")]
    assert [b["value"] for b in details] == ["3", *map(str, (1, 2, 4, 5, 6, 7, 8, 9, 10))]
    assert len(details) == MAX_SHOWN
    assert f"Filters found: {query.describe()} (30 matches)" in all_text(message)
    assert "20 more not shown" in all_text(message)
    show_all = buttons(message)[-1]
    assert show_all["text"]["text"] == "Show all 30 matches"
    assert act.decode(show_all["action_id"], show_all["value"]) == act.PageRequest(
        query.to_text(), 1
    )


def test_nothing_found_explains_and_offers_search() -> None:
    message = render_shortcut_result(ShortcutFindings(prefill="what about the Q1 thing?"), NOW)
    assert_valid(message)
    text = message.blocks[0]["text"]["text"]
    assert text.startswith("I found no releases in this message.\nI look for release ids")
    (button,) = buttons(message)
    assert button["action_id"] == act.ACTION_OPEN_SEARCH
    assert button["style"] == "primary"
    assert act.decode(button["action_id"], button["value"]) == act.OpenSearch(
        "what about the Q1 thing?"
    )
    assert message.blocks[-1]["block_id"] == act.BLOCK_SHORTCUT_ACTIONS
    assert message.text == "I found no releases in this message."


def test_nothing_found_names_missing_ids_and_empty_filters() -> None:
    query = Query(groups=("<!channel>",))
    message = render_shortcut_result(
        ShortcutFindings(missing_ids=(5, 6), search=find((), query)), NOW
    )
    assert_valid(message)
    text = message.blocks[0]["text"]["text"]
    assert text.startswith("No release with id #5, #6.\nNothing matched *")
    assert "&lt;!channel&gt;" in text
    assert [b["action_id"] for b in buttons(message)] == ["open_search"]


def test_huge_and_nasty_findings_stay_within_limits() -> None:
    message = render_shortcut_result(
        ShortcutFindings(
            releases=tuple(nasty_release(i) for i in range(200)),
            missing_ids=tuple(range(1000, 1300)),
            missing_names=tuple(m * 30 for m in MENTIONS),
            search=find(tuple(nasty_release(i) for i in range(300, 500)), Query(status="all")),
            prefill="<!channel> " * 500,
        ),
        NOW,
    )
    assert_valid(message)
    for mention in MENTIONS:
        assert mention not in all_text(message)
