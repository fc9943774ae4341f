"""Reading the API's answers: JSON that may be hostile, and failures turned into typed errors.

Users see a status and a ref; what the server said is only logged, masked, under that ref.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bot.clock import Deadline
from bot.logs import mask_secrets, new_ref
from bot.metakraftwerk.errors import BadResponse, Unavailable

# The client logs these; one logger name keeps them together for operators and filters.
log = logging.getLogger("bot.metakraftwerk.client")


def timed_out(deadline: Deadline) -> Unavailable:
    return Unavailable(
        f"MetaKraftwerk did not answer within {deadline.describe()}", cause="timeout"
    )


def http_unavailable(status: int) -> Unavailable:
    if status == 429:
        return Unavailable("MetaKraftwerk is busy (HTTP 429)", cause="HTTP 429")
    return Unavailable(f"MetaKraftwerk is unavailable (HTTP {status})", cause=f"HTTP {status}")


def transport_cause(exc: httpx.TransportError) -> str:
    text = str(exc).lower()
    if isinstance(exc, httpx.ConnectError):
        if "refused" in text:
            return "connection refused"
        if "name" in text or "resolution" in text or "getaddrinfo" in text:
            return "host not found"
        if "ssl" in text or "certificate" in text:
            return "TLS handshake failed"
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "connection dropped"
    return "network error"


@contextmanager
def readable(path: str) -> Iterator[None]:
    """JSON nested past the recursion limit, in parsing or in reading it, is a bad response."""
    try:
        yield
    except RecursionError:
        log.warning("MetaKraftwerk answered %s with JSON nested too deeply to read", path)
        raise BadResponse(
            f"MetaKraftwerk answered {path} with JSON the bot cannot read (nested too deeply)"
        ) from None


def json_body(response: httpx.Response) -> object:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise BadResponse(
            f"MetaKraftwerk answered {response.request.url.path} with something that is not JSON"
        ) from None


def log_error_answer(response: httpx.Response, about: str = "") -> tuple[str, str | None]:
    """Log what the server said under a new ref; return the ref and that text, masked.

    Users are shown the status and the ref only: an error body can hold anything, a database
    URL with its password or the bot's account included.
    """
    ref = new_ref()
    detail = server_message(response)
    log.warning(
        "MetaKraftwerk answered %s %s%s with HTTP %d (ref %s): %s",
        response.request.method,
        response.request.url.path,
        f" ({about})" if about else "",
        response.status_code,
        ref,
        detail if detail is not None else "no text",
    )
    return ref, detail


def server_message(response: httpx.Response) -> str | None:
    """The `message` of a JSON error body, else the body text; masked, shortened, None if empty."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        text: str = body["message"]
    else:
        text = response.content.decode("utf-8", errors="replace")
    text = " ".join(text.split())
    if not text:
        return None
    # Masked before it is cut, so a cut cannot leave half a secret unrecognised.
    return shortened(mask_secrets(text))


def shortened(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_kind(value: object) -> str:
    return {dict: "object", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, int | float) else type(value).__name__
    )
