"""The message shortcut's lenient reading of any Slack message: ids, filters, known names."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bot.query.builder import Builder
from bot.query.errors import QueryError
from bot.query.lexer import KEY_ALIASES, Token
from bot.query.model import Query
from bot.query.quoting import unentity
from bot.query.values import MAX_ID


@dataclass(frozen=True, slots=True)
class MessageScan:
    """What the message shortcut found in a message; empty tuples and None when nothing."""

    release_ids: tuple[int, ...] = ()
    query: Query | None = None
    names: tuple[str, ...] = ()

    @property
    def found_anything(self) -> bool:
        return bool(self.release_ids or self.query is not None or self.names)


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
    cleaned = unentity(cleaned)
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
    builder = Builder(default_status="all")
    spans: list[tuple[int, int]] = []
    seen = False
    for match in _SCAN_PAIR.finditer(text):
        key = match.group(2).lower().replace("-", "_")
        key = KEY_ALIASES.get(key, key)
        if key not in _SCAN_KEYS:
            continue
        quoted = match.group(3) is not None or match.group(4) is not None
        value = next(g for g in match.groups()[2:] if g is not None)
        if not quoted:
            value = value.rstrip(".!?:")
        token = Token(match.group(0), bool(match.group(1)), key, value, quoted)
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
