"""The one error the grammar raises, and how it echoes what the user typed."""

from __future__ import annotations

from bot.mrkdwn import escape
from bot.query.quoting import unentity


class QueryError(ValueError):
    """Input the grammar cannot read; `message` is friendly mrkdwn-safe text for the user."""

    def __init__(self, message: str, token: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.token = token


def echo(text: str, limit: int = 60) -> str:
    """User input echoed in an error: escaped, shortened, in backticks that it cannot break.

    Takes text as Slack sent it (`&amp;` for `&`), so it is decoded first and escaped once.
    """
    text = unentity(text).replace("`", "'").replace("\n", " ")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{escape(text)}`"
