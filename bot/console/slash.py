"""Which slash command a console line names: `/releases`, a typo of it, or another app's.

In Slack a mistyped `/releasse` never reaches the app; in the console and `ask` it would be
read as a release name, so it is caught here with the command it most likely meant.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.mrkdwn import escape_truncated
from bot.render.errors import render_error
from bot.render.message import Message

COMMAND = "/releases"
_CLOSE_ENOUGH = 0.75  # `/release`, `/releasse`, `/relases`; not `/deploy`


@dataclass(frozen=True, slots=True)
class SlashLine:
    """The text after `/releases` (the command may be left out), or why the line is refused."""

    text: str = ""
    refused: Message | None = None


def read_slash(line: str) -> SlashLine:
    """`/releases open` -> "open"; `open` -> "open"; `/releasse open` -> a "did you mean"."""
    stripped = line.strip()
    if not stripped.startswith("/"):
        return SlashLine(stripped)
    word, _, rest = stripped.partition(" ")
    rest = rest.strip()
    folded = word.lower()
    if folded == COMMAND:
        return SlashLine(rest)
    if folded.startswith(COMMAND):  # `/releasesopen`
        rest = f"{word[len(COMMAND):]} {rest}".strip()
    elif difflib.SequenceMatcher(None, folded, COMMAND).ratio() < _CLOSE_ENOUGH:
        name = escape_truncated(word.replace("`", "'"), 40)
        return SlashLine(
            refused=render_error(
                f"Only {COMMAND} is known here; `{name}` is not a command of this app.",
                f"Type `{COMMAND} help` for examples.",
            )
        )
    meant = escape_truncated(f"{COMMAND} {rest}".strip().replace("`", "'"), 200)
    return SlashLine(refused=render_error(f"Did you mean `{meant}`?"))
