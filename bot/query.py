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

import difflib
import re
import zoneinfo
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal, TypeVar

from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release
from bot.mrkdwn import escape
from bot.schedule import Schedule, ScheduleError, parse_days, parse_schedule, parse_timezone

_T = TypeVar("_T")
Status = Literal["open", "closed", "all"]
Format = Literal["compact", "full"]
DeletedMode = Literal["no", "yes", "only"]

MAX_CHARS = 2000
MAX_TOKENS = 50
MAX_ID = 2**31 - 1

VALID_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "group": 'a release group name, globs allowed: `group:DWH_GROUP`, `group:"DWH*"`',
        "group_id": "a release group id (a whole number): `group_id:3`",
        "name": 'a release name, globs allowed: `name:R59`, `name:"Release 2022 Q1"`',
        "id": "a release id (a whole number), same as `#21`",
        "status": "`open`, `closed` or `all`",
        "closed": "`true`/`false`, `yes`/`no` or `1`/`0`",
        "hotfix": "`yes` (only hotfixes) or `no` (no hotfixes)",
        "deleted": "`no` (hidden, the default), `yes` (shown too) or `only`",
        "page": "a page number from 1: `page:2`",
        "format": "`compact` or `full`",
        "refresh": "`yes` to skip the cache (or just `refresh`)",
        "mention": "with `subscribe` only: a user group or user, e.g. `mention:@dwh-team`",
        "tz": "with `digest` only: an IANA time zone, e.g. `tz:Europe/Berlin`",
    }
)
FILTER_KEYS = frozenset(
    {
        "group",
        "group_id",
        "name",
        "id",
        "status",
        "closed",
        "hotfix",
        "deleted",
        "page",
        "format",
        "refresh",
    }
)
_KEY_ALIASES = {"groupid": "group_id", "timezone": "tz", "hotfixes": "hotfix", "state": "status"}
_EXCLUDABLE = frozenset({"group", "group_id", "name"})
_ID_COMPATIBLE = frozenset({"format", "refresh", "id"})
_STATUS_WORDS = frozenset({"open", "closed", "all"})
_TRUE = frozenset({"true", "yes", "1", "y", "on"})
_FALSE = frozenset({"false", "no", "0", "n", "off"})
_HELP_WORDS = frozenset({"help", "?", "-h", "-help", "--help"})

# Quote families: an opener of a family is closed by any character of the same family, since
# phones and macOS turn "x" into “x” (and sometimes ”x”).
_DOUBLE_QUOTES = '"“”„‟″'
_SINGLE_QUOTES = "'‘’‚‛"
_QUOTES = _DOUBLE_QUOTES + _SINGLE_QUOTES
_ENTITIES = (("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))
_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)[:=]")
_DIGITS = re.compile(r"#?([0-9]+)")
_TIME_WORD = re.compile(r"[0-9]{1,2}[:.hH][0-9]{2}")
# Bounded, so that a stored mention always fits its column (255 characters).
_MENTION_MARKUP = re.compile(r"(?:!subteam\^[A-Z0-9]{1,30}|@[UW][A-Z0-9]{1,30})(?:\|[^<>]{0,120})?")
_PLAIN_MENTION = re.compile(r"@[\w.\-]{1,80}")


class QueryError(ValueError):
    """Input the grammar cannot read; `message` is friendly mrkdwn-safe text for the user."""

    def __init__(self, message: str, token: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.token = token


def is_glob(pattern: str) -> bool:
    """Whether a name or group pattern needs local matching (the API only matches exactly)."""
    return "*" in pattern or "?" in pattern


def glob_match(pattern: str, text: str) -> bool:
    """Case-insensitive `*`/`?` match of the whole text; linear-time, no `[...]` classes.

    Hand-written instead of fnmatch so `[` stays literal and patterns such as `*a*a*a*b`
    cannot backtrack for seconds on a long name.
    """
    p, t = pattern.casefold(), text.casefold()
    pi = ti = 0
    star, mark = -1, 0
    while ti < len(t):
        if pi < len(p) and p[pi] == "*":
            star, mark = pi, ti
            pi += 1
        elif pi < len(p) and (p[pi] == "?" or p[pi] == t[ti]):
            pi += 1
            ti += 1
        elif star >= 0:
            pi = star + 1
            mark += 1
            ti = mark
        else:
            return False
    while pi < len(p) and p[pi] == "*":
        pi += 1
    return pi == len(p)


@dataclass(frozen=True, slots=True)
class Query:
    """What to look up. Tuples hold OR-ed alternatives; different fields combine with AND.

    Names and groups are patterns as typed (globs allowed), kept in the order typed and
    de-duplicated case-insensitively by the parser.
    """

    release_id: int | None = None
    status: Status = "open"
    groups: tuple[str, ...] = ()
    group_ids: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    exclude_groups: tuple[str, ...] = ()
    exclude_group_ids: tuple[int, ...] = ()
    exclude_names: tuple[str, ...] = ()
    hotfix: bool | None = None
    deleted: DeletedMode = "no"
    page: int = 1
    format: Format = "compact"
    refresh: bool = False

    def with_page(self, page: int) -> Query:
        return replace(self, page=page)

    @property
    def is_lookup(self) -> bool:
        """One release by id: the caller fetches /releases/:id and ignores api_filters()."""
        return self.release_id is not None

    @property
    def is_default(self) -> bool:
        """No filter beyond the defaults (page, format and refresh are not filters)."""
        return replace(self, page=1, format="compact", refresh=False) == Query()

    def api_filters(self) -> tuple[ApiFilter, ...]:
        """The API calls that together return a superset of the matches.

        Exact positive group names -> one call per group; else positive group ids -> one call
        per id (ids AND the glob groups, so still a superset); else one call without a group.
        A single exact positive name is sent as `name`. Exclusions, globs, hotfix and deleted
        are local. Not used when `release_id` is set: the caller fetches that release by id.
        The API matches `group`/`name` exactly; callers should fall back to an unfiltered call
        if the API's matching turns out to be case-sensitive and a lookup finds nothing.
        """
        closed = {"open": False, "closed": True, "all": None}[self.status]
        name = None
        if len(self.names) == 1 and not is_glob(self.names[0]):
            name = self.names[0]
        if self.groups and not any(is_glob(g) for g in self.groups):
            return tuple(ApiFilter(group=g, name=name, closed=closed) for g in self.groups)
        if self.group_ids:
            return tuple(ApiFilter(group_id=i, name=name, closed=closed) for i in self.group_ids)
        return (ApiFilter(name=name, closed=closed),)

    def matches(self, release: Release, group_names: Mapping[int, str]) -> bool:
        """Every filter, applied by the bot (globs, exclusions, hotfix, deleted).

        With `release_id` only the id counts. A group pattern is matched against the group's
        name from `group_names`; a release whose group name is unknown matches no group pattern
        (and no exclusion), as the API could not have returned it for `group=`. Callers that
        learnt a name from a `group=` call should add it; `group_id:` needs no names.
        """
        if self.release_id is not None:
            return release.id == self.release_id
        if (self.status == "open" and release.closed) or (
            self.status == "closed" and not release.closed
        ):
            return False
        if (self.deleted == "no" and release.deleted) or (
            self.deleted == "only" and not release.deleted
        ):
            return False
        if self.hotfix is not None and release.is_hotfix != self.hotfix:
            return False
        label = _group_label(release, group_names)
        if self.groups and (label is None or not any(glob_match(g, label) for g in self.groups)):
            return False
        if label is not None and any(glob_match(g, label) for g in self.exclude_groups):
            return False
        if self.group_ids and release.group_id not in self.group_ids:
            return False
        if release.group_id is not None and release.group_id in self.exclude_group_ids:
            return False
        if self.names and not any(glob_match(n, release.name) for n in self.names):
            return False
        return not any(glob_match(n, release.name) for n in self.exclude_names)

    def describe(self) -> str:
        """Plain-text restatement of the filters applied, e.g. 'open · group DWH_GROUP'.

        Defaults are stated too, so nobody is surprised by them; not escaped (renderers do).
        """
        if self.release_id is not None:
            return f"release #{self.release_id}"
        parts = [{"open": "open", "closed": "closed", "all": "open and closed"}[self.status]]
        if self.groups:
            parts.append("group " + " or ".join(self.groups))
        if self.group_ids:
            parts.append("group id " + " or ".join(map(str, self.group_ids)))
        if self.exclude_groups:
            parts.append("group " + ", ".join(f"not {g}" for g in self.exclude_groups))
        if self.exclude_group_ids:
            parts.append("group id " + ", ".join(f"not {i}" for i in self.exclude_group_ids))
        if self.names:
            parts.append("name " + " or ".join(self.names))
        if self.exclude_names:
            parts.append("name " + ", ".join(f"not {n}" for n in self.exclude_names))
        if self.hotfix is not None:
            parts.append("hotfixes only" if self.hotfix else "no hotfixes")
        parts.append(
            {"no": "deleted hidden", "yes": "deleted shown", "only": "deleted only"}[self.deleted]
        )
        return " · ".join(parts)

    def to_text(self) -> str:
        """Canonical command text that parses back to an equal Query (button values, storage).

        Fixed key order, values in tuple order, defaults left out except the status; values
        are quoted when needed and `&`, `<`, `>` stay literal inside quotes. Round-trips every
        Query the parser can produce (within MAX_CHARS/MAX_TOKENS).
        """
        out: list[str] = []
        if self.release_id is not None:
            out.append(f"#{self.release_id}")
        else:
            out.append(self.status)
        out += [f"group:{quote_value(g)}" for g in self.groups]
        out += [f"group_id:{i}" for i in self.group_ids]
        out += [f"name:{quote_value(n)}" for n in self.names]
        out += [f"-group:{quote_value(g)}" for g in self.exclude_groups]
        out += [f"-group_id:{i}" for i in self.exclude_group_ids]
        out += [f"-name:{quote_value(n)}" for n in self.exclude_names]
        if self.hotfix is not None:
            out.append("hotfix:yes" if self.hotfix else "hotfix:no")
        if self.deleted != "no":
            out.append(f"deleted:{self.deleted}")
        if self.page != 1:
            out.append(f"page:{self.page}")
        if self.format != "compact":
            out.append(f"format:{self.format}")
        if self.refresh:
            out.append("refresh")
        return " ".join(out)


@dataclass(frozen=True, slots=True)
class ListCommand:
    query: Query


@dataclass(frozen=True, slots=True)
class StandupCommand:
    query: Query


@dataclass(frozen=True, slots=True)
class HelpCommand:
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class SubscribeCommand:
    query: Query
    mention: str | None = None  # `<!subteam^S1|@team>`, `<@U1>` as Slack sent it, or `@name`


@dataclass(frozen=True, slots=True)
class DigestCommand:
    schedule: Schedule
    timezone: str | None  # an IANA key checked by parse_timezone; None = the user's zone
    query: Query


@dataclass(frozen=True, slots=True)
class SubscriptionsCommand:
    pass


@dataclass(frozen=True, slots=True)
class UnsubscribeCommand:
    ids: tuple[int, ...] = ()
    all: bool = False


Command = (
    ListCommand
    | StandupCommand
    | HelpCommand
    | SubscribeCommand
    | DigestCommand
    | SubscriptionsCommand
    | UnsubscribeCommand
)


@dataclass(frozen=True, slots=True)
class MessageScan:
    """What the message shortcut found in a message; empty tuples and None when nothing."""

    release_ids: tuple[int, ...] = ()
    query: Query | None = None
    names: tuple[str, ...] = ()

    @property
    def found_anything(self) -> bool:
        return bool(self.release_ids or self.query is not None or self.names)


# --- quoting -------------------------------------------------------------------------------


def quote_value(value: str) -> str:
    """A value as `to_text` writes it: bare when it reads back as-is, else in double quotes."""
    if value and not any(ch.isspace() or ch in _QUOTES or ch in "\\<>&" for ch in value):
        return value
    out: list[str] = []
    for i, ch in enumerate(value):
        if (
            ch == "\\"
            or ch in _QUOTES
            or (ch == "&" and value.startswith(tuple(e for e, _ in _ENTITIES), i))
        ):
            out.append("\\")
        out.append(ch)
    return '"' + "".join(out) + '"'


def _echo(text: str, limit: int = 60) -> str:
    """User input echoed in an error: escaped, shortened, in backticks that it cannot break.

    Takes text as Slack sent it (`&amp;` for `&`), so it is decoded first and escaped once.
    """
    text = _unentity(text).replace("`", "'").replace("\n", " ")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{escape(text)}`"


# --- tokens --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    raw: str  # as typed, for error messages
    negated: bool
    key: str | None  # normalised key as typed (not yet checked)
    value: str  # decoded value, or the bare word
    quoted: bool  # the value started with a quote
    markup: str | None = None  # the value was exactly one `<...>`: its inside

    @property
    def plain_word(self) -> str | None:
        """The lower-cased bare word when the token is one (no key, quote, `-` or markup)."""
        if self.key is None and not self.negated and not self.quoted and self.markup is None:
            return self.value.lower()
        return None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos, end = 0, len(text)
    while pos < end:
        if text[pos].isspace():
            pos += 1
            continue
        token, pos = _read_token(text, pos)
        tokens.append(token)
        if len(tokens) > MAX_TOKENS:
            raise QueryError(
                f"That is more than {MAX_TOKENS} words. Narrow it down with a few filters, "
                "e.g. `group:DWH_GROUP open`."
            )
    return tokens


def _read_token(text: str, start: int) -> tuple[_Token, int]:
    pos, end = start, len(text)
    negated = text[pos] == "-"
    if negated:
        pos += 1
    key = None
    match = _KEY.match(text, pos)
    if match is not None:
        key = match.group(1).lower().replace("-", "_")
        key = _KEY_ALIASES.get(key, key)
        pos = match.end()
    value_start = pos
    parts: list[str] = []
    quoted = False
    if pos < end and text[pos] in _QUOTES:
        quoted = True
        family = _DOUBLE_QUOTES if text[pos] in _DOUBLE_QUOTES else _SINGLE_QUOTES
        pos += 1
        while True:
            if pos >= end:
                raise QueryError(
                    f"The quote in {_echo(text[start:])} is never closed. Put a matching "
                    'quote after the value, e.g. `name:"Release 2022 Q1"`.',
                    text[start:],
                )
            ch = text[pos]
            if ch in family:
                pos += 1
                break
            if ch == "\\" and pos + 1 < end:
                parts.append(text[pos + 1])
                pos += 2
                continue
            pos = _read_char(text, pos, parts)
    markup = None
    while pos < end and not text[pos].isspace():
        if text[pos] == "<":
            close = text.find(">", pos + 1)
            if close > pos:
                inner = text[pos + 1 : close]
                parts.append(_markup_label(inner))
                # Only a value that is exactly one `<...>` keeps its markup (for mentions).
                markup = inner if pos == value_start else None
                pos = close + 1
                if pos < end and not text[pos].isspace():
                    markup = None
                continue
        markup = None
        pos = _read_char(text, pos, parts)
    raw = text[start:pos]
    value = "".join(parts)
    return _Token(raw, negated, key, value, quoted, markup), pos


def _read_char(text: str, pos: int, parts: list[str]) -> int:
    """Append one character, decoding Slack's `&amp;`, `&lt;`, `&gt;`; return the next pos."""
    if text[pos] == "&":
        for entity, char in _ENTITIES:
            if text.startswith(entity, pos):
                parts.append(char)
                return pos + len(entity)
    parts.append(text[pos])
    return pos + 1


def _unentity(text: str) -> str:
    for entity, char in _ENTITIES[1:]:
        text = text.replace(entity, char)
    return text.replace("&amp;", "&")


def _markup_label(inner: str) -> str:
    """What a `<...>` shows: the label after `|`, else the target without `mailto:`."""
    target, bar, label = inner.partition("|")
    if bar:
        return _unentity(label)
    return _unentity(target.removeprefix("mailto:"))


def _markup_display(inner: str) -> str:
    """How Slack shows a mention or channel: `#general`, `@alice`."""
    label = _markup_label(inner)
    if inner.startswith("#") and "|" in inner:
        return "#" + label
    if inner.startswith(("@", "!subteam")) and "|" in inner:
        return "@" + label.lstrip("@")
    return f"<{inner}>"


# --- parsing -------------------------------------------------------------------------------


def parse_command(text: str) -> Command:
    """Read `/releases` text into a command, or raise QueryError with a message to show."""
    if len(text) > MAX_CHARS:
        raise QueryError(
            f"That is {len(text)} characters; I read at most {MAX_CHARS}. "
            "Narrow it down with a few filters, e.g. `group:DWH_GROUP open`."
        )
    tokens = _tokenize(text)
    if not tokens:
        return ListCommand(Query())
    first, rest = tokens[0], tokens[1:]
    word = first.plain_word
    if word in _HELP_WORDS or (first.raw.lower() in _HELP_WORDS and first.key is None):
        topic = _unentity(" ".join(t.raw for t in rest)).strip().lower()
        return HelpCommand(topic[:50] or None)
    if word == "standup":
        return StandupCommand(_parse_query(rest))
    if word == "subscribe":
        query, extras = _parse_query_with(rest, allow={"mention"})
        return SubscribeCommand(query, extras.get("mention"))
    if word == "digest":
        return _parse_digest(rest)
    if word in ("subscriptions", "subscription"):
        if rest:
            raise QueryError(
                f"`subscriptions` takes nothing after it (got {_echo(rest[0].raw)}). "
                "It lists this channel's subscriptions and digests."
            )
        return SubscriptionsCommand()
    if word in ("unsubscribe", "unsub"):
        return _parse_unsubscribe(rest)
    return ListCommand(_parse_query(tokens))


def _parse_query(tokens: Sequence[_Token]) -> Query:
    return _parse_query_with(tokens, allow=set())[0]


def _parse_query_with(
    tokens: Sequence[_Token], allow: Collection[str]
) -> tuple[Query, dict[str, str]]:
    builder = _Builder(allow=allow)
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
    return builder.build(), builder.extras


@dataclass
class _Builder:
    """Collects tokens; `build()` resolves the OR/AND rules into a Query."""

    allow: Collection[str] = ()
    default_status: Status = "open"
    release_ids: list[int] = field(default_factory=list)
    statuses: set[str] = field(default_factory=set)
    groups: list[str] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    exclude_groups: list[str] = field(default_factory=list)
    exclude_group_ids: list[int] = field(default_factory=list)
    exclude_names: list[str] = field(default_factory=list)
    hotfix: set[bool] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    page: int | None = None
    format: str | None = None
    refresh: bool = False
    used: list[str] = field(default_factory=list)  # keys given, for the id rule
    extras: dict[str, str] = field(default_factory=dict)

    def add(self, token: _Token) -> None:
        if token.key is None:
            self._add_word(token)
        else:
            self._add_pair(token)

    def _add_word(self, token: _Token) -> None:
        value = token.value.strip()
        if token.markup is not None:
            self._add_markup(token)
            return
        if not value:
            if token.negated and not token.quoted:
                raise QueryError(
                    "A lone `-` excludes nothing. Put it right before a filter, "
                    'e.g. `-name:"*-HF*"` or `-group:SANDBOX`.',
                    token.raw,
                )
            raise QueryError(
                f"{_echo(token.raw)} is empty. Put a name between the quotes.", token.raw
            )
        if token.quoted:
            self._add_name(value, token)
            return
        word = value.lower()
        if word in _STATUS_WORDS or word == "refresh":
            if token.negated:
                raise _no_minus(token, word)
            if word == "refresh":
                self.refresh = True
            else:
                self._add_status(word)
            self.used.append("status" if word != "refresh" else "refresh")
            return
        digits = _DIGITS.fullmatch(value)
        if digits is not None:
            if token.negated:
                raise QueryError(
                    f"{_echo(token.raw)}: `-` cannot exclude a release id. "
                    "Use `-name:...` to leave out releases by name.",
                    token.raw,
                )
            self.release_ids.append(_parse_int(digits.group(1), token, "release id"))
            self.used.append("id")
            return
        if value.startswith("#"):
            raise QueryError(
                f"{_echo(token.raw)} is not a release id. Ids are numbers, e.g. `#21`; "
                "for a name use `name:...`.",
                token.raw,
            )
        if (
            "mention" in self.allow
            and not token.negated
            and _PLAIN_MENTION.fullmatch(value)
            and "mention" not in self.extras
        ):
            self.extras["mention"] = value
            return
        self._add_name(value, token)

    def _add_markup(self, token: _Token) -> None:
        inner = token.markup or ""
        if _MENTION_MARKUP.fullmatch(inner) and "mention" in self.allow and not token.negated:
            self._set_extra("mention", f"<{inner}>", token)
            return
        if inner[:1] in ("@", "#", "!"):
            raise QueryError(
                f"{_echo(_markup_display(inner))} is a mention or channel, not a "
                "release. Filters are `key:value`, e.g. `group:DWH_GROUP`; "
                "`mention:` works with `subscribe`.",
                token.raw,
            )
        self._add_name(_markup_label(inner).strip(), token)

    def _add_name(self, value: str, token: _Token) -> None:
        if not value:
            raise _empty(token, "name")
        self.used.append("name")
        _add_unique(self.exclude_names if token.negated else self.names, value)

    def _add_status(self, status: str) -> None:
        self.statuses.update(("open", "closed") if status == "all" else (status,))

    def _add_pair(self, token: _Token) -> None:
        key = token.key or ""
        if key not in VALID_KEYS:
            raise _unknown_key(token, key)
        if key not in FILTER_KEYS and key not in self.allow:
            where = "`subscribe`" if key == "mention" else "`digest`"
            raise QueryError(
                f"`{key}:` only works with {where}, e.g. "
                + (
                    "`/releases subscribe group:DWH_GROUP mention:@dwh-team`."
                    if key == "mention"
                    else "`/releases digest weekdays 09:00 tz:Europe/Berlin`."
                ),
                token.raw,
            )
        if token.negated and key not in _EXCLUDABLE:
            raise _no_minus(token, key)
        if token.markup is not None and key != "mention":
            inner = token.markup
            if inner[:1] in ("@", "#", "!"):
                raise QueryError(
                    f"`{key}:` takes {VALID_KEYS[key]}, not a mention or channel.", token.raw
                )
        value = token.value.strip()
        if not value:
            raise _empty(token, key)
        self.used.append(key)
        if key == "group":
            _add_unique(self.exclude_groups if token.negated else self.groups, value)
        elif key == "name":
            _add_unique(self.exclude_names if token.negated else self.names, value)
        elif key == "group_id":
            number = _parse_int(_strip_hash(value), token, "group id")
            target = self.exclude_group_ids if token.negated else self.group_ids
            if number not in target:
                target.append(number)
        elif key == "id":
            self.release_ids.append(_parse_int(_strip_hash(value), token, "release id"))
        elif key == "status":
            word = value.lower()
            if word not in _STATUS_WORDS:
                raise _bad_value(token, key)
            self._add_status(word)
        elif key == "closed":
            self._add_status("closed" if _parse_bool(value, token, key) else "open")
        elif key == "hotfix":
            self.hotfix.add(_parse_bool(value, token, key))
        elif key == "deleted":
            word = value.lower()
            mode = "only" if word == "only" else ("yes" if _parse_bool(word, token, key) else "no")
            self.deleted.update({"no": ("live",), "only": ("gone",), "yes": ("live", "gone")}[mode])
        elif key == "refresh":
            self.refresh = self.refresh or _parse_bool(value, token, key)
        elif key == "page":
            self.page = _single(self.page, _parse_int(value, token, "page", minimum=1), key)
        elif key == "format":
            word = value.lower()
            if word not in ("compact", "full"):
                raise _bad_value(token, key)
            self.format = _single(self.format, word, key)
        elif key == "mention":
            self._set_extra(key, _mention(token), token)
        else:  # tz: checked by the digest parser
            self._set_extra(key, value, token)

    def _set_extra(self, key: str, value: str, token: _Token) -> None:
        old = self.extras.get(key)
        if old is not None and old != value:
            raise QueryError(
                f"`{key}:` is given twice ({_echo(old)} and {_echo(value)}); give it once.",
                token.raw,
            )
        self.extras[key] = value

    def build(self) -> Query:
        ids = list(dict.fromkeys(self.release_ids))
        if len(ids) > 1:
            raise QueryError(
                "I look up one release at a time: "
                + " and ".join(f"`#{i}`" for i in ids[:3])
                + f". Try `/releases {ids[0]}`, or `/releases name:...` for several."
            )
        status: Status = self.default_status
        if self.statuses:
            status = (
                "all"
                if len(self.statuses) == 2
                else ("open" if "open" in self.statuses else "closed")
            )
        deleted: DeletedMode = "no"
        if self.deleted == {"gone"}:
            deleted = "only"
        elif len(self.deleted) == 2:
            deleted = "yes"
        query = Query(
            release_id=ids[0] if ids else None,
            status=status,
            groups=tuple(self.groups),
            group_ids=tuple(self.group_ids),
            names=tuple(self.names),
            exclude_groups=tuple(self.exclude_groups),
            exclude_group_ids=tuple(self.exclude_group_ids),
            exclude_names=tuple(self.exclude_names),
            hotfix=next(iter(self.hotfix)) if len(self.hotfix) == 1 else None,
            deleted=deleted,
            page=self.page or 1,
            format="full" if self.format == "full" else "compact",
            refresh=self.refresh,
        )
        if ids:
            others = sorted({k for k in self.used if k not in _ID_COMPATIBLE})
            if others:
                raise QueryError(
                    f"`#{ids[0]}` looks up one release, so {_key_list(others)} does not apply "
                    f"to it. Use `/releases {ids[0]}` alone (`format:full` is fine), "
                    "or the filters without the id."
                )
        return query


def _mention(token: _Token) -> str:
    """The Slack form of a mention (`<!subteam^S1|@team>`, `<@U1>`) or a plain `@name`."""
    if token.markup is not None and _MENTION_MARKUP.fullmatch(token.markup):
        return f"<{token.markup}>"
    value = token.value.strip()
    if token.markup is None and not value.startswith("@"):
        value = "@" + value
    if token.markup is None and _PLAIN_MENTION.fullmatch(value):
        return value
    raise QueryError(
        f"{_echo(token.raw)}: `mention` takes a user group or a user, e.g. "
        "`mention:@dwh-team` or `mention:@alice`.",
        token.raw,
    )


def _key_list(keys: Iterable[str]) -> str:
    return ", ".join(f"`{k}`" for k in keys)


def _add_unique(target: list[str], value: str) -> None:
    folded = value.casefold()
    if all(v.casefold() != folded for v in target):
        target.append(value)


def _single(old: _T | None, new: _T, key: str) -> _T:
    """Values that cannot be OR-ed: the same one twice is fine, two different ones are not."""
    if old is not None and old != new:
        raise QueryError(f"`{key}` is given twice (`{old}` and `{new}`); give it once.")
    return new


def _strip_hash(value: str) -> str:
    return value[1:] if value.startswith("#") else value


_INT_EXAMPLES = {
    "page": "`page:2`",
    "group id": "`group_id:3`",
    "release id": "`#21`",
    "subscription id": "`unsubscribe 3`",
}


def _parse_int(text: str, token: _Token, what: str, minimum: int = 0) -> int:
    if not re.fullmatch(r"[0-9]+", text):
        article = "an" if what[0] in "aeiou" else "a"
        raise QueryError(
            f"{_echo(token.raw)}: {article} {what} is a whole number"
            + (" from 1" if minimum else "")
            + f", e.g. {_INT_EXAMPLES.get(what, '`21`')}.",
            token.raw,
        )
    digits = text.lstrip("0") or "0"
    if len(digits) > 10 or int(digits) > MAX_ID:
        raise QueryError(
            f"{_echo(token.raw)}: that {what} is too large (at most {MAX_ID}).", token.raw
        )
    number = int(digits)
    if number < minimum:
        raise QueryError(
            f"{_echo(token.raw)}: {what} starts at {minimum}, e.g. `{what}:{minimum}`.",
            token.raw,
        )
    return number


def _parse_bool(value: str, token: _Token, key: str) -> bool:
    word = value.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _bad_value(token, key)


def _bad_value(token: _Token, key: str) -> QueryError:
    return QueryError(f"{_echo(token.raw)}: `{key}` takes {VALID_KEYS[key]}.", token.raw)


def _empty(token: _Token, key: str) -> QueryError:
    return QueryError(
        f"{_echo(token.raw)} has no value. `{key}` takes {VALID_KEYS.get(key, 'a value')}.",
        token.raw,
    )


def _no_minus(token: _Token, key: str) -> QueryError:
    return QueryError(
        f"{_echo(token.raw)}: `-` only excludes `group`, `group_id` and `name`, "
        f"not `{key}`. For the status use `open`, `closed` or `all`.",
        token.raw,
    )


def _unknown_key(token: _Token, key: str) -> QueryError:
    close = difflib.get_close_matches(key, list(VALID_KEYS), n=1, cutoff=0.6)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return QueryError(
        f"I don't know the filter {_echo(key + ':')}.{hint} Valid keys: "
        f'{_key_list(VALID_KEYS)}. Quote names with a colon: `name:"R9:x"`.',
        token.raw,
    )


def _parse_digest(tokens: Sequence[_Token]) -> DigestCommand:
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
                f"{_echo(first)} is not a day list. A digest starts with `daily`, `weekdays` "
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
    query, extras = _parse_query_with(tokens[i:], allow={"tz"})
    zone = extras.get("tz")
    return DigestCommand(schedule, _check_zone(zone) if zone is not None else None, query)


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


def _parse_unsubscribe(tokens: Sequence[_Token]) -> UnsubscribeCommand:
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
            if not _DIGITS.fullmatch(part):
                raise QueryError(f"{_echo(part)} is not a subscription id. {usage}", token.raw)
            number = _parse_int(_strip_hash(part), token, "subscription id")
            if number not in ids:
                ids.append(number)
    if not ids:
        raise QueryError(f"Which subscription? {usage}")
    return UnsubscribeCommand(ids=tuple(ids))


def _group_label(release: Release, group_names: Mapping[int, str]) -> str | None:
    if release.group_id is None:
        return None
    return group_names.get(release.group_id)


# --- message shortcut ----------------------------------------------------------------------

_SCAN_KEYS = frozenset({"group", "group_id", "name", "status", "closed", "hotfix", "deleted"})
_SCAN_LIMIT = 40_000  # Slack's longest message text
_MARKUP = re.compile(r"<[^<>\n]*>")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://\S+|\bwww\.\S+")
_CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)
_SCAN_HASH_ID = re.compile(r"(?<![\w&#/])#([0-9]{1,10})(?![\w#]|[.:/-]\w)")
_SCAN_RELEASE_IDS = re.compile(
    r"\breleases?\s+(?:ids?\s+)?(#?[0-9]{1,10}(?:\s*(?:,|&|\+|/|and|or|und)\s*#?[0-9]{1,10})*)"
    r"(?![\w#]|[.:/-]\w)",
    re.IGNORECASE,
)
_SCAN_NUMBER = re.compile(r"[0-9]+")
_SCAN_PAIR = re.compile(
    r"(?:(?<=[\s(\[,;])|^)(-?)([A-Za-z][A-Za-z_-]*)[:=]"
    r"(?:[\"“”]([^\"“”\n]*)[\"“”]|[‘’']([^‘’'\n]*)[‘’']|([^\s\"“”‘’'`,;()\[\]]+))"
)


def scan_message(text: str, known_names: Collection[str]) -> MessageScan:
    """Leniently find release ids, filter tokens and known release names in a Slack message.

    Ignores `<...>` markup (links, mentions, channels), URLs and ``` code blocks; unknown keys
    and bad values are skipped, never raised. A query found this way defaults to all statuses
    (a message usually names releases whatever their state); deleted stays hidden.
    """
    cleaned = _CODE_BLOCK.sub(" ", text[:_SCAN_LIMIT])
    cleaned = _MARKUP.sub(" ", cleaned)
    cleaned = _URL.sub(" ", cleaned)
    cleaned = _unentity(cleaned)
    query, taken = _scan_query(cleaned)
    names, name_spans = _scan_names(cleaned, known_names)
    # `release 2022` inside "Release 2022 Q1" or `name:"R 21"` is not an id.
    ids = _scan_ids(cleaned, taken + name_spans)
    return MessageScan(release_ids=ids, query=query, names=names)


def _scan_ids(text: str, taken: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    found: list[tuple[int, int]] = []
    for match in _SCAN_HASH_ID.finditer(text):
        found.append((match.start(1), int(match.group(1))))
    for match in _SCAN_RELEASE_IDS.finditer(text):
        for number in _SCAN_NUMBER.finditer(match.group(1)):
            found.append((match.start(1) + number.start(), int(number.group())))
    found = [(at, n) for at, n in found if not any(a <= at < b for a, b in taken)]
    ordered = (n for _, n in sorted(found))
    return tuple(dict.fromkeys(n for n in ordered if n <= MAX_ID))


def _scan_query(text: str) -> tuple[Query | None, list[tuple[int, int]]]:
    builder = _Builder(default_status="all")
    spans: list[tuple[int, int]] = []
    seen = False
    for match in _SCAN_PAIR.finditer(text):
        key = match.group(2).lower().replace("-", "_")
        key = _KEY_ALIASES.get(key, key)
        if key not in _SCAN_KEYS:
            continue
        quoted = match.group(3) is not None or match.group(4) is not None
        value = next(g for g in match.groups()[2:] if g is not None)
        if not quoted:
            value = value.rstrip(".!?:")
        token = _Token(match.group(0), bool(match.group(1)), key, value, quoted)
        spans.append(match.span())
        try:
            builder.add(token)
        except QueryError:
            continue
        seen = True
    if not seen:
        return None, spans
    try:
        return builder.build(), spans
    except QueryError:  # only ids are refused there, and a scan adds none
        return None, spans


def _scan_names(
    text: str, known_names: Collection[str]
) -> tuple[tuple[str, ...], list[tuple[int, int]]]:
    by_fold: dict[str, str] = {}
    for name in known_names:
        if isinstance(name, str) and name.strip():
            by_fold.setdefault(name.strip().casefold(), name.strip())
    if not by_fold:
        return (), []
    # Longest first so `R9.HF1` wins over `R9`; the lookarounds make `R9` not match inside
    # `R9.HF1` or `XR9`, while `R9.` at the end of a sentence still counts.
    alternatives = sorted(by_fold.values(), key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w.\-])(?:" + "|".join(map(re.escape, alternatives)) + r")(?![\w\-]|\.\w)",
        re.IGNORECASE,
    )
    found: dict[str, None] = {}
    spans: list[tuple[int, int]] = []
    for match in pattern.finditer(text):
        canonical = by_fold.get(match.group(0).casefold())
        if canonical is not None:
            found.setdefault(canonical, None)
            spans.append(match.span())
    return tuple(found), spans
