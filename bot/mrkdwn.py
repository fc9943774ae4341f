"""Escaping of foreign text for Slack mrkdwn, so that API data can never ping anyone.

The lowest layer: the grammar escapes what it echoes in errors, the renderers everything else.
`inline` goes further for text set inside a line of ours (release and group names in rows):
it can neither break the line nor format it.
"""

from __future__ import annotations

import re
from functools import lru_cache

_MRKDWN = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
ZWSP = "\u200b"  # zero-width space: a marker beside it no longer touches a word boundary
_MARKERS = "*_~"
BACKTICK_STAND_IN = "\u02cb"  # ˋ, looks like a backtick and opens no code span
_INLINE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "`": BACKTICK_STAND_IN})
_MARKER = re.compile(r"[*_~]")
# Names and groups repeat in every answer; these caches keep their inline forms.
_CACHED_TEXTS = 4096


def escape(text: str) -> str:
    """Escape `&`, `<`, `>` as Slack requires for text that did not come from the bot."""
    return text.translate(_MRKDWN)


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut text to at most `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= len(ellipsis):
        return text[:limit]
    return text[: limit - len(ellipsis)].rstrip() + ellipsis


def escape_truncated(text: str, limit: int) -> str:
    """Escape, then fit into `limit` characters without cutting an entity such as `&amp;` in two."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = 0
    for char in text:
        piece = escape(char)
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out).rstrip() + "…"


def _boundary(char: str) -> bool:
    return not char.isalnum()


@lru_cache(maxsize=_CACHED_TEXTS)
def inline(text: str) -> str:
    """Foreign text for inside one of our lines: escaped, on one line, formatting nothing.

    Whitespace runs (line breaks too) become one space; a backtick becomes a look-alike; a `*`,
    `_` or `~` that Slack could read as opening or closing bold, italics or a strike (a space,
    punctuation or the edge on its outer side) gets a zero-width space on that side. One in
    the middle of a word (`DWH_GROUP`) is left as it is: Slack formats nothing there.
    """
    flat = " ".join(text.split())
    if _MARKER.search(flat) is not None:
        last = len(flat) - 1

        def guard(match: re.Match[str]) -> str:
            i = match.start()
            before = ZWSP if i == 0 or _boundary(flat[i - 1]) else ""
            after = ZWSP if i == last or _boundary(flat[i + 1]) else ""
            return f"{before}{match.group()}{after}"

        flat = _MARKER.sub(guard, flat)
    return flat.translate(_INLINE)


@lru_cache(maxsize=_CACHED_TEXTS)
def inline_truncated(text: str, limit: int) -> str:
    """`inline`, fit into `limit` characters; a cut is marked with an ellipsis."""
    whole = inline(text)
    if len(whole) <= limit:
        return whole
    flat = " ".join(text.split())
    low, high = 0, len(flat)  # the longest prefix whose inline form fits with the ellipsis
    while low < high:
        mid = (low + high + 1) // 2
        if len(inline(flat[:mid].rstrip())) + 1 <= limit:
            low = mid
        else:
            high = mid - 1
    while low > 0 and len(inline(flat[:low].rstrip())) + 1 > limit:
        low -= 1
    return inline(flat[:low].rstrip()) + "…"
