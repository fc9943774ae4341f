"""`/releases groups`: every release group with its id and how many releases are open."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

from bot.app.finder import Freshness
from bot.i18n import ENGLISH, Texts
from bot.metakraftwerk.models import Release
from bot.render import parts
from bot.render.block_limits import MAX_SECTION_TEXT, cut_mrkdwn, fit_blocks, fit_text
from bot.render.message import Message


def render_groups(
    group_names: Mapping[int, str],
    releases: Iterable[Release],
    now: datetime,
    freshness: Freshness | None = None,
    t: Texts = ENGLISH,
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
        + t._("{open} open · {closed} closed", open=opened[group_id], closed=closed[group_id])
        for group_id, name in ordered
    ]
    heading = t._("Release groups")
    blocks = [parts.header(f"{heading} · {len(lines)}")]
    stale = parts.stale_block(freshness, now, t)
    if stale:
        blocks.append(stale)
    body = "\n".join(lines) if lines else t._("MetaKraftwerk lists no release groups.")
    blocks.append(parts.section(cut_mrkdwn(body, MAX_SECTION_TEXT - 100)))
    blocks.append(
        parts.context(
            t._("`/releases group:NAME` lists a group's releases"),
            parts.freshness_text(freshness, now, t),
        )
    )
    fallback = f"{heading}: " + ", ".join(name for _, name in ordered)
    return Message(text=fit_text(fallback), blocks=fit_blocks(blocks), meta={"view": "groups"})
