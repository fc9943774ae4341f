"""The detail view: one release with its dates, description and links to related releases.

Related releases (previous, hotfix parent, hotfixes) are buttons rather than text, because a
click answers with that release's details: the reader walks the release chain without typing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.app.finder import DetailResult
from bot.i18n import ENGLISH, Texts
from bot.metakraftwerk.models import Release
from bot.mrkdwn import escape_truncated
from bot.render import actions as act
from bot.render import parts
from bot.render.block_limits import cut_mrkdwn, fit_blocks, fit_text
from bot.render.message import Message

DESCRIPTION_LIMIT = 2800  # a section holds 3000; leaves room for the heading
HOTFIX_BUTTONS = 5  # more hotfixes are named in a "+N more" note instead


def _date_field(title: str, value: datetime | None, now: datetime, t: Texts) -> str:
    if value is None:
        return f"*{title}*\n" + t._("not set")
    token = parts.date_token(value, t=t)
    return f"*{title}*\n{token} ({parts.relative_text(value, now, t)})"


def _link_field(title: str, release_id: int | None, release: Release | None) -> str | None:
    if release_id is None:
        return None
    if release is None:
        return f"*{title}*\n#{release_id}"
    return f"*{title}*\n{parts.name_label(release.name)} (#{release_id})"


def render_detail(
    result: DetailResult,
    now: datetime,
    *,
    shared_by: str | None = None,
    following: bool | None = None,
    t: Texts = ENGLISH,
) -> Message:
    """One release in full; `shared_by` renders the in-channel copy "Share in channel" posts.

    `following` (whether the reader follows the release) puts an Unfollow or a Follow button on
    the card; None (unknown, or the shared copy) puts neither.
    """
    release = result.release
    ids = act.ActionIds()
    name = parts.name_label(release.name, 140)
    group = parts.group_label(release.group_id, result.group_names, t)

    blocks: list[dict[str, Any]] = [parts.header(f"{parts.status_emoji(release, now)} {name}")]
    stale = parts.stale_block(result.freshness, now, t)
    if stale:
        blocks.append(stale)

    fields = [
        "*" + t._("Status") + f"*\n{parts.status_word(release, now, t)}",
        "*" + t._("Group") + f"*\n{group}",
        _date_field(t._("Start"), release.start_date, now, t),
        _date_field(t._("End"), release.end_date, now, t),
    ]
    for field in (
        _link_field(t._("Hotfix of"), release.hotfix_of_id, result.hotfix_parent),
        _link_field(
            t._("Previous release"),
            None if release.prev_release_id == release.hotfix_of_id else release.prev_release_id,
            result.previous,
        ),
    ):
        if field:
            fields.append(field)
    if result.hotfixes:
        fields.append("*" + t._("Hotfixes") + f"*\n{len(result.hotfixes)}")
    blocks.append(parts.fields_section(fields))

    description = (release.description or "").strip()
    blocks.append(
        parts.section(
            "*" + t._("Description") + "*\n"
            + (escape_truncated(description, DESCRIPTION_LIMIT) if description else t._("_None._"))
        )
    )

    buttons: list[dict[str, Any]] = []
    if release.prev_release_id is not None and release.prev_release_id != release.hotfix_of_id:
        label = _ref_label(release.prev_release_id, result.previous)
        buttons.append(
            parts.button(
                "← " + t._("Previous: {release}", release=label),
                ids(act.ACTION_RELATED, "prev"),
                act.encode_release_ref(release.prev_release_id),
            )
        )
    if release.hotfix_of_id is not None:
        label = _ref_label(release.hotfix_of_id, result.hotfix_parent)
        buttons.append(
            parts.button(
                t._("Hotfix of: {release}", release=label),
                ids(act.ACTION_RELATED, "parent"),
                act.encode_release_ref(release.hotfix_of_id),
            )
        )
    for hotfix in result.hotfixes[:HOTFIX_BUTTONS]:
        buttons.append(
            parts.button(
                f"{parts.EMOJI_HOTFIX} {parts.name_label(hotfix.name, 60)}",
                ids(act.ACTION_RELATED, "hotfix", hotfix.id),
                act.encode_release_ref(hotfix.id),
            )
        )

    notes = [t._("Release #{id}", id=release.id)]
    more = result.hotfixes[HOTFIX_BUTTONS:]
    if more:
        names = cut_mrkdwn(", ".join(parts.name_label(h.name, 40) for h in more), 400)
        notes.append(t._("+{count} more hotfixes: {names}", count=len(more), names=names))
    notes.append(parts.freshness_text(result.freshness, now, t))
    notes.append(parts.shared_by_text(shared_by, t))
    blocks.append(parts.context(*notes))

    if shared_by is None:
        share = act.encode_share(act.ShareRequest("detail", release_id=release.id))
        if share is not None:
            buttons.append(parts.button(t._("Share in channel"), ids(act.ACTION_SHARE), share))
    if following is not None and shared_by is None and not release.deleted:
        base, label = (
            (act.ACTION_UNFOLLOW, t._("Unfollow")) if following
            else (act.ACTION_FOLLOW, t._("Follow"))
        )
        buttons.append(parts.button(label, ids(base), act.encode_release_ref(release.id)))
    if buttons:
        blocks.append(parts.actions(act.BLOCK_DETAIL_LINKS, buttons))

    return Message(
        text=fit_text(_fallback(release, group, now, t)),
        blocks=fit_blocks(blocks),
        meta={"view": "detail", "release_id": release.id},
    )


def _ref_label(release_id: int, release: Release | None) -> str:
    return parts.name_label(release.name, 50) if release is not None else f"#{release_id}"


def _fallback(release: Release, group: str, now: datetime, t: Texts) -> str:
    start = (
        parts.date_fallback(release.start_date, t) if release.start_date else t._("no start date")
    )
    end = parts.date_fallback(release.end_date, t) if release.end_date else t._("no end date")
    status = parts.status_word(release, now, t)
    return t._(
        "Release {name} ({group}): {status}, {start} → {end}",
        name=parts.name_label(release.name), group=group,
        status=status.lower() if t.english else status, start=start, end=end,
    )
