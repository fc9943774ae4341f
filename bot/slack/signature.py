"""Slack's request signature, checked strictly: nothing about an unverified request is trusted.

`v0=` + HMAC-SHA256(secret, `v0:{timestamp}:{raw body}`), with a timestamp of plain digits
within five minutes of now. A timestamp that is not such a number is refused as it is, never
parsed leniently (slack_sdk's verifier raises on one, which once reached an error handler).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from bot.clock import Clock, SystemClock

WINDOW_SECONDS = 300
_MAX_TIMESTAMP_DIGITS = 12  # seconds since 1970 have 10 digits until the year 2286


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of a check: `reason` says why it failed, in words fit for a log line."""

    ok: bool
    reason: str = ""
    timestamp: int = 0


class SlackSignature:
    def __init__(
        self,
        signing_secret: str,
        *,
        clock: Clock | None = None,
        window_seconds: int = WINDOW_SECONDS,
    ) -> None:
        self._secret = signing_secret.encode()
        self._clock: Clock = clock or SystemClock()
        self.window_seconds = window_seconds

    def check(self, timestamp: str | None, signature: str | None, body: bytes) -> Verdict:
        if not timestamp:
            return Verdict(False, "no timestamp")
        digits = timestamp.isascii() and timestamp.isdigit()
        if not digits or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
            return Verdict(False, "a timestamp that is not a number of seconds")
        ts = int(timestamp)
        if abs(self._clock.now().timestamp() - ts) > self.window_seconds:
            return Verdict(False, "a timestamp outside the 5-minute window")
        if not signature:
            return Verdict(False, "no signature")
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = b"v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            return Verdict(False, "a wrong signature")
        return Verdict(True, timestamp=ts)

    def remaining_seconds(self, verdict: Verdict) -> float:
        """How long a verified request could still be replayed: its key is kept that long."""
        now = self._clock.now().timestamp()
        return max(verdict.timestamp + self.window_seconds - now, 0.0) + 1.0
