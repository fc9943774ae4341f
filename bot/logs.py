"""Logging set-up with a last line of defence: no secret leaves the process in a log line.

Two nets, both in every record and traceback: the values of the configured secrets (as they
are, and as URL-encoding, JSON or a repr would write them), and the shapes of secrets nobody
configured (Slack tokens, bearer tokens, `password: ...` pairs, URL passwords), such as those
an upstream error body may carry.

The handler masks each formatted line once, traceback included. A line that contains none of
the substrings every secret shape needs (`xox`, `bearer`, `token`, `://`, ...) skips the
shape patterns; the configured values are searched in every line.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote

from bot.clock import Clock, SystemClock

MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words everywhere
MASK = "***"

_KEYS = r"(?:password|passwd|pwd|secret|client_secret|accessToken|access_token|token|api_?key)"
_SECRET_PATTERNS = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    # `"password": "..."` up to the closing quote (escaped quotes, commas and braces included),
    # the same in single quotes (a repr), or a bare value up to a separator.
    re.compile(
        rf"""(?i)(["']?{_KEYS}["']?\s*[:=]\s*)"""
        r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[^\s"',}]+)"""
    ),
    # The password of a URL such as postgresql://user:password@host/db.
    # Greedy up to the last `@` before the host, as URL parsers read a password with `@` in it.
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s/]+(?=@[^\s@/]*)"),
)
# A substring each match of a pattern above contains (`pass` stands for password and passwd):
# text without any of them cannot match one, and is not scanned five more times.
_SHAPE_HINT = re.compile(r"(?i)xox|xapp-|bearer|pass|pwd|secret|token|api_?key|://")


def new_ref() -> str:
    """A short reference that ties what a user is shown to the log line with the details.

    The one maker of references: the answers, the workflow step, the notification commands
    and the API client all quote refs of this shape, so a ref from any of them finds its line.
    """
    return secrets.token_hex(3)


def log_unexpected(logger: logging.Logger, error: BaseException, what: str) -> str:
    """Log an error nobody caught, with its traceback and a new reference; return the ref."""
    ref = new_ref()
    logger.error("%s ref=%s", what, ref, exc_info=error)
    return ref


def _masked_shape(match: re.Match[str]) -> str:
    prefix = match.group(1) if match.groups() else ""
    value = match.group(2) if match.re.groups >= 2 else ""
    quote_char = value[0] if value[:1] in ("'", '"') else ""
    return f"{prefix or ''}{quote_char}{MASK}{quote_char}"


def _written_forms(value: str) -> set[str]:
    """A secret as text may carry it: raw, URL-encoded either way, JSON-escaped, in a repr."""
    forms = {value, unquote(value)}
    for form in list(forms):
        forms |= {quote(form, safe=""), quote_plus(form), json.dumps(form)[1:-1], repr(form)[1:-1]}
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


class Redactor:
    """Masks known secret values, then secret shapes; thread-safe, values can be added later."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._known: re.Pattern[str] | None = None
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            for value in values:
                if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
                    self._forms |= _written_forms(value)
            # Longest first, so a secret that contains another is masked whole.
            ordered = sorted(self._forms, key=len, reverse=True)
            self._known = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def mask(self, text: str) -> str:
        known = self._known
        if known is not None:
            text = known.sub(MASK, text)
        if _SHAPE_HINT.search(text) is None:
            return text
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(_masked_shape, text)
        return text


# The process's redactor: configure_logging registers the settings' secrets with it, and code
# that masks text outside a log record (an upstream error shown to an operator) uses it too.
REDACTOR = Redactor()


def register_secrets(values: Iterable[str]) -> None:
    """Mask these values from now on, wherever mask_secrets or the log handler runs."""
    REDACTOR.add(values)


def mask_secrets(text: str) -> str:
    return REDACTOR.mask(text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's final message so no token or password can leave the process; for a
    handler whose formatter is not a RedactingFormatter."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        masked = self._redactor.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class RedactingFormatter(logging.Formatter):
    """Masks the whole formatted record, message, traceback and stack, once."""

    def __init__(self, fmt: str | None = None, redactor: Redactor = REDACTOR) -> None:
        super().__init__(fmt)
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        try:
            text = super().format(record)
        except Exception:
            # A message its arguments do not fit: logging would print both, unmasked, in its
            # "Logging error" report. Show them side by side instead, masked like the rest.
            record.msg, record.args = f"{record.msg} {record.args!r}", None
            text = super().format(record)
        return self._redactor.mask(text)


class Throttle(logging.Filter):
    """Lets one record through per `seconds`; the next one that passes says how many like it
    were held back. For warnings that a burst repeats by the hundred (waitress's "Task queue
    depth is N" for each request that waits for a thread): under a burst they are noise."""

    def __init__(self, seconds: float, clock: Clock | None = None) -> None:
        super().__init__()
        self._seconds = seconds
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._next_at: float | None = None
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._clock.monotonic()
        with self._lock:
            if self._next_at is not None and now < self._next_at:
                self._held += 1
                return False
            held, self._held = self._held, 0
            self._next_at = now + self._seconds
        if held:
            record.msg = f"{record.msg} (and {held} more like it held back)"
        return True


# waitress warns on every request that finds no idle thread; one line per minute says as much.
QUEUE_WARNING_LOGGER, QUEUE_WARNING_SECONDS = "waitress.queue", 60.0


def console_log_path() -> Path:
    """Where the console and `ask` log, so that log lines never interleave with answers."""
    return Path(tempfile.gettempdir()) / "releases-bot-console.log"


def configure_logging(
    level: str = "INFO",
    *,
    secrets: Iterable[str] = (),
    redactor: Redactor = REDACTOR,
    path: Path | None = None,
) -> None:
    """Log to stderr (or to `path`, appended, created at the first record) through the
    redactor, which masks `secrets` (Settings.secret_values()) in each whole line."""
    redactor.add(secrets)
    handler: logging.Handler = (
        logging.StreamHandler(sys.stderr)
        if path is None
        else logging.FileHandler(path, encoding="utf-8", delay=True)
    )
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", redactor)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    queue = logging.getLogger(QUEUE_WARNING_LOGGER)
    queue.filters[:] = [f for f in queue.filters if not isinstance(f, Throttle)]
    queue.addFilter(Throttle(QUEUE_WARNING_SECONDS))
    # httpx logs every request URL at INFO, and Alembic each plugin it loads and each step it
    # runs; keep those at WARNING unless debugging (the store logs the migration it made).
    for noisy in ("httpx", "httpcore", "slack_sdk", "slack_bolt", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
