"""The grammar stays small enough to read: a table of value readers, no long or tangled code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.query.builder import FILTER_KEYS
from bot.query.pairs import PAIRS
from bot.query.values import VALID_KEYS

QUERY = Path(__file__).parents[1] / "bot" / "query"

def test_every_key_has_exactly_one_value_reader() -> None:
    assert set(PAIRS) == set(VALID_KEYS)
    assert set(VALID_KEYS) >= FILTER_KEYS


def test_no_grammar_module_is_over_400_lines() -> None:
    lengths = {p.name: len(p.read_text().splitlines()) for p in QUERY.glob("*.py")}
    assert {name: n for name, n in lengths.items() if n > 400} == {}


def test_no_grammar_function_has_more_than_12_branches() -> None:
    """Ruff's own McCabe count, so the ceiling means what the linter means."""
    ruff = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise"]
    ceiling = ["--select", "C901", "--config", "lint.mccabe.max-complexity = 12"]
    found = subprocess.run(
        [*ruff, *ceiling, str(QUERY)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stdout
