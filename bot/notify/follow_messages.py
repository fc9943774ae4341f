"""The direct message a follower gets: what changed, where the release stands, an Unfollow.

Pure, like `messages`: foreign text is escaped there and here, and every message stays within
Block Kit's limits. Unlike a channel, a direct message carries no thread: each change is a
message of its own that says everything, since a follower reads them one at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.i18n import ENGLISH, Texts
from bot.notify.changes import ChangeEvent
from bot.notify.follow_routing import HOTFIX
from bot.notify.messages import change_line, state_line
from bot.render import actions as act
from bot.render import parts
from bot.render.block_limits import MAX_SECTION_TEXT, cut_mrkdwn, fit_blocks, fit_text
from bot.render.message import Message

BLOCK_FOLLOW_ACTIONS = "follow_actions"


def render_followed(
    kind: str,
    payload: Mapping[str, Any],
    *,
    now: datetime,
    changed_at: datetime | None = None,
    t: Texts = ENGLISH,
) -> Message:
    """The message for one outbox row of a follow; ValueError when the payload is unreadable."""
    event = ChangeEvent.from_payload(payload)
    group = payload.get("group_name")
    group_name = group if isinstance(group, str) else None
    followed_id, followed_name = event.release.id, event.release.name
    if kind == HOTFIX:
        followed = payload.get("followed")
        if not isinstance(followed, Mapping) or not isinstance(followed.get("id"), int):
            raise ValueError("a hotfix message needs the followed release")
        followed_id = int(followed["id"])
        name = followed.get("name")
        followed_name = name if isinstance(name, str) else f"#{followed_id}"
        label = parts.bold(parts.name_label(followed_name, 80))
        head = f"{parts.EMOJI_HOTFIX} " + t._(
            "New hotfix of {followed}: {release} (#{id})", followed=label,
            release=parts.bold(parts.name_label(event.release.name, 80)), id=event.release.id,
        )
        fallback = t._(
            "New hotfix of {followed}: {release}",
            followed=parts.name_label(followed_name, 80),
            release=parts.name_label(event.release.name, 80),
        )
    elif kind == event.kind:
        head, fallback = change_line(event, t=t), change_line(event, rich=False, t=t)
    else:
        raise ValueError(f"outbox kind {kind!r} does not match its change {event.kind!r}")
    state = state_line(event.release, group_name, now, t=t)
    body = cut_mrkdwn(f"{head}\n{state}", MAX_SECTION_TEXT)
    when = parts.date_token(changed_at or now, parts.DATE_AND_TIME, t)
    blocks: list[dict[str, Any]] = [parts.section(body)]
    if event.kind == "deleted" and kind != HOTFIX:
        note = t._("Release #{id} · {when} · it was deleted, so you no longer follow it.",
                   id=followed_id, when=when)
        blocks.append(parts.context(note))
    else:
        note = t._(
            "You follow release #{id} · {when} · `/releases unfollow {id}` stops these messages.",
            id=followed_id, when=when,
        )
        blocks.append(parts.context(note))
        unfollow = parts.button(
            t._("Unfollow"), act.ACTION_UNFOLLOW, act.encode_release_ref(followed_id)
        )
        blocks.append(parts.actions(BLOCK_FOLLOW_ACTIONS, [unfollow]))
    return Message(
        text=fit_text(fallback),
        blocks=fit_blocks(blocks),
        meta={"view": "follow", "kind": kind, "release_id": followed_id},
    )
