"""The help and the README say the same as the grammar and as each other."""

from __future__ import annotations

from pathlib import Path

from bot.query import VALID_KEYS
from bot.render.help import TOPICS, render_help
from tests.render.limits import all_text

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _help_text() -> str:
    return "\n".join(all_text(render_help(topic)) for topic in (None, *TOPICS))


def test_the_help_names_every_key_the_grammar_accepts_and_no_other() -> None:
    text = _help_text()
    assert [key for key in VALID_KEYS if f"`{key}:" not in text] == []


def test_the_readme_lists_every_filter_key() -> None:
    usage = README.split("## Using it in Slack", 1)[1].split("```", 2)[1]
    assert [key for key in VALID_KEYS if key not in usage] == []


def test_the_shortcut_menu_glyph_is_the_same_in_help_and_readme() -> None:
    text = _help_text()
    assert "*⋮* menu" in text
    assert "⋯" not in text
    assert "`⋮` menu" in README


def test_the_help_says_the_shortcut_answer_can_be_shared() -> None:
    assert "Share in channel" in all_text(render_help("shortcut"))


def test_the_help_names_every_kind_of_change_a_subscription_reports() -> None:
    text = all_text(render_help("subscribe"))
    for kind in ("created", "reopened", "restored", "closed", "dates", "renamed", "deleted"):
        assert f"`{kind}`" in text
    assert "renamed" in text.split("`events:", 1)[0]  # said in the first line, not only the list
