"""The two shapes of a subscription command's answer: a confirmation in the channel, or a
refusal only the person who typed the command sees."""

from __future__ import annotations

from bot.app.answers import Reply
from bot.render import parts
from bot.render.block_limits import MAX_SECTION_TEXT, cut_mrkdwn, fit_blocks, fit_text
from bot.render.message import Message


def confirm(text: str, note: str | None = None) -> Reply:
    blocks = [parts.section(cut_mrkdwn(text, MAX_SECTION_TEXT))]
    if note:
        blocks.append(parts.context(cut_mrkdwn(note, 1500)))
    message = Message(
        text=fit_text(text), blocks=fit_blocks(blocks),
        meta={"view": "subscription_change"},
    )
    return Reply(message, mode="in_channel")


def refuse(text: str, hint: str | None = None) -> Reply:
    """An ephemeral refusal or mistake; the bot's own mrkdwn, foreign parts escaped by callers."""
    blocks = [parts.section(f"{parts.EMOJI_WARNING} {cut_mrkdwn(text, MAX_SECTION_TEXT - 20)}")]
    fallback = text
    if hint:
        blocks.append(parts.context(cut_mrkdwn(hint, 1500)))
        fallback += " " + hint
    message = Message(text=fit_text(fallback), blocks=fit_blocks(blocks), meta={"view": "error"})
    return Reply(message)
