"""The grammar stays small enough to read: a table of value readers, no long or tangled code."""

from __future__ import annotations

from pathlib import Path

from bot.query.builder import FILTER_KEYS
from bot.query.pairs import PAIRS
from bot.query.values import VALID_KEYS

QUERY = Path(__file__).parents[1] / "bot" / "query"

def test_every_key_has_exactly_one_value_reader() -> None:
    assert set(PAIRS) == set(VALID_KEYS)
    assert set(VALID_KEYS) >= FILTER_KEYS


def test_no_grammar_module_is_over_400_lines() -> None:
    """A test, not a lint rule: ruff has no rule for a module's length. (The ceiling on a
    function's branches is ruff's C901, configured in pyproject.toml.)"""
    lengths = {p.name: len(p.read_text().splitlines()) for p in QUERY.glob("*.py")}
    assert {name: n for name, n in lengths.items() if n > 400} == {}
