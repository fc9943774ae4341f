"""The connect page over WSGI: `GET /connect/<link>` shows the form, `POST` connects.

It is served beside the Slack request front, not through it: browsers, not Slack, call it, so
there is no Slack signature; the signed link, its stored single-use grant and a CSRF token
bound to the link and a cookie stand in for one. On a post it checks, in order: the body's
size (refused unread), the link, the CSRF token, the number of tries, the base URL against the
allowlist, then logs in and lists releases once, and only then stores the account and consumes
the link. A failure keeps the link and the email filled in and says why in a fixed text.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from bot.clock import Clock
from bot.connect.limits import RateLimit
from bot.connect.links import LinkSigner, new_cookie
from bot.connect.page import Form, done_page, form_page, refused_page, security_headers
from bot.connect.records import Connection, LinkGrant
from bot.connect.store import ConnectionStore, LinkUsed
from bot.connect.verify import UNREACHABLE, NotVerified, Verifier
from bot.notify.store.trouble import StoreUnavailable

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

PREFIX = "/connect/"
COOKIE = "releases_bot_connect"
MAX_BODY_BYTES = 8 * 1024  # an email, a password, a URL and a token
REQUESTS_PER_MINUTE = 30  # per client address
POSTS_PER_LINK = 10  # tries with one link, per process

INVALID_LINK = "This link is not valid. Open App Home in Slack and ask for a new one."
USED_LINK = ("This link has expired or was used already. Open App Home in Slack and ask for a "
             "new one.")
BAD_FORM = "This form has expired. Open the link from Slack again."
TOO_MANY = "Too many tries. Wait a minute, or ask for a new link in App Home."
NOT_ALLOWED = "Choose a MetaKraftwerk address from the list."
MISSING = "Enter the email and the password of the MetaKraftwerk account."
NO_STORE = "The bot cannot store this right now. Please try again in a minute."

Connected = Callable[[LinkGrant, Connection], None]
_Answer = tuple[HTTPStatus, list[tuple[str, str]], bytes]


class ConnectPages:
    """The WSGI app of the connect page; everything it needs is handed in."""

    def __init__(
        self,
        store: ConnectionStore,
        signer: LinkSigner,
        verifier: Verifier,
        allowed_urls: Sequence[str],
        clock: Clock,
        *,
        secure_cookie: bool = True,
        on_connected: Connected | None = None,
    ) -> None:
        self._store = store
        self._signer = signer
        self._verifier = verifier
        self._allowed = tuple(allowed_urls)
        self._secure = secure_cookie
        self._on_connected = on_connected
        self._per_address = RateLimit(REQUESTS_PER_MINUTE, 60.0, clock)
        self._per_link = RateLimit(POSTS_PER_LINK, 600.0, clock)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        style = secrets.token_urlsafe(16)
        status, headers, body = self._answer(environ, style)
        headers = [*headers, *security_headers(style),
                   ("Content-Length", str(len(body)))]
        if not any(name == "Content-Type" for name, _ in headers):
            headers.append(("Content-Type", "text/html; charset=utf-8"))
        start_response(f"{status.value} {status.phrase}", headers)
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]

    def _answer(self, environ: WSGIEnvironment, style: str) -> _Answer:
        path = str(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD")
        if not path.startswith(PREFIX):
            return HTTPStatus.NOT_FOUND, [], refused_page(INVALID_LINK, style)
        if method not in ("GET", "HEAD", "POST"):
            return HTTPStatus.METHOD_NOT_ALLOWED, [("Allow", "GET, HEAD, POST")], b""
        if not self._per_address.allow(str(environ.get("REMOTE_ADDR", ""))):
            return HTTPStatus.TOO_MANY_REQUESTS, [("Retry-After", "60")], refused_page(
                TOO_MANY, style)
        token = path[len(PREFIX):]
        nonce_hash = self._signer.check(token)
        if nonce_hash is None:
            return HTTPStatus.NOT_FOUND, [], refused_page(INVALID_LINK, style)
        try:
            grant = self._store.link(nonce_hash)
            if grant is None:
                return HTTPStatus.GONE, [], refused_page(USED_LINK, style)
            if method == "POST":
                return self._post(environ, token, grant, style)
        except StoreUnavailable:
            log.warning("the connect page cannot reach the database")
            return HTTPStatus.SERVICE_UNAVAILABLE, [("Retry-After", "30")], refused_page(
                NO_STORE, style)
        cookie = _cookie(environ) or new_cookie()
        form = Form(path, self._signer.csrf_token(token, cookie), self._allowed,
                    base_url=self._allowed[0])
        return HTTPStatus.OK, [self._set_cookie(cookie)], form_page(form, style)

    def _post(
        self, environ: WSGIEnvironment, token: str, grant: LinkGrant, style: str
    ) -> _Answer:
        body = _read_body(environ)
        if body is None:
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, [], b""
        fields = _form_fields(body)
        cookie = _cookie(environ)
        if not self._signer.csrf_ok(token, cookie, fields.get("csrf", "")):
            log.info("the connect page refused a post without a matching CSRF token")
            return HTTPStatus.FORBIDDEN, [], refused_page(BAD_FORM, style)
        email = fields.get("email", "").strip()[:320]
        base_url = fields.get("base_url", "")
        form = Form(str(environ.get("PATH_INFO", "")), fields["csrf"], self._allowed,
                    email=email, base_url=base_url)
        if not self._per_link.allow(grant.nonce_hash):
            return HTTPStatus.TOO_MANY_REQUESTS, [("Retry-After", "60")], form_page(
                _with_error(form, TOO_MANY), style)
        if base_url not in self._allowed:
            log.warning("the connect page refused a base URL outside the allowlist")
            return HTTPStatus.BAD_REQUEST, [], form_page(_with_error(form, NOT_ALLOWED), style)
        password = fields.get("password", "")
        if not email or not password:
            return HTTPStatus.BAD_REQUEST, [], form_page(_with_error(form, MISSING), style)
        try:
            account = self._verifier.verify(base_url, email, password)
        except NotVerified as failed:
            log.info("connecting %s for %s failed: %s", base_url, grant.tenant.key(), failed.reason)
            return HTTPStatus.UNPROCESSABLE_ENTITY, [], form_page(
                _with_error(form, failed.reason), style)
        except Exception:
            log.exception("connecting %s for %s failed", base_url, grant.tenant.key())
            return HTTPStatus.BAD_GATEWAY, [], form_page(_with_error(form, UNREACHABLE), style)
        try:
            connection = self._store.connect(grant, account)
        except LinkUsed:
            return HTTPStatus.GONE, [], refused_page(USED_LINK, style)
        log.info("connection %d for %s now logs in to %s", connection.id, grant.tenant.key(),
                 base_url)
        if self._on_connected is not None:
            try:
                self._on_connected(grant, connection)
            except Exception:
                log.exception("after connecting %s", grant.tenant.key())
        return HTTPStatus.OK, [], done_page(email, base_url, style)

    def _set_cookie(self, value: str) -> tuple[str, str]:
        secure = "; Secure" if self._secure else ""
        return ("Set-Cookie",
                f"{COOKIE}={value}; Path={PREFIX}; Max-Age=900; HttpOnly; SameSite=Strict{secure}")


def _with_error(form: Form, error: str) -> Form:
    return Form(form.action, form.csrf, form.base_urls, form.email, form.base_url, error)


def _cookie(environ: WSGIEnvironment) -> str:
    try:
        jar = SimpleCookie(str(environ.get("HTTP_COOKIE", "")))
    except CookieError:
        return ""
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else ""


def _read_body(environ: WSGIEnvironment) -> bytes | None:
    """The body, or None (unread) when it is larger than MAX_BODY_BYTES or of unknown size."""
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not raw.isdigit() or int(raw) > MAX_BODY_BYTES:
        return None
    stream = environ.get("wsgi.input")
    return stream.read(int(raw)) if stream is not None else b""


def _form_fields(body: bytes) -> dict[str, str]:
    """The first value of each field of a urlencoded form; nothing from an unreadable one."""
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=16)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {name: values[0] for name, values in parsed.items() if values}
