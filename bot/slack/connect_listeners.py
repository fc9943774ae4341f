"""App Home's MetaKraftwerk buttons in distributed mode: Connect (a signed link by direct
message), Test and Disconnect, for those who may administer the connection.

Who may is asked of Slack (users.info) on every view and every click, never cached here: a
demoted admin loses the buttons at the next opening and the actions at once. The link goes by
direct message, never into the view: App Home is published often, a link must be used once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.connect.admins import may_administer
from bot.connect.links import LinkSigner
from bot.connect.store import ConnectionStore
from bot.connect.verify import NotVerified, Verifier
from bot.render.connection_panel import (
    ACTION_CONNECT,
    ACTION_CONNECTION_TEST,
    ACTION_DISCONNECT,
    ConnectionPanel,
)
from bot.secret_box import SecretError
from bot.slack import payload
from bot.tenant import Tenant

log = logging.getLogger(__name__)

LINK_TEXT = (
    "Open this link to connect MetaKraftwerk for this workspace. It works once, for 10 minutes, "
    "and only for you; the password goes to the bot's own page, never through Slack."
)
NOT_ADMIN = "Only the installer and the workspace's owners and admins can change the connection."


@dataclass(frozen=True, slots=True)
class ConnectHome:
    """The connection's state for App Home and the admins' actions on it."""

    store: ConnectionStore
    signer: LinkSigner
    verifier: Verifier
    public_url: str
    installer_of: Callable[[Tenant], str | None] = lambda tenant: None

    def is_admin(self, client: WebClient, tenant: Tenant, user_id: str) -> bool:
        try:
            user = client.users_info(user=user_id).get("user")
        except (SlackApiError, OSError) as exc:
            log.warning("users.info for %s failed; treated as no admin: %s", user_id, exc)
            return False
        return isinstance(user, dict) and may_administer(user, tenant, self.installer_of(tenant))

    def panel(self, client: WebClient, tenant: Tenant, user_id: str) -> ConnectionPanel:
        admin = self.is_admin(client, tenant, user_id)
        connection = self.store.for_workspace(tenant)
        if connection is None:
            return ConnectionPanel(admin=admin)
        return ConnectionPanel(
            admin=admin, email=connection.email, base_url=connection.base_url,
            last_good_poll_at=connection.last_good_poll_at, last_error=connection.last_error,
            org_wide=connection.owner.team_id == "",
        )

    def send_link(self, client: WebClient, tenant: Tenant, user_id: str) -> bool:
        """DM a fresh link to an admin; False (and a DM saying why) for anyone else."""
        if not self.is_admin(client, tenant, user_id):
            client.chat_postMessage(channel=user_id, text=NOT_ADMIN)
            return False
        token, nonce_hash = self.signer.new_link()
        self.store.add_link(nonce_hash, tenant, user_id)
        url = f"{self.public_url}/connect/{token}"
        client.chat_postMessage(channel=user_id, text=LINK_TEXT, blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": LINK_TEXT}},
            {"type": "actions", "elements": [{
                "type": "button", "text": {"type": "plain_text", "text": "Connect MetaKraftwerk"},
                "url": url, "action_id": "connection_link", "style": "primary",
            }]},
        ])
        return True

    def test(self, client: WebClient, tenant: Tenant, user_id: str) -> str:
        """Log in with the stored account and list releases once; the outcome, in words."""
        if not self.is_admin(client, tenant, user_id):
            return NOT_ADMIN
        connection = self.store.for_workspace(tenant)
        if connection is None:
            return "MetaKraftwerk is not connected."
        try:
            account = self.verifier.verify(
                connection.base_url, connection.email, self.store.password(connection)
            )
        except SecretError:
            self.store.record_error(connection, "The stored password cannot be read. Reconnect.")
            return "The stored password cannot be read. Reconnect."
        except NotVerified as failed:
            self.store.record_error(connection, failed.reason)
            return failed.reason
        self.store.save_session(connection, account.session_token, account.session_expires_at)
        self.store.record_good(connection)
        return "MetaKraftwerk answered: the connection works."

    def disconnect(self, client: WebClient, tenant: Tenant, user_id: str) -> str:
        if not self.is_admin(client, tenant, user_id):
            return NOT_ADMIN
        connection = self.store.for_workspace(tenant)
        if connection is None or not self.store.disconnect(connection.owner):
            return "MetaKraftwerk was not connected."
        log.info("%s disconnected MetaKraftwerk for %s", user_id, connection.owner.key())
        return "MetaKraftwerk is disconnected; its account and password are gone."


def tenant_of(body: dict[str, Any]) -> Tenant:
    """The workspace a Home event or action is about (with its Grid org, when there is one)."""
    team = payload.obj(body, "team")
    user = payload.obj(body, "user")
    enterprise = payload.obj(body, "enterprise")
    return Tenant(
        payload.text(enterprise, "id") or payload.text(body, "enterprise_id"),
        payload.text(team, "id") or payload.text(body, "team_id") or payload.text(user, "team_id"),
    )


Republish = Callable[[dict[str, Any]], None]


def register_connect(
    app: App, connect: ConnectHome, client: WebClient, submit: Callable[[Callable[[], None]], bool],
    republish: Republish,
) -> None:
    app.action(ACTION_CONNECT)(partial(_on_connect, connect, client, submit))
    app.action(ACTION_CONNECTION_TEST)(
        partial(_on_change, connect.test, client, submit, republish)
    )
    app.action(ACTION_DISCONNECT)(
        partial(_on_change, connect.disconnect, client, submit, republish)
    )
    app.action("connection_link")(lambda ack: ack())  # a URL button still needs its ack


def _on_connect(
    connect: ConnectHome, client: WebClient, submit: Callable[[Callable[[], None]], bool],
    ack: Ack, body: dict[str, Any],
) -> None:
    ack()
    tenant, user_id = tenant_of(body), payload.text(payload.obj(body, "user"), "id")
    if not submit(lambda: _quietly(lambda: connect.send_link(client, tenant, user_id))):
        log.warning("busy: no connect link for %s", user_id)


def _on_change(
    change: Callable[[WebClient, Tenant, str], str], client: WebClient,
    submit: Callable[[Callable[[], None]], bool], republish: Republish,
    ack: Ack, body: dict[str, Any],
) -> None:
    ack()
    tenant, user_id = tenant_of(body), payload.text(payload.obj(body, "user"), "id")

    def run() -> None:
        outcome = change(client, tenant, user_id)
        _quietly(lambda: client.chat_postMessage(channel=user_id, text=outcome))
        republish(body)

    if not submit(lambda: _quietly(run)):
        log.warning("busy: a connection action of %s skipped", user_id)


def _quietly(work: Callable[[], object]) -> None:
    try:
        work()
    except (SlackApiError, OSError) as exc:
        log.warning("a connection action could not reach Slack: %s", exc)
