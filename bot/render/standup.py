"""The standup view (and the scheduled digest): open releases grouped by what needs attention.

Groups, in order, each release in the first that fits: overdue (end passed, still open),
ending within 7 days, started this week, running, not started yet; then closed releases.

The API has no "closed at" timestamp. Where the worker's snapshots saw a release close,
`closed_at` holds that time and "closed since the last working day" means closed between the
start of the last working day and now (on Monday that reaches back to Friday 00:00). Without it
(no worker running, or closed before the worker first looked) the END DATE stands in: a release
closed early then shows up once its end date arrives in the window. "This week" starts
on Monday 00:00 or at the start of the last working day, whichever is earlier, so on Monday
releases started over the weekend still count. Days are local days in `tz`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from bot.app.finder import FindResult
from bot.metakraftwerk.models import Release
from bot.mrkdwn import escape_truncated
from bot.render import actions as act
from bot.render import parts
from bot.render.block_limits import MAX_SECTION_TEXT, cut_mrkdwn, fit_blocks, fit_text
from bot.render.listing import describe_filters, list_title, query_text
from bot.render.message import Message

ENDING_WITHIN_DAYS = 7
DETAILS_PER_GROUP = 10  # Details buttons under a group (the lines may list more)
SECTION_BUDGET = MAX_SECTION_TEXT - 100
LINES_BUDGET = 7500  # all group sections together
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StandupGroups:
    closed_since: datetime  # start of the window for `closed_recently`
    closed_since_label: str  # `since Friday`, `since yesterday`, `in the last 3 days`
    week_start: datetime
    overdue: tuple[Release, ...] = ()
    ending_soon: tuple[Release, ...] = ()
    started_this_week: tuple[Release, ...] = ()
    running: tuple[Release, ...] = ()
    upcoming: tuple[Release, ...] = ()
    closed_recently: tuple[Release, ...] = ()

    @property
    def open_count(self) -> int:
        return sum(
            len(g)
            for g in (
                self.overdue,
                self.ending_soon,
                self.started_this_week,
                self.running,
                self.upcoming,
            )
        )

    def is_empty(self) -> bool:
        return self.open_count == 0 and not self.closed_recently

    def titled(self) -> list[tuple[str, str, str, tuple[Release, ...]]]:
        """(key, emoji, title, releases) in display order, empty groups included."""
        return [
            ("overdue", ":red_circle:", "Overdue", self.overdue),
            (
                "ending_soon",
                ":hourglass:",
                f"Ending within {ENDING_WITHIN_DAYS} days",
                self.ending_soon,
            ),
            ("started_this_week", ":rocket:", "Started this week", self.started_this_week),
            ("running", parts.EMOJI_OPEN, "Running", self.running),
            ("upcoming", parts.EMOJI_NOT_STARTED, "Not started yet", self.upcoming),
            (
                "closed_recently",
                ":lock:",
                f"Closed {self.closed_since_label}",
                self.closed_recently,
            ),
        ]


def last_working_day(today: date) -> date:
    """The weekday before `today`: Monday (and the weekend) look back to Friday."""
    day = today - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _key(value: datetime | None) -> datetime:
    return parts.utc(value) if value is not None else _FAR_FUTURE


def standup_groups(
    releases: Iterable[Release],
    now: datetime,
    *,
    tz: tzinfo | None = None,
    closed_since_days: int | None = None,
    closed_at: Mapping[int, datetime] | None = None,
) -> StandupGroups:
    """Sort releases into the standup's groups as of `now` (local days in `tz`, default UTC).

    `closed_at`: when the snapshots saw releases close; others go by their end date.
    """
    seen_closing = closed_at or {}
    zone = tz or now.tzinfo or UTC
    now_utc = parts.utc(now)
    today = now_utc.astimezone(zone).date()
    if closed_since_days is None:
        since_day = last_working_day(today)
        label = (
            "since yesterday"
            if since_day == today - timedelta(days=1)
            else f"since {_DAY_NAMES[since_day.weekday()]}"
        )
    else:
        since_day = today - timedelta(days=max(0, closed_since_days))
        label = (
            "today"
            if closed_since_days <= 0
            else (f"in the last {parts.plural(closed_since_days, 'day')}")
        )
    closed_since = _midnight(since_day, zone)
    week_start = min(
        _midnight(today - timedelta(days=today.weekday()), zone),
        _midnight(last_working_day(today), zone),
    )
    soon = now_utc + timedelta(days=ENDING_WITHIN_DAYS)

    overdue: list[Release] = []
    ending: list[Release] = []
    started: list[Release] = []
    running: list[Release] = []
    upcoming: list[Release] = []
    closed: list[Release] = []
    for release in releases:
        start = parts.utc(release.start_date) if release.start_date else None
        end = parts.utc(release.end_date) if release.end_date else None
        if release.closed:
            when = seen_closing.get(release.id)
            when = parts.utc(when) if when is not None else end
            if when is not None and closed_since <= when <= now_utc:
                closed.append(release)
        elif end is not None and end < now_utc:
            overdue.append(release)
        elif end is not None and end <= soon:
            ending.append(release)
        elif start is not None and start > now_utc:
            upcoming.append(release)
        elif start is not None and start >= week_start:
            started.append(release)
        else:
            running.append(release)

    return StandupGroups(
        closed_since=closed_since,
        closed_since_label=label,
        week_start=week_start,
        overdue=tuple(sorted(overdue, key=lambda r: (_key(r.end_date), r.id))),
        ending_soon=tuple(sorted(ending, key=lambda r: (_key(r.end_date), r.id))),
        started_this_week=tuple(sorted(started, key=lambda r: (_key(r.start_date), r.id))),
        running=tuple(sorted(running, key=lambda r: (_key(r.end_date), r.id))),
        upcoming=tuple(sorted(upcoming, key=lambda r: (_key(r.start_date), r.id))),
        closed_recently=tuple(
            sorted(
                closed,
                key=lambda r: (_key(seen_closing.get(r.id) or r.end_date), r.id),
                reverse=True,
            )
        ),
    )


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
    shown_groups = {r.group_id for *_, rs in groups.titled() for r in rs}
    # Names that several shown releases share (every group's "Default Release"): their
    # Details buttons add the id, so five buttons do not read the same.
    seen_names = Counter(r.name.casefold() for *_, rs in groups.titled() for r in rs)
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
    for key, emoji, group_title, releases in groups.titled():
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
