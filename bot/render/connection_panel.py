"""App Home's MetaKraftwerk section in distributed mode: the connection's state for everyone,
and Connect/Reconnect, Test and Disconnect for those who may administer it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.mrkdwn import escape_truncated
from bot.render import parts

ACTION_CONNECT = "connection_connect"
ACTION_CONNECTION_TEST = "connection_test"
ACTION_DISCONNECT = "connection_disconnect"
BLOCK_CONNECTION_ACTIONS = "connection_actions"


@dataclass(frozen=True, slots=True)
class ConnectionPanel:
    """What the section shows; `email` None: not connected."""

    admin: bool
    email: str | None = None
    base_url: str | None = None
    last_good_poll_at: datetime | None = None
    last_error: str | None = None
    org_wide: bool = False  # the org's connection, shared by its workspaces


def connection_blocks(panel: ConnectionPanel) -> list[dict[str, Any]]:
    if panel.email is None:
        lines = ["*MetaKraftwerk* · not connected yet"]
    else:
        whose = " (for the whole organisation)" if panel.org_wide else ""
        polled = panel.last_good_poll_at
        lines = [
            f"*MetaKraftwerk* · connected as `{escape_truncated(panel.email, 120)}` to "
            f"{escape_truncated(panel.base_url or '', 120)}{whose}",
            "Last good poll: " + (parts.date_token(polled) if polled else "none yet"),
        ]
        if panel.last_error:
            lines.append(
                f"{parts.EMOJI_WARNING} Last error: {escape_truncated(panel.last_error, 200)}"
            )
    blocks = [parts.section("\n".join(lines))]
    if not panel.admin:
        if panel.email is None:
            blocks.append(parts.context(
                "A workspace owner or admin can connect MetaKraftwerk here in App Home."
            ))
        return [*blocks, parts.divider()]
    buttons = [parts.button(
        "Connect MetaKraftwerk" if panel.email is None else "Reconnect",
        ACTION_CONNECT, "connect", style="primary" if panel.email is None else None,
    )]
    if panel.email is not None:
        disconnect = parts.button("Disconnect", ACTION_DISCONNECT, "disconnect", style="danger")
        disconnect["confirm"] = {
            "title": parts.plain("Disconnect MetaKraftwerk?"),
            "text": parts.plain(
                "The bot forgets the account and its password at once; lists, subscriptions and "
                "digests stop until someone connects again."
            ),
            "confirm": parts.plain("Disconnect"),
            "deny": parts.plain("Cancel"),
            "style": "danger",
        }
        buttons += [parts.button("Test", ACTION_CONNECTION_TEST, "test"), disconnect]
    return [*blocks, parts.actions(BLOCK_CONNECTION_ACTIONS, buttons), parts.divider()]
