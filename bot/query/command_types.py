"""What `/releases` text can ask for: the command types the parser returns."""

from __future__ import annotations

from dataclasses import dataclass

from bot.query.model import Query
from bot.schedule import Schedule


@dataclass(frozen=True, slots=True)
class ListCommand:
    query: Query
    # Only release names were typed (`/releases R9`): every status is searched, and one match
    # answers with the release card.
    by_name: bool = False


@dataclass(frozen=True, slots=True)
class StandupCommand:
    query: Query


@dataclass(frozen=True, slots=True)
class GroupsCommand:
    """`/releases groups`: the release groups, with their ids and counts."""


@dataclass(frozen=True, slots=True)
class HelpCommand:
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class SubscribeCommand:
    query: Query
    mention: str | None = None  # `<!subteam^S1|@team>`, `<@U1>` as Slack sent it, or `@name`
    events: tuple[str, ...] = ()  # kinds of change (`bot.query.events`); empty: every kind
    language: str | None = None  # `lang:de`: the language its posts use; None: the default


@dataclass(frozen=True, slots=True)
class DigestCommand:
    schedule: Schedule
    timezone: str | None  # an IANA key checked by parse_timezone; None = the user's zone
    query: Query
    language: str | None = None  # `lang:de`: the language it is written in; None: the default


@dataclass(frozen=True, slots=True)
class SubscriptionsCommand:
    pass


@dataclass(frozen=True, slots=True)
class UnsubscribeCommand:
    ids: tuple[int, ...] = ()
    all: bool = False


@dataclass(frozen=True, slots=True)
class FollowCommand:
    release_id: int


@dataclass(frozen=True, slots=True)
class UnfollowCommand:
    release_id: int


@dataclass(frozen=True, slots=True)
class FollowingCommand:
    pass


@dataclass(frozen=True, slots=True)
class LanguageCommand:
    """`/releases language de|en|auto`: the language the bot answers one person in.

    `choice` is a language code, `auto` (follow the Slack language again), or None to show
    the language in use."""

    choice: str | None = None


@dataclass(frozen=True, slots=True)
class AllowSharedChannelCommand:
    """`allow-shared-channel`: subscriptions, digests and Share in a channel shared with
    other organisations; `disallow-shared-channel` (allow=False) takes it back."""

    allow: bool = True


Command = (
    ListCommand
    | StandupCommand
    | HelpCommand
    | GroupsCommand
    | SubscribeCommand
    | DigestCommand
    | SubscriptionsCommand
    | UnsubscribeCommand
    | FollowCommand
    | UnfollowCommand
    | FollowingCommand
    | LanguageCommand
    | AllowSharedChannelCommand
)
