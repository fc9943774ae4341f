"""The MetaKraftwerk Releases API over one pooled httpx client: auth, retries, typed errors.

Every public call runs inside one deadline (Settings.api_deadline_seconds unless the caller
passes its own), so a Slack command always answers in time, whatever the API does.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping
from typing import Any

import httpx

from bot import __version__
from bot.clock import Clock, Deadline, SystemClock
from bot.config import Secret, Settings
from bot.logs import mask_secrets, new_ref
from bot.metakraftwerk.auth import (
    LoginSession,
    NoToken,
    OnLogin,
    StaticToken,
    StoredSession,
    TokenSource,
)
from bot.metakraftwerk.errors import (
    BadResponse,
    CredentialsRejected,
    GroupNotFound,
    MetaKraftwerkError,
    ReleaseNotFound,
    Unavailable,
)
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import InvalidRecord, Release, parse_groups, parse_releases
from bot.metakraftwerk.responses import (
    http_unavailable,
    json_body,
    json_kind,
    log_error_answer,
    readable,
    shortened,
    timed_out,
    transport_cause,
)
from bot.metakraftwerk.retry import RetryPolicy, is_retryable_status, parse_retry_after

log = logging.getLogger(__name__)

RELEASES_PATH = "/api/v1/releases"
GROUPS_PATH = "/api/v1/release_groups"
LOGIN_PATH = "/authentication"
USER_AGENT = f"releases-bot/{__version__}"


def make_http_client(settings: Settings, **overrides: Any) -> httpx.Client:
    """The one pooled httpx client the process shares (keyword arguments override defaults)."""
    options: dict[str, Any] = {
        "base_url": settings.metakraftwerk_url,
        "headers": {"User-Agent": USER_AGENT, "Accept": "application/json"},
        "timeout": httpx.Timeout(
            settings.api_deadline_seconds, connect=min(3.0, settings.api_deadline_seconds)
        ),
        "limits": httpx.Limits(max_connections=32, max_keepalive_connections=8),
        "follow_redirects": False,
    }
    options.update(overrides)
    return httpx.Client(**options)


class MetaKraftwerkClient:
    """Read-only access to releases and release groups; thread-safe."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        token: Secret | None = None,
        email: str | None = None,
        password: Secret | None = None,
        deadline_seconds: float = 8.0,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        stored: StoredSession | None = None,
        on_login: OnLogin | None = None,
    ) -> None:
        """With email and password, `stored` and `on_login` go to the LoginSession."""
        self._http = http
        self._clock: Clock = clock or SystemClock()
        self._deadline_seconds = deadline_seconds
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._groups_warned = False
        self._email = email
        self._password = password
        self._auth: TokenSource
        if token:
            self._auth = StaticToken(token)
        elif email and password:
            self._auth = LoginSession(
                self._log_in, self._clock, stored=stored, on_login=on_login
            )
        else:
            self._auth = NoToken()

    @classmethod
    def from_settings(
        cls, settings: Settings, http: httpx.Client, clock: Clock | None = None
    ) -> MetaKraftwerkClient:
        return cls(
            http,
            token=settings.metakraftwerk_token,
            email=settings.metakraftwerk_email,
            password=settings.metakraftwerk_password,
            deadline_seconds=settings.api_deadline_seconds,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"MetaKraftwerkClient(base_url={str(self._http.base_url)!r}, auth={self._auth!r})"

    @property
    def auth(self) -> TokenSource:
        return self._auth

    def new_deadline(self) -> Deadline:
        """A fresh budget for one lookup; pass it to several calls to bound them together."""
        return Deadline.start(self._clock, self._deadline_seconds)

    # ---- public calls -------------------------------------------------------------------

    def list_releases(
        self, f: ApiFilter | None = None, *, deadline: Deadline | None = None
    ) -> tuple[Release, ...]:
        """GET /api/v1/releases; unreadable records are skipped, a non-list answer is refused."""
        f = f or ApiFilter()
        response = self._get(RELEASES_PATH, f.params(), deadline or self.new_deadline())
        if response.status_code == 404:
            # The bot's own words: the server's text is not shown, and the filter says it all.
            if f.group is not None:
                raise GroupNotFound(f"A release group with the name '{f.group}' does not exist!")
            if f.group_id is not None:
                raise GroupNotFound(f"No release group with id {f.group_id}")
            ref, detail = log_error_answer(response)
            raise BadResponse(
                f"MetaKraftwerk has no release list at {RELEASES_PATH} (HTTP 404, ref {ref})",
                ref=ref,
                detail=detail,
            )
        with readable(RELEASES_PATH):
            body = json_body(self._expect_ok(response))
            if not isinstance(body, list):
                raise BadResponse(
                    f"MetaKraftwerk answered the release list with a JSON {json_kind(body)}, "
                    "not a list"
                )
            return parse_releases(body)

    def get_release(self, release_id: int, *, deadline: Deadline | None = None) -> Release:
        """GET /api/v1/releases/:id."""
        path = f"{RELEASES_PATH}/{int(release_id)}"
        response = self._get(path, {}, deadline or self.new_deadline())
        if response.status_code == 404:
            raise ReleaseNotFound(release_id)
        try:
            with readable(path):
                return Release.from_api(json_body(self._expect_ok(response)))
        except InvalidRecord as exc:
            ref, detail = new_ref(), shortened(mask_secrets(str(exc)))
            log.warning(
                "MetaKraftwerk sent release %s in a shape the bot cannot read (ref %s): %s",
                release_id, ref, detail,
            )
            raise BadResponse(
                f"MetaKraftwerk sent release {release_id} in a shape the bot cannot read "
                f"(ref {ref})",
                ref=ref,
                detail=detail,
            ) from None

    def fetch_groups(self, *, deadline: Deadline | None = None) -> dict[int, str]:
        """GET /api/v1/release_groups, raising on failure (the cache keeps stale names then)."""
        response = self._get(GROUPS_PATH, {}, deadline or self.new_deadline())
        with readable(GROUPS_PATH):
            body = json_body(self._expect_ok(response))
            names = parse_groups(body)
        if not names and body not in ([], {}):
            raise BadResponse("MetaKraftwerk answered the release groups in an unknown shape")
        return names

    def list_groups(self, *, deadline: Deadline | None = None) -> dict[int, str]:
        """Group names by id, best effort: {} on any failure (callers fall back to ids)."""
        try:
            return self.fetch_groups(deadline=deadline)
        except MetaKraftwerkError as exc:
            if not self._groups_warned:
                self._groups_warned = True
                log.warning("release group names are unavailable, showing ids: %s", exc)
            return {}

    # ---- authentication -----------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, str], deadline: Deadline) -> httpx.Response:
        token = self._auth.token(deadline)
        response = self._send("GET", path, deadline, params=params, token=token)
        if response.status_code != 401:
            return response
        if self._auth.renewable:
            log.info("MetaKraftwerk answered 401; logging in again once")
            self._auth.invalidate(token)
            token = self._auth.token(deadline)
            response = self._send("GET", path, deadline, params=params, token=token)
            if response.status_code != 401:
                return response
            self._auth.invalidate(token)
            ref, detail = log_error_answer(response)
            raise CredentialsRejected(
                f"MetaKraftwerk refused the bot's fresh login (HTTP 401, ref {ref})",
                ref=ref,
                detail=detail,
            )
        if isinstance(self._auth, NoToken):
            raise CredentialsRejected(
                "MetaKraftwerk needs credentials: set METAKRAFTWERK_TOKEN, or "
                "METAKRAFTWERK_EMAIL and METAKRAFTWERK_PASSWORD"
            )
        ref, detail = log_error_answer(response)
        raise CredentialsRejected(
            f"MetaKraftwerk rejected the bot's token (HTTP 401, ref {ref}); tokens expire after "
            "about 20 hours, so set METAKRAFTWERK_EMAIL and METAKRAFTWERK_PASSWORD to let the "
            "bot renew it",
            ref=ref,
            detail=detail,
        )

    def _log_in(self, deadline: Deadline) -> Secret:
        """POST /authentication with the local strategy; returns the access token."""
        assert self._email is not None
        assert self._password is not None
        response = self._send(
            "POST",
            LOGIN_PATH,
            deadline,
            json_body={
                "strategy": "local",
                "email": self._email,
                "password": self._password.value,
            },
        )
        if response.status_code in (400, 401, 403):
            # The account stays out of the message: users see it, the log names it.
            ref, detail = log_error_answer(response, f"the login of {self._email}")
            raise CredentialsRejected(
                f"MetaKraftwerk refused the bot's login (HTTP {response.status_code}, ref {ref})",
                ref=ref,
                detail=detail,
            )
        with readable(LOGIN_PATH):
            body = json_body(self._expect_ok(response))
        token = body.get("accessToken") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise BadResponse("MetaKraftwerk's login answer has no accessToken")
        return Secret(token)

    # ---- transport ----------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        deadline: Deadline,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, object] | None = None,
        token: Secret | None = None,
    ) -> httpx.Response:
        """One exchange, retried on connection errors, timeouts, 5xx and 429 until the deadline."""
        headers = {"Authorization": f"Bearer {token.value}"} if token else None
        failure: Unavailable | None = None
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline.remaining()
            if remaining <= 0.0:
                raise failure or timed_out(deadline)
            timeout = httpx.Timeout(remaining, connect=min(self._retry.connect_timeout, remaining))
            wait: float | None = None
            try:
                response = self._http.request(
                    method, path, params=params, json=json_body, headers=headers, timeout=timeout
                )
            except httpx.TimeoutException:
                failure = timed_out(deadline)
            except httpx.TransportError as exc:
                cause = transport_cause(exc)
                failure = Unavailable(f"MetaKraftwerk cannot be reached ({cause})", cause=cause)
            except httpx.DecodingError:
                raise BadResponse(
                    f"MetaKraftwerk answered {path} with a body that cannot be decoded"
                ) from None
            else:
                if not is_retryable_status(response.status_code):
                    if response.status_code >= 500:
                        raise http_unavailable(response.status_code)
                    return response
                failure = http_unavailable(response.status_code)
                wait = parse_retry_after(response.headers.get("Retry-After"), self._clock.now())
                if wait is not None and wait > deadline.remaining():
                    log.warning(
                        "MetaKraftwerk %s %s answered HTTP %d and asks to wait %.1f s, "
                        "beyond this lookup's deadline; giving up",
                        method, path, response.status_code, wait,
                    )
                    raise failure
            if wait is None:
                with self._rng_lock:
                    wait = self._retry.backoff(attempt, self._rng)
            if attempt >= self._retry.max_attempts or wait >= deadline.remaining():
                raise failure
            log.info(
                "MetaKraftwerk %s %s failed (%s); retrying in %.2f s",
                method, path, failure.cause, wait,
            )
            self._clock.sleep(wait)

    def _expect_ok(self, response: httpx.Response) -> httpx.Response:
        if 200 <= response.status_code < 300:
            return response
        ref, detail = log_error_answer(response)
        if response.status_code == 403:
            raise CredentialsRejected(
                f"MetaKraftwerk refused access (HTTP 403, ref {ref})", ref=ref, detail=detail
            )
        raise BadResponse(
            f"MetaKraftwerk answered HTTP {response.status_code} (ref {ref})",
            ref=ref,
            detail=detail,
        )

