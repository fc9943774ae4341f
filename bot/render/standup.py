"""The standup view (and the scheduled digest): open releases grouped by what needs attention.

Which release falls in which group, and what the standup reads, are the use case's rules
(bot/app/standup.py); this module draws the groups, each with its lines and Details buttons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from bot.app.finder import FindResult
from bot.app.standup import ENDING_WITHIN_DAYS, StandupGroups, standup_groups
from bot.metakraftwerk.models import Release
from bot.mrkdwn import escape_truncated
from bot.render import actions as act
from bot.render import parts
from bot.render.block_limits import MAX_SECTION_TEXT, cut_mrkdwn, fit_blocks, fit_text
from bot.render.listing import describe_filters, list_title, query_text
from bot.render.message import Message

DETAILS_PER_GROUP = 10  # Details buttons under a group (the lines may list more)
SECTION_BUDGET = MAX_SECTION_TEXT - 100
LINES_BUDGET = 7500  # all group sections together


def sections(groups: StandupGroups) -> list[tuple[str, str, str, tuple[Release, ...]]]:
    """(key, emoji, title, releases) in display order, empty groups included."""
    return [
        ("overdue", ":red_circle:", "Overdue", groups.overdue),
        (
            "ending_soon",
            ":hourglass:",
            f"Ending within {ENDING_WITHIN_DAYS} days",
            groups.ending_soon,
        ),
        ("started_this_week", ":rocket:", "Started this week", groups.started_this_week),
        ("running", parts.EMOJI_OPEN, "Running", groups.running),
        ("upcoming", parts.EMOJI_NOT_STARTED, "Not started yet", groups.upcoming),
        (
            "closed_recently",
            ":lock:",
            f"Closed {groups.closed_since_label}",
            groups.closed_recently,
        ),
    ]


def _when(key: str, release: Release, now: datetime, closed_at: datetime | None = None) -> str:
    start, end = release.start_date, release.end_date
    fmt = parts.DATE_ONLY
    if key == "closed_recently" and closed_at is not None:
        return f"closed {parts.date_token(closed_at, fmt)}"
    if key == "overdue" and end is not None:
        return f"ended {parts.date_token(end, fmt)} ({parts.relative_text(end, now)})"
    if key == "ending_soon" and end is not None:
        return f"ends {parts.date_token(end, fmt)} ({parts.relative_text(end, now)})"
    if key == "started_this_week" and start is not None:
        ends = f"ends {parts.date_token(end, fmt)}" if end else "no end date"
        return f"started {parts.date_token(start, fmt)}, {ends}"
    if key == "upcoming" and start is not None:
        return f"starts {parts.date_token(start, fmt)}"
    if key == "closed_recently" and end is not None:
        return f"ended {parts.date_token(end, fmt)}"
    return parts.date_range(release, fmt)


def standup_line(
    key: str,
    release: Release,
    *,
    group_names: Mapping[int, str],
    known: Mapping[int, Release],
    now: datetime,
    show_group: bool,
    link: str | None = None,
    closed_at: datetime | None = None,
) -> str:
    """`• *R59* #158 · DWH_GROUP · ends Jan 9 (in 2 days) · hotfix of R58`."""
    items = [f"{parts.release_name(release, link)} #{release.id}"]
    if show_group:
        items.append(parts.group_label(release.group_id, group_names))
    items.append(_when(key, release, now, closed_at))
    items.extend(h for h in parts.hints(release, known, now) if h != "overdue")
    return "• " + " · ".join(items)


def _group_section(title: str, lines: list[str], budget: int) -> tuple[str, int]:
    """A group's section within `budget` chars, with `…and N more` for what did not fit."""
    text = f"*{title}* ({len(lines)})"
    shown = 0
    limit = min(SECTION_BUDGET, budget)
    for line in lines:
        rest = len(lines) - shown - 1
        reserve = len(f"\n…and {len(lines)} more") if rest else 0
        if len(text) + 1 + len(line) + reserve > limit:
            break
        text += "\n" + line
        shown += 1
    if shown < len(lines):
        if shown == 0:  # not even one line fits: show a cut first line rather than none
            text += "\n" + cut_mrkdwn(lines[0], max(40, limit - len(text) - 40))
            shown = 1
        if shown < len(lines):
            text += f"\n…and {len(lines) - shown} more"
    return text, shown


def render_standup(
    result: FindResult,
    now: datetime,
    closed_since_days: int | None = None,
    *,
    title: str | None = None,
    tz: tzinfo | None = None,
    share: bool = True,
    shared_by: str | None = None,
    link: str | None = None,
    closed_at: Mapping[int, datetime] | None = None,
) -> Message:
    """The standup view of `result` (pass open and closed releases for the closed section).

    `closed_at`: when the worker's snapshots saw releases close (see the module's docstring).

    `title` replaces the default `Standup · <groups>` header (e.g. `Digest · DWH_GROUP`);
    `share=False` leaves out the "Share in channel" button (digests are already in a channel);
    `shared_by` renders the in-channel copy that button posts.
    """
    query = result.query
    closed_at = closed_at or {}
    groups = standup_groups(
        result.releases, now, tz=tz, closed_since_days=closed_since_days, closed_at=closed_at
    )
    known = result.known()
    shown_groups = {r.group_id for *_, rs in sections(groups) for r in rs}
    # Names that several shown releases share (every group's "Default Release"): their
    # Details buttons add the id, so five buttons do not read the same.
    seen_names = Counter(r.name.casefold() for *_, rs in sections(groups) for r in rs)
    repeated = {name for name, count in seen_names.items() if count > 1}
    show_group = len(shown_groups) > 1 or not (query.groups or query.group_ids)
    base_title = list_title(query, result.group_names).partition(" · ")[2]
    heading = (
        escape_truncated(title, 140)
        if title
        else ("Standup" + (f" · {base_title}" if base_title else ""))
    )

    blocks: list[dict[str, Any]] = [parts.header(heading)]
    stale = parts.stale_block(result.freshness, now)
    if stale:
        blocks.append(stale)

    summary: list[str] = []
    if groups.is_empty():
        blocks.append(
            parts.section(
                f"Nothing to report: no open releases, and none closed {groups.closed_since_label}."
            )
        )
    budget = LINES_BUDGET
    ids = act.ActionIds()
    for key, emoji, group_title, releases in sections(groups):
        if not releases:
            continue
        lines = [
            standup_line(
                key,
                release,
                group_names=result.group_names,
                known=known,
                now=now,
                show_group=show_group,
                link=link,
                closed_at=closed_at.get(release.id),
            )
            for release in releases
        ]
        text, _ = _group_section(f"{emoji} {group_title}", lines, max(400, budget))
        budget -= len(text)
        blocks.append(parts.section(text))
        details = [
            parts.button(
                _details_label(r, repeated),
                ids(act.ACTION_DETAIL, r.id),
                act.encode_release_ref(r.id),
            )
            for r in releases[:DETAILS_PER_GROUP]
        ]
        if share and shared_by is None:  # channel copies (digests, shared) stay button-free
            blocks.append(parts.actions(f"{act.BLOCK_STANDUP_DETAILS}:{key}", details))
        summary.append(f"{len(releases)} {group_title[0].lower()}{group_title[1:]}")

    notes = [
        f"Filters: {describe_filters(query)}",
        parts.plural(groups.open_count, "open release"),
        parts.freshness_text(result.freshness, now),
        parts.shared_by_text(shared_by),
    ]
    blocks.append(parts.context(*notes))
    if share and shared_by is None:
        value = act.encode_share(act.ShareRequest("standup", query_text=query_text(query)))
        if value is not None:
            blocks.append(
                parts.actions(
                    act.BLOCK_STANDUP_ACTIONS,
                    [parts.button("Share in channel", ids(act.ACTION_SHARE), value)],
                )
            )

    fallback = (
        heading
        + ": "
        + (", ".join(summary) if summary else f"nothing to report {groups.closed_since_label}")
    )
    return Message(
        text=fit_text(fallback),
        blocks=fit_blocks(blocks),
        meta={"view": "standup", "open": groups.open_count, "closed": len(groups.closed_recently)},
    )


def _details_label(release: Release, repeated: set[str]) -> str:
    """`Details R59`; `Details Default Release #1` when another shown release has that name."""
    label = f"Details {parts.name_label(release.name, 40)}"
    return f"{label} #{release.id}" if release.name.casefold() in repeated else label
