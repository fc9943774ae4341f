"""Cache entries and fetch outcomes as our own explicit JSON, and cache keys as Redis key names.

Whatever Redis holds is untrusted input: another version of the bot, an operator or an attacker
with access to Redis may have written it. So values are never pickled, and decoding checks every
field's type and passes what the API's answers pass (names not blank, dates that convert to
UTC); anything else raises `CorruptEntry`, which the store treats as a miss. A fetch's outcome
carries no text at all: a waiter gets the failure in the bot's own words, built from a kind,
a cause and a ref that each must be one the bot writes; anything else is `unreadable`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.cache.port import GROUPS_KEY, Cached
from bot.metakraftwerk.errors import BadResponse, MetaKraftwerkError, Unavailable
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import (
    RELEASE_FIELDS,
    InvalidRecord,
    Release,
    stored_datetime,
    stored_int,
)
from bot.metakraftwerk.responses import http_unavailable

FORMAT = 1  # part of every key name: a new format never reads the old one's entries
MAX_READABLE_KEY = 200


class CorruptEntry(ValueError):
    """A stored value that is not an entry in our format."""


def key_name(key: Hashable) -> str:
    """The Redis name of a cache key (without the store's prefix)."""
    if isinstance(key, ApiFilter):
        params = json.dumps(key.params(), sort_keys=True, separators=(",", ":"))
        if len(params) > MAX_READABLE_KEY:  # user text: keep key names short
            params = "sha256:" + hashlib.sha256(params.encode()).hexdigest()
        return f"list:{params}"
    if isinstance(key, tuple) and len(key) == 2 and key[0] == "release":
        return f"release:{int(key[1])}"
    if key == GROUPS_KEY:
        return GROUPS_KEY
    raise ValueError(f"not a cache key: {key!r}")


def encode(key: Hashable, entry: Cached[object]) -> str:
    """The JSON form of an entry stored under `key`."""
    value = entry.value
    body: Any
    if isinstance(key, ApiFilter):
        if not isinstance(value, tuple):
            raise TypeError(f"a list entry holds a tuple, not {type(value).__name__}")
        body = [_release_out(release) for release in value]
    elif key == GROUPS_KEY:
        if not isinstance(value, Mapping):
            raise TypeError(f"a names entry holds a mapping, not {type(value).__name__}")
        body = [[group_id, name] for group_id, name in value.items()]
    else:
        if not isinstance(value, Release):
            raise TypeError(f"a release entry holds a Release, not {type(value).__name__}")
        body = _release_out(value)
    return json.dumps(
        {"format": FORMAT, "fetched_at": entry.fetched_at.isoformat(), "value": body},
        separators=(",", ":"),
    )


def decode(key: Hashable, raw: bytes | str) -> Cached[object]:
    """The entry stored under `key`; CorruptEntry when `raw` is anything else."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptEntry(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or set(data) != {"format", "fetched_at", "value"}:
        raise CorruptEntry("not an entry object")
    if data["format"] != FORMAT:
        raise CorruptEntry(f"format {data['format']!r}, expected {FORMAT}")
    fetched_at = _datetime(data["fetched_at"], "fetched_at")
    if fetched_at is None:
        raise CorruptEntry("no fetched_at")
    body = data["value"]
    value: object
    if isinstance(key, ApiFilter):
        if not isinstance(body, list):
            raise CorruptEntry("a list entry that is not a list")
        value = tuple(_release_in(item) for item in body)
    elif key == GROUPS_KEY:
        value = _names_in(body)
    else:
        value = _release_in(body)
        if isinstance(key, tuple) and value.id != key[1]:
            raise CorruptEntry(f"release {value.id} stored as release {key[1]}")
    return Cached(value, fetched_at)


def _release_out(release: Release) -> dict[str, Any]:
    return release.to_dict()


def _release_in(data: object) -> Release:
    """The release's own stored form, and nothing more: other keys are not ours."""
    if not isinstance(data, dict) or set(data) != RELEASE_FIELDS:
        raise CorruptEntry("not a release object")
    try:
        return Release.from_dict(data)
    except InvalidRecord as exc:
        raise CorruptEntry(str(exc)) from None


def _names_in(body: object) -> dict[int, str]:
    if not isinstance(body, list):
        raise CorruptEntry("names that are not a list")
    names: dict[int, str] = {}
    for pair in body:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], str)):
            raise CorruptEntry("a name that is not an [id, name] pair")
        if not pair[1].strip() or pair[1] != pair[1].strip():  # as parse_groups keeps them
            raise CorruptEntry("a group name that is blank or not stripped")
        group_id = _int(pair[0], "group id")
        if group_id is None:
            raise CorruptEntry("a name without a group id")
        names[group_id] = pair[1]
    return names


def _int(value: object, name: str) -> int | None:
    try:
        return stored_int(value, name)
    except InvalidRecord as exc:
        raise CorruptEntry(str(exc)) from None


def _datetime(value: object, name: str) -> datetime | None:
    try:
        return stored_datetime(value, name)
    except InvalidRecord as exc:
        raise CorruptEntry(str(exc)) from None


# ---- fetch outcomes ---------------------------------------------------------------------------

OutcomeKind = Literal["ok", "unavailable", "bad_response", "other", "unreadable"]
TRANSPORT_CAUSES = frozenset(
    {"connection refused", "host not found", "TLS handshake failed", "connection failed",
     "connection dropped", "network error"}
)
_HTTP_CAUSE = re.compile(r"HTTP ([1-5]\d\d)")
_REF = re.compile(r"[0-9a-f]{6,8}")
_WITHIN = re.compile(r"MetaKraftwerk did not answer within (\d{1,4}(?:\.\d{1,3})?) s")
MAX_WITHIN = 3600.0


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """How another process's fetch went, as far as a waiter may believe it."""

    kind: OutcomeKind
    cause: str = ""
    within: float | None = None  # seconds of the leader's deadline, for a timeout
    ref: str | None = None

    def error(self) -> MetaKraftwerkError | None:
        """The failure to raise in the waiter, in the bot's own words; None: fetch yourself."""
        if self.kind == "unavailable":
            if self.cause == "timeout":
                when = "in time" if self.within is None else f"within {self.within:g} s"
                return Unavailable(f"MetaKraftwerk did not answer {when}", cause="timeout")
            http = _HTTP_CAUSE.fullmatch(self.cause)
            if http is not None:
                return http_unavailable(int(http.group(1)))
            return Unavailable(f"MetaKraftwerk cannot be reached ({self.cause})", cause=self.cause)
        if self.kind == "bad_response":
            ref = f" (ref {self.ref})" if self.ref else ""
            return BadResponse(
                f"MetaKraftwerk answered with something the bot cannot read{ref}", ref=self.ref
            )
        return None


def encode_outcome(error: BaseException | None) -> str:
    """The outcome of a fetch that ended with `error` (None: it succeeded), for the waiters."""
    body: dict[str, Any]
    if error is None:
        body = {"ok": True}
    elif isinstance(error, Unavailable):
        body = {"ok": False, "kind": "unavailable", "cause": error.cause}
        within = _WITHIN.fullmatch(error.user_message)
        if within is not None:
            body["within"] = float(within.group(1))
    elif isinstance(error, BadResponse):
        body = {"ok": False, "kind": "bad_response", "ref": error.ref}
    else:
        body = {"ok": False, "kind": "other"}
    return json.dumps(body, separators=(",", ":"))


def decode_outcome(raw: object) -> FetchOutcome:
    """What a waiter may believe of `raw`: every field one the bot writes, else `unreadable`."""
    try:
        data = json.loads(raw) if isinstance(raw, bytes | str) else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        return FetchOutcome("unreadable")
    if data["ok"]:
        return FetchOutcome("ok")
    kind, cause, ref, within = data.get("kind"), data.get("cause"), data.get("ref"), None
    if kind == "other":
        return FetchOutcome("other")
    if kind == "unavailable" and isinstance(cause, str):
        if cause == "timeout":
            seconds = data.get("within")
            if isinstance(seconds, int | float) and not isinstance(seconds, bool):
                if not 0 < seconds <= MAX_WITHIN:
                    return FetchOutcome("unreadable")
                within = float(seconds)
            elif seconds is not None:
                return FetchOutcome("unreadable")
            return FetchOutcome("unavailable", "timeout", within=within)
        if cause in TRANSPORT_CAUSES or _HTTP_CAUSE.fullmatch(cause):
            return FetchOutcome("unavailable", cause)
        return FetchOutcome("unreadable")
    if kind == "bad_response" and (ref is None or (isinstance(ref, str) and _REF.fullmatch(ref))):
        return FetchOutcome("bad_response", ref=ref)
    return FetchOutcome("unreadable")
