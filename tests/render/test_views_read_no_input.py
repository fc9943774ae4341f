"""Views draw what the use cases give them; reading what a user typed is the use cases' job."""

from __future__ import annotations

import ast
from pathlib import Path

import bot.render

PARSERS = {"parse_command", "parse_events", "scan_message"}


def test_no_view_calls_the_grammar() -> None:
    package = Path(bot.render.__file__).parent
    calls = {
        f"{path.name}: {node.func.id}"
        for path in sorted(package.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in PARSERS
    }
    assert calls == set()
