"""App Home's MetaKraftwerk section: the state for everyone, the buttons for admins only, and
the link sent by direct message works on the connect page; against a Slack stand-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient

from bot.config import Settings
from bot.connect.verify import Verifier
from bot.demo import DEMO_EMAIL
from bot.metakraftwerk.client import make_http_client
from bot.render.connection_panel import (
    ACTION_CONNECT,
    ACTION_CONNECTION_TEST,
    ACTION_DISCONNECT,
    ConnectionPanel,
    connection_blocks,
)
from bot.render.home_view import HomeData, render_home
from bot.slack.connect_listeners import NOT_ADMIN, ConnectHome
from tests.connect.serving import TENANT, ConnectSite
from tests.fakes.slack_api import FakeSlack
from tests.notify.support import T0


def _actions(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_everyone_sees_the_state_and_only_admins_the_buttons() -> None:
    connected = ConnectionPanel(admin=False, email="svc<@U1>@example.com", base_url="https://m",
                                last_error="MetaKraftwerk could not be reached.")
    blocks = connection_blocks(connected)
    text = str(blocks)
    assert "svc&lt;@U1&gt;@example.com" in text
    assert "could not be reached" in text
    assert _actions(blocks) == []
    admin = connection_blocks(ConnectionPanel(admin=True, email="svc@example.com"))
    assert _actions(admin) == [ACTION_CONNECT, ACTION_CONNECTION_TEST, ACTION_DISCONNECT]
    assert _actions(connection_blocks(ConnectionPanel(admin=True))) == [ACTION_CONNECT]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.script.users.update({
            "U1": {"team_id": "T1", "is_admin": True},
            "U2": {"team_id": "T1"},
            "U3": {"team_id": "T1", "is_admin": True, "is_restricted": True},
            "U4": {"team_id": "T9", "is_owner": True},
        })
        yield fake


@pytest.fixture
def connect(site: ConnectSite) -> ConnectHome:
    settings = Settings(metakraftwerk_url=site.demo.url)
    verifier = Verifier(lambda url: make_http_client(settings, base_url=url), site.clock, 3.0)
    return ConnectHome(site.connections, site.signer, verifier, site.url)


def _client(slack: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.url)


def test_an_admin_gets_a_working_link_by_direct_message(
    slack: FakeSlack, connect: ConnectHome, site: ConnectSite
) -> None:
    assert connect.send_link(_client(slack), TENANT, "U1")
    (post,) = slack.calls_to("chat.postMessage")
    assert post.args["channel"] == "U1"
    url = re.search(r'"url": "([^"]+)"', str(post.args["blocks"]).replace("'", '"'))
    assert url
    assert url.group(1).startswith(f"{site.url}/connect/")
    with httpx.Client() as browser:
        assert browser.get(url.group(1)).status_code == 200


@pytest.mark.parametrize("user", ["U2", "U3", "U4", "U404"])
def test_members_guests_and_other_teams_get_no_link(
    slack: FakeSlack, connect: ConnectHome, user: str
) -> None:
    assert not connect.send_link(_client(slack), TENANT, user)
    (post,) = slack.calls_to("chat.postMessage")
    assert post.args["text"] == NOT_ADMIN
    assert "blocks" not in post.args


def test_app_home_shows_the_connection_and_admins_test_and_disconnect(
    slack: FakeSlack, connect: ConnectHome, site: ConnectSite
) -> None:
    link = site.new_link()
    with httpx.Client() as browser:
        page = browser.get(link)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        done = browser.post(link, data={"csrf": csrf.group(1), "email": DEMO_EMAIL,
                                        "password": site.demo.password,
                                        "base_url": site.demo.url})
        assert done.status_code == 200
    client = _client(slack)
    member = connect.panel(client, TENANT, "U2")
    assert (member.admin, member.email) == (False, DEMO_EMAIL)
    assert member.last_good_poll_at is not None
    assert connect.test(client, TENANT, "U2") == NOT_ADMIN
    assert "works" in connect.test(client, TENANT, "U1")
    site.demo.password = "rotated"
    assert "did not accept" in connect.test(client, TENANT, "U1")
    assert connect.panel(client, TENANT, "U1").last_error is not None
    assert connect.disconnect(client, TENANT, "U3") == NOT_ADMIN
    assert "gone" in connect.disconnect(client, TENANT, "U1")
    assert connect.panel(client, TENANT, "U1") == ConnectionPanel(admin=True)


def test_single_workspace_home_has_no_connection_section(
    slack: FakeSlack, connect: ConnectHome
) -> None:
    """The section appears only where the web process passes a panel (distributed mode)."""
    plain = render_home(HomeData(releases=None), T0)
    assert ACTION_CONNECT not in str(plain)
    assert "MetaKraftwerk* ·" not in str(plain)
    panel = connect.panel(_client(slack), TENANT, "U1")
    with_panel = render_home(HomeData(releases=None, connection=panel), T0)
    assert ACTION_CONNECT in str(with_panel)
