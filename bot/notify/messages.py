"""What the worker posts: a parent message per release and channel, thread replies, digests.

Pure functions of their arguments, so every message is tested for Block Kit limits and escaping
without Slack. All foreign text (release and group names) is escaped; the one piece of markup
let through is a subscription's mention, and only when it is exactly a user-group or user
mention (`<!subteam^S1|@team>`, `<@U1>`): never `<!channel>`, `<!here>` or anything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, tzinfo

from bot.app.finder import FindResult
from bot.app.standup import standup_groups, standup_query
from bot.i18n import ENGLISH, N_, Texts
from bot.metakraftwerk.models import Release
from bot.mrkdwn import escape_truncated
from bot.notify.changes import ChangeEvent, ChangeKind, related_releases
from bot.query import MENTION_MARKUP, Query
from bot.render import parts
from bot.render.block_limits import MAX_SECTION_TEXT, cut_mrkdwn, fit_blocks, fit_text
from bot.render.message import Message
from bot.render.standup import render_standup, since_label

NAME_IN_LINE = 80

_EMOJI: Mapping[ChangeKind, str] = {
    "created": ":new:",
    "restored": ":recycle:",
    "reopened": ":unlock:",
    "renamed": ":pencil2:",
    "dates_changed": ":calendar:",
    "closed": ":lock:",
    "deleted": ":wastebasket:",
}


# ---- mentions ------------------------------------------------------------------------------


def mention_markup(mention: str | None) -> str | None:
    """The mention to put in a message: allowed markup as is, anything else escaped (inert)."""
    if mention is None or not mention.strip():
        return None
    cleaned = mention.strip()
    if MENTION_MARKUP.fullmatch(cleaned):
        return cleaned
    return escape_truncated(cleaned, 80)


def mention_pings(mention: str | None) -> bool:
    """True when Slack will notify someone for this mention (markup, not plain `@name` text)."""
    return mention is not None and MENTION_MARKUP.fullmatch(mention.strip()) is not None


def mention_label(mention: str) -> str:
    """How to name a mention without pinging anyone: `@dwh-team`, escaped."""
    cleaned = mention.strip()
    if MENTION_MARKUP.fullmatch(cleaned):
        inner = cleaned[1:-1]
        target, _, label = inner.partition("|")
        if label:
            return escape_truncated("@" + label.lstrip("@"), 80)
        return "@" + target.lstrip("@!").replace("subteam^", "")
    return escape_truncated(cleaned, 80)


# ---- change events -------------------------------------------------------------------------


def filters_label(query: Query, t: Texts = ENGLISH) -> str:
    """The filters of a subscription in words, without the default that hides deleted ones."""
    return query.describe(t).removesuffix(" · " + t._("deleted hidden"))


def _name(release: Release) -> str:
    return parts.bold(parts.name_label(release.name, NAME_IN_LINE))


def _date(value: datetime | None, *, rich: bool, t: Texts) -> str:
    if value is None:
        return t._("none")
    if rich:
        return parts.date_token(value, parts.DATE_ONLY, t)
    if t.english:
        return parts.utc(value).strftime("%Y-%m-%d")
    return t.date(value)


def _date_changes(event: ChangeEvent, *, rich: bool, t: Texts) -> str:
    before, after = event.previous, event.release
    if before is None:
        return ""
    changes = [
        t._(label, old=_date(old, rich=rich, t=t), new=_date(new, rich=rich, t=t))
        for label, old, new in (
            (N_("start {old} → {new}"), before.start_date, after.start_date),
            (N_("end {old} → {new}"), before.end_date, after.end_date),
        )
        if old != new
    ]
    return ", ".join(changes)


def change_line(event: ChangeEvent, *, rich: bool = True, t: Texts = ENGLISH) -> str:
    """One change in one line of safe mrkdwn: `:lock: *R59* closed`.

    `rich=False` gives the notification fallback: plain dates instead of `<!date>` tokens.
    """
    name = _name(event.release) if rich else parts.name_label(event.release.name, NAME_IN_LINE)
    kind = event.kind
    if kind == "created":
        line = (t._("{name} created, already closed", name=name) if event.release.closed
                else t._("{name} created", name=name))
    elif kind == "restored":
        line = t._("{name} restored (no longer deleted)", name=name)
    elif kind == "reopened":
        line = t._("{name} reopened", name=name)
    elif kind == "renamed":
        old = event.details.get("old_name")
        if not isinstance(old, str) and event.previous is not None:
            old = event.previous.name
        old_label = parts.name_label(str(old or "?"), NAME_IN_LINE)
        line = t._("{name} renamed (was {old})", name=name,
                   old=parts.bold(old_label) if rich else old_label)
    elif kind == "dates_changed":
        changes = _date_changes(event, rich=rich, t=t)
        line = (t._("{name} dates changed: {changes}", name=name, changes=changes) if changes
                else t._("{name} dates changed: see the release", name=name))
    elif kind == "closed":
        line = t._("{name} closed", name=name)
    elif event.details.get("reason") == "vanished":
        line = t._("{name} deleted (no longer listed by MetaKraftwerk)", name=name)
    else:
        line = t._("{name} deleted", name=name)
    return f"{_EMOJI[kind]} {line}" if rich else line


def state_line(
    release: Release,
    group_name: str | None,
    now: datetime,
    related: Mapping[int, Release] | None = None,
    t: Texts = ENGLISH,
) -> str:
    """Where the release stands, in one line: status, group, dates, hints."""
    group = (
        escape_truncated(group_name, parts.GROUP_LIMIT)
        if group_name
        else parts.group_label(release.group_id, {}, t)
    )
    items = [
        f"{parts.status_emoji(release, now)} {parts.status_word(release, now, t)}",
        group,
        parts.date_range(release, t=t),
    ]
    said = (t._("overdue"), t._("deleted"))  # the status word says them already
    items.extend(h for h in parts.hints(release, related or {}, now, t) if h not in said)
    return " · ".join(items)


def render_parent(
    event: ChangeEvent,
    *,
    group_name: str | None,
    mention: str | None,
    now: datetime,
    changed_at: datetime | None = None,
    t: Texts = ENGLISH,
) -> Message:
    """The release's message in a channel: the latest change on top, then its current state.

    Posted for the first change a channel hears about a release and rewritten (chat.update)
    after every later one, so the channel always shows where the release stands. `changed_at`
    is when the change was noticed (default `now`).
    """
    release = event.release
    ping = mention_markup(mention)
    head = change_line(event, t=t)
    if ping:
        head = f"{ping} {head}"
    state = state_line(release, group_name, now, related_releases(event), t)
    body = cut_mrkdwn(f"{head}\n{state}", MAX_SECTION_TEXT)
    note = t._(
        "Release #{id} · last change {when} · later changes are posted in the thread",
        id=release.id, when=parts.date_token(changed_at or now, parts.DATE_AND_TIME, t),
    )
    fallback = change_line(event, rich=False, t=t)
    if group_name:
        fallback += f" ({escape_truncated(group_name, parts.GROUP_LIMIT)})"
    if ping:
        fallback = f"{ping} {fallback}"
    return Message(
        text=fit_text(fallback),
        blocks=fit_blocks([parts.section(body), parts.context(note)]),
        meta={"view": "notification", "kind": event.kind, "release_id": release.id},
    )


def render_change(event: ChangeEvent, *, now: datetime, t: Texts = ENGLISH) -> Message:
    """A reply in the release's thread: what changed, in one line."""
    line = change_line(event, t=t)
    if event.kind in ("reopened", "closed", "restored"):
        line += " · " + parts.date_range(event.release, t=t)
    return Message(
        text=fit_text(change_line(event, rich=False, t=t)),
        blocks=fit_blocks([parts.section(cut_mrkdwn(line, MAX_SECTION_TEXT))]),
        meta={"view": "notification", "kind": event.kind, "release_id": event.release.id},
    )


# ---- digests -------------------------------------------------------------------------------


def digest_query(query: Query) -> Query:
    """What a digest reads: its filters over open and closed releases (for the closed section),
    whatever page, format or refresh flags were stored with it."""
    return replace(standup_query(query), page=1, format="compact", refresh=False)


def digest_result(everything: FindResult, query: Query) -> FindResult:
    """The releases a digest with these filters shows, out of the worker's one full poll."""
    wide = digest_query(query)
    names = everything.group_names
    found = tuple(r for r in everything.releases if wide.matches(r, names))
    return FindResult(wide, found, names, everything.freshness)


def digest_title(query: Query, t: Texts = ENGLISH) -> str:
    return t._("Digest · {filters}", filters=filters_label(query, t))


def render_digest(
    result: FindResult, now: datetime, *, query: Query, tz: tzinfo, t: Texts = ENGLISH
) -> Message:
    """The standup view under a digest title; an empty digest says so in one line."""
    title = digest_title(query, t)
    groups = standup_groups(result.releases, now, tz=tz)
    if not groups.is_empty():
        return render_standup(result, now, title=title, tz=tz, share=False, t=t)
    line = t._(
        ":sunny: *{title}*: nothing to report, no open releases and none closed {since}.",
        title=escape_truncated(title, 200), since=since_label(groups, t),
    )
    freshness = result.freshness
    if freshness is not None and freshness.stale:
        line += f" {parts.EMOJI_WARNING} " + t._(
            "MetaKraftwerk did not answer; this is data from {age}.",
            age=parts.age_text(freshness.fetched_at, now, t),
        )
    return Message(
        text=fit_text(line.replace("*", "")),
        blocks=fit_blocks([parts.section(cut_mrkdwn(line, MAX_SECTION_TEXT))]),
        meta={"view": "digest", "open": 0, "closed": 0},
    )
