"""Matching of the `*` and `?` patterns users give for names and groups."""

from __future__ import annotations


def glob_match(pattern: str, text: str) -> bool:
    """Case-insensitive `*`/`?` match of the whole text; linear-time, no `[...]` classes.

    Hand-written instead of fnmatch so `[` stays literal and patterns such as `*a*a*a*b`
    cannot backtrack for seconds on a long name.
    """
    p, t = pattern.casefold(), text.casefold()
    pi = ti = 0
    star, mark = -1, 0
    while ti < len(t):
        if pi < len(p) and p[pi] == "*":
            star, mark = pi, ti
            pi += 1
        elif pi < len(p) and (p[pi] == "?" or p[pi] == t[ti]):
            pi += 1
            ti += 1
        elif star >= 0:
            pi = star + 1
            mark += 1
            ti = mark
        else:
            return False
    while pi < len(p) and p[pi] == "*":
        pi += 1
    return pi == len(p)
