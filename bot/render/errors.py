"""Error answers: ephemeral, specific, and saying what to do next; never a stack trace.

`message` and `hint` are the bot's own mrkdwn (e.g. `QueryError.message`, which already
escapes what the user typed); callers escape any foreign text they put in with `escape()`.
As a net under that, raw `<` and `>` are turned into entities here, so even an unescaped
API error text can never become a mention. Existing entities (`&lt;`) are left alone.
"""

from __future__ import annotations

import re

from bot.i18n import ENGLISH, Texts
from bot.mrkdwn import escape_truncated
from bot.render import parts
from bot.render.block_limits import MAX_SECTION_TEXT, cut_mrkdwn, fit_blocks, fit_text
from bot.render.message import Message

_REF = re.compile(r"[^A-Za-z0-9_-]")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def defang(text: str) -> str:
    """Neutralise any `<...>` markup (mentions, links) in otherwise safe mrkdwn."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def render_error(message: str, hint: str | None = None, t: Texts = ENGLISH) -> Message:
    """`:warning: message` with an optional hint on what to try instead.

    `message` and `hint` are already in the reader's language; `t` words the stand-in."""
    text = cut_mrkdwn(defang(message.strip()) or t._("That did not work."), MAX_SECTION_TEXT - 20)
    blocks = [parts.section(f"{parts.EMOJI_WARNING} {text}")]
    fallback = text
    if hint and hint.strip():
        safe_hint = cut_mrkdwn(defang(hint.strip()), 1500)
        blocks.append(parts.context(safe_hint))
        fallback += " " + safe_hint
    return Message(text=fit_text(fallback), blocks=fit_blocks(blocks), meta={"view": "error"})


def render_not_available(feature: str, t: Texts = ENGLISH) -> Message:
    """For a command whose part of the app is not switched on or not built yet; `feature` is
    a message id (N_), translated here."""
    name = escape_truncated(t._(feature.strip()) if feature.strip() else t._("This"), 80)
    return render_error(
        t._("`{feature}` is not available yet.", feature=name),
        t._("See `/releases help` for what works today."),
        t,
    )


def render_unexpected_error(ref: str, t: Texts = ENGLISH) -> Message:
    """For a bug: a short reference the logs can be searched for, nothing else leaks."""
    safe_ref = _REF.sub("", ref)[:32] or "unknown"
    return render_error(
        t._("Something went wrong on our side (ref `{ref}`). Please try again.", ref=safe_ref),
        t._("If it keeps happening, tell whoever runs this app the ref `{ref}`.", ref=safe_ref),
        t,
    )


ACTION_OPEN_HOME = "open_app_home"  # a link button; its click is only acknowledged
BLOCK_NOT_CONNECTED = "not_connected"


def render_not_connected(
    installer: str | None, home_url: str | None, t: Texts = ENGLISH
) -> Message:
    """No MetaKraftwerk connection in this workspace: who can connect it, and where."""
    said = t._("MetaKraftwerk isn't connected for this workspace yet.")
    if installer and _USER_ID.fullmatch(installer):
        who = t._(
            "<@{installer}> (who installed the app) or a workspace owner or admin can connect "
            "it in the app's Home tab.", installer=installer,
        )
    else:
        who = t._("A workspace owner or admin can connect it in the app's Home tab.")
    blocks = [parts.section(f"{parts.EMOJI_WARNING} {said}"), parts.context(who)]
    if home_url and home_url.startswith(("slack://app?", "https://slack.com/app_redirect?")):
        link = parts.button(t._("Open App Home"), ACTION_OPEN_HOME, "home")
        link["url"] = home_url
        blocks.append(parts.actions(BLOCK_NOT_CONNECTED, [link]))
    return Message(text=f"{said} {who}", blocks=tuple(blocks),
                   meta={"view": "error", "not_connected": True})
