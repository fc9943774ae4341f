"""The filter keys and how one value is read: numbers, yes/no words, the message for a bad one."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from bot.query.errors import QueryError, echo
from bot.query.lexer import Token

MAX_ID = 2**31 - 1

VALID_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "group": 'a release group name, globs allowed: `group:DWH_GROUP`, `group:"DWH*"`',
        "group_id": "a release group id (a whole number): `group_id:3`",
        "name": (
            'release names, globs allowed: `name:R59`, `name:R59,R60`, `name:"Release 2022 Q1"`'
        ),
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
        "events": "with `subscribe` only: kinds of change, e.g. `events:closed,reopened,dates`",
        "lang": "with `subscribe` and `digest` only: the language of the posts, `de` or `en`",
    }
)
# German keywords read as the English ones they stand for; answers echo the English form.
STATUS_ALIASES = MappingProxyType({"offen": "open", "geschlossen": "closed", "alle": "all"})
STATUS_WORDS = frozenset({"open", "closed", "all", *STATUS_ALIASES})
# What `/releases language` takes, and the choice each word stands for.
LANGUAGE_WORDS = MappingProxyType({
    "de": "de", "deutsch": "de", "german": "de",
    "en": "en", "english": "en", "englisch": "en",
    "auto": "auto",
})


def canonical_status(word: str) -> str:
    """`offen` -> `open`; an English status word (or any other word) as it is."""
    return STATUS_ALIASES.get(word, word)
_TRUE = frozenset({"true", "yes", "1", "y", "on"})
_FALSE = frozenset({"false", "no", "0", "n", "off"})
DIGITS = re.compile(r"#?([0-9]+)")

_INT_EXAMPLES = {
    "page": "`page:2`",
    "group id": "`group_id:3`",
    "release id": "`#21`",
    "subscription id": "`unsubscribe 3`",
}


def strip_hash(value: str) -> str:
    return value[1:] if value.startswith("#") else value


def parse_int(text: str, token: Token, what: str, minimum: int = 0) -> int:
    if not re.fullmatch(r"[0-9]+", text):
        article = "an" if what[0] in "aeiou" else "a"
        raise QueryError(
            f"{echo(token.raw)}: {article} {what} is a whole number"
            + (" from 1" if minimum else "")
            + f", e.g. {_INT_EXAMPLES.get(what, '`21`')}.",
            token.raw,
        )
    digits = text.lstrip("0") or "0"
    if len(digits) > 10 or int(digits) > MAX_ID:
        raise QueryError(
            f"{echo(token.raw)}: that {what} is too large (at most {MAX_ID}).", token.raw
        )
    number = int(digits)
    if number < minimum:
        raise QueryError(
            f"{echo(token.raw)}: {what} starts at {minimum}, e.g. `{what}:{minimum}`.",
            token.raw,
        )
    return number


def parse_bool(value: str, token: Token, key: str) -> bool:
    word = value.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise bad_value(token, key)


def key_list(keys: Iterable[str]) -> str:
    return ", ".join(f"`{k}`" for k in keys)


def bad_value(token: Token, key: str) -> QueryError:
    return QueryError(f"{echo(token.raw)}: `{key}` takes {VALID_KEYS[key]}.", token.raw)


def empty_value(token: Token, key: str) -> QueryError:
    return QueryError(
        f"{echo(token.raw)} has no value. `{key}` takes {VALID_KEYS.get(key, 'a value')}.",
        token.raw,
    )


def no_minus(token: Token, key: str) -> QueryError:
    return QueryError(
        f"{echo(token.raw)}: `-` only excludes `group`, `group_id` and `name`, "
        f"not `{key}`. For the status use `open`, `closed` or `all`.",
        token.raw,
    )


def unknown_key(token: Token, key: str) -> QueryError:
    close = difflib.get_close_matches(key, list(VALID_KEYS), n=1, cutoff=0.6)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return QueryError(
        f"I don't know the filter {echo(key + ':')}.{hint} Valid keys: "
        f'{key_list(VALID_KEYS)}. Quote names with a colon: `name:"R9:x"`.',
        token.raw,
    )
