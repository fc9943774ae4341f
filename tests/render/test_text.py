from __future__ import annotations

from bot.query import Query
from bot.render.detail import render_detail
from bot.render.listing import render_list
from bot.render.message import Message
from bot.render.text import ConsoleButton, mrkdwn_to_text, plain_text, render_text
from tests.render.support import NOW, detail, find, many, release


def test_tokens_entities_and_emoji_become_readable() -> None:
    text = mrkdwn_to_text(
        ":lock: *R1* <!date^1641078000^{date_short}|2022-01-01 23:00 UTC> &lt;!channel&gt; "
        "&amp;lt; <@U1> <!here> <!subteam^S1|@team> <#C1|general> <https://x.y|site>"
    )
    assert text == (
        "🔒 *R1* 2022-01-01 23:00 UTC <!channel> &lt; @U1 @here @team #general site (https://x.y)"
    )


def test_ansi_bold_is_optional() -> None:
    assert mrkdwn_to_text("*R1* and *R2*", ansi=True) == "\x1b[1mR1\x1b[0m and \x1b[1mR2\x1b[0m"
    assert mrkdwn_to_text("*R1*") == "*R1*"


def test_list_renders_with_numbered_buttons_in_order() -> None:
    message = render_list(find(many(12), Query(groups=("DWH_GROUP",))), NOW)
    console = render_text(message)
    lines = console.text.split("\n")
    assert lines[0] == "Open releases · DWH_GROUP · 12"
    assert lines[1].startswith("═══")
    assert lines[2].startswith(
        "🟢 *R1* #1 · DWH_GROUP · 2024-03-02 09:00 UTC → 2024-03-09 09:00 UTC"
    )
    assert lines[2].endswith("   [1] Details")
    assert lines[11].endswith("   [10] Details")
    assert lines[-1] == "[11] Next ›  [12] Share in channel"
    assert "page 1 of 2" in lines[-2]
    assert [b.number for b in console.buttons] == list(range(1, 13))
    first = console.button(1)
    assert first == ConsoleButton(1, "Details", "release_detail:1", "1", None)
    nxt = console.button(11)
    assert nxt is not None
    assert nxt.action_id == "releases_page:next"
    assert nxt.block_id == "releases_nav"
    assert console.button(13) is None


def test_detail_fields_and_escaped_text() -> None:
    message = render_detail(detail(release(description="a <!channel> & b", prev_release_id=3)), NOW)
    console = render_text(message)
    assert "*Status*: Open" in console.text
    assert "a <!channel> & b" in console.text
    assert "&lt;" not in console.text
    assert [b.label for b in console.buttons] == ["← Previous: #3", "Share in channel"]


def test_message_without_blocks_shows_its_text() -> None:
    console = render_text(Message(text="plain &amp; simple"))
    assert console.text == "plain & simple"
    assert console.buttons == ()


def test_dividers() -> None:
    console = render_text(Message(text="x", blocks=({"type": "divider"},)))
    assert set(console.text) == {"─"}


def test_a_title_is_underlined_as_wide_as_a_terminal_shows_it() -> None:
    for title, width in [("リリース", 8), ("Größe-Ü 🚀", 10), ("R60", 3), ("e\u0301clair", 6)]:
        message = Message(
            text=title, blocks=({"type": "header", "text": {"type": "plain_text", "text": title}},)
        )
        lines = render_text(message).text.split("\n")
        assert lines[1] == "═" * max(3, width), title


def test_buttons_can_be_left_out_where_nobody_can_press_them() -> None:
    message = render_list(find(many(12), Query(groups=("DWH_GROUP",))), NOW)
    console = render_text(message, buttons=False)
    assert "[1]" not in console.text
    assert "Details" not in console.text
    assert "Next ›" not in console.text
    assert console.buttons == ()
    assert "🟢 *R1* #1 · DWH_GROUP" in console.text


def test_plain_text_drops_our_formatting_for_modal_errors_and_the_workflow_step() -> None:
    assert plain_text("No group `DWH*` &amp; *R59*: <#C1|dev>") == "No group DWH & R59: #dev"
