"""Signed single-use links to the connect page, and the CSRF token of its form.

A link is `<nonce>.<signature>`: 32 random bytes and an HMAC over them with a key derived from
the first SECRET_KEYS key, so a forged or mangled link is refused before the database is asked.
Only the nonce's SHA-256 is stored (bot/connect/store.py), bound to the tenant and user it was
made for, so a database reader cannot rebuild a link. The form's CSRF token is an HMAC over the
nonce and a random cookie set by the page: a post needs both the link and that browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import timedelta

LINK_LIFETIME = timedelta(minutes=10)
_NONCE_BYTES = 32
_SIGNATURE_CHARS = 22  # 128 bits of the HMAC, url-safe base64
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def nonce_hash(nonce: str) -> str:
    """What the store keeps of a link: it cannot be turned back into the link."""
    return hashlib.sha256(nonce.encode("ascii")).hexdigest()


class LinkSigner:
    """Makes and checks links and CSRF tokens; every web process derives the same key."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("the connect links need a key")
        self._key = hashlib.sha256(b"releases-bot connect link\0" + secret_key.encode()).digest()

    def new_link(self) -> tuple[str, str]:
        """(the link token for the URL, the nonce hash to store)."""
        nonce = _b64(secrets.token_bytes(_NONCE_BYTES))
        return f"{nonce}.{self._sign(b'link', nonce)}", nonce_hash(nonce)

    def check(self, token: str) -> str | None:
        """The nonce hash of a well-formed link with a good signature; None otherwise."""
        if not _TOKEN.fullmatch(token):
            return None
        nonce, signature = token.split(".", 1)
        if not hmac.compare_digest(signature, self._sign(b"link", nonce)):
            return None
        return nonce_hash(nonce)

    def csrf_token(self, token: str, cookie: str) -> str:
        """The form's hidden field for this link in the browser holding `cookie`."""
        return self._sign(b"csrf", f"{token}\0{cookie}")

    def csrf_ok(self, token: str, cookie: str, submitted: str) -> bool:
        if not cookie or not submitted:
            return False
        return hmac.compare_digest(submitted, self.csrf_token(token, cookie))

    def _sign(self, purpose: bytes, text: str) -> str:
        digest = hmac.new(self._key, purpose + b"\0" + text.encode(), hashlib.sha256).digest()
        return _b64(digest)[:_SIGNATURE_CHARS]


def new_cookie() -> str:
    return _b64(secrets.token_bytes(24))
