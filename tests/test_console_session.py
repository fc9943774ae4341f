"""The interactive console with its worker: what the terminal shows, in order."""

from __future__ import annotations

import io
import sys

import pytest

from bot.config import Settings
from bot.console.repl import PROMPT
from bot.console.session import run_console


def test_polled_prints_before_the_next_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    typed = "/releases subscribe group:DWH_GROUP\n:poll\n:close R60\n:poll\n:quit\n"
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    monkeypatch.setattr(sys, "stdout", out)
    assert run_console(Settings(), with_worker=True) == 0
    shown = out.getvalue()
    assert "*R60* closed" in shown
    # A post made by `:poll` is followed by "(polled)" and then one prompt, not a prompt first.
    assert f"posted in the thread\n(polled)\n{PROMPT}" in shown
    assert shown.count(PROMPT) == 5  # the first, then one after each line but `:quit`


def test_what_the_worker_sends_a_follower_is_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    typed = "/releases follow 60\n:poll\n:close R60\n:poll\n:quit\n"
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    monkeypatch.setattr(sys, "stdout", out)
    assert run_console(Settings(), with_worker=True) == 0
    shown = out.getvalue()
    assert "(the bot sent you a direct message)" in shown
    assert "R60" in shown.split("(the bot sent you a direct message)", 1)[1]
