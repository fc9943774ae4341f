"""The README documents every setting the bot reads and what `check` does."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.config import _VARIABLES

README_PATH = Path(__file__).resolve().parents[1] / "README.md"
README = README_PATH.read_text(encoding="utf-8")


def settings_table() -> str:
    return README.split("## Settings", 1)[1].split("\n## ", 1)[0]


def test_every_variable_is_in_the_settings_table() -> None:
    table = settings_table()
    missing = [v for v in _VARIABLES if f"`{v}`" not in table]
    assert missing == []


def test_check_is_described_as_checking_the_database_and_slack() -> None:
    row = next(line for line in README.splitlines() if line.startswith("| `releases-bot check`"))
    assert "database" in row
    assert "Slack" in row


def deploying() -> str:
    return README.split("## Deploying", 1)[1].split("\n## ", 1)[0]


def test_deploying_names_the_database_and_the_tls_proxy() -> None:
    section = deploying()
    assert "`DATABASE_URL`" in section
    assert "PostgreSQL" in section
    assert "TLS" in section
    assert "proxy" in section


def test_deploying_explains_every_scope_of_the_manifest() -> None:
    manifest = yaml.safe_load((README_PATH.parent / "manifest.yml").read_text(encoding="utf-8"))
    rows = [line for line in deploying().splitlines() if line.startswith("| `")]
    explained = {line.split("`")[1] for line in rows}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) <= explained
