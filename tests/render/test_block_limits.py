from __future__ import annotations

from typing import Any

import pytest

from bot.render.block_limits import TEXT_BUDGET, block_text_size, cut_mrkdwn, fit_blocks
from bot.render.message import Message
from tests.render.limits import assert_within_limits


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _button(label: str, action_id: str, value: str = "1") -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": value,
    }


def _message(blocks: tuple[dict[str, Any], ...]) -> Message:
    return Message(text="fallback", blocks=blocks)


def test_cut_keeps_short_text() -> None:
    assert cut_mrkdwn("abc", 3) == "abc"


def test_cut_adds_an_ellipsis() -> None:
    assert cut_mrkdwn("abcdef", 4) == "abc…"


@pytest.mark.parametrize("limit", range(1, 60))
def test_cut_never_halves_a_token_or_entity(limit: int) -> None:
    text = "a &amp; b <!date^1700000000^{date_short}|2023-11-14 22:13 UTC> c &lt;x&gt;"
    cut = cut_mrkdwn(text, limit)
    assert len(cut) <= limit
    assert cut.count("<") == cut.count(">")
    for piece in cut.split("&")[1:]:
        assert piece.startswith(("amp;", "lt;", "gt;")) or piece in ("", "…")


def test_fit_leaves_a_small_message_alone() -> None:
    blocks = (
        {"type": "header", "text": {"type": "plain_text", "text": "Hi", "emoji": True}},
        {"type": "section", "text": _mrkdwn("text")},
    )
    assert fit_blocks(blocks) == blocks


def test_fit_enforces_every_limit_on_abusive_blocks() -> None:
    huge = "x&amp;y " * 1000
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "H" * 500, "emoji": True}},
        {
            "type": "section",
            "fields": [_mrkdwn(huge) for _ in range(14)],
        },
        {"type": "context", "elements": [_mrkdwn(huge) for _ in range(15)]},
    ]
    blocks += [
        {
            "type": "section",
            "text": _mrkdwn(huge),
            "accessory": _button("B" * 100, f"release_detail:{i}"),
        }
        for i in range(80)
    ]
    blocks.append({"type": "context", "elements": [_mrkdwn("tail note")]})
    blocks.append(
        {
            "type": "actions",
            "block_id": "releases_nav",
            "elements": [_button("L" * 90, f"releases_page:{i}") for i in range(30)]
            + [_button("too big", "share_in_channel", "v" * 2001)],
        }
    )
    fitted = fit_blocks(blocks)
    assert_within_limits(_message(fitted))
    assert block_text_size(fitted) <= TEXT_BUDGET
    # The head and the tail (filters, paging) survive; what was dropped is said.
    assert fitted[0]["type"] == "header"
    assert fitted[-1]["block_id"] == "releases_nav"
    assert all(e["action_id"] != "share_in_channel" for e in fitted[-1]["elements"])
    notes = [b for b in fitted if b["type"] == "context" and "more not shown" in str(b)]
    assert len(notes) == 1


def test_fit_cuts_long_sections_before_dropping_blocks() -> None:
    blocks = tuple({"type": "section", "text": _mrkdwn(f"{i} " + "y" * 2900)} for i in range(6))
    fitted = fit_blocks(blocks)
    assert len(fitted) == 6
    assert [b["text"]["text"].split()[0] for b in fitted] == [str(i) for i in range(6)]
    assert block_text_size(fitted) <= TEXT_BUDGET
    assert all(b["text"]["text"].endswith("…") for b in fitted)


def test_fit_drops_blocks_beyond_fifty() -> None:
    blocks = tuple({"type": "section", "text": _mrkdwn(str(i))} for i in range(70))
    fitted = fit_blocks(blocks)
    assert len(fitted) <= 50
    assert "more not shown" in fitted[-1]["elements"][0]["text"]
    assert_within_limits(_message(fitted))


def test_fit_does_not_change_its_input() -> None:
    block: dict[str, Any] = {"type": "section", "text": _mrkdwn("z" * 5000)}
    fit_blocks([block])
    assert len(block["text"]["text"]) == 5000


def test_fit_copies_nested_parts_so_cutting_them_leaves_the_input_alone() -> None:
    fields = [_mrkdwn("f" * 2500), _mrkdwn("g")]
    block: dict[str, Any] = {"type": "section", "fields": fields, "extra": ({"k": ["v"]},)}
    fitted = fit_blocks([block])
    assert len(fields[0]["text"]) == 2500
    assert len(fitted[0]["fields"][0]["text"]) <= 2000
    assert fitted[0]["extra"] == ({"k": ["v"]},)
    assert fitted[0]["extra"][0] is not block["extra"][0]
