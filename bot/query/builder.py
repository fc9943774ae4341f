"""Turns tokens into a Query: the OR/AND rules and the messages for mistakes across keys."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from bot.query.errors import QueryError, echo
from bot.query.glob import is_glob
from bot.query.lexer import Token
from bot.query.mention import MENTION_MARKUP, PLAIN_MENTION
from bot.query.model import DeletedMode, Query, Status
from bot.query.pairs import PAIRS
from bot.query.quoting import markup_display, markup_label
from bot.query.values import (
    DIGITS,
    STATUS_WORDS,
    VALID_KEYS,
    canonical_status,
    empty_value,
    key_list,
    no_minus,
    parse_int,
    unknown_key,
)

# Name and group patterns with `*` or `?` in one command: bounds the work of local matching.
MAX_PATTERNS = 20

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
    "lang": "`subscribe` and `digest`, e.g. `/releases subscribe group:DWH_GROUP lang:de`",
}
_EXCLUDABLE = frozenset({"group", "group_id", "name"})
_ID_COMPATIBLE = frozenset({"format", "refresh", "id"})
# Keys that leave a query "only names": it then looks in every status (`/releases R9`).
_NAME_LOOKUP_KEYS = frozenset({"name", "format", "refresh", "page"})


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
        if word in STATUS_WORDS or word == "refresh":
            if token.negated:
                raise no_minus(token, word)
            if word == "refresh":
                self.refresh = True
            else:
                self.add_status(canonical_status(word))
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
            self.set_extra("mention", f"<{inner}>", token)
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
            raise empty_value(token, "name")
        self.used.append("name")
        self.add_pattern(self.exclude_names if token.negated else self.names, value, token)

    def add_pattern(self, target: list[str], value: str, token: Token) -> None:
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

    def add_status(self, status: str) -> None:
        self.statuses.update(("open", "closed") if status == "all" else (status,))

    def _add_pair(self, token: Token) -> None:
        key = token.key or ""
        if key not in VALID_KEYS:
            raise unknown_key(token, key)
        if key not in FILTER_KEYS and key not in self.allow:
            raise QueryError(f"`{key}:` only works with {_ONLY_WITH[key]}.", token.raw)
        if token.negated and key not in _EXCLUDABLE:
            raise no_minus(token, key)
        if token.markup is not None and key != "mention" and token.markup[:1] in ("@", "#", "!"):
            raise QueryError(
                f"`{key}:` takes {VALID_KEYS[key]}, not a mention or channel.", token.raw
            )
        value = token.value.strip()
        if not value:
            raise empty_value(token, key)
        self.used.append(key)
        PAIRS[key](self, token, value)

    def set_extra(self, key: str, value: str, token: Token) -> None:
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
                    f"`#{ids[0]}` looks up one release, so {key_list(others)} does not apply "
                    f"to it. Use `/releases {ids[0]}` alone (`format:full` is fine), "
                    "or the filters without the id."
                )
        return query


def _add_unique(target: list[str], value: str) -> None:
    folded = value.casefold()
    if all(v.casefold() != folded for v in target):
        target.append(value)
