"""Error answers: ephemeral, specific, and saying what to do next; never a stack trace.

`message` and `hint` are the bot's own mrkdwn (e.g. `QueryError.message`, which already
escapes what the user typed); callers escape any foreign text they put in with `escape()`.
As a net under that, raw `<` and `>` are turned into entities here, so even an unescaped
API error text can never become a mention. Existing entities (`&lt;`) are left alone.
"""

from __future__ import annotations

import re

from bot.mrkdwn import escape_truncated
from bot.render import parts
from bot.render.block_limits import MAX_SECTION_TEXT, cut_mrkdwn, fit_blocks, fit_text
from bot.render.message import Message

_REF = re.compile(r"[^A-Za-z0-9_-]")


def defang(text: str) -> str:
    """Neutralise any `<...>` markup (mentions, links) in otherwise safe mrkdwn."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def render_error(message: str, hint: str | None = None) -> Message:
    """`:warning: message` with an optional hint on what to try instead."""
    text = cut_mrkdwn(defang(message.strip()) or "That did not work.", MAX_SECTION_TEXT - 20)
    blocks = [parts.section(f"{parts.EMOJI_WARNING} {text}")]
    fallback = text
    if hint and hint.strip():
        safe_hint = cut_mrkdwn(defang(hint.strip()), 1500)
        blocks.append(parts.context(safe_hint))
        fallback += " " + safe_hint
    return Message(text=fit_text(fallback), blocks=fit_blocks(blocks), meta={"view": "error"})


def render_not_available(feature: str) -> Message:
    """For a command whose part of the app is not switched on or not built yet."""
    name = escape_truncated(feature.strip() or "This", 80)
    return render_error(
        f"`{name}` is not available yet.",
        "See `/releases help` for what works today.",
    )


def render_unexpected_error(ref: str) -> Message:
    """For a bug: a short reference the logs can be searched for, nothing else leaks."""
    safe_ref = _REF.sub("", ref)[:32] or "unknown"
    return render_error(
        f"Something went wrong on our side (ref `{safe_ref}`). Please try again.",
        f"If it keeps happening, tell whoever runs this app the ref `{safe_ref}`.",
    )
