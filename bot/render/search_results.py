"""The search form's answer, shown in the modal: the `/releases` message, made modal-ready.

The blocks are the ones `/releases` renders. Buttons are renamed into the modal's own action
ids (`in_modal:` + the id), because a click in a modal has no response_url for the message
listeners to answer at; the message's "Share in channel" button gives way to a conversation
picker whose response_url lets the app post even where it is not a member.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

from bot.mrkdwn import escape_truncated
from bot.render import actions as act
from bot.render import parts
from bot.render.message import Message

log = logging.getLogger(__name__)

SEARCH_RESULTS_CALLBACK = "release_search_results"
MODAL_ACTION_PREFIX = "in_modal:"
MODAL_ACTION_PATTERN = r"^in_modal:"
ACTION_NEW_SEARCH = MODAL_ACTION_PREFIX + act.ACTION_OPEN_SEARCH
BLOCK_MODAL_NAV = "modal_nav"
BLOCK_SHARE = "share_to"
ACTION_SHARE_TO = "share_to_conversation"
MAX_MODAL_BLOCKS = 100
MAX_PRIVATE_METADATA = 3000  # Slack refuses a view with more
_COMPACT = re.compile(r"(?s)list:([1-9]\d{0,5}):(.*)|detail:(-?\d{1,18})")
_KEPT = (act.ACTION_PAGE, act.ACTION_DETAIL, act.ACTION_RELATED)


@dataclass(frozen=True, slots=True)
class ShareTarget:
    """What "Share" posts: a page of a list, or one release; kept in the view's metadata.

    As `list:<page>:<query text>` or `detail:<id>`, the query text as it is: in JSON its quotes
    and backslashes took two characters each, and a form within its own field limits made
    3,226 characters of metadata, which Slack refuses. Views opened before still carry JSON,
    which is read as well.
    """

    kind: Literal["list", "detail"]
    query_text: str = ""
    page: int = 1
    release_id: int | None = None

    def to_metadata(self) -> str | None:
        """The view's private_metadata; None when it would not fit Slack's 3000 characters."""
        if self.kind == "detail":
            return f"detail:{int(self.release_id or 0)}"
        text = f"list:{max(1, self.page)}:{self.query_text}"
        return text if len(text) <= MAX_PRIVATE_METADATA else None

    @classmethod
    def from_metadata(cls, text: object) -> ShareTarget | None:
        if isinstance(text, str) and len(text) <= MAX_PRIVATE_METADATA:
            compact = _COMPACT.fullmatch(text)
            if compact is not None and compact.group(3) is not None:
                return cls("detail", release_id=int(compact.group(3)))
            if compact is not None:
                return cls("list", query_text=compact.group(2), page=int(compact.group(1)))
        try:
            data = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        page, release_id, query = data.get("p"), data.get("id"), data.get("q")
        if data.get("k") == "detail" and isinstance(release_id, int):
            return cls("detail", release_id=release_id)
        if data.get("k") == "list" and isinstance(query, str) and isinstance(page, int):
            return cls("list", query_text=query, page=max(1, page))
        return None


def modal_action_id(action_id: str) -> str:
    return MODAL_ACTION_PREFIX + action_id


def message_action_id(action_id: str) -> str:
    """The message's own action id behind a modal one."""
    return action_id.removeprefix(MODAL_ACTION_PREFIX)


def _kept(element: dict[str, Any]) -> bool:
    if element.get("type") != "button":
        return False
    if isinstance(element.get("url"), str):
        return True  # a link (to App Home) works in a modal as it is
    base = act.base_action_id(str(element.get("action_id", "")))
    if base not in _KEPT:
        return False
    element["action_id"] = modal_action_id(str(element["action_id"]))
    return True


def modal_blocks(message: Message) -> list[dict[str, Any]]:
    """The message's blocks with paging and details buttons renamed and the rest dropped."""
    out: list[dict[str, Any]] = []
    for original in message.blocks:
        block = copy.deepcopy(dict(original))
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and not _kept(accessory):
            del block["accessory"]
        if block.get("type") == "actions":
            block["elements"] = [e for e in block.get("elements") or [] if _kept(e)]
            if not block["elements"]:
                continue
        out.append(block)
    return out


def render_results_view(
    message: Message, *, share: ShareTarget | None, prefill: str = ""
) -> dict[str, Any]:
    """The modal showing `message`; with `share`, a picker and a Share button to post it."""
    blocks = modal_blocks(message)
    blocks.append(
        parts.actions(
            BLOCK_MODAL_NAV,
            [
                parts.button(
                    "New search", ACTION_NEW_SEARCH, act.encode_open_search(prefill)
                )
            ],
        )
    )
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": SEARCH_RESULTS_CALLBACK,
        "title": {"type": "plain_text", "text": "Releases"},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": blocks,
    }
    metadata = share.to_metadata() if share is not None else None
    if share is not None and metadata is None:
        log.warning("a search too long to share (%d characters): no Share button",
                    len(share.query_text))
    if metadata is not None:
        view["private_metadata"] = metadata
        view["submit"] = {"type": "plain_text", "text": "Share"}
        blocks.append(
            {
                "type": "input",
                "block_id": BLOCK_SHARE,
                "label": {"type": "plain_text", "text": "Share in channel"},
                "hint": {
                    "type": "plain_text",
                    "text": "Posts what you see here for everyone in that conversation.",
                },
                "element": {
                    "type": "conversations_select",
                    "action_id": ACTION_SHARE_TO,
                    "placeholder": {"type": "plain_text", "text": "Pick a channel"},
                    "default_to_current_conversation": True,
                    "response_url_enabled": True,
                },
            }
        )
    view["blocks"] = blocks[:MAX_MODAL_BLOCKS]
    return view


def render_loading_view(what: str) -> dict[str, Any]:
    """Shown at once on submit, while the answer is looked up (`what` is foreign text)."""
    return {
        "type": "modal",
        "callback_id": SEARCH_RESULTS_CALLBACK,
        "title": {"type": "plain_text", "text": "Releases"},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": [
            parts.section(f":hourglass_flowing_sand: Searching: {escape_truncated(what, 500)}…")
        ],
    }


def render_busy_view(text: str) -> dict[str, Any]:
    """Shown instead of "Searching…" when the bot has no room for the search (`text` is ours)."""
    return {
        "type": "modal",
        "callback_id": SEARCH_RESULTS_CALLBACK,
        "title": {"type": "plain_text", "text": "Releases"},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": [parts.section(text)],
    }
