"""The detail view: one release with its dates, description and links to related releases.

Related releases (previous, hotfix parent, hotfixes) are buttons rather than text, because a
click answers with that release's details: the reader walks the release chain without typing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.app.finder import DetailResult
from bot.metakraftwerk.models import Release
from bot.mrkdwn import escape_truncated
from bot.render import actions as act
from bot.render import parts
from bot.render.block_limits import cut_mrkdwn, fit_blocks, fit_text
from bot.render.message import Message

DESCRIPTION_LIMIT = 2800  # a section holds 3000; leaves room for the heading
HOTFIX_BUTTONS = 5  # more hotfixes are named in a "+N more" note instead


def _date_field(title: str, value: datetime | None, now: datetime) -> str:
    if value is None:
        return f"*{title}*\nnot set"
    return f"*{title}*\n{parts.date_token(value)} ({parts.relative_text(value, now)})"


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
) -> Message:
    """One release in full; `shared_by` renders the in-channel copy "Share in channel" posts.

    `following` (whether the reader follows the release) puts an Unfollow or a Follow button on
    the card; None (unknown, or the shared copy) puts neither.
    """
    release = result.release
    ids = act.ActionIds()
    name = parts.name_label(release.name, 140)
    group = parts.group_label(release.group_id, result.group_names)

    blocks: list[dict[str, Any]] = [parts.header(f"{parts.status_emoji(release, now)} {name}")]
    stale = parts.stale_block(result.freshness, now)
    if stale:
        blocks.append(stale)

    fields = [
        f"*Status*\n{parts.status_word(release, now)}",
        f"*Group*\n{group}",
        _date_field("Start", release.start_date, now),
        _date_field("End", release.end_date, now),
    ]
    for field in (
        _link_field("Hotfix of", release.hotfix_of_id, result.hotfix_parent),
        _link_field(
            "Previous release",
            None if release.prev_release_id == release.hotfix_of_id else release.prev_release_id,
            result.previous,
        ),
    ):
        if field:
            fields.append(field)
    if result.hotfixes:
        fields.append(f"*Hotfixes*\n{len(result.hotfixes)}")
    blocks.append(parts.fields_section(fields))

    description = (release.description or "").strip()
    blocks.append(
        parts.section(
            "*Description*\n"
            + (escape_truncated(description, DESCRIPTION_LIMIT) if description else "_None._")
        )
    )

    buttons: list[dict[str, Any]] = []
    if release.prev_release_id is not None and release.prev_release_id != release.hotfix_of_id:
        label = _ref_label(release.prev_release_id, result.previous)
        buttons.append(
            parts.button(
                f"← Previous: {label}",
                ids(act.ACTION_RELATED, "prev"),
                act.encode_release_ref(release.prev_release_id),
            )
        )
    if release.hotfix_of_id is not None:
        label = _ref_label(release.hotfix_of_id, result.hotfix_parent)
        buttons.append(
            parts.button(
                f"Hotfix of: {label}",
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

    notes = [f"Release #{release.id}"]
    more = result.hotfixes[HOTFIX_BUTTONS:]
    if more:
        names = cut_mrkdwn(", ".join(parts.name_label(h.name, 40) for h in more), 400)
        notes.append(f"+{len(more)} more hotfixes: {names}")
    notes.append(parts.freshness_text(result.freshness, now))
    notes.append(parts.shared_by_text(shared_by))
    blocks.append(parts.context(*notes))

    if shared_by is None:
        share = act.encode_share(act.ShareRequest("detail", release_id=release.id))
        if share is not None:
            buttons.append(parts.button("Share in channel", ids(act.ACTION_SHARE), share))
    if following is not None and shared_by is None and not release.deleted:
        base, label = (
            (act.ACTION_UNFOLLOW, "Unfollow") if following else (act.ACTION_FOLLOW, "Follow")
        )
        buttons.append(parts.button(label, ids(base), act.encode_release_ref(release.id)))
    if buttons:
        blocks.append(parts.actions(act.BLOCK_DETAIL_LINKS, buttons))

    return Message(
        text=fit_text(_fallback(release, group, now)),
        blocks=fit_blocks(blocks),
        meta={"view": "detail", "release_id": release.id},
    )


def _ref_label(release_id: int, release: Release | None) -> str:
    return parts.name_label(release.name, 50) if release is not None else f"#{release_id}"


def _fallback(release: Release, group: str, now: datetime) -> str:
    start = parts.date_fallback(release.start_date) if release.start_date else "no start date"
    end = parts.date_fallback(release.end_date) if release.end_date else "no end date"
    return (
        f"Release {parts.name_label(release.name)} ({group}): "
        f"{parts.status_word(release, now).lower()}, {start} → {end}"
    )
