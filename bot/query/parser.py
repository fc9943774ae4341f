"""The `/releases` grammar: text -> Query (or another command), with errors a user can act on.

Slack sends the text after the command with `&`, `<`, `>` escaped as entities and with
mentions, channels and links as `<...>` markup; the parser reads that form, and `to_text()`
writes it, so stored queries and button values parse back to the same Query.

Grammar (see design.md, section 1):

* tokens are separated by whitespace; `key:value` or `key=value`, keys case-insensitive;
* a value (or a bare word) may be quoted with `"..."`, `'...'`, `“...”` or `‘...’`; a quote
  only opens at the start of a value, so `O'Brien` needs none; inside quotes a backslash
  takes the next character literally (`\\"`, `\\\\`);
* different keys combine with AND, a repeated key with OR; the status keywords and the
  `status`/`closed` keys all add to one set of statuses, so `open closed` means `all`;
  `hotfix:yes hotfix:no` means either; `deleted:no deleted:only` means `deleted:yes`;
  `page` and `format` take one value (two different ones are an error);
* a leading `-` excludes a `group`, `group_id` or `name` (bare words are names);
* `*` and `?` are globs on names and groups, matched case-insensitively; `[` is literal;
* `21`, `#21`, `id:21` and `release 21` look up one release; with an id, only `format`
  and `refresh` may be added (a status default must not hide the release asked for).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Collection, Mapping, Sequence
from types import MappingProxyType

from bot.mrkdwn import escape
from bot.query.builder import Builder
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
from bot.query.errors import QueryError, echo
from bot.query.events import parse_events
from bot.query.lexer import Token, tokenize
from bot.query.model import Query
from bot.query.quoting import unentity
from bot.query.values import DIGITS, LANGUAGE_WORDS, parse_int, strip_hash
from bot.schedule import ScheduleError, parse_days, parse_schedule, parse_timezone

MAX_CHARS = 2000
_HELP_WORDS = frozenset({"help", "hilfe", "?", "-h", "-help", "--help"})
# Words that read like verbs before a query (`show 21`, `find R59`): they only introduce it.
_VERBS = frozenset({"show", "find", "search", "list"})
_TIME_WORD = re.compile(r"[0-9]{1,2}[:.hH][0-9]{2}")


def parse_command(text: str) -> Command:
    """Read `/releases` text into a command, or raise QueryError with a message to show."""
    if len(text) > MAX_CHARS:
        raise QueryError(
            f"That is {len(text)} characters; I read at most {MAX_CHARS}. "
            "Narrow it down with a few filters, e.g. `group:DWH_GROUP open`."
        )
    tokens = tokenize(text)
    if not tokens:
        return ListCommand(Query())
    first, rest = tokens[0], tokens[1:]
    word = first.plain_word
    if word in _VERBS:
        return _parse_list(rest)
    if word in _HELP_WORDS or (first.raw.lower() in _HELP_WORDS and first.key is None):
        topic = unentity(" ".join(t.raw for t in rest)).strip().lower()
        return HelpCommand(topic[:50] or None)
    read = _COMMANDS.get(word or "")
    return read(rest) if read is not None else _parse_list(tokens)


def _parse_list(tokens: Sequence[Token]) -> ListCommand:
    """A lookup; one of release names only searches every status (`/releases R9`)."""
    builder = _builder(tokens, allow=set())
    if builder.names_only:
        builder.default_status = "all"
    return ListCommand(builder.build(), by_name=builder.names_only)


def _parse_query(tokens: Sequence[Token]) -> Query:
    return _parse_query_with(tokens, allow=set())[0]


def _parse_query_with(
    tokens: Sequence[Token], allow: Collection[str]
) -> tuple[Query, dict[str, str]]:
    builder = _builder(tokens, allow)
    return builder.build(), builder.extras


def _builder(tokens: Sequence[Token], allow: Collection[str]) -> Builder:
    builder = Builder(allow=allow)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            token.plain_word in ("release", "releases")
            and nxt is not None
            and nxt.key is None
            and not nxt.negated
        ):
            i += 1  # `release 21`, `release R59`: the word only introduces what follows
            continue
        builder.add(token)
        i += 1
    return builder


def _parse_digest(tokens: Sequence[Token]) -> DigestCommand:
    example = "e.g. `/releases digest weekdays 09:00 tz:Europe/Berlin group:DWH_GROUP`"
    day_words: list[str] = []
    at: str | None = None
    i = 0
    # Days and time come first, in either order: `weekdays 09:00`, `mon, thu at 9:30`.
    while i < len(tokens):
        word = tokens[i].plain_word
        if word is None:
            break
        if at is None and _TIME_WORD.fullmatch(word):
            at = word
        elif word == "at" and at is None:
            pass
        elif (at is None or not day_words) and (
            _is_days(word) or (day_words and at is None and set(word) == {","})
        ):
            day_words.append(word)
        else:
            break
        i += 1
    if not day_words:
        first = tokens[0].raw if tokens else ""
        if first and not _TIME_WORD.fullmatch(first):
            raise QueryError(
                f"{echo(first)} is not a day list. A digest starts with `daily`, `weekdays` "
                f"or days such as `mon,thu`, then a time, {example}.",
                first,
            )
        raise QueryError(f"A digest needs days and a time, {example}.")
    if at is None:
        raise QueryError(f"A digest needs a time after the days (24-hour `HH:MM`), {example}.")
    try:
        days = ",".join(p for w in day_words for p in w.split(",") if p)
        schedule = parse_schedule(days, at)
    except ScheduleError as exc:
        raise QueryError(escape(str(exc))) from None
    query, extras = _parse_query_with(tokens[i:], allow={"tz", "lang"})
    zone = extras.get("tz")
    return DigestCommand(
        schedule, _check_zone(zone) if zone is not None else None, query, extras.get("lang")
    )


def _is_days(word: str) -> bool:
    if not word.strip(","):
        return False
    try:
        parse_days(word.strip(","))
    except ScheduleError:
        return False
    return True


def _check_zone(name: str) -> str:
    try:
        return parse_timezone(name).key
    except ScheduleError as exc:
        folded = name.strip().casefold()
        for key in sorted(zoneinfo.available_timezones()):
            if key.casefold() == folded:
                return key
        raise QueryError(escape(str(exc))) from None


def _parse_unsubscribe(tokens: Sequence[Token]) -> UnsubscribeCommand:
    usage = "Use `/releases unsubscribe 3`, `/releases unsubscribe 3,4` or `… unsubscribe all`."
    if not tokens:
        raise QueryError(f"Which subscription? {usage} `/releases subscriptions` lists the ids.")
    words = [t.value if t.key is None and not t.negated else t.raw for t in tokens]
    if len(words) == 1 and words[0].lower() == "all":
        return UnsubscribeCommand(all=True)
    ids: list[int] = []
    for token, word in zip(tokens, words, strict=True):
        for part in word.split(","):
            if not part:
                continue
            if part.lower() == "all":
                raise QueryError(f"`all` removes every subscription; give it alone. {usage}")
            if not DIGITS.fullmatch(part):
                raise QueryError(f"{echo(part)} is not a subscription id. {usage}", token.raw)
            number = parse_int(strip_hash(part), token, "subscription id")
            if number not in ids:
                ids.append(number)
    if not ids:
        raise QueryError(f"Which subscription? {usage}")
    return UnsubscribeCommand(ids=tuple(ids))


def _one_release_id(word: str, tokens: Sequence[Token]) -> int:
    """`follow 21`, `follow #21`, `follow release 21`, `follow id:21`: one release id."""
    usage = f"Use `/releases {word} 21` with the release's id (`/releases R59` shows it)."
    if tokens and tokens[0].plain_word == "release":
        tokens = tokens[1:]
    if len(tokens) != 1:
        raise QueryError(("One release at a time. " if tokens else "Which release? ") + usage)
    token = tokens[0]
    value = token.value.strip() if token.key in (None, "id") and not token.negated else ""
    if not DIGITS.fullmatch(value):
        raise QueryError(f"{echo(token.raw)} is not a release id. {usage}", token.raw)
    return parse_int(strip_hash(value), token, "release id", minimum=1)


def _parse_subscribe(tokens: Sequence[Token]) -> SubscribeCommand:
    query, extras = _parse_query_with(tokens, allow={"mention", "events", "lang"})
    events = parse_events(extras["events"]) if extras.get("events") else ()
    return SubscribeCommand(query, extras.get("mention"), events, extras.get("lang"))


def _alone(word: str, says: str, command: Callable[[], Command]) -> CommandReader:
    """A command word that takes nothing after it."""

    def read(tokens: Sequence[Token]) -> Command:
        if tokens:
            raise QueryError(f"`{word}` takes nothing after it (got {echo(tokens[0].raw)}). {says}")
        return command()

    return read


def _parse_language(tokens: Sequence[Token]) -> LanguageCommand:
    """`language de`, `language en`, `language auto`; alone, it says which is in use."""
    usage = "Use `/releases language de`, `/releases language en` or `/releases language auto`."
    if not tokens:
        return LanguageCommand()
    word = tokens[0].plain_word or ""
    if len(tokens) > 1 or word not in LANGUAGE_WORDS:
        raise QueryError(f"{echo(tokens[0].raw)} is not a language I speak. {usage}",
                         tokens[0].raw)
    return LanguageCommand(LANGUAGE_WORDS[word])


CommandReader = Callable[[Sequence[Token]], Command]
_SUBSCRIPTIONS = _alone(
    "subscriptions", "It lists this channel's subscriptions and digests.", SubscriptionsCommand
)
_UNSUBSCRIBE: CommandReader = _parse_unsubscribe
# The first word of a command other than a lookup, and what reads the rest.
_COMMANDS: Mapping[str, CommandReader] = MappingProxyType(
    {
        "standup": lambda rest: StandupCommand(_parse_query(rest)),
        "subscribe": _parse_subscribe,
        "digest": _parse_digest,
        "subscriptions": _SUBSCRIPTIONS,
        "subscription": _SUBSCRIPTIONS,
        "groups": _alone(
            "groups",
            "It lists the release groups; `/releases group:DWH_GROUP` lists one group's releases.",
            GroupsCommand,
        ),
        "unsubscribe": _UNSUBSCRIBE,
        "unsub": _UNSUBSCRIBE,
        "follow": lambda rest: FollowCommand(_one_release_id("follow", rest)),
        "unfollow": lambda rest: UnfollowCommand(_one_release_id("unfollow", rest)),
        "following": _alone("following", "It lists the releases you follow.", FollowingCommand),
        "language": _parse_language,
        # German words for the commands; the canonical ones above stay what answers echo.
        "sprache": _parse_language,
        "gruppen": lambda rest: _COMMANDS["groups"](rest),
        "abonnieren": _parse_subscribe,
        "abbestellen": _UNSUBSCRIBE,
        "folgen": lambda rest: FollowCommand(_one_release_id("follow", rest)),
        "entfolgen": lambda rest: UnfollowCommand(_one_release_id("unfollow", rest)),
        "allow-shared-channel": _alone(
            "allow-shared-channel",
            "It lets this channel, shared with other organisations, get subscriptions.",
            AllowSharedChannelCommand,
        ),
        "disallow-shared-channel": _alone(
            "disallow-shared-channel",
            "It takes `allow-shared-channel` back.",
            lambda: AllowSharedChannelCommand(allow=False),
        ),
    }
)
