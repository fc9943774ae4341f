"""The answer to release names that match nothing: which names, and the closest real ones."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import ENGLISH, Texts
from bot.mrkdwn import escape_truncated
from bot.render import parts
from bot.render.block_limits import fit_blocks, fit_text
from bot.render.message import Message

MAX_ECHOED = 5


def _code(name: str) -> str:
    return "`" + escape_truncated(name.replace("`", "'"), 60) + "`"


def _either(items: list[str], t: Texts) -> str:
    if len(items) == 1:
        return items[0]
    return t._("{some} or {last}", some=", ".join(items[:-1]), last=items[-1])


def render_no_release_named(
    names: Sequence[str],
    suggestions: Sequence[str],
    command: str | None = None,
    t: Texts = ENGLISH,
) -> Message:
    """`No release named `R599`.` plus `Did you mean `R59`?` when a name is close.

    `command` is the command the words were more likely meant as (`/releases open` for `opne`).
    """
    echoed = [_code(n) for n in names[:MAX_ECHOED]]
    if len(names) > MAX_ECHOED:
        echoed.append(t._("{count} more", count=len(names) - MAX_ECHOED))
    text = f"{parts.EMOJI_WARNING} " + t._(
        "No release named {names}, open or closed.", names=_either(echoed, t)
    )
    if command:
        text += "\n" + t._("Did you mean {command}?", command=_code(command))
    if suggestions:
        names_line = _either([_code(s) for s in suggestions], t)
        text += "\n" + (
            t._("Or the release {names}?", names=names_line) if command
            else t._("Did you mean {command}?", command=names_line)
        )
    hint = t._(
        "Bare words are release names; `*` and `?` match any characters (`R5*`). "
        "For other filters see `/releases help filters`."
    )
    blocks = [parts.section(text), parts.context(hint)]
    return Message(text=fit_text(text), blocks=fit_blocks(blocks), meta={"view": "no_match"})
