"""Escaping of foreign text for Slack mrkdwn, so that API data can never ping anyone.

The lowest layer: the grammar escapes what it echoes in errors, the renderers everything else.
"""

from __future__ import annotations

_MRKDWN = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


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
