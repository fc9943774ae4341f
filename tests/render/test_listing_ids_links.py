"""List rows show release ids, link names when a link template is set, echo canonical groups."""

from __future__ import annotations

from typing import Any

from bot.query import Query
from bot.render.listing import render_list
from bot.render.message import Message
from bot.render.standup import render_standup
from tests.render.limits import all_text, assert_valid
from tests.render.support import NOW, find, many, release

TEMPLATE = "https://mk.example/releases/{id}"


def _rows(message: Message) -> list[str]:
    return [b["text"]["text"] for b in message.blocks if b["type"] == "section"]


def _context(message: Message) -> str:
    blocks: list[dict[str, Any]] = [b for b in message.blocks if b["type"] == "context"]
    return " ".join(e["text"] for b in blocks for e in b["elements"])


def test_every_row_shows_the_release_id() -> None:
    message = render_list(find((release(158, "R59"), release(21, "R1"))), NOW)
    rows = _rows(message)
    assert rows[0].startswith(":large_green_circle: *R59* #158 · DWH_GROUP · ")
    assert rows[1].startswith(":large_green_circle: *R1* #21 · ")


def test_names_link_to_metakraftwerk_when_a_template_is_set() -> None:
    message = render_list(find((release(158, "R<59>"),)), NOW, link=TEMPLATE)
    assert_valid(message, allow=("<https://mk.example/releases/158|R&lt;59&gt;>",))
    assert _rows(message)[0].startswith(
        ":large_green_circle: *<https://mk.example/releases/158|R&lt;59&gt;>* #158 · "
    )


def test_without_a_template_nothing_links() -> None:
    assert "https://" not in all_text(render_list(find(many(3)), NOW))


def test_standup_rows_link_and_show_ids_too() -> None:
    result = find((release(158, "R59"),), Query(status="all"))
    text = all_text(render_standup(result, NOW, link=TEMPLATE))
    assert "*<https://mk.example/releases/158|R59>* #158" in text


def test_the_header_echoes_the_canonical_group_name() -> None:
    message = render_list(find(many(2), Query(groups=("dwh_group",))), NOW)
    assert message.blocks[0]["text"]["text"] == "Open releases · DWH_GROUP · 2"


def test_a_page_past_the_end_says_the_last_page_was_shown() -> None:
    message = render_list(find(many(25), Query(page=9)), NOW)
    assert message.meta["page"] == 3
    assert "Page 9 is past the end: this is the last page, 3 of 3" in _context(message)


def test_a_page_in_range_says_nothing_of_the_kind() -> None:
    assert "past the end" not in _context(render_list(find(many(25), Query(page=3)), NOW))


def test_standup_rows_have_details_buttons() -> None:
    from bot.render import actions as act

    result = find((release(158, "R59"), release(21, "R1", days=(-9, -2))), Query(status="all"))
    message = render_standup(result, NOW)
    assert_valid(message)
    refs = [
        act.decode(e["action_id"], e["value"])
        for b in message.blocks
        if b["type"] == "actions" and b["block_id"].startswith("standup_details:")
        for e in b["elements"]
    ]
    assert set(refs) == {act.ReleaseRef(158), act.ReleaseRef(21)}
