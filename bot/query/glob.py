"""Glob patterns on release and group names: `*` and `?`, case-insensitive, whole-name match.

A pattern compiles once into a bit-parallel automaton (shift-and over a Python int): one bit per
position in the pattern, one shift per character of the name. Matching therefore reads each
character once, whatever the pattern; nothing backtracks, so no pattern can make a name expensive.
Patterns OR-ed in a query run as one automaton, so forty patterns cost about what one does.
`[` has no meaning (no character classes), and both sides are compared casefolded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

COMPILED_CACHE_SIZE = 1024


def is_glob(pattern: str) -> bool:
    """Whether a name or group pattern needs local matching (the API only matches exactly)."""
    return "*" in pattern or "?" in pattern


@dataclass(frozen=True, slots=True, eq=False)
class GlobSet:
    """Any of several patterns, as one automaton; build it with `compile_globs`.

    Bit k stands for "the first k characters of a pattern are matched". A character moves
    every live bit one up where the pattern has that character (or `?`) next; a bit whose
    pattern has a `*` next also stays. The name matches when a pattern's last bit is live.
    """

    masks: Mapping[str, int]  # per character: the bits it can move into (`?` bits included)
    any_char: int  # the bits any character can move into (the `?` positions)
    loops: int  # the bits followed by a `*`, which stay whatever the character
    start: int  # the first bit of every pattern
    accept: int  # the last bit of every pattern
    # When no pattern has a wildcard (a group name the API already matched): the casefolded
    # names, so a match is one set lookup instead of a walk through the automaton.
    literals: frozenset[str] | None = None

    def match(self, text: str) -> bool:
        if self.literals is not None:
            return text.casefold() in self.literals
        masks, any_char, loops = self.masks, self.any_char, self.loops
        state = self.start
        for ch in text.casefold():
            state = ((state << 1) & masks.get(ch, any_char)) | (state & loops)
            if not state:
                return False
        return bool(state & self.accept)


@lru_cache(maxsize=COMPILED_CACHE_SIZE)
def compile_globs(patterns: tuple[str, ...]) -> GlobSet:
    """The automaton for "any of `patterns`"; cached, as queries repeat for every release."""
    literal: dict[str, int] = {}
    any_char = loops = start = accept = 0
    bit = 0
    for pattern in patterns:
        start |= 1 << bit
        for ch in pattern.casefold():
            if ch == "*":
                loops |= 1 << bit
                continue
            bit += 1
            if ch == "?":
                any_char |= 1 << bit
            else:
                literal[ch] = literal.get(ch, 0) | (1 << bit)
        accept |= 1 << bit
        # The next pattern starts on a fresh bit that no character moves into, so a shift out
        # of this pattern's last bit dies instead of leaking into the next pattern.
        bit += 1
    masks = MappingProxyType({ch: bits | any_char for ch, bits in literal.items()})
    literals = None if any(map(is_glob, patterns)) else frozenset(p.casefold() for p in patterns)
    return GlobSet(masks, any_char, loops, start, accept, literals)


def glob_match(pattern: str, text: str) -> bool:
    """Case-insensitive `*`/`?` match of the whole text, in time linear in the text."""
    return compile_globs((pattern,)).match(text)
