"""Messages as terminal text, for the console mode: what Slack would show, and its buttons.

Buttons are numbered in order (`[1] Details`), so the console can "press" one by number and
hand its action id and value to the same code a real click reaches; where nobody can press
them (`ask`), `buttons=False` leaves them out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.render.message import Message

_TOKEN = re.compile(r"<([^<>]*)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
# The one table of the shortcodes the bot writes, as the console shows them.
EMOJI = {
    ":large_green_circle:": "🟢",
    ":white_circle:": "⚪",
    ":red_circle:": "🔴",
    ":lock:": "🔒",
    ":wastebasket:": "🗑",
    ":adhesive_bandage:": "🩹",
    ":warning:": "⚠️",
    ":hourglass:": "⌛",
    ":hourglass_flowing_sand:": "⏳",
    ":no_entry:": "⛔",
    ":pencil2:": "✏️",
    ":rocket:": "🚀",
    ":calendar:": "📅",
    ":unlock:": "🔓",
    ":sunny:": "☀️",
    ":recycle:": "♻️",
    ":newspaper:": "📰",
    ":new:": "🆕",
    ":bell:": "🔔",
    ":double_vertical_bar:": "⏸",
}
_SHORTCODE = re.compile("|".join(map(re.escape, sorted(EMOJI, key=len, reverse=True))))
_RULE = "─" * 60


@dataclass(frozen=True, slots=True)
class ConsoleButton:
    number: int  # 1-based, as shown in the text
    label: str
    action_id: str
    value: str
    block_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConsoleText:
    text: str
    buttons: tuple[ConsoleButton, ...]

    def button(self, number: int) -> ConsoleButton | None:
        """The button shown as `[number]`, or None."""
        for candidate in self.buttons:
            if candidate.number == number:
                return candidate
        return None


def _token(match: re.Match[str]) -> str:
    inner = match.group(1)
    body, _, label = inner.partition("|")
    if body.startswith("!date^"):
        return label or body
    if body.startswith("!subteam^"):
        return label or "@" + body.split("^", 1)[1]
    if body.startswith("!"):
        return "@" + body[1:]
    if body.startswith("@"):
        return label or body
    if body.startswith("#"):
        return "#" + label if label else body
    return f"{label} ({body})" if label else body


def mrkdwn_to_text(text: str, *, ansi: bool = False) -> str:
    """Slack markup as readable text: tokens by their fallbacks, entities unescaped."""
    out = _TOKEN.sub(_token, text)
    if ansi:
        out = _BOLD.sub(lambda m: f"\x1b[1m{m.group(1)}\x1b[0m", out)
    out = _SHORTCODE.sub(lambda m: EMOJI.get(m.group(0), m.group(0)), out)
    for entity, char in _ENTITIES:
        out = out.replace(entity, char)
    return out


def plain_text(mrkdwn: str) -> str:
    """A message of ours without its formatting, for places that show none: a modal's field
    errors, the text Workflow Builder shows for a failed step."""
    return mrkdwn_to_text(mrkdwn).replace("`", "").replace("*", "")


def display_width(text: str) -> int:
    """Terminal columns `text` takes: wide (CJK, most emoji) count two, combining marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue  # accents on the letter before, variation selectors, zero-width joiners
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _text_of(obj: Any, ansi: bool) -> str:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return mrkdwn_to_text(obj["text"], ansi=ansi and obj.get("type") == "mrkdwn")
    return ""


def render_text(message: Message, *, ansi: bool = False, buttons: bool = True) -> ConsoleText:
    """The message as lines of text plus its buttons in display order (none without `buttons`).

    `ansi` shows Slack's `*bold*` as terminal bold instead of the asterisks.
    """
    lines: list[str] = []
    pressable: list[ConsoleButton] = []

    def press(element: dict[str, Any], block_id: str | None) -> str:
        label = _text_of(element.get("text"), False)
        pressable.append(
            ConsoleButton(
                number=len(pressable) + 1,
                label=label,
                action_id=str(element.get("action_id", "")),
                value=str(element.get("value", "")),
                block_id=block_id,
            )
        )
        return f"[{len(pressable)}] {label}"

    blocks: Iterable[dict[str, Any]] = message.blocks
    if not message.blocks:
        lines.append(mrkdwn_to_text(message.text, ansi=ansi))
    for block in blocks:
        kind = block.get("type")
        block_id = block.get("block_id")
        if kind == "header":
            title = _text_of(block.get("text"), False)
            lines.extend([title, "═" * min(60, max(3, display_width(title)))])
        elif kind == "section":
            body = _text_of(block.get("text"), ansi)
            fields = [_text_of(f, ansi).replace("\n", ": ", 1) for f in block.get("fields") or []]
            text = "\n".join(t for t in [body, *fields] if t)
            accessory = block.get("accessory")
            if buttons and isinstance(accessory, dict) and accessory.get("type") == "button":
                text += f"   {press(accessory, block_id)}"
            lines.append(text)
        elif kind == "context":
            parts = [_text_of(e, ansi) for e in block.get("elements") or []]
            lines.append("  " + " · ".join(p for p in parts if p))
        elif kind == "divider":
            lines.append(_RULE)
        elif kind == "actions" and buttons:
            labels = [
                press(e, block_id)
                for e in block.get("elements") or []
                if isinstance(e, dict) and e.get("type") == "button"
            ]
            if labels:
                lines.append("  ".join(labels))
    return ConsoleText(text="\n".join(lines), buttons=tuple(pressable))
