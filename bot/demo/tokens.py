"""JWT-shaped access tokens for the demo API, signed with a per-server key.

They look like MetaKraftwerk's (three base64url parts, an `exp` claim), so the bot's renewal
logic runs against the demo exactly as against the real service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def issue(self, user_id: int, now: datetime, lifetime_seconds: float, generation: int) -> str:
        header = {"alg": "HS256", "typ": "access"}
        claims = {
            "sub": str(user_id),
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp() + lifetime_seconds),
            "gen": generation,
            "jti": secrets.token_hex(8),
        }
        signing_input = (
            _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
        )
        return signing_input + "." + _b64(self._sign(signing_input))

    def verify(self, token: str, now: datetime, generation: int) -> bool:
        """True for a token this signer issued, unexpired, and not revoked since."""
        return self.subject(token, now, generation) is not None

    def subject(self, token: str, now: datetime, generation: int) -> str | None:
        """The user a valid token was issued to (its `sub`); None for any other token."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            signature = _unb64(parts[2])
            claims = json.loads(_unb64(parts[1]))
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._sign(parts[0] + "." + parts[1])):
            return None
        if not isinstance(claims, dict):
            return None
        exp, gen, sub = claims.get("exp"), claims.get("gen"), claims.get("sub")
        if isinstance(exp, int) and exp > now.timestamp() and gen == generation:
            return str(sub)
        return None

    def _sign(self, signing_input: str) -> bytes:
        return hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
