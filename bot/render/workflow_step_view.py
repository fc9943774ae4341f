"""A rendered message as one mrkdwn text, for the outputs of the Workflow Builder step.

A workflow's next step (usually "Send a message") inserts the text as it is, so it keeps the
mrkdwn of the blocks (already escaped by the renderers) and drops what only works as blocks:
buttons and dividers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.render.block_limits import cut_mrkdwn
from bot.render.message import Message

# Slack cuts message text past 4000 characters; a workflow message adds its own words around
# the variable, so the summary leaves room for them.
MAX_SUMMARY = 3000
MAX_RELEASE_IDS = 1000


def message_mrkdwn(message: Message, limit: int = MAX_SUMMARY) -> str:
    """Header, sections, fields and context lines of `message`, one paragraph each."""
    lines: list[str] = []
    for block in message.blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text(block.get("text"))
            if title:
                lines.append(f"*{title}*" if "*" not in title else title)
        elif kind == "section":
            lines.extend(t for t in (_text(block.get("text")), *_texts(block.get("fields"))) if t)
        elif kind == "context":
            joined = " · ".join(t for t in _texts(block.get("elements")) if t)
            if joined:
                lines.append(joined)
    text = "\n".join(lines) or message.text
    return cut_mrkdwn(text, limit)


def release_ids_text(ids: Iterable[int], limit: int = MAX_RELEASE_IDS) -> str:
    """`21,22,35`: the ids in display order, whole ids only, cut to fit `limit`."""
    out = ""
    for release_id in ids:
        piece = str(release_id) if not out else f",{release_id}"
        if len(out) + len(piece) > limit:
            break
        out += piece
    return out


def _text(obj: Any) -> str:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"]).strip()
    return ""


def _texts(objs: Any) -> list[str]:
    return [_text(o) for o in objs] if isinstance(objs, list) else []
