"""What each `key:value` pair adds to a query being built: one small function per key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

from bot.i18n import N_
from bot.query.errors import QueryError, echo
from bot.query.events import events_text, parse_events
from bot.query.lexer import Token
from bot.query.mention import MENTION_MARKUP, PLAIN_MENTION
from bot.query.values import (
    LANGUAGE_WORDS,
    STATUS_WORDS,
    bad_value,
    canonical_status,
    empty_value,
    parse_bool,
    parse_int,
    strip_hash,
)

if TYPE_CHECKING:
    from bot.query.builder import Builder

_T = TypeVar("_T")
PairHandler = Callable[["Builder", Token, str], None]


def _group(builder: Builder, token: Token, value: str) -> None:
    target = builder.exclude_groups if token.negated else builder.groups
    builder.add_pattern(target, value, token)


def _name(builder: Builder, token: Token, value: str) -> None:
    """`name:R59,R60` is two names, as in the search form; quoted, a comma is the name's own."""
    target = builder.exclude_names if token.negated else builder.names
    parts = [value] if token.quoted else [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        raise empty_value(token, "name")
    for part in parts:
        builder.add_pattern(target, part, token)


def _group_id(builder: Builder, token: Token, value: str) -> None:
    number = parse_int(strip_hash(value), token, "group id")
    target = builder.exclude_group_ids if token.negated else builder.group_ids
    if number not in target:
        target.append(number)


def _release_id(builder: Builder, token: Token, value: str) -> None:
    builder.release_ids.append(parse_int(strip_hash(value), token, "release id"))


def _status(builder: Builder, token: Token, value: str) -> None:
    word = value.lower()
    if word not in STATUS_WORDS:
        raise bad_value(token, "status")
    builder.add_status(canonical_status(word))


def _closed(builder: Builder, token: Token, value: str) -> None:
    builder.add_status("closed" if parse_bool(value, token, "closed") else "open")


def _hotfix(builder: Builder, token: Token, value: str) -> None:
    builder.hotfix.add(parse_bool(value, token, "hotfix"))


def _deleted(builder: Builder, token: Token, value: str) -> None:
    word = value.lower()
    mode = "only" if word == "only" else ("yes" if parse_bool(word, token, "deleted") else "no")
    builder.deleted.update({"no": ("live",), "only": ("gone",), "yes": ("live", "gone")}[mode])


def _refresh(builder: Builder, token: Token, value: str) -> None:
    builder.refresh = builder.refresh or parse_bool(value, token, "refresh")


def _page(builder: Builder, token: Token, value: str) -> None:
    builder.page = _single(builder.page, parse_int(value, token, "page", minimum=1), "page")


def _format(builder: Builder, token: Token, value: str) -> None:
    word = value.lower()
    if word not in ("compact", "full"):
        raise bad_value(token, "format")
    builder.format = _single(builder.format, word, "format")


def _mention_pair(builder: Builder, token: Token, value: str) -> None:
    builder.set_extra("mention", mention_value(token), token)


def _events(builder: Builder, token: Token, value: str) -> None:
    """A repeated `events:` adds kinds, like any repeated key."""
    kinds = parse_events(value, token.raw)
    if "events" in builder.extras:
        old = parse_events(builder.extras["events"] or "all")
        kinds = () if not old or not kinds else old + kinds
    builder.extras["events"] = events_text(kinds)


LANG_CHOICES = N_(
    "`lang:` takes `de` (Deutsch) or `en` (English): the language the channel's posts are "
    "written in, e.g. `/releases subscribe group:DWH_GROUP lang:de`."
)


def _lang(builder: Builder, token: Token, value: str) -> None:
    """The language of a subscription's posts, as its code (`deutsch` and `de` are `de`)."""
    language = LANGUAGE_WORDS.get(value.lower())
    if language is None or language == "auto":
        raise QueryError(LANG_CHOICES, token.raw)
    builder.set_extra("lang", language, token)


def _tz(builder: Builder, token: Token, value: str) -> None:
    """Checked by the digest parser, which knows the time zones."""
    builder.set_extra("tz", value, token)


PAIRS: Mapping[str, PairHandler] = MappingProxyType(
    {
        "group": _group,
        "group_id": _group_id,
        "name": _name,
        "id": _release_id,
        "status": _status,
        "closed": _closed,
        "hotfix": _hotfix,
        "deleted": _deleted,
        "page": _page,
        "format": _format,
        "refresh": _refresh,
        "mention": _mention_pair,
        "tz": _tz,
        "lang": _lang,
        "events": _events,
    }
)


def mention_value(token: Token) -> str:
    """The Slack form of a mention (`<!subteam^S1|@team>`, `<@U1>`) or a plain `@name`."""
    if token.markup is not None and MENTION_MARKUP.fullmatch(f"<{token.markup}>"):
        return f"<{token.markup}>"
    value = token.value.strip()
    if token.markup is None and not value.startswith("@"):
        value = "@" + value
    if token.markup is None and PLAIN_MENTION.fullmatch(value):
        return value
    raise QueryError(
        f"{echo(token.raw)}: `mention` takes a user group or a user, e.g. "
        "`mention:@dwh-team` or `mention:@alice`.",
        token.raw,
    )


def _single(old: _T | None, new: _T, key: str) -> _T:
    """Values that cannot be OR-ed: the same one twice is fine, two different ones are not."""
    if old is not None and old != new:
        raise QueryError(f"`{key}` is given twice (`{old}` and `{new}`); give it once.")
    return new
