"""Secrets at rest: Fernet tokens bound to the row and field they were sealed for.

`MultiFernet` encrypts with the first key and opens with any, so keys rotate by putting a new one
first. Fernet has no associated data, so the context (table, field, row key) travels inside the
sealed payload and must match on opening: a token copied into another tenant's row does not open.
There is no plain-text fallback: no key, no box.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretError(Exception):
    """A sealed value cannot be opened here: wrong keys, tampered, or sealed for another row."""


def valid_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def key_id(key: str) -> str:
    """A short, stable name for a key that reveals nothing of it, stored beside each token."""
    return hashlib.sha256(b"releases-bot key id\0" + key.encode("ascii")).hexdigest()[:12]


def context_of(table: str, field: str, row: str) -> str:
    return f"{table}\0{field}\0{row}"


class SecretBox:
    """Seal and open secrets with the operator's keys (SECRET_KEYS: the first seals)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretError("no encryption key: SECRET_KEYS must hold at least one Fernet key")
        bad = [position for position, key in enumerate(keys, start=1) if not valid_key(key)]
        if bad:
            raise SecretError(f"SECRET_KEYS key {bad[0]} is not a Fernet key")
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])
        self._key_ids = tuple(key_id(key) for key in keys)

    @property
    def current_key_id(self) -> str:
        return self._key_ids[0]

    def is_current(self, sealed_with: str) -> bool:
        return sealed_with == self._key_ids[0]

    def knows(self, sealed_with: str) -> bool:
        return sealed_with in self._key_ids

    def seal(self, plaintext: str, context: str) -> str:
        payload = json.dumps({"c": context, "v": plaintext}, separators=(",", ":"))
        return self._fernet.encrypt(payload.encode("utf-8")).decode("ascii")

    def open(self, token: str, context: str) -> str:
        try:
            payload = json.loads(self._fernet.decrypt(token.encode("ascii")))
        except (InvalidToken, UnicodeEncodeError, ValueError):
            raise SecretError("a sealed value does not open with these keys") from None
        if not isinstance(payload, dict) or payload.get("c") != context:
            raise SecretError("a sealed value belongs to another row or field")
        value = payload.get("v")
        if not isinstance(value, str):
            raise SecretError("a sealed value holds no text")
        return value

    def reseal(self, token: str, context: str) -> str:
        """The same secret under the first key (for `keys rotate`), checked for its row first."""
        self.open(token, context)
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")
