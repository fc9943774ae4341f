"""The App Home tab: open releases per group, followed releases, the user's channels, a how-to.

Groups with overdue releases come first, then groups with releases ending soon; inside a group
the same order. Every section is capped so the view stays far inside Slack's 100 blocks, and
`fit_blocks` is the net under that, whatever the data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app.finder import FindResult
from bot.i18n import ENGLISH, N_, Texts
from bot.metakraftwerk.models import Release
from bot.mrkdwn import escape_truncated
from bot.render import actions as act
from bot.render import parts
from bot.render.block_limits import fit_blocks
from bot.render.connection_panel import ConnectionPanel, connection_blocks

HOME_CALLBACK = "releases_home"
ACTION_HOME_REFRESH = "home_refresh"
BLOCK_HOME_ACTIONS = "home_actions"
ENDING_SOON = timedelta(days=7)
MAX_GROUPS = 12
MAX_LINES_PER_GROUP = 3
MAX_FOLLOWED = 10
MAX_CHANNELS = 10
MAX_ROWS_PER_CHANNEL = 3
_LAST = datetime.max.replace(tzinfo=UTC)
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,20}")

HOW_TO = N_(
    "*How to*\n"
    "• `/releases` lists open releases; `/releases group:DWH_GROUP all`, `/releases #21`, "
    "`/releases standup`. `/releases help` shows every filter.\n"
    "• *Search releases* (the button above, or the shortcut in the composer's `+` menu) "
    "opens a form.\n"
    "• `/releases subscribe group:DWH_GROUP` in a channel posts changes there; "
    "`/releases digest weekdays 09:00` posts a summary before the standup.\n"
    "• In Workflow Builder, the step *Find releases* puts the list into a standup workflow."
)


@dataclass(frozen=True, slots=True)
class ChannelRows:
    """One channel's subscriptions and digests, as `/releases subscriptions` words them."""

    channel_id: str
    rows: tuple[str, ...]  # mrkdwn, already escaped


@dataclass(frozen=True, slots=True)
class HomeData:
    releases: FindResult | None  # open releases; None when they could not be read
    releases_error: str | None = None
    followed: tuple[Release, ...] = ()
    channels: tuple[ChannelRows, ...] = ()
    channels_error: str | None = None
    subscriptions_available: bool = True
    group_names: Mapping[int, str] = field(default_factory=dict)
    connection: ConnectionPanel | None = None  # distributed mode: the MetaKraftwerk section


@dataclass(frozen=True, slots=True)
class GroupSummary:
    group_id: int | None
    releases: tuple[Release, ...]  # overdue first, then ending soon, then the rest
    overdue: int
    ending_soon: int


def is_ending_soon(release: Release, now: datetime) -> bool:
    if release.end_date is None or parts.is_overdue(release, now):
        return False
    return parts.utc(release.end_date) - parts.utc(now) <= ENDING_SOON


def _urgency(release: Release, now: datetime) -> tuple[int, datetime]:
    """Overdue (longest overdue first), then ending soon (soonest first), then the rest."""
    if release.end_date is not None and parts.is_overdue(release, now):
        return 0, parts.utc(release.end_date)
    if release.end_date is not None and is_ending_soon(release, now):
        return 1, parts.utc(release.end_date)
    return 2, _LAST


def group_summaries(
    releases: Sequence[Release], group_names: Mapping[int, str], now: datetime
) -> list[GroupSummary]:
    """Open releases by group: groups with overdue releases first, then ending soon, by name."""
    now = parts.utc(now)
    by_group: dict[int | None, list[Release]] = {}
    for release in releases:
        if release.is_open and not release.deleted:
            by_group.setdefault(release.group_id, []).append(release)
    summaries = [
        GroupSummary(
            group_id=group_id,
            # sorted() is stable: within one urgency the display order (newest first) stays.
            releases=tuple(sorted(members, key=lambda r: _urgency(r, now))),
            overdue=sum(1 for r in members if parts.is_overdue(r, now)),
            ending_soon=sum(1 for r in members if is_ending_soon(r, now)),
        )
        for group_id, members in by_group.items()
    ]
    return sorted(
        summaries,
        key=lambda s: (
            -s.overdue,
            -s.ending_soon,
            parts.group_label(s.group_id, group_names).casefold(),
        ),
    )


def _group_section(
    summary: GroupSummary, result: FindResult, now: datetime, t: Texts
) -> dict[str, Any]:
    names = result.group_names
    head = [
        parts.bold(parts.group_label(summary.group_id, names, t)),
        t._("{count} open", count=len(summary.releases)),
    ]
    if summary.overdue:
        head.append(f"{parts.EMOJI_OVERDUE} " + t._("{count} overdue", count=summary.overdue))
    if summary.ending_soon:
        soon = t._("{count} ending within 7 days", count=summary.ending_soon)
        head.append(f":hourglass_flowing_sand: {soon}")
    known = result.known()
    lines = [
        parts.summary_line(r, group_names=names, known=known, now=now, show_group=False, t=t)
        for r in summary.releases[:MAX_LINES_PER_GROUP]
    ]
    more = len(summary.releases) - len(lines)
    if more > 0:
        lines.append(t._("_…and {count} more_", count=more))
    return parts.section("\n".join([" · ".join(head), *lines]))


def _releases_blocks(data: HomeData, now: datetime, t: Texts) -> list[dict[str, Any]]:
    result = data.releases
    heading = t._("*Open releases by group*")
    if result is None:
        error = t._(data.releases_error) if data.releases_error else t._("MetaKraftwerk failed")
        reason = escape_truncated(error, 300)
        return [
            parts.section(heading),
            parts.section(f"{parts.EMOJI_WARNING} "
                          + t._("The releases could not be read: {reason}", reason=reason)),
        ]
    summaries = group_summaries(result.releases, result.group_names, now)
    total = sum(len(s.releases) for s in summaries)
    title = f"{heading} · " + t.ngettext("{count} open release", "{count} open releases", total)
    if summaries:
        title += " " + t.ngettext("in {count} group", "in {count} groups", len(summaries))
    blocks = [parts.section(title)]
    stale = parts.stale_block(result.freshness, now, t)
    if stale:
        blocks.append(stale)
    if not summaries:
        blocks.append(parts.section(t._("No release is open right now.")))
    blocks.extend(_group_section(s, result, now, t) for s in summaries[:MAX_GROUPS])
    hidden = summaries[MAX_GROUPS:]
    if hidden:
        rest = sum(len(s.releases) for s in hidden)
        groups = t.ngettext("{count} more group", "{count} more groups", len(hidden))
        releases = t.ngettext("{count} open release", "{count} open releases", rest)
        blocks.append(parts.context(t._(
            "…and {groups} with {releases}: `/releases` lists them all.",
            groups=groups, releases=releases,
        )))
    return blocks


def _followed_blocks(data: HomeData, now: datetime, t: Texts) -> list[dict[str, Any]]:
    """The followed releases; nothing at all when the user follows nothing."""
    if not data.followed:
        return []
    names = data.releases.group_names if data.releases else data.group_names
    # Predecessors by name where they are at hand (`after R9`, as every other view says).
    known = {**(data.releases.known() if data.releases else {}), **{r.id: r for r in data.followed}}
    lines = [
        parts.summary_line(r, group_names=names, known=known, now=now, t=t)
        for r in data.followed[:MAX_FOLLOWED]
    ]
    if len(data.followed) > MAX_FOLLOWED:
        lines.append(t._("_…and {count} more_", count=len(data.followed) - MAX_FOLLOWED))
    heading = t._("*Releases you follow*")
    return [parts.divider(), parts.section(heading + "\n" + "\n".join(lines))]


def channel_ref(channel_id: str) -> str:
    """`<#C123>` for a Slack channel id; anything else escaped as text."""
    if _CHANNEL_ID.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return escape_truncated(channel_id, 40)


def _channel_blocks(data: HomeData, t: Texts) -> list[dict[str, Any]]:
    heading = t._("*Subscriptions and digests in your channels*")
    blocks = [parts.divider(), parts.section(heading)]
    if not data.subscriptions_available:
        blocks.append(parts.context(t._("Subscriptions are not set up on this installation.")))
        return blocks
    for channel in data.channels[:MAX_CHANNELS]:
        rows = list(channel.rows[:MAX_ROWS_PER_CHANNEL])
        if len(channel.rows) > len(rows):
            rows.append(t._(
                "_…and {count} more: `/releases subscriptions` there._",
                count=len(channel.rows) - len(rows),
            ))
        blocks.append(parts.section(f"{channel_ref(channel.channel_id)}\n" + "\n".join(rows)))
    if len(data.channels) > MAX_CHANNELS:
        hidden = len(data.channels) - MAX_CHANNELS
        more = t.ngettext("{count} more channel", "{count} more channels", hidden)
        blocks.append(parts.context(t._("…and {more}.", more=more)))
    if data.channels_error is not None:
        error = escape_truncated(t._(data.channels_error), 80)
        blocks.append(parts.context(f"{parts.EMOJI_WARNING} " + t._(
            "Your channels could not be read ({error}); "
            "`/releases subscriptions` in a channel lists its subscriptions.", error=error,
        )))
    elif not data.channels:
        blocks.append(
            parts.context(t._(
                "None of your channels has a subscription or digest. Start one with "
                "`/releases subscribe group:DWH_GROUP` in a channel."
            ))
        )
    return blocks


def home_blocks(data: HomeData, now: datetime, t: Texts = ENGLISH) -> tuple[dict[str, Any], ...]:
    freshness = data.releases.freshness if data.releases else None
    note = parts.freshness_text(freshness, now, t) or t._("no data yet")
    updated = t._("Updated {time}", time=parts.date_token(now, t=t))
    blocks: list[dict[str, Any]] = [
        parts.header(t._("Releases")),
        parts.context(f"{updated} · {note}"),
        parts.actions(
            BLOCK_HOME_ACTIONS,
            [
                parts.button(t._("Refresh"), ACTION_HOME_REFRESH, "refresh"),
                parts.button(
                    t._("Search releases"), act.ACTION_OPEN_SEARCH, act.encode_open_search("")
                ),
            ],
        ),
        parts.divider(),
        *(connection_blocks(data.connection) if data.connection is not None else []),
        *_releases_blocks(data, now, t),
        *_followed_blocks(data, now, t),
        *_channel_blocks(data, t),
        parts.divider(),
        parts.section(t._(HOW_TO)),
    ]
    return fit_blocks(blocks)


def render_home(data: HomeData, now: datetime, t: Texts = ENGLISH) -> dict[str, Any]:
    """The `views.publish` view of the Home tab, in the viewer's language."""
    blocks = list(home_blocks(data, now, t))
    return {"type": "home", "callback_id": HOME_CALLBACK, "blocks": blocks}
