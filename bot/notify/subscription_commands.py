"""`/releases subscribe | digest | subscriptions | unsubscribe` and the Remove button.

Subscriptions belong to the channel, so changes to them are confirmed in the channel and name
who made them; refusals and mistakes are answered only to the person who typed the command.
Ids are looked up within the caller's channel only: another channel's id is "not found" here,
so nobody can read or remove another channel's subscriptions by guessing numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from bot.app.answers import Caller, Reply, SubscriptionCommand
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.logs import new_ref
from bot.mrkdwn import escape_truncated
from bot.notify.delivery_trouble import read_trouble, trouble_blocks
from bot.notify.digests import next_run
from bot.notify.filters import storable_filters
from bot.notify.follow_routing import hears
from bot.notify.group_check import check_groups
from bot.notify.messages import filters_label, mention_label, mention_pings
from bot.notify.records import Subscription
from bot.notify.replies import confirm as _confirm
from bot.notify.replies import refuse as _error
from bot.notify.shared_channel_commands import allow_shared
from bot.notify.store import Store, StoreUnavailable
from bot.notify.store.subscriptions import SubscriptionLimitReached, TwinSubscription
from bot.notify.subscription_list import (
    MAX_NAMED_MANAGERS,
    MAX_PER_CHANNEL,
    describe,
    events_label,
    render_subscriptions,
    subscription_rows,
    user_mention,
)
from bot.notify.user_timezone import UserTimezone
from bot.query import (
    USER_ID,
    AllowSharedChannelCommand,
    DigestCommand,
    Query,
    QueryError,
    SubscribeCommand,
    SubscriptionsCommand,
    UnsubscribeCommand,
)
from bot.render import parts
from bot.render.block_limits import cut_mrkdwn
from bot.schedule import ScheduleError, parse_timezone

log = logging.getLogger(__name__)


LIST_HINT = "`/releases subscriptions` lists this channel's subscriptions and their ids."
# Every release group by id; {} when MetaKraftwerk cannot say (the finder's `group_names`).
GroupNames = Callable[[], Mapping[int, str]]
# The same of the caller's MetaKraftwerk connection (distributed mode; raises NotConnected).
GroupNamesOf = Callable[[Caller], Mapping[int, str]]


def _no_zone(user_id: str) -> str | None:
    return None


class SubscriptionCommands:
    """The `Subscriptions` service `bot.app.answers.Answers` delegates to, over a Store."""

    def __init__(
        self,
        store: Store,
        *,
        settings: Settings,
        group_names: GroupNames,
        user_timezone: UserTimezone = _no_zone,
        clock: Clock | None = None,
        group_names_of: GroupNamesOf | None = None,
    ) -> None:
        """`group_names_of`, when given, names the groups of each caller's own connection."""
        self._store = store
        self._settings = settings
        self._group_names = group_names
        self._group_names_of = group_names_of
        self._user_timezone = user_timezone
        self._clock = clock or SystemClock()

    # ---- the Subscriptions protocol ---------------------------------------------------------

    def handle(self, command: SubscriptionCommand, caller: Caller) -> Reply:
        try:
            return self._handle(command, caller)
        except StoreUnavailable as exc:
            ref = new_ref()
            log.warning(
                "%s by %s in channel %s: the subscription database is unavailable (ref %s): %s",
                type(command).__name__, caller.user_id or "?", caller.channel_id, ref, exc,
            )
            return _error(
                "The subscription database is busy or unreachable; try again in a minute "
                f"(ref {ref}).",
                "If it keeps happening, tell whoever runs this app the ref.",
            )

    @property
    def store(self) -> Store:
        """The store, for the services beside this one (following releases) to share."""
        return self._store

    @property
    def user_timezone(self) -> UserTimezone:
        """The callers' time zones from Slack, for the standup to count days in."""
        return self._user_timezone

    def remove(self, subscription_id: int, caller: Caller) -> Reply:
        """The Remove button of the list: the same as `/releases unsubscribe <id>`."""
        return self.handle(UnsubscribeCommand(ids=(subscription_id,)), caller)

    # ---- App Home's SubscriptionRows ---------------------------------------------------------

    def rows(self, caller: Caller) -> tuple[str, ...]:
        """The caller's channel's subscriptions in the list's words; none while the database
        is unavailable (logged), as the list then answers with an error and no rows."""
        try:
            subs = self._store.subscriptions.in_channel(caller.team_id, caller.channel_id)
        except StoreUnavailable as exc:
            log.warning(
                "App Home for %s in channel %s: the subscription database is unavailable: %s",
                caller.user_id or "?", caller.channel_id, exc,
            )
            return ()
        return subscription_rows(subs, self._clock.now())

    def _handle(self, command: SubscriptionCommand, caller: Caller) -> Reply:
        if not caller.channel_id:
            return _error(
                "Subscriptions belong to a channel. Run this in the channel that should get "
                "the messages."
            )
        if isinstance(command, SubscriptionsCommand):
            return self._list(caller)
        refusal = self._refusal(caller)
        if refusal is not None:
            return refusal
        if isinstance(command, AllowSharedChannelCommand):
            return allow_shared(self._store.shared_channels, command, caller)
        if isinstance(command, SubscribeCommand):
            return self._subscribe(command, caller)
        if isinstance(command, DigestCommand):
            return self._digest(command, caller)
        return self._unsubscribe(command, caller)

    # ---- commands ---------------------------------------------------------------------------

    def _refusal(self, caller: Caller) -> Reply | None:
        managers = self._settings.subscription_managers
        if not managers or caller.user_id in managers:
            return None
        log.info(
            "user %s may not change subscriptions of channel %s",
            caller.user_id or "?", caller.channel_id,
        )
        named = sorted(managers)
        shown = ", ".join(user_mention(u) for u in named[:MAX_NAMED_MANAGERS])
        if len(named) > MAX_NAMED_MANAGERS:
            shown += f" and {len(named) - MAX_NAMED_MANAGERS} more"
        return _error(
            f"Sorry, only {shown} can add or remove subscriptions and digests here.",
            f"Ask one of them to do it for you. Anyone can see the list: {LIST_HINT}",
        )

    def _vet(self, query: Query, caller: Caller) -> tuple[str, tuple[str, ...]] | Reply:
        """The filters to store and notes for the confirmation, or the refusal to answer."""
        try:
            filters = storable_filters(query)
        except QueryError as exc:
            log.info("subscription refused for %s: %s", caller.user_id or "?", exc.message)
            return _error(exc.message)
        names = (
            self._group_names_of(caller) if self._group_names_of is not None
            else self._group_names()
        )
        checked = check_groups(query, names)
        if checked.refusal is not None:
            log.info("subscription refused for %s: %s", caller.user_id or "?", checked.refusal)
            return _error(
                checked.refusal, "Nothing was subscribed. `/releases help` shows the filters."
            )
        return filters, checked.notes

    def _subscribe(self, command: SubscribeCommand, caller: Caller) -> Reply:
        query = _stored_query(command.query)
        if command.mention and not mention_pings(command.mention):
            label = escape_truncated(command.mention.strip(), 80)
            return _error(
                f"I cannot mention `{label}`: Slack sent it as plain text, which notifies "
                "nobody. Pick the user or user group from Slack's list as you type `@`, "
                "or leave out `mention:`.",
                "Nothing was subscribed.",
            )
        vetted = self._vet(query, caller)
        if isinstance(vetted, Reply):
            return vetted
        filters, notes = vetted
        try:  # the store checks for a twin and the cap in the same write
            sub = self._store.subscriptions.add_change(
                team_id=caller.team_id, channel_id=caller.channel_id, filters=filters,
                created_by=caller.user_id, mention=command.mention, events=command.events,
                limit=MAX_PER_CHANNEL,
            )
        except TwinSubscription as exc:
            return self._twin(exc.twin, caller)
        except SubscriptionLimitReached:
            return _too_many()
        log.info(
            "subscription %d: %s subscribed channel %s to changes (%s; %s)",
            sub.id, caller.user_id or "?", caller.channel_id, filters,
            events_label(command.events),
        )
        what = escape_truncated(filters_label(query), 400)
        text = f"{_who(caller)} subscribed this channel to release changes (#{sub.id}): *{what}*."
        if command.events:
            text += f" Only these kinds of change: {events_label(command.events)}."
        if query.status == "open" and query.release_id is None and hears(command.events, "closed"):
            text += (
                " A release that closes is reported too, and a release that has a thread here"
                " keeps it current."
            )
        if command.mention:
            text += f" Each new release message mentions {mention_label(command.mention)}."
        text += "".join(" " + n for n in notes)
        note = (
            f"I check MetaKraftwerk every {_interval(self._settings.poll_interval_seconds)}. "
            "The first check only notes where things stand; from then on each release that "
            "changes gets one message here, with later changes in its thread. "
            f"`/releases unsubscribe {sub.id}` stops it. {PRIVATE_CHANNEL_HINT}"
        )
        return _confirm(text, note)

    def _digest(self, command: DigestCommand, caller: Caller) -> Reply:
        query = _stored_query(command.query)
        vetted = self._vet(query, caller)
        if isinstance(vetted, Reply):
            return vetted
        filters, notes = vetted
        zone, why = self._zone_for(command, caller)
        schedule_text = command.schedule.to_text()
        try:
            sub = self._store.subscriptions.add_digest(
                team_id=caller.team_id, channel_id=caller.channel_id, filters=filters,
                schedule=command.schedule, timezone=zone, created_by=caller.user_id,
                limit=MAX_PER_CHANNEL,
            )
        except TwinSubscription as exc:
            return self._twin(exc.twin, caller)
        except SubscriptionLimitReached:
            return _too_many()
        log.info(
            "subscription %d: %s set up a digest in channel %s: %s %s (%s)",
            sub.id, caller.user_id or "?", caller.channel_id, schedule_text, zone, filters,
        )
        tz = parse_timezone(zone)
        nxt = next_run(command.schedule, tz, self._clock.now())
        text = (
            f"{_who(caller)} set up a digest in this channel (#{sub.id}): "
            f"*{command.schedule.describe()}* {escape_truncated(zone, 64)} time, "
            f"*{escape_truncated(filters_label(query), 400)}*."
        )
        if nxt is not None:
            text += f" The first one comes {parts.date_token(nxt)}."
        text += "".join(" " + n for n in notes)
        note = (
            f"Time zone {escape_truncated(zone, 64)}: {why}. "
            f"`/releases unsubscribe {sub.id}` stops it. {PRIVATE_CHANNEL_HINT}"
        )
        return _confirm(text, note)

    def _zone_for(self, command: DigestCommand, caller: Caller) -> tuple[str, str]:
        """The digest's zone and why it was chosen, in words for the confirmation."""
        if command.timezone is not None:
            return command.timezone, "as given with `tz:`"
        if caller.user_id:
            found = self._user_timezone(caller.user_id)
            if found:
                try:
                    return (
                        parse_timezone(found).key,
                        f"from {_who(caller)}'s Slack profile; add `tz:Area/City` to choose "
                        "another",
                    )
                except ScheduleError:
                    log.warning("user %s has an unknown Slack time zone %r", caller.user_id, found)
        default = self._settings.default_timezone or "UTC"
        try:
            zone = parse_timezone(default).key
        except ScheduleError:
            zone = "UTC"
        return zone, (
            "your Slack time zone was not available, so this is the app's default; "
            "add `tz:Area/City` to choose another"
        )

    def _twin(self, twin: Subscription, caller: Caller) -> Reply:
        """The same subscription again: resume it when paused, else say it exists."""
        if twin.paused and self._store.subscriptions.resume(twin.id):
            log.info(
                "subscription %d: resumed by %s in channel %s (was paused: %s)",
                twin.id, caller.user_id or "?", caller.channel_id, twin.paused_reason,
            )
            return _confirm(
                f"{_who(caller)} resumed {describe(twin)} (#{twin.id}) in this channel.",
                "It had been paused: " + escape_truncated(twin.paused_reason or "", 300),
            )
        return _error(f"This channel already has that subscription (#{twin.id}).", LIST_HINT)

    def _unsubscribe(self, command: UnsubscribeCommand, caller: Caller) -> Reply:
        team, channel = caller.team_id, caller.channel_id
        if command.all:
            existing = self._store.subscriptions.in_channel(team, channel)
            removed = self._store.subscriptions.delete_channel(team, channel)
            if not removed:
                return _error("This channel has no subscriptions or digests to remove.")
            ids = ", ".join(f"#{s.id}" for s in existing)
            log.info(
                "%s removed all %d subscriptions of channel %s",
                caller.user_id or "?", removed, channel,
            )
            return _confirm(
                f"{_who(caller)} removed all {parts.plural(removed, 'subscription')} of this "
                f"channel ({cut_mrkdwn(ids, 1000)}).",
            )
        found: list[Subscription] = []
        missing: list[int] = []
        for sub_id in command.ids:
            sub = self._store.subscriptions.get(team, channel, sub_id)
            if sub is None:
                missing.append(sub_id)
            else:
                found.append(sub)
        if missing:
            which = _id_list(missing)
            return _error(
                f"There is no subscription {which} in this channel"
                + (", so I removed nothing." if found else "."),
                LIST_HINT,
            )
        gone = [s for s in found if self._store.subscriptions.delete(team, channel, s.id)]
        if not gone:
            return _error(f"Subscription {_id_list(command.ids)} is already gone.", LIST_HINT)
        for sub in gone:
            log.info(
                "subscription %d: removed by %s from channel %s",
                sub.id, caller.user_id or "?", channel,
            )
        lines = "; ".join(f"#{s.id} ({describe(s)})" for s in gone)
        return _confirm(f"{_who(caller)} removed {cut_mrkdwn(lines, 2500)} from this channel.")

    def _list(self, caller: Caller) -> Reply:
        subs = self._store.subscriptions.in_channel(caller.team_id, caller.channel_id)
        found = read_trouble(self._store, caller.team_id, caller.channel_id)
        live = {s.id for s in subs if not s.paused}  # a paused one already says why
        trouble = trouble_blocks(
            replace(found, failed=tuple(f for f in found.failed if f.subscription_id in live))
        )
        return Reply(render_subscriptions(
            subs, self._clock.now(), managers=self._settings.subscription_managers,
            trouble=trouble,
        ))


def _stored_query(query: Query) -> Query:
    """What a subscription keeps: the filters, without page, format or refresh."""
    return replace(query, page=1, format="compact", refresh=False)


def _who(caller: Caller) -> str:
    if USER_ID.fullmatch(caller.user_id):
        return f"<@{caller.user_id}>"
    if caller.user_name:
        return escape_truncated(caller.user_name, 40)
    return "Someone"


def _id_list(ids: Sequence[int]) -> str:
    return ", ".join(f"#{i}" for i in ids)


def _interval(seconds: float) -> str:
    if seconds < 90:
        return parts.plural(round(seconds), "second")
    return parts.plural(round(seconds / 60), "minute")


PRIVATE_CHANNEL_HINT = "In a private channel, invite me first: `/invite @releases`."


def _too_many() -> Reply:
    return _error(
        f"This channel has {MAX_PER_CHANNEL} subscriptions and digests already, the most I "
        "keep per channel. Remove one first.",
        LIST_HINT,
    )
