"""Splits `/releases` text into tokens: `key:value` pairs, quoted values, `<...>` markup."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.query.errors import QueryError, echo
from bot.query.quoting import DOUBLE_QUOTES, ENTITIES, QUOTES, SINGLE_QUOTES, markup_label

MAX_TOKENS = 50
KEY_ALIASES = {"groupid": "group_id", "timezone": "tz", "hotfixes": "hotfix", "state": "status"}
_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)[:=]")


@dataclass(frozen=True, slots=True)
class Token:
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


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos, end = 0, len(text)
    while pos < end:
        if text[pos].isspace():
            pos += 1
            continue
        token, pos = read_token(text, pos)
        tokens.append(token)
        if len(tokens) > MAX_TOKENS:
            raise QueryError(
                f"That is more than {MAX_TOKENS} words. Narrow it down with a few filters, "
                "e.g. `group:DWH_GROUP open`."
            )
    return tokens


def read_token(text: str, start: int) -> tuple[Token, int]:
    pos, end = start, len(text)
    negated = text[pos] == "-"
    if negated:
        pos += 1
    key = None
    match = _KEY.match(text, pos)
    if match is not None:
        key = match.group(1).lower().replace("-", "_")
        key = KEY_ALIASES.get(key, key)
        pos = match.end()
    value_start = pos
    parts: list[str] = []
    quoted = False
    if pos < end and text[pos] in QUOTES:
        quoted = True
        family = DOUBLE_QUOTES if text[pos] in DOUBLE_QUOTES else SINGLE_QUOTES
        pos += 1
        while True:
            if pos >= end:
                raise QueryError(
                    f"The quote in {echo(text[start:])} is never closed. Put a matching "
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
            pos = read_char(text, pos, parts)
    markup = None
    while pos < end and not text[pos].isspace():
        if text[pos] == "<":
            close = text.find(">", pos + 1)
            if close > pos:
                inner = text[pos + 1 : close]
                parts.append(markup_label(inner))
                # Only a value that is exactly one `<...>` keeps its markup (for mentions).
                markup = inner if pos == value_start else None
                pos = close + 1
                if pos < end and not text[pos].isspace():
                    markup = None
                continue
        markup = None
        pos = read_char(text, pos, parts)
    raw = text[start:pos]
    value = "".join(parts)
    return Token(raw, negated, key, value, quoted, markup), pos


def read_char(text: str, pos: int, parts: list[str]) -> int:
    """Append one character, decoding Slack's `&amp;`, `&lt;`, `&gt;`; return the next pos."""
    if text[pos] == "&":
        for entity, char in ENTITIES:
            if text.startswith(entity, pos):
                parts.append(char)
                return pos + len(entity)
    parts.append(text[pos])
    return pos + 1
