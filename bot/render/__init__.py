"""Pure functions from releases to Slack messages (Block Kit) and to console text.

Every renderer returns a `Message` whose blocks passed `fit_blocks`, so it is within Block
Kit's limits whatever the data, whose foreign text is escaped, and whose `text` is a plain
fallback for notifications and screen readers. Time-relative output takes an injected `now`.
"""

from bot.render.detail import render_detail
from bot.render.errors import render_error, render_not_available, render_unexpected_error
from bot.render.fit import fit_blocks
from bot.render.help import render_help
from bot.render.listing import render_list
from bot.render.message import Message
from bot.render.shortcut import ShortcutFindings, render_shortcut_result
from bot.render.standup import StandupGroups, render_standup, standup_groups
from bot.render.text import ConsoleButton, ConsoleText, render_text

__all__ = [
    "ConsoleButton",
    "ConsoleText",
    "Message",
    "ShortcutFindings",
    "StandupGroups",
    "fit_blocks",
    "render_detail",
    "render_error",
    "render_help",
    "render_list",
    "render_not_available",
    "render_shortcut_result",
    "render_standup",
    "render_text",
    "render_unexpected_error",
    "standup_groups",
]
