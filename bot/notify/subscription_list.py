"""The `/releases subscriptions` message: one row per subscription, with a Remove button."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.i18n import ENGLISH, Texts
from bot.mrkdwn import escape_truncated
from bot.notify.digests import next_run, schedule_of, schedule_words
from bot.notify.filters import stored_query
from bot.notify.messages import filters_label, mention_label
from bot.notify.records import Subscription
from bot.query import USER_ID, Query, QueryError
from bot.render import actions as act
from bot.render import parts
from bot.render.block_limits import MAX_SECTION_TEXT, cut_mrkdwn, fit_blocks, fit_text
from bot.render.message import Message
from bot.schedule import ScheduleError

MAX_PER_CHANNEL = 40  # keeps `/releases subscriptions` one message with a button per row
MAX_NAMED_MANAGERS = 10
MAX_FAILED_SHOWN = 5


def render_subscriptions(
    subs: Sequence[Subscription],
    now: datetime,
    *,
    managers: frozenset[str] = frozenset(),
    trouble: Sequence[dict[str, Any]] = (),
    t: Texts = ENGLISH,
) -> Message:
    """This channel's subscriptions, one row each with a Remove button; paused ones say why,
    and `trouble` (blocks on what delivery could not post) comes first."""
    if not subs:
        text = t._(
            "This channel has no subscriptions or digests. Start one with "
            "`/releases subscribe group:DWH_GROUP` or `/releases digest weekdays 09:00`."
        )
        return Message(text=text, blocks=fit_blocks([parts.section(text), *trouble]))
    blocks: list[dict[str, Any]] = [
        parts.header(t._("Subscriptions in this channel · {count}", count=len(subs))), *trouble
    ]
    ids = act.ActionIds()
    shown = _shown(subs)
    for sub, row in zip(shown, subscription_rows(subs, now, t), strict=True):
        button = parts.button(
            t._("Remove"),
            ids(act.ACTION_SUBSCRIPTION_REMOVE, sub.id),
            act.encode_subscription_remove(sub.id),
            style="danger",
        )
        button["confirm"] = {
            "title": parts.plain(t._("Remove #{id}?", id=sub.id)),
            "text": parts.plain(t._("It stops for everyone in this channel.")),
            "confirm": parts.plain(t._("Remove")),
            "deny": parts.plain(t._("Keep it")),
        }
        block = parts.section(row, accessory=button)
        block["block_id"] = f"{act.BLOCK_SUBSCRIPTION_PREFIX}:{sub.id}"
        blocks.append(block)
    notes = [t._(
        "Remove one with its button or `/releases unsubscribe &lt;id&gt;`; `… unsubscribe all`."
    )]
    if len(subs) > len(shown):
        notes.insert(0, t._("…and {count} more, not shown.", count=len(subs) - len(shown)))
    if managers:
        named = ", ".join(user_mention(u) for u in sorted(managers)[:MAX_NAMED_MANAGERS])
        notes.append(t._("Only {names} can add or remove them.", names=named))
    blocks.append(parts.context(*notes))
    paused = sum(1 for s in subs if s.paused)
    fallback = t.ngettext("{count} subscription in this channel",
                          "{count} subscriptions in this channel", len(subs))
    if paused:
        fallback += t._(", {count} paused", count=paused)
    return Message(
        text=fit_text(fallback), blocks=fit_blocks(blocks), meta={"view": "subscriptions"}
    )


def subscription_rows(
    subs: Sequence[Subscription], now: datetime, t: Texts = ENGLISH
) -> tuple[str, ...]:
    """The rows the list shows, as mrkdwn: App Home shows a channel's subscriptions in the
    same words, as data, without the list's buttons."""
    return tuple(cut_mrkdwn(_row(sub, now, t), MAX_SECTION_TEXT) for sub in _shown(subs))


def _shown(subs: Sequence[Subscription]) -> Sequence[Subscription]:
    return subs[: MAX_PER_CHANNEL + 5]


def _row(sub: Subscription, now: datetime, t: Texts) -> str:
    head = f"*#{sub.id}* · {describe(sub, t)}"
    if sub.kind == "digest":
        head = f":newspaper: {head}"
        nxt = _next_of(sub, now)
        if nxt is not None and not sub.paused:
            head += "\n" + t._("Next: {when}", when=parts.date_token(nxt, parts.DATE_AND_TIME, t))
    else:
        head = f":bell: {head}"
    if sub.mention:
        head += " · " + t._("mentions {mention}", mention=mention_label(sub.mention))
    if sub.language:
        head += " · " + f"`lang:{escape_truncated(sub.language, 16)}`"
    created = parts.date_token(sub.created_at, parts.DATE_ONLY, t)
    head += "\n" + t._("added by {user} {when}", user=user_mention(sub.created_by), when=created)
    if sub.paused:
        since = (parts.date_token(sub.paused_at, parts.DATE_AND_TIME, t) if sub.paused_at
                 else t._("a while"))
        reason = escape_truncated(t._(sub.paused_reason or "no reason recorded"), 400)
        head += "\n:double_vertical_bar: " + t._(
            "*Paused* since {since}: {reason}", since=since, reason=reason
        )
    return head


def describe(sub: Subscription, t: Texts = ENGLISH) -> str:
    """`changes · open · group X` or `digest weekdays at 09:00 (Europe/Berlin) · open`."""
    what = escape_truncated(filters_label(_parse_filters(sub.filters), t), 300)
    if sub.kind == "change":
        if sub.events:
            return t._("changes ({events} only) · {filters}", events=events_label(sub.events, t),
                       filters=what)
        return t._("changes · {filters}", filters=what)
    try:
        schedule, _ = schedule_of(sub)
        when = schedule_words(schedule, t)
    except ScheduleError:
        when = escape_truncated(sub.schedule or "?", 64)
    zone = escape_truncated(sub.timezone or "UTC", 64)
    return t._("digest {when} ({zone}) · {filters}", when=when, zone=zone, filters=what)


def events_label(events: Sequence[str], t: Texts = ENGLISH) -> str:
    """`closed, dates` or `every kind`: the kinds of change a subscription hears."""
    return ", ".join(f"`{kind}`" for kind in events) if events else t._("every kind")


def _parse_filters(text: str) -> Query:
    """Filters that no longer parse are listed as the default query, so the list still shows."""
    try:
        return stored_query(text)
    except QueryError:
        return Query()


def _next_of(sub: Subscription, now: datetime) -> datetime | None:
    try:
        schedule, tz = schedule_of(sub)
    except ScheduleError:
        return None
    return next_run(schedule, tz, now)


def user_mention(user_id: str) -> str:
    return f"<@{user_id}>" if USER_ID.fullmatch(user_id) else escape_truncated(user_id, 40)
