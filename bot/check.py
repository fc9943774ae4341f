"""`releases-bot check`: can the bot read MetaKraftwerk with these settings? One line if not.

Without any MetaKraftwerk credentials it says so and checks against the built-in demo API, so a
first run shows what a working setup looks like.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TextIO

import httpx

from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Secret, Settings, load_settings
from bot.demo.server import DEMO_EMAIL, DEMO_PASSWORD, DemoApiServer
from bot.logs import register_secrets
from bot.metakraftwerk.auth import LoginSession
from bot.metakraftwerk.client import MetaKraftwerkClient, make_http_client
from bot.metakraftwerk.errors import MetaKraftwerkError


def run_check(
    settings: Settings,
    out: TextIO,
    http_client: httpx.Client | None = None,
    clock: Clock | None = None,
) -> int:
    """Log in if configured, list releases, report; 0 when MetaKraftwerk answered as expected."""
    if settings.has_metakraftwerk_credentials:
        return _check(settings, out, http_client, clock or SystemClock())
    out.write(
        "No MetaKraftwerk credentials are set (METAKRAFTWERK_TOKEN, or METAKRAFTWERK_EMAIL and "
        "METAKRAFTWERK_PASSWORD).\n"
        "Without them `releases-bot console` runs on the built-in demo API; "
        "checking against that demo now.\n"
    )
    with DemoApiServer() as demo:
        demo_settings = replace(
            settings,
            metakraftwerk_url=demo.url,
            metakraftwerk_email=DEMO_EMAIL,
            metakraftwerk_password=Secret(DEMO_PASSWORD),
        )
        return _check(demo_settings, out, None, clock or SystemClock())


def main_check(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point: read the settings from the environment, run the check, print to stdout."""
    argparse.ArgumentParser(
        prog="releases-bot check",
        description="Check the settings and the connection to MetaKraftwerk.",
    ).parse_args(argv)
    try:
        settings = load_settings(environ)
    except ConfigError as exc:
        print(f"releases-bot: {exc}", file=sys.stderr)
        return 2
    register_secrets(settings.secret_values())
    return run_check(settings, sys.stdout)


def _check(
    settings: Settings, out: TextIO, http_client: httpx.Client | None, clock: Clock
) -> int:
    http = http_client if http_client is not None else make_http_client(settings)
    url = str(http.base_url).rstrip("/")
    try:
        client = MetaKraftwerkClient.from_settings(settings, http, clock=clock)
        started = clock.monotonic()
        releases = client.list_releases()
        elapsed_ms = (clock.monotonic() - started) * 1000
        groups = client.list_groups()
    except MetaKraftwerkError as exc:
        # The operator's own terminal: what the server said (masked) helps here.
        said = f"; MetaKraftwerk said: {exc.detail}" if exc.detail else ""
        out.write(f"check failed ({url}): {exc.user_message}{said}\n")
        return 1
    finally:
        if http_client is None:
            http.close()
    out.write(f"MetaKraftwerk: {url}\n")
    auth = client.auth
    if isinstance(auth, LoginSession):
        expires = auth.expires_at
        until = f"; the token expires {expires:%Y-%m-%d %H:%M} UTC" if expires else ""
        out.write(f"Logged in as {settings.metakraftwerk_email}{until}.\n")
    else:
        out.write("Authenticated with METAKRAFTWERK_TOKEN.\n")
    visible = [r for r in releases if not r.deleted]
    open_count = sum(1 for r in visible if r.is_open)
    group_count = len(groups) or len({r.group_id for r in releases if r.group_id is not None})
    source = "" if groups else " (group names unavailable, counted by id)"
    out.write(
        f"OK: {len(visible)} releases ({open_count} open"
        + (f", {len(releases) - len(visible)} deleted" if len(visible) != len(releases) else "")
        + f") in {group_count} groups{source}; the list took {elapsed_ms:.0f} ms.\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main_check())
