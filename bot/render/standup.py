"""The standup view (and the scheduled digest): open releases grouped by what needs attention.

Which release falls in which group, and what the standup reads, are the use case's rules
(bot/app/standup.py); this module draws the groups, each with its lines and Details buttons.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from babel.dates import format_date

from bot.app.finder import FindResult
from bot.app.standup import ENDING_WITHIN_DAYS, StandupGroups, standup_groups
from bot.i18n import ENGLISH, Texts
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


_LAST_DAYS = re.compile(r"in the last ([0-9]+) days?")


def since_label(groups: StandupGroups, t: Texts = ENGLISH) -> str:
    """`since Friday`, `seit Freitag`: the use case's English label in the reader's words."""
    label = groups.closed_since_label
    if t.english:
        return label
    last = _LAST_DAYS.fullmatch(label)
    if last is not None:
        days = int(last.group(1))
        return t.ngettext("in the last {count} day", "in the last {count} days", days)
    if label == "today":
        return t._("today")
    if label == "since yesterday":
        return t._("since yesterday")
    day = format_date(groups.closed_since, "EEEE", locale=t.locale)
    return t._("since {day}", day=day)


def sections(
    groups: StandupGroups, t: Texts = ENGLISH
) -> list[tuple[str, str, str, tuple[Release, ...]]]:
    """(key, emoji, title, releases) in display order, empty groups included."""
    return [
        ("overdue", ":red_circle:", t._("Overdue"), groups.overdue),
        (
            "ending_soon",
            ":hourglass:",
            t._("Ending within {days} days", days=ENDING_WITHIN_DAYS),
            groups.ending_soon,
        ),
        ("started_this_week", ":rocket:", t._("Started this week"), groups.started_this_week),
        ("running", parts.EMOJI_OPEN, t._("Running"), groups.running),
        ("upcoming", parts.EMOJI_NOT_STARTED, t._("Not started yet"), groups.upcoming),
        (
            "closed_recently",
            ":lock:",
            t._("Closed {since}", since=since_label(groups, t)),
            groups.closed_recently,
        ),
    ]


def _when(
    key: str, release: Release, now: datetime, closed_at: datetime | None, t: Texts
) -> str:
    start, end = release.start_date, release.end_date
    fmt = parts.DATE_ONLY

    def day(value: datetime) -> str:
        return parts.date_token(value, fmt, t)

    if key == "closed_recently" and closed_at is not None:
        return t._("closed {date}", date=day(closed_at))
    if key == "overdue" and end is not None:
        return t._("ended {date} ({relative})", date=day(end),
                   relative=parts.relative_text(end, now, t))
    if key == "ending_soon" and end is not None:
        return t._("ends {date} ({relative})", date=day(end),
                   relative=parts.relative_text(end, now, t))
    if key == "started_this_week" and start is not None:
        ends = t._("ends {date}", date=day(end)) if end else t._("no end date")
        return t._("started {date}, {ends}", date=day(start), ends=ends)
    if key == "upcoming" and start is not None:
        return t._("starts {date}", date=day(start))
    if key == "closed_recently" and end is not None:
        return t._("ended {date}", date=day(end))
    return parts.date_range(release, fmt, t)


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
    t: Texts = ENGLISH,
) -> str:
    """`• *R59* #158 · DWH_GROUP · ends Jan 9 (in 2 days) · hotfix of R58`."""
    items = [f"{parts.release_name(release, link)} #{release.id}"]
    if show_group:
        items.append(parts.group_label(release.group_id, group_names, t))
    items.append(_when(key, release, now, closed_at, t))
    overdue = t._("overdue")
    items.extend(h for h in parts.hints(release, known, now, t) if h != overdue)
    return "• " + " · ".join(items)


def _group_section(
    title: str, lines: list[str], budget: int, t: Texts = ENGLISH
) -> tuple[str, int]:
    """A group's section within `budget` chars, with `…and N more` for what did not fit."""
    text = f"*{title}* ({len(lines)})"
    shown = 0
    limit = min(SECTION_BUDGET, budget)
    for line in lines:
        rest = len(lines) - shown - 1
        reserve = len("\n" + t._("…and {count} more", count=len(lines))) if rest else 0
        if len(text) + 1 + len(line) + reserve > limit:
            break
        text += "\n" + line
        shown += 1
    if shown < len(lines):
        if shown == 0:  # not even one line fits: show a cut first line rather than none
            text += "\n" + cut_mrkdwn(lines[0], max(40, limit - len(text) - 40))
            shown = 1
        if shown < len(lines):
            text += "\n" + t._("…and {count} more", count=len(lines) - shown)
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
    t: Texts = ENGLISH,
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
    ordered = sections(groups, t)
    shown_groups = {r.group_id for *_, rs in ordered for r in rs}
    # Names that several shown releases share (every group's "Default Release"): their
    # Details buttons add the id, so five buttons do not read the same.
    seen_names = Counter(r.name.casefold() for *_, rs in ordered for r in rs)
    repeated = {name for name, count in seen_names.items() if count > 1}
    show_group = len(shown_groups) > 1 or not (query.groups or query.group_ids)
    base_title = list_title(query, result.group_names, t).partition(" · ")[2]
    heading = (
        escape_truncated(title, 140)
        if title
        else (t._("Standup") + (f" · {base_title}" if base_title else ""))
    )

    blocks: list[dict[str, Any]] = [parts.header(heading)]
    stale = parts.stale_block(result.freshness, now, t)
    if stale:
        blocks.append(stale)

    summary: list[str] = []
    since = since_label(groups, t)
    if groups.is_empty():
        blocks.append(parts.section(t._(
            "Nothing to report: no open releases, and none closed {since}.", since=since
        )))
    budget = LINES_BUDGET
    ids = act.ActionIds()
    for key, emoji, group_title, releases in ordered:
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
                t=t,
            )
            for release in releases
        ]
        text, _ = _group_section(f"{emoji} {group_title}", lines, max(400, budget), t)
        budget -= len(text)
        blocks.append(parts.section(text))
        details = [
            parts.button(
                _details_label(r, repeated, t),
                ids(act.ACTION_DETAIL, r.id),
                act.encode_release_ref(r.id),
            )
            for r in releases[:DETAILS_PER_GROUP]
        ]
        if share and shared_by is None:  # channel copies (digests, shared) stay button-free
            blocks.append(parts.actions(f"{act.BLOCK_STANDUP_DETAILS}:{key}", details))
        first = group_title[0].lower() if t.english else group_title[0]  # German nouns keep
        summary.append(f"{len(releases)} {first}{group_title[1:]}")  # their capital letter

    notes = [
        t._("Filters: {filters}", filters=describe_filters(query, t)),
        t.ngettext("{count} open release", "{count} open releases", groups.open_count),
        parts.freshness_text(result.freshness, now, t),
        parts.shared_by_text(shared_by, t),
    ]
    blocks.append(parts.context(*notes))
    if share and shared_by is None:
        value = act.encode_share(act.ShareRequest("standup", query_text=query_text(query)))
        if value is not None:
            blocks.append(
                parts.actions(
                    act.BLOCK_STANDUP_ACTIONS,
                    [parts.button(t._("Share in channel"), ids(act.ACTION_SHARE), value)],
                )
            )

    fallback = (
        heading
        + ": "
        + (", ".join(summary) if summary else t._("nothing to report {since}", since=since))
    )
    return Message(
        text=fit_text(fallback),
        blocks=fit_blocks(blocks),
        meta={"view": "standup", "open": groups.open_count, "closed": len(groups.closed_recently)},
    )


def _details_label(release: Release, repeated: set[str], t: Texts) -> str:
    """`Details R59`; `Details Default Release #1` when another shown release has that name."""
    label = t._("Details {name}", name=parts.name_label(release.name, 40))
    return f"{label} #{release.id}" if release.name.casefold() in repeated else label
