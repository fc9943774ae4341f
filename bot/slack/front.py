"""The request front: everything about a Slack request is checked before Bolt sees its body.

In order: method and path, body size (Content-Length, and a capped read without one), the
timestamp and signature (bot/slack/signature.py), a replay of an already seen signature, and
the body's shape (UTF-8, a JSON object where Bolt expects one: 400 otherwise; an object Bolt
cannot read answers 200, see `malformed_response`). Only then is the request
handed to Bolt, marked as verified, so that no listener, middleware or error handler ever
acts on a body nobody verified. A middleware of the app (bot/slack/app.py, FrontVerified)
takes the place of Bolt's own signature check: it refuses any request without that mark.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request.internals import parse_body

from bot.cache.replay import ReplayGuard
from bot.slack.listeners import SIGNATURE_VERIFIED, malformed_response
from bot.slack.signature import SlackSignature

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
# Slack's payloads stay far below this; a modal of 100 full blocks is about 300 kB.
MAX_BODY_BYTES = 1024 * 1024
_READ_CHUNK = 64 * 1024


class SlackFront:
    def __init__(
        self,
        app: App,
        signature: SlackSignature,
        replay: ReplayGuard,
        *,
        path: str = SLACK_PATH,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._app = app
        self._signature = signature
        self._replay = replay
        self._path = path
        self._max_body = max_body_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self._handle(environ)
        wsgi = WsgiHttpResponse(
            status=response.status, headers=response.headers, body=response.body
        )
        start_response(wsgi.status, wsgi.get_headers())
        return wsgi.get_body()

    def _handle(self, environ: WSGIEnvironment) -> BoltResponse:
        if environ.get("PATH_INFO", "") != self._path:
            return _plain(404)
        if environ.get("REQUEST_METHOD") != "POST":
            return BoltResponse(status=405, body="", headers={"Allow": "POST"})
        body = self._read_body(environ)
        if body is None:
            return _plain(413)
        headers = _headers(environ)
        verdict = self._signature.check(
            headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature"), body
        )
        if not verdict.ok:
            log.warning("refused a request to %s: %s", self._path, verdict.reason)
            return _plain(401)
        signature = headers["x-slack-signature"]
        ttl = self._signature.remaining_seconds(verdict)
        if not self._replay.first_time(f"slack-signature:{signature}", ttl):
            log.info("ignored a replayed request (its signature was seen before)")
            return BoltResponse(status=200, body="")
        request = _bolt_request(body, environ, headers)
        if request is None:
            return _plain(400)
        if isinstance(request, BoltResponse):
            return request
        request.context[SIGNATURE_VERIFIED] = True
        try:
            return self._app.dispatch(request)
        except Exception:
            # Bolt hands errors to the app's error handler; this is only the last resort.
            log.exception("Bolt failed on a verified request")
            return _plain(500)

    def _read_body(self, environ: WSGIEnvironment) -> bytes | None:
        """The whole body, or None when it is larger than allowed; a larger one is not read."""
        raw_length = str(environ.get("CONTENT_LENGTH") or "").strip()
        stream = environ.get("wsgi.input")
        if raw_length:
            if not raw_length.isdigit() or int(raw_length) > self._max_body:
                log.warning("refused a request body of %s bytes", raw_length[:20])
                return None
            return stream.read(int(raw_length)) if stream is not None and raw_length else b""
        if stream is None or not environ.get("wsgi.input_terminated"):
            return b""  # no length and no end marker: PEP 3333 says there is no body
        chunks: list[bytes] = []
        size = 0
        while chunk := stream.read(_READ_CHUNK):
            size += len(chunk)
            if size > self._max_body:
                log.warning("refused a request body over %d bytes", self._max_body)
                return None
            chunks.append(chunk)
        return b"".join(chunks)


def _headers(environ: WSGIEnvironment) -> dict[str, str]:
    """Request headers as Bolt names them (lower case, dashes)."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            headers[key.lower().replace("_", "-")] = str(value)
        elif key.startswith("HTTP_"):
            headers[key[5:].lower().replace("_", "-")] = str(value)
    return headers


def _bolt_request(
    body: bytes, environ: WSGIEnvironment, headers: dict[str, str]
) -> BoltRequest | BoltResponse | None:
    """A BoltRequest for a body Bolt can read; None (and one log line) for a body that is no
    payload; for a payload Bolt cannot read (a field of a type Slack never sends), the 200
    answer of a malformed payload."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    text: str | None = None
    try:
        text = body.decode("utf-8")
        # Bolt parses the body once, here; its result is checked instead of parsing it twice.
        request = BoltRequest(
            body=text, query=str(environ.get("QUERY_STRING", "")), headers=dict(headers)
        )
        parsed: Any = request.body
        if not isinstance(parsed, dict):
            raise ValueError(f"the payload is a {type(parsed).__name__}, not an object")
        return request
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        payload = _payload_object(text, content_type)
        if payload is not None:
            return malformed_response(payload, f"{type(exc).__name__}: {str(exc)[:200]}")
        log.warning(
            "refused a malformed Slack request (%s): %s", content_type or "no content type",
            str(exc)[:200],
        )
        return None


def _payload_object(text: str | None, content_type: str) -> dict[str, Any] | None:
    """The body as Bolt parses it, when that is a JSON object; None otherwise."""
    if text is None:
        return None
    try:
        parsed = parse_body(text, content_type or None)
    except (ValueError, TypeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _plain(status: int) -> BoltResponse:
    return BoltResponse(
        status=status,
        body=http.HTTPStatus(status).phrase,
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
