"""`/releases groups`: every release group with its id and how many releases are open."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

from bot.app.finder import Freshness
from bot.metakraftwerk.models import Release
from bot.render import parts
from bot.render.block_limits import MAX_SECTION_TEXT, cut_mrkdwn, fit_blocks, fit_text
from bot.render.message import Message


def render_groups(
    group_names: Mapping[int, str],
    releases: Iterable[Release],
    now: datetime,
    freshness: Freshness | None = None,
) -> Message:
    """One line a group, by name: `*DWH_GROUP* #1 · 6 open · 4 closed` (deleted not counted)."""
    opened: Counter[int | None] = Counter()
    closed: Counter[int | None] = Counter()
    for release in releases:
        if not release.deleted:
            (closed if release.closed else opened)[release.group_id] += 1
    ordered = sorted(group_names.items(), key=lambda item: (item[1].casefold(), item[0]))
    lines = [
        f"{parts.bold(parts.name_label(name, parts.GROUP_LIMIT))} #{group_id} · "
        f"{opened[group_id]} open · {closed[group_id]} closed"
        for group_id, name in ordered
    ]
    blocks = [parts.header(f"Release groups · {len(lines)}")]
    stale = parts.stale_block(freshness, now)
    if stale:
        blocks.append(stale)
    body = "\n".join(lines) if lines else "MetaKraftwerk lists no release groups."
    blocks.append(parts.section(cut_mrkdwn(body, MAX_SECTION_TEXT - 100)))
    blocks.append(
        parts.context(
            "`/releases group:NAME` lists a group's releases",
            parts.freshness_text(freshness, now),
        )
    )
    fallback = "Release groups: " + ", ".join(name for _, name in ordered)
    return Message(text=fit_text(fallback), blocks=fit_blocks(blocks), meta={"view": "groups"})
