"""`releases-bot ask`: every command the help advertises, and a quiet exit."""

from __future__ import annotations

import io
from pathlib import Path

from bot.config import Settings
from bot.console import ask


def test_ask_lists_the_subscriptions(tmp_path: Path) -> None:
    out = io.StringIO()
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'bot.db'}")
    assert ask(settings, "/releases subscriptions", out=out) == 0
    assert "not available" not in out.getvalue()
    assert "subscriptions" in out.getvalue().lower()


def test_ask_subscribes(tmp_path: Path) -> None:
    out = io.StringIO()
    assert ask(Settings(), "/releases subscribe group:DWH_GROUP", out=out) == 0
    assert "subscribed this channel" in out.getvalue()
