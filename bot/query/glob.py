"""Glob patterns on release and group names: `*` and `?`, case-insensitive, whole-name match.

The standard library does the matching: `fnmatch.translate` turns a pattern into a regular
expression once (cached), and `re` runs it. Since Python 3.11 translate puts each `*` run but
the last in an atomic group, so no pattern backtracks into an expensive name (the glob-bomb
tests keep that true). `[` has no meaning here (no character classes), and both sides are
compared casefolded (`ß` matches `ss`), which is why the regex sees casefolded text.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import lru_cache

COMPILED_CACHE_SIZE = 1024


def is_glob(pattern: str) -> bool:
    """Whether a name or group pattern needs local matching (the API only matches exactly)."""
    return "*" in pattern or "?" in pattern


@dataclass(frozen=True, slots=True, eq=False)
class GlobSet:
    """Any of several patterns, as one compiled regex; build it with `compile_globs`."""

    regex: re.Pattern[str] | None  # None when there are no patterns (nothing matches)
    # When no pattern has a wildcard (a group name the API already matched): the casefolded
    # names, so a match is one set lookup instead of running the regex.
    literals: frozenset[str] | None = None

    def match(self, text: str) -> bool:
        if self.literals is not None:
            return text.casefold() in self.literals
        return self.regex is not None and self.regex.match(text.casefold()) is not None


def _translate(pattern: str) -> str:
    # `[[]` is fnmatch's literal `[`: brackets stay plain characters, as they always were here.
    return fnmatch.translate(pattern.casefold().replace("[", "[[]"))


@lru_cache(maxsize=COMPILED_CACHE_SIZE)
def compile_globs(patterns: tuple[str, ...]) -> GlobSet:
    """The regex for "any of `patterns`"; cached, as queries repeat for every release."""
    if not any(map(is_glob, patterns)):
        return GlobSet(None, frozenset(p.casefold() for p in patterns))
    # Each translation ends in `\Z` and names its groups uniquely, so they can be OR-ed.
    return GlobSet(re.compile("|".join(f"(?:{_translate(p)})" for p in patterns)))


def glob_match(pattern: str, text: str) -> bool:
    """Case-insensitive `*`/`?` match of the whole text."""
    return compile_globs((pattern,)).match(text)
