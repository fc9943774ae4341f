from __future__ import annotations

import pytest

from bot.render import actions as act
from bot.render.errors import render_error, render_not_available, render_unexpected_error
from bot.render.help import TOPICS, render_help
from tests.render.limits import all_text, assert_valid, buttons


def test_general_help_lists_commands_with_examples() -> None:
    message = render_help(None)
    assert_valid(message)
    text = all_text(message)
    for example in (
        "`/releases`",
        "`/releases 21`",
        "`/releases group:DWH_GROUP`",
        "`/releases standup`",
        "`/releases subscribe group:DWH_GROUP`",
        "`/releases digest weekdays 09:00`",
        "`/releases unsubscribe 3`",
        "Find releases",
        "`/releases help filters`",
    ):
        assert example in text
    assert message.meta["topic"] is None
    assert message.text.startswith("How to use /releases")


def test_general_help_has_a_button_that_opens_the_search_form() -> None:
    (search,) = buttons(render_help(None))
    assert search["action_id"] == "open_search"
    assert act.decode(search["action_id"], search["value"]) == act.OpenSearch("")


@pytest.mark.parametrize(
    ("topic", "key", "must_mention"),
    [
        ("filters", "filters", '`-name:"*-HF*"`'),
        ("FILTER", "filters", "`group:DWH_GROUP group:LAKE`"),
        ("standup", "standup", "Monday looks back to Friday"),
        ("subscribe", "subscribe", "`/releases digest mon,thu 09:30`"),
        ("digest", "subscribe", "`/releases subscriptions`"),
        ("unsubscribe", "subscribe", "`/releases unsubscribe all`"),
        (" shortcut ", "shortcut", "`release 21`"),
    ],
)
def test_help_topics(topic: str, key: str, must_mention: str) -> None:
    message = render_help(topic)
    assert_valid(message)
    assert message.meta["topic"] == key
    assert must_mention in all_text(message)
    assert "All commands: `/releases help`" in all_text(message)


def test_every_topic_has_its_own_page() -> None:
    headers = {render_help(t).blocks[0]["text"]["text"] for t in TOPICS}
    assert len(headers) == len(TOPICS)


def test_unknown_topic_gets_general_help_with_an_escaped_note() -> None:
    message = render_help("<!channel> gifs")
    assert_valid(message)
    note = message.blocks[1]["text"]["text"]
    assert note.startswith("There is no help on `&lt;!channel&gt; gifs`;")
    assert "`filters`" in note
    assert "`/releases standup`" in all_text(message)


def test_error_with_hint() -> None:
    message = render_error("No release with id 99999.", "Try `/releases all` to list them.")
    assert_valid(message)
    assert message.blocks[0]["text"]["text"] == ":warning: No release with id 99999."
    assert message.blocks[1]["elements"][0]["text"] == "Try `/releases all` to list them."
    assert message.text == "No release with id 99999. Try `/releases all` to list them."


def test_error_text_cannot_mention_anyone_and_keeps_existing_entities() -> None:
    message = render_error(
        "A release group with the name '<!channel>' does not exist! (&lt;x&gt;)",
        "hint <@U123>",
    )
    assert_valid(message)
    assert "'&lt;!channel&gt;'" in message.blocks[0]["text"]["text"]
    assert "(&lt;x&gt;)" in message.blocks[0]["text"]["text"]


def test_huge_error_is_cut() -> None:
    message = render_error("x" * 10_000, "y" * 10_000)
    assert_valid(message)


def test_empty_error_still_says_something() -> None:
    message = render_error("   ")
    assert_valid(message)
    assert message.text == "That did not work."


def test_not_available_yet() -> None:
    message = render_not_available("subscribe <!here>")
    assert_valid(message)
    assert message.blocks[0]["text"]["text"] == (
        ":warning: `subscribe &lt;!here&gt;` is not available yet."
    )


def test_unexpected_error_shows_only_a_clean_ref() -> None:
    message = render_unexpected_error("abc123<!channel>\nTraceback")
    assert_valid(message)
    assert "(ref `abc123channelTraceback`)" in message.blocks[0]["text"]["text"]
    assert "Traceback\n" not in all_text(message)
    assert render_unexpected_error("").text.count("`unknown`") == 2
