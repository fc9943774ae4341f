"""The `/releases` grammar: text -> Query (or another command), and the message scan.

What other packages may use is listed in `__all__`; the modules behind it are the model
(`model`), glob matching (`glob`), Slack's text form (`quoting`), the lexer (`lexer`), the rules
that turn tokens into a Query (`builder`) with one value reader per key (`pairs`) and the
value checks they share (`values`), the command parser (`parser`), the command types
(`commands`) and the message shortcut's scan (`scan`).
"""

from bot.query.builder import MAX_PATTERNS
from bot.query.closest import closest, closest_command, did_you_mean
from bot.query.command_types import (
    AllowSharedChannelCommand,
    Command,
    DigestCommand,
    FollowCommand,
    FollowingCommand,
    GroupsCommand,
    HelpCommand,
    LanguageCommand,
    ListCommand,
    StandupCommand,
    SubscribeCommand,
    SubscriptionsCommand,
    UnfollowCommand,
    UnsubscribeCommand,
)
from bot.query.errors import QueryError
from bot.query.events import EVENT_KINDS, events_text, parse_events
from bot.query.glob import glob_match, is_glob
from bot.query.mention import MENTION_MARKUP, USER_ID
from bot.query.model import DeletedMode, Format, Query, Status
from bot.query.parser import MAX_CHARS, parse_command
from bot.query.quoting import quote_value
from bot.query.scan import MessageScan, scan_message
from bot.query.values import LANGUAGE_WORDS, MAX_ID, STATUS_ALIASES, VALID_KEYS

__all__ = [
    "EVENT_KINDS",
    "LANGUAGE_WORDS",
    "MAX_CHARS",
    "MAX_ID",
    "MAX_PATTERNS",
    "MENTION_MARKUP",
    "STATUS_ALIASES",
    "USER_ID",
    "VALID_KEYS",
    "AllowSharedChannelCommand",
    "Command",
    "DeletedMode",
    "DigestCommand",
    "FollowCommand",
    "FollowingCommand",
    "Format",
    "GroupsCommand",
    "HelpCommand",
    "LanguageCommand",
    "ListCommand",
    "MessageScan",
    "Query",
    "QueryError",
    "StandupCommand",
    "Status",
    "SubscribeCommand",
    "SubscriptionsCommand",
    "UnfollowCommand",
    "UnsubscribeCommand",
    "closest",
    "closest_command",
    "did_you_mean",
    "events_text",
    "glob_match",
    "is_glob",
    "parse_command",
    "parse_events",
    "quote_value",
    "scan_message",
]
