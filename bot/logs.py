"""Logging set-up with a last line of defence: token-shaped strings are masked in every record."""

from __future__ import annotations

import logging
import re
import secrets
import sys

_SECRET_PATTERNS = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(\"?(?:password|accessToken|token)\"?\s*[:=]\s*\"?)[^\"\s,}]+"),
    # The password of a URL such as postgresql://user:password@host/db.
    # Greedy up to the last `@` before the host, as URL parsers read a password with `@` in it.
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s/]+(?=@[^\s@/]*)"),
)


def new_ref() -> str:
    """A short reference that ties what a user is shown to the log line with the details."""
    return secrets.token_hex(3)


def mask_secrets(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "***", text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's final message so no token or password can leave the process."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class RedactingFormatter(logging.Formatter):
    """Masks the whole formatted record: a traceback or stack is added after the filters ran."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record))


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO; keep that at WARNING unless debugging.
    for noisy in ("httpx", "httpcore", "slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
