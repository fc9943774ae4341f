"""The README documents every setting the bot reads and what `check` does."""

from __future__ import annotations

from pathlib import Path

from bot.config import _VARIABLES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def settings_table() -> str:
    return README.split("## Settings", 1)[1].split("\n## ", 1)[0]


def test_every_variable_is_in_the_settings_table() -> None:
    table = settings_table()
    missing = [v for v in (*_VARIABLES, "WEB_CONCURRENCY") if f"`{v}`" not in table]
    assert missing == []


def test_check_is_described_as_checking_the_database_and_slack() -> None:
    row = next(line for line in README.splitlines() if line.startswith("| `releases-bot check`"))
    assert "database" in row
    assert "Slack" in row
