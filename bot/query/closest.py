"""Suggestions for a mistyped release or group name: the closest names that exist."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from bot.mrkdwn import escape


def closest(wanted: Iterable[str], candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` existing names close to any of `wanted`, compared case-insensitively.

    A name that differs only in case comes first; names typed exactly are not suggested.
    """
    by_fold: dict[str, str] = {}
    for name in sorted(candidates):
        by_fold.setdefault(name.casefold(), name)
    typed = [w.casefold() for w in wanted if w.strip()]
    found: list[str] = []
    for word in typed:
        if word in by_fold:
            found.append(by_fold[word])
    for word in typed:
        found += [by_fold[m] for m in difflib.get_close_matches(word, by_fold, n=n, cutoff=0.6)]
    exact = set(wanted)
    return [name for name in dict.fromkeys(found) if name not in exact][:n]


def did_you_mean(names: Iterable[str]) -> str:
    """` Did you mean `A` or `B`?` for the names given (escaped), or "" when there are none."""
    shown = ["`" + escape(name.replace("`", "'")) + "`" for name in names]
    if not shown:
        return ""
    if len(shown) == 1:
        return f" Did you mean {shown[0]}?"
    return f" Did you mean {', '.join(shown[:-1])} or {shown[-1]}?"
