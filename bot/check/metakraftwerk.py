"""The MetaKraftwerk check: reachable, the credentials accepted, one list of releases read."""

from __future__ import annotations

import httpx

from bot.check.report import Report
from bot.clock import Clock
from bot.config import Settings
from bot.metakraftwerk.auth import LoginSession
from bot.metakraftwerk.client import MetaKraftwerkClient, make_http_client
from bot.metakraftwerk.errors import CredentialsRejected, MetaKraftwerkError
from bot.metakraftwerk.retry import RetryPolicy

# One try each, with a short connect timeout: an operator waits for the answer, and a server
# that does not answer now is the finding (the processes themselves retry).
CHECK_RETRY = RetryPolicy(max_attempts=1, connect_timeout=2.0)


def check_metakraftwerk(
    settings: Settings, report: Report, http_client: httpx.Client | None, clock: Clock
) -> None:
    """Settings with credentials, as `metakraftwerk_source` has decided."""
    http = http_client if http_client is not None else make_http_client(settings)
    url = str(http.base_url).rstrip("/")
    try:
        client = MetaKraftwerkClient(
            http,
            token=settings.metakraftwerk_token,
            email=settings.metakraftwerk_email,
            password=settings.metakraftwerk_password,
            deadline_seconds=settings.api_deadline_seconds,
            clock=clock,
            retry=CHECK_RETRY,
        )
        started = clock.monotonic()
        releases = client.list_releases()
        elapsed_ms = (clock.monotonic() - started) * 1000
        groups = client.list_groups()
    except MetaKraftwerkError as exc:
        # The operator's own terminal: what the server said (masked) helps here.
        said = f"; MetaKraftwerk said: {exc.detail}" if exc.detail else ""
        report.fail(_setting_at_fault(settings, exc, url), f"{exc.user_message}{said}")
        return
    finally:
        if http_client is None:
            http.close()
    report.line(f"MetaKraftwerk: {url}")
    auth = client.auth
    if isinstance(auth, LoginSession):
        expires = auth.expires_at
        until = f"; the token expires {expires:%Y-%m-%d %H:%M} UTC" if expires else ""
        report.line(f"Logged in as {settings.metakraftwerk_email}{until}.")
    else:
        report.line("Authenticated with METAKRAFTWERK_TOKEN.")
    visible = [r for r in releases if not r.deleted]
    open_count = sum(1 for r in visible if r.is_open)
    group_count = len(groups) or len({r.group_id for r in releases if r.group_id is not None})
    source = "" if groups else " (group names unavailable, counted by id)"
    report.line(
        f"OK: {len(visible)} releases ({open_count} open"
        + (f", {len(releases) - len(visible)} deleted" if len(visible) != len(releases) else "")
        + f") in {group_count} groups{source}; the list took {elapsed_ms:.0f} ms."
    )


def _setting_at_fault(settings: Settings, exc: MetaKraftwerkError, url: str) -> str:
    if isinstance(exc, CredentialsRejected):
        if settings.metakraftwerk_token:
            return "METAKRAFTWERK_TOKEN"
        return "METAKRAFTWERK_EMAIL/METAKRAFTWERK_PASSWORD"
    return f"METAKRAFTWERK_URL {url}"
