"""The answer to release names that match nothing: which names, and the closest real ones."""

from __future__ import annotations

from collections.abc import Sequence

from bot.mrkdwn import escape_truncated
from bot.render import parts
from bot.render.block_limits import fit_blocks, fit_text
from bot.render.message import Message

MAX_ECHOED = 5


def _code(name: str) -> str:
    return "`" + escape_truncated(name.replace("`", "'"), 60) + "`"


def _either(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def render_no_release_named(
    names: Sequence[str], suggestions: Sequence[str], command: str | None = None
) -> Message:
    """`No release named `R599`.` plus `Did you mean `R59`?` when a name is close.

    `command` is the command the words were more likely meant as (`/releases open` for `opne`).
    """
    echoed = [_code(n) for n in names[:MAX_ECHOED]]
    if len(names) > MAX_ECHOED:
        echoed.append(f"{len(names) - MAX_ECHOED} more")
    text = f"{parts.EMOJI_WARNING} No release named {_either(echoed)}, open or closed."
    if command:
        text += f"\nDid you mean {_code(command)}?"
    if suggestions:
        names_line = _either([_code(s) for s in suggestions])
        text += f"\nOr the release {names_line}?" if command else f"\nDid you mean {names_line}?"
    hint = (
        "Bare words are release names; `*` and `?` match any characters (`R5*`). "
        "For other filters see `/releases help filters`."
    )
    blocks = [parts.section(text), parts.context(hint)]
    return Message(text=fit_text(text), blocks=fit_blocks(blocks), meta={"view": "no_match"})
