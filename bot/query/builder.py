"""Turns tokens into a Query: the OR/AND rules, value checks and the messages for mistakes."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from bot.query.errors import QueryError, echo
from bot.query.events import events_text, parse_events
from bot.query.glob import is_glob
from bot.query.lexer import Token
from bot.query.mention import MENTION_MARKUP, PLAIN_MENTION
from bot.query.model import DeletedMode, Query, Status
from bot.query.quoting import markup_display, markup_label

_T = TypeVar("_T")

MAX_ID = 2**31 - 1
# Name and group patterns with `*` or `?` in one command: bounds the work of local matching.
MAX_PATTERNS = 20

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
        "events": "with `subscribe` only: kinds of change, e.g. `events:closed,reopened,dates`",
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
_ONLY_WITH = {
    "mention": "`subscribe`, e.g. `/releases subscribe group:DWH_GROUP mention:@dwh-team`",
    "events": "`subscribe`, e.g. `/releases subscribe group:DWH_GROUP events:closed,dates`",
    "tz": "`digest`, e.g. `/releases digest weekdays 09:00 tz:Europe/Berlin`",
}
_EXCLUDABLE = frozenset({"group", "group_id", "name"})
_ID_COMPATIBLE = frozenset({"format", "refresh", "id"})
# Keys that leave a query "only names": it then looks in every status (`/releases R9`).
_NAME_LOOKUP_KEYS = frozenset({"name", "format", "refresh", "page"})
_STATUS_WORDS = frozenset({"open", "closed", "all"})
_TRUE = frozenset({"true", "yes", "1", "y", "on"})
_FALSE = frozenset({"false", "no", "0", "n", "off"})
DIGITS = re.compile(r"#?([0-9]+)")


@dataclass
class Builder:
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

    def add(self, token: Token) -> None:
        if token.key is None:
            self._add_word(token)
        else:
            self._add_pair(token)

    def _add_word(self, token: Token) -> None:
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
                f"{echo(token.raw)} is empty. Put a name between the quotes.", token.raw
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
        digits = DIGITS.fullmatch(value)
        if digits is not None:
            if token.negated:
                raise QueryError(
                    f"{echo(token.raw)}: `-` cannot exclude a release id. "
                    "Use `-name:...` to leave out releases by name.",
                    token.raw,
                )
            self.release_ids.append(parse_int(digits.group(1), token, "release id"))
            self.used.append("id")
            return
        if value.startswith("#"):
            raise QueryError(
                f"{echo(token.raw)} is not a release id. Ids are numbers, e.g. `#21`; "
                "for a name use `name:...`.",
                token.raw,
            )
        if (
            "mention" in self.allow
            and not token.negated
            and PLAIN_MENTION.fullmatch(value)
            and "mention" not in self.extras
        ):
            self.extras["mention"] = value
            return
        self._add_name(value, token)

    def _add_markup(self, token: Token) -> None:
        inner = token.markup or ""
        if MENTION_MARKUP.fullmatch(f"<{inner}>") and "mention" in self.allow and not token.negated:
            self._set_extra("mention", f"<{inner}>", token)
            return
        if inner[:1] in ("@", "#", "!"):
            raise QueryError(
                f"{echo(markup_display(inner))} is a mention or channel, not a "
                "release. Filters are `key:value`, e.g. `group:DWH_GROUP`; "
                "`mention:` works with `subscribe`.",
                token.raw,
            )
        self._add_name(markup_label(inner).strip(), token)

    def _add_name(self, value: str, token: Token) -> None:
        if not value:
            raise _empty(token, "name")
        self.used.append("name")
        self._add_pattern(self.exclude_names if token.negated else self.names, value, token)

    def _add_pattern(self, target: list[str], value: str, token: Token) -> None:
        """A name or group; at most MAX_PATTERNS of them with `*` or `?` per command."""
        if is_glob(value) and all(v.casefold() != value.casefold() for v in target):
            lists = (self.groups, self.names, self.exclude_groups, self.exclude_names)
            if sum(is_glob(v) for values in lists for v in values) >= MAX_PATTERNS:
                raise QueryError(
                    f"Too many patterns: {echo(token.raw)} would be one more name or group "
                    f"with `*` or `?`, and I match at most {MAX_PATTERNS} per command. "
                    "Combine them, e.g. `name:R5*` instead of `name:R51* name:R52*`.",
                    token.raw,
                )
        _add_unique(target, value)

    def _add_status(self, status: str) -> None:
        self.statuses.update(("open", "closed") if status == "all" else (status,))

    def _add_pair(self, token: Token) -> None:
        key = token.key or ""
        if key not in VALID_KEYS:
            raise _unknown_key(token, key)
        if key not in FILTER_KEYS and key not in self.allow:
            raise QueryError(f"`{key}:` only works with {_ONLY_WITH[key]}.", token.raw)
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
            self._add_pattern(self.exclude_groups if token.negated else self.groups, value, token)
        elif key == "name":
            self._add_pattern(self.exclude_names if token.negated else self.names, value, token)
        elif key == "group_id":
            number = parse_int(strip_hash(value), token, "group id")
            target = self.exclude_group_ids if token.negated else self.group_ids
            if number not in target:
                target.append(number)
        elif key == "id":
            self.release_ids.append(parse_int(strip_hash(value), token, "release id"))
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
            self.page = _single(self.page, parse_int(value, token, "page", minimum=1), key)
        elif key == "format":
            word = value.lower()
            if word not in ("compact", "full"):
                raise _bad_value(token, key)
            self.format = _single(self.format, word, key)
        elif key == "mention":
            self._set_extra(key, _mention(token), token)
        elif key == "events":  # a repeated `events:` adds kinds, like any repeated key
            kinds = parse_events(value, token.raw)
            if key in self.extras:
                old = parse_events(self.extras[key] or "all")
                kinds = () if not old or not kinds else old + kinds
            self.extras[key] = events_text(kinds)
        else:  # tz: checked by the digest parser
            self._set_extra(key, value, token)

    def _set_extra(self, key: str, value: str, token: Token) -> None:
        old = self.extras.get(key)
        if old is not None and old != value:
            raise QueryError(
                f"`{key}:` is given twice ({echo(old)} and {echo(value)}); give it once.",
                token.raw,
            )
        self.extras[key] = value

    @property
    def names_only(self) -> bool:
        """Only release names were asked for (no status, group or other filter)."""
        return bool(self.names) and not self.statuses and set(self.used) <= _NAME_LOOKUP_KEYS

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


def _mention(token: Token) -> str:
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


def strip_hash(value: str) -> str:
    return value[1:] if value.startswith("#") else value


_INT_EXAMPLES = {
    "page": "`page:2`",
    "group id": "`group_id:3`",
    "release id": "`#21`",
    "subscription id": "`unsubscribe 3`",
}


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


def _parse_bool(value: str, token: Token, key: str) -> bool:
    word = value.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _bad_value(token, key)


def _bad_value(token: Token, key: str) -> QueryError:
    return QueryError(f"{echo(token.raw)}: `{key}` takes {VALID_KEYS[key]}.", token.raw)


def _empty(token: Token, key: str) -> QueryError:
    return QueryError(
        f"{echo(token.raw)} has no value. `{key}` takes {VALID_KEYS.get(key, 'a value')}.",
        token.raw,
    )


def _no_minus(token: Token, key: str) -> QueryError:
    return QueryError(
        f"{echo(token.raw)}: `-` only excludes `group`, `group_id` and `name`, "
        f"not `{key}`. For the status use `open`, `closed` or `all`.",
        token.raw,
    )


def _unknown_key(token: Token, key: str) -> QueryError:
    close = difflib.get_close_matches(key, list(VALID_KEYS), n=1, cutoff=0.6)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return QueryError(
        f"I don't know the filter {echo(key + ':')}.{hint} Valid keys: "
        f'{_key_list(VALID_KEYS)}. Quote names with a colon: `name:"R9:x"`.',
        token.raw,
    )
