"""Glob matching: the same answers as a plain reference, without backtracking into the name."""

from __future__ import annotations

import itertools
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.query import glob_match
from bot.query.glob import compile_globs


def reference(pattern: str, text: str) -> bool:
    """The semantics, spelt out: casefold both, `*` any run, `?` one character, else equal."""
    p, t = pattern.casefold(), text.casefold()

    @cache
    def from_(i: int, j: int) -> bool:
        if i == len(p):
            return j == len(t)
        if p[i] == "*":
            return from_(i + 1, j) or (j < len(t) and from_(i, j + 1))
        return j < len(t) and (p[i] == "?" or p[i] == t[j]) and from_(i + 1, j + 1)

    return from_(0, 0)


def _words(alphabet: str, longest: int) -> list[str]:
    return [
        "".join(w) for n in range(longest + 1) for w in itertools.product(alphabet, repeat=n)
    ]


def test_every_small_pattern_agrees_with_the_reference() -> None:
    texts = _words("aB[", 4)
    for pattern in _words("ab?*[", 4):
        for text in texts:
            assert glob_match(pattern, text) == reference(pattern, text), (pattern, text)


# Characters whose casefold differs in length or maps onto another letter (ß -> ss, ſ -> s,
# the Kelvin sign -> k, İ -> i̇), so the matcher must work on casefolded text as the
# reference does.
TRICKY = "aAsSkK?*ßſKİi[]"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=TRICKY, max_size=8), st.text(alphabet=TRICKY.replace("*", ""), max_size=10))
def test_glob_match_agrees_with_the_reference(pattern: str, text: str) -> None:
    assert glob_match(pattern, text) == reference(pattern, text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet="ab?*", max_size=5), max_size=5),
    st.text(alphabet="abAB", max_size=8),
)
def test_a_set_matches_when_any_of_its_patterns_does(patterns: list[str], text: str) -> None:
    expected = any(reference(p, text) for p in patterns)
    assert compile_globs(tuple(patterns)).match(text) is expected


def test_no_patterns_match_nothing() -> None:
    assert compile_globs(()).match("") is False
    assert compile_globs(()).match("R1") is False


def test_a_pattern_is_compiled_once() -> None:
    compile_globs.cache_clear()
    for _ in range(3):
        glob_match("R5*-HF?", "r55-hf1")
    info = compile_globs.cache_info()
    assert (info.misses, info.hits) == (1, 2)


@pytest.mark.timeout(10)
def test_a_backtracking_pattern_costs_one_pass_over_the_name() -> None:
    # Backtracking tries the 1000 `?` from each of the 50 000 start positions (50 million
    # steps, minutes); one pass over the name is 50 000 steps. The deadline is loose on purpose.
    pattern = "*" + "?" * 1000 + "Z0"
    name = "a" * 50_000
    assert glob_match(pattern, name) is False
    assert glob_match(pattern, name + "z0") is True
    assert compile_globs(tuple(f"*{'?' * 1000}Z{i}" for i in range(40))).match(name) is False


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet=TRICKY.replace("*", "").replace("?", ""), max_size=5), max_size=4),
    st.text(alphabet=TRICKY.replace("*", ""), max_size=8),
)
def test_names_without_wildcards_match_as_the_reference_does(
    patterns: list[str], text: str
) -> None:
    globs = compile_globs(tuple(patterns))
    assert globs.literals is not None  # exact names take the set lookup, not the regex
    assert globs.match(text) is any(reference(p, text) for p in patterns)


def test_a_wildcard_in_any_pattern_keeps_the_regex() -> None:
    assert compile_globs(("DWH_GROUP", "OPS*")).literals is None
    assert compile_globs(("DWH_GROUP", "OPS*")).match("ops_team")
