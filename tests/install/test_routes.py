"""The install routes outside the signed front: GET only, no body, rate-limited, fixed texts."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot.install.authorize import TenantAuthorize
from bot.install.oauth_flow import BOT_SCOPES, InstallRoutes, RateLimit, build_oauth_flow
from bot.install.states import TenantStateStore
from bot.install.store import TenantInstallationStore
from bot.notify.store.database import Database
from tests.fakes.slack_api import FakeSlack


class Timer:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def routes(installs: TenantInstallationStore, database: Database, slack: FakeSlack
           ) -> InstallRoutes:
    flow = build_oauth_flow(
        client_id="111.222", client_secret="s", public_url="https://bot.example.com",
        store=installs, states=TenantStateStore(database), authorize=TenantAuthorize(installs),
        client=WebClient(base_url=slack.url),
    )
    return InstallRoutes(flow, _inner, RateLimit(per_minute=3, timer=Timer()))


def _inner(environ: Any, start_response: Any) -> Iterable[bytes]:
    start_response("204 No Content", [])
    return [b"inner"]


def call(app: InstallRoutes, path: str, *, method: str = "GET", query: str = "",
         address: str = "10.0.0.1", length: str = "", cookie: str = ""
         ) -> tuple[str, str, dict[str, str]]:
    """Status, body and headers (names in lower case) of one request."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, {k.lower(): v for k, v in headers}

    environ = {"PATH_INFO": path, "REQUEST_METHOD": method, "QUERY_STRING": query,
               "REMOTE_ADDR": address, "CONTENT_LENGTH": length, "HTTP_COOKIE": cookie,
               "wsgi.input": io.BytesIO(b"")}
    body = b"".join(app(environ, start_response)).decode()  # type: ignore[arg-type]
    return seen["status"], body, seen["headers"]


def test_other_paths_go_to_the_front(routes: InstallRoutes) -> None:
    assert call(routes, "/slack/events", method="POST")[:2] == ("204 No Content", "inner")


def test_install_redirects_to_slack_with_a_state_cookie(routes: InstallRoutes) -> None:
    status, _, headers = call(routes, "/slack/install")
    assert status.startswith("302")
    assert headers["location"].startswith("https://slack.com/oauth/v2/authorize?state=")
    assert headers["location"].endswith(
        "&user_scope=&redirect_uri=https://bot.example.com/slack/oauth_redirect")
    assert headers["set-cookie"].startswith("slack-app-oauth-state=")


def test_only_get_without_a_body(routes: InstallRoutes) -> None:
    assert call(routes, "/slack/install", method="POST")[0].startswith("405")
    assert call(routes, "/slack/oauth_redirect", length="10")[0].startswith("413")


def test_each_address_is_rate_limited(routes: InstallRoutes) -> None:
    for _ in range(3):
        assert call(routes, "/slack/install")[0].startswith("302")
    status, body, _ = call(routes, "/slack/install")
    assert status.startswith("429")
    assert body == "Too many requests. Please wait a minute and try again."
    assert call(routes, "/slack/install", address="10.0.0.2")[0].startswith("302")


def test_failures_show_short_fixed_texts(routes: InstallRoutes) -> None:
    status, body, _ = call(routes, "/slack/oauth_redirect", query="code=x&state=forged",
                           cookie="slack-app-oauth-state=forged")
    assert status.startswith("400")
    assert body.startswith("This install link has expired or was already used.")
    status, body, _ = call(routes, "/slack/oauth_redirect", query="error=access_denied&state=s")
    assert body == "The installation was cancelled. Nothing was installed."


def test_a_code_slack_refuses_installs_nothing(routes: InstallRoutes,
                                               installs: TenantInstallationStore) -> None:
    _, _, headers = call(routes, "/slack/install")
    cookie = headers["set-cookie"].split(";")[0]
    state = cookie.split("=", 1)[1]
    status, body, _ = call(routes, "/slack/oauth_redirect", query=f"code=bad&state={state}",
                           cookie=cookie)
    assert status.startswith("400")
    assert body == "The installation did not complete. Please start again from the install link."


def test_the_scopes_asked_are_the_manifests() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[2] / "manifest.yml").read_text())
    assert list(BOT_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]
