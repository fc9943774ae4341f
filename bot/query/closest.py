"""Suggestions for a mistyped release or group name, or a command word read as a name."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

from bot.mrkdwn import escape
from bot.query.quoting import quote_value

# The words a `/releases` command starts with, and the status keywords: a bare word close to
# one of these (`opne`, `stanup`) was more likely meant as it than as a release name.
KEYWORDS = (
    "open", "closed", "all", "help", "standup", "groups", "subscribe", "subscriptions",
    "unsubscribe", "digest", "follow", "unfollow", "following", "refresh",
)  # fmt: skip
# Words difflib cannot bring close, from people who think in another language.
_TRANSLATED = {"offen": "open", "geschlossen": "closed", "alle": "all", "hilfe": "help"}
_PART = re.compile(r"[^\w]+|_")
_MIN_PART = 3  # `LAKE` suggests `LAKE_GROUP`; two letters would suggest half the names


def closest(wanted: Iterable[str], candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` existing names close to any of `wanted`, compared case-insensitively.

    A name that differs only in case comes first, then names spelt alike, then names that
    have the typed word as one of their parts (`LAKE` -> `LAKE_GROUP`); names typed exactly
    are not suggested.
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
    for word in typed:
        if len(word) >= _MIN_PART:
            found += [name for fold, name in by_fold.items() if word in _PART.split(fold)]
    exact = set(wanted)
    return [name for name in dict.fromkeys(found) if name not in exact][:n]


def closest_command(words: Sequence[str]) -> str | None:
    """`/releases open` for the words `opne`; None when no word is close to a keyword."""
    replaced = [_keyword(word) for word in words]
    if all(k is None for k in replaced):
        return None
    return "/releases " + " ".join(
        k if k is not None else quote_value(w) for w, k in zip(words, replaced, strict=True)
    )


def _keyword(word: str) -> str | None:
    folded = word.casefold()
    if not folded.isalpha():  # `R599`, `group:X`: a name or a filter, never a keyword
        return None
    if folded in _TRANSLATED:
        return _TRANSLATED[folded]
    close = difflib.get_close_matches(folded, KEYWORDS, n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(names: Iterable[str]) -> str:
    """` Did you mean `A` or `B`?` for the names given (escaped), or "" when there are none."""
    shown = ["`" + escape(name.replace("`", "'")) + "`" for name in names]
    if not shown:
        return ""
    if len(shown) == 1:
        return f" Did you mean {shown[0]}?"
    return f" Did you mean {', '.join(shown[:-1])} or {shown[-1]}?"
