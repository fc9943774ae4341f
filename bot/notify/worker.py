"""The notification worker: poll MetaKraftwerk, record what changed, post it to Slack.

One round (`poll_once`):

1. Take or extend the worker lease. Without it the round does nothing: a second worker waits
   (and says so once in the log) until the first stops or its lease expires, so two workers
   never post the same thing.
2. Fetch every release in one call, bypassing the cache. A stale answer (the API failed and
   older data stood in), a failed call, or an answer that looks like a glitch (an empty list
   where there were many releases) is never compared: the round skips change detection.
3. `plan_poll`, then `Store.outbox.commit_poll`: the new snapshot and the outbox rows for the
   changes it reveals are written in one transaction, fenced by the lease.
4. Digests that are due are rendered and claimed with their outbox row in one transaction
   (at most one per subscription and local date); ones missed beyond the grace window are
   recorded as skipped.
5. Pending outbox rows are posted, oldest first. The first row for a (channel, release) posts
   the parent message; later ones reply in its thread and rewrite the parent to the current
   state.

Delivery guarantee: at least once. The outbox is the source of truth: a row leaves `pending`
only after Slack accepted the post and the row was marked sent, so a worker that restarts
between polls neither loses nor repeats anything. Each row is claimed (marked in flight, fenced
by the lease) just before it is posted; a worker dying in the short gap between Slack accepting
a post and the row being marked sent leaves the row in flight, and its successor posts it again
and logs that Slack may show it twice. A rare duplicate was preferred to a silently lost "release
closed": Slack's chat.postMessage takes no idempotency key, so nothing can close that gap fully
without reading channel history.

Failures: 429s are waited out by the client's retry handler; when its retries run out the row
stays pending until Retry-After has passed. `not_in_channel`, `channel_not_found`,
`is_archived` and `account_inactive` pause the channel's subscriptions with the reason (shown
by `/releases subscriptions`; repeating the subscribe or digest command resumes one), logged
once. Token errors stop delivery for the round. One failing channel never holds up the others,
and a channel's rows keep their order: after a failure its later rows wait for the next round.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.finder import FindResult, ReleaseFinder
from bot.metakraftwerk.errors import MetaKraftwerkError
from bot.metakraftwerk.models import Release
from bot.notify.changes import ChangeEvent
from bot.notify.digests import DueDigest, due_digests, schedule_of
from bot.notify.messages import digest_result, render_change, render_digest, render_parent
from bot.notify.plan import plan_poll
from bot.notify.records import Delivery, Lease, LeaseLost, NewDelivery, Snapshot, Subscription
from bot.notify.store import Store
from bot.notify.store.database import Clock, utc_now
from bot.query import ListCommand, Query, QueryError, parse_command
from bot.render.message import Message
from bot.schedule import ScheduleError

log = logging.getLogger(__name__)

LEASE_NAME = "releases-bot:worker"
MIN_LEASE_TTL = timedelta(minutes=3)
BATCH_SIZE = 200
MAX_TRANSIENT_ATTEMPTS = 12  # with the backoff below, about a day of trying
DEFAULT_RETRY_AFTER = 30  # seconds, when a 429 names no Retry-After
PURGE_EVERY = timedelta(hours=1)
KEEP_DELIVERED = timedelta(days=14)

# A poll is a glitch, not news, when the list is empty though the last one had this many live
# releases, or when more than half of at least GLITCH_MANY live releases vanished at once.
# The same shape seen GLITCH_CONFIRMATIONS polls in a row is believed.
GLITCH_MIN_RELEASES = 3
GLITCH_MANY = 10
GLITCH_CONFIRMATIONS = 3

# Slack errors that mean "this channel cannot take posts": pause it, with the reason shown.
PAUSE_REASONS: Mapping[str, str] = {
    "not_in_channel": (
        "the app is not a member of this channel (not_in_channel). Invite it, then repeat "
        "the subscribe or digest command to resume"
    ),
    "channel_not_found": (
        "Slack cannot find this channel for the app (channel_not_found); it may be private "
        "or deleted"
    ),
    "is_archived": "this channel is archived (is_archived)",
    "account_inactive": "Slack reports the app's account as inactive (account_inactive)",
}
# Errors about the token or the app: nothing will get through this round.
AUTH_ERRORS = frozenset(
    {
        "invalid_auth", "not_authed", "token_revoked", "token_expired", "no_permission",
        "missing_scope", "org_login_required", "ekm_access_denied", "team_access_not_granted",
        "not_allowed_token_type", "two_factor_setup_required", "access_denied",
    }
)
# Slack's side failed: retry this row later.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
# The blocks were refused: post the plain text instead, so the news still arrives.
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"})
# The parent message is gone: start a new one.
THREAD_GONE = frozenset({"thread_not_found", "message_not_found"})


class _Next(Enum):
    CONTINUE = "continue"  # go on with the next row
    SKIP_CHANNEL = "skip_channel"  # this channel's later rows wait for the next round
    STOP = "stop"  # stop delivering this round


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one round did, for logs and tests."""

    leader: bool
    changes_checked: bool = False
    skipped_reason: str | None = None
    events: int = 0
    enqueued: int = 0
    digests_enqueued: int = 0
    digests_skipped: int = 0
    posted: int = 0
    failed: int = 0
    paused_channels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Posted:
    ts: str
    parent: bool  # this post is the release's (new) parent message
    update: tuple[str, Message] | None = None  # (parent ts, current state) to rewrite after


def default_holder_id() -> str:
    """Unique per process, readable in logs: `host:pid:random`."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """Polls, plans and delivers; run exactly one per deployment (the lease makes extras wait)."""

    def __init__(
        self,
        store: Store,
        finder: ReleaseFinder,
        web_client: WebClient,
        *,
        settings: Settings,
        clock: Clock = utc_now,
        holder_id: str | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self._store = store
        self._finder = finder
        self._slack = web_client
        self._settings = settings
        self._clock = clock
        self.holder_id = holder_id or default_holder_id()
        self._lease = Lease(LEASE_NAME, self.holder_id)
        self._ttl = max(MIN_LEASE_TTL, timedelta(seconds=3 * settings.poll_interval_seconds))
        self._grace = timedelta(minutes=settings.digest_grace_minutes)
        self._batch = batch_size
        self._leading = False
        self._renewed_at: datetime | None = None
        self._waiting_for: str | None = None
        self._glitch: tuple[frozenset[int], int] | None = None
        self._purged_at: datetime | None = None
        self._queries: dict[str, Query] = {}
        self._paused_now: list[str] = []
        # One round at a time per Worker: the console's `:poll` may ask while `run` is polling.
        self._round = threading.Lock()

    # ---- running ----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Poll every POLL_INTERVAL_SECONDS until `stop` is set; then hand the lease back."""
        interval = self._settings.poll_interval_seconds
        log.info("notification worker %s: polling every %.0f s", self.holder_id, interval)
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    self.poll_once()
                except Exception:
                    log.exception("notification round failed; trying again in %.0f s", interval)
                stop.wait(max(0.0, interval - (time.monotonic() - started)))
        finally:
            self.close()
            log.info("notification worker %s stopped", self.holder_id)

    def close(self) -> None:
        """Give the lease back at once, so a successor need not wait for it to expire."""
        if self._leading:
            try:
                self._store.leases.release(self._lease)
            except Exception:
                log.warning("could not hand back the worker lease", exc_info=True)
            self._leading = False

    def poll_once(self) -> PollReport:
        """One round: lease, poll and commit, digests, delivery. Never raises for Slack or API
        trouble; those are logged and retried in a later round."""
        with self._round:
            return self._poll_round()

    def _poll_round(self) -> PollReport:
        if not self._take_lease():
            return PollReport(leader=False, skipped_reason="another worker holds the lease")
        now = self._clock()
        result, skipped = self._fetch()
        checked, events, enqueued = False, 0, 0
        if result is not None and skipped is None:
            try:
                checked, events, enqueued, skipped = self._check_changes(result)
            except LeaseLost:
                self._lost_lease()
                return PollReport(leader=False, skipped_reason="lease lost")
        usable = None if skipped == "looks glitched" else result
        digests_enqueued, digests_skipped = self._digests(usable, now)
        try:
            posted, failed, paused = self._deliver()
        except LeaseLost:
            self._lost_lease()
            return PollReport(leader=False, skipped_reason="lease lost")
        self._purge(now)
        return PollReport(
            leader=True, changes_checked=checked, skipped_reason=skipped, events=events,
            enqueued=enqueued, digests_enqueued=digests_enqueued,
            digests_skipped=digests_skipped, posted=posted, failed=failed,
            paused_channels=tuple(paused),
        )

    # ---- the lease --------------------------------------------------------------------------

    def _take_lease(self) -> bool:
        if self._store.leases.acquire(self._lease, self._ttl):
            if not self._leading:
                log.info("worker %s holds the worker lease and runs the rounds", self.holder_id)
            self._leading, self._waiting_for = True, None
            self._renewed_at = self._clock()
            return True
        holder = self._store.leases.holder(LEASE_NAME) or "another worker"
        if self._leading:
            log.warning("worker %s lost the lease to %s", self.holder_id, holder)
        if holder != self._waiting_for:
            log.info(
                "worker %s waits: %s runs the rounds; taking over if its lease (%.0f s) "
                "runs out", self.holder_id, holder, self._ttl.total_seconds(),
            )
        self._leading, self._waiting_for = False, holder
        return False

    def _keep_lease(self) -> None:
        """Extend the lease during a long delivery; LeaseLost if another worker took it."""
        now = self._clock()
        if self._renewed_at is not None and now - self._renewed_at < self._ttl / 4:
            return
        if not self._store.leases.renew(self._lease, self._ttl):
            raise LeaseLost(f"lease {LEASE_NAME!r} is not held by {self.holder_id!r}")
        self._renewed_at = now

    def _lost_lease(self) -> None:
        log.warning("worker %s lost its lease mid-round; stopping this round", self.holder_id)
        self._leading = False

    # ---- change detection -------------------------------------------------------------------

    def _fetch(self) -> tuple[FindResult | None, str | None]:
        """All releases, and why change detection must be skipped (None if it need not)."""
        try:
            result = self._finder.all_releases(refresh=True)
        except MetaKraftwerkError as exc:
            log.warning("poll skipped: MetaKraftwerk failed: %s", exc)
            return None, "api failed"
        except Exception:
            log.exception("poll skipped: fetching the releases failed unexpectedly")
            return None, "api failed"
        if result.freshness is not None and result.freshness.stale:
            log.warning(
                "poll skipped: MetaKraftwerk failed (%s); stale data is never reported as news",
                result.freshness.reason or "no reason given",
            )
            return result, "stale data"
        return result, None

    def _check_changes(self, result: FindResult) -> tuple[bool, int, int, str | None]:
        previous = self._store.outbox.load_snapshot()
        glitch = self._glitch_reason(previous, result.releases)
        if glitch is not None:
            return False, 0, 0, "looks glitched"
        subs = self._store.subscriptions.all("change")
        names = dict(result.group_names)
        plan = plan_poll(
            previous, result.releases, subs, self._matcher(names), self._store.outbox.threads()
        )
        deliveries = [
            replace(d, payload={**d.payload, "group_name": _group_name(d, names)})
            for d in plan.deliveries
        ]
        ids = self._store.outbox.commit_poll(
            plan.snapshot, deliveries, baselined=plan.baselined, fence=self._lease
        )
        if previous.taken_at is None:
            log.info("first poll: %d releases recorded as the baseline", len(plan.snapshot))
        for sub_id in plan.baselined:
            log.info("subscription %d: baseline recorded, changes are reported from now on", sub_id)
        for event in plan.events:
            log.info("release %d: %s", event.release.id, event.kind)
        for row_id, d in zip(ids, deliveries, strict=False):
            log.info(
                "delivery %d queued: channel %s, subscription %d, release %s, %s",
                row_id, d.channel_id, d.subscription_id, d.release_id, d.kind,
            )
        return True, len(plan.events), len(ids), None

    def _glitch_reason(self, previous: Snapshot, polled: Sequence[Release]) -> str | None:
        """`glitch_reason`, unless the same shape has come GLITCH_CONFIRMATIONS polls in a row:
        then it is real after all."""
        reason = glitch_reason(previous, polled)
        if reason is None:
            self._glitch = None
            return None
        shape = frozenset(r.id for r in polled)
        count = self._glitch[1] + 1 if self._glitch and self._glitch[0] == shape else 1
        self._glitch = (shape, count)
        if count >= GLITCH_CONFIRMATIONS:
            log.warning("%s, %d polls in a row: taking it as real", reason, count)
            self._glitch = None
            return None
        log.warning("poll skipped: %s; this looks like an API glitch (%d/%d)",
                    reason, count, GLITCH_CONFIRMATIONS)
        return reason

    def _query(self, filters: str) -> Query:
        query = self._queries.get(filters)
        if query is None:
            command = parse_command(filters)
            if not isinstance(command, ListCommand):
                raise QueryError(f"stored filters are not a list query: {filters[:80]!r}")
            query = self._queries[filters] = command.query
        return query

    def _matcher(self, names: Mapping[int, str]) -> Callable[[Subscription, Release], bool]:
        def matches(sub: Subscription, release: Release) -> bool:
            return self._query(sub.filters).matches(release, names)

        return matches

    # ---- digests ----------------------------------------------------------------------------

    def _digests(self, result: FindResult | None, now: datetime) -> tuple[int, int]:
        subs = self._store.subscriptions.all("digest")
        if not subs:
            return 0, 0
        due = due_digests(subs, now, self._store.digests.last_dates(), self._grace)
        enqueued = skipped = 0
        for digest in due:
            sub = digest.subscription
            if digest.missed:
                if self._store.digests.claim(
                    sub.id, digest.local_date, digest.scheduled_at, outcome="skipped"
                ):
                    skipped += 1
                    log.warning(
                        "digest %d (channel %s) for %s skipped: %s late, beyond the %s grace",
                        sub.id, sub.channel_id, digest.local_date,
                        _minutes(digest.lateness(now)), _minutes(self._grace),
                    )
                continue
            if result is None:
                log.info("digest %d (channel %s) waits: no release data yet", sub.id,
                         sub.channel_id)
                continue
            delivery = self._render_digest(digest, result, now)
            if delivery is None:
                continue
            if self._store.digests.claim(
                sub.id, digest.local_date, digest.scheduled_at, delivery=delivery
            ):
                enqueued += 1
                log.info("digest %d (channel %s) for %s queued", sub.id, sub.channel_id,
                         digest.local_date)
        return enqueued, skipped

    def _render_digest(
        self, digest: DueDigest, result: FindResult, now: datetime
    ) -> NewDelivery | None:
        sub = digest.subscription
        try:
            query = self._query(sub.filters)
            _, tz = schedule_of(sub)
        except (QueryError, ScheduleError) as exc:
            log.warning("digest %d cannot be built, skipping it: %s", sub.id, exc)
            return None
        message = render_digest(digest_result(result, query), now, query=query, tz=tz)
        return NewDelivery(
            subscription_id=sub.id, team_id=sub.team_id, channel_id=sub.channel_id,
            kind="digest",
            payload={
                "text": message.text, "blocks": list(message.blocks),
                "local_date": digest.local_date.isoformat(),
            },
        )

    # ---- delivery ---------------------------------------------------------------------------

    def _deliver(self) -> tuple[int, int, list[str]]:
        for row in self._store.outbox.recover_in_flight(fence=self._lease):
            log.warning(
                "delivery %d (channel %s, subscription %d, release %s, %s) was being posted "
                "when a worker stopped; posting it again, so Slack may show it twice",
                row.id, row.channel_id, row.subscription_id, row.release_id, row.kind,
            )
        posted = failed = 0
        paused = self._paused_now = []
        waiting: set[tuple[str, str]] = set()
        seen: set[int] = set()
        while True:
            batch = [
                d
                for d in self._store.outbox.pending_deliveries(limit=len(seen) + self._batch)
                if d.id not in seen
            ]
            if not batch:
                break
            for row in batch:
                seen.add(row.id)
                channel = (row.team_id, row.channel_id)
                if channel in waiting:
                    continue
                self._keep_lease()
                outcome, result = self._deliver_one(row)
                posted += result == "posted"
                failed += result == "failed"
                if outcome is _Next.STOP:
                    return posted, failed, paused
                if outcome is _Next.SKIP_CHANNEL:
                    waiting.add(channel)
        return posted, failed, paused

    def _deliver_one(self, row: Delivery) -> tuple[_Next, str]:
        """Claim, post, record. Returns what to do next, and `posted`, `failed` or `none`."""
        if not self._store.outbox.claim_delivery(row.id, fence=self._lease):
            return _Next.CONTINUE, "none"  # taken or cancelled meanwhile
        try:
            posted = self._post(row)
        except SlackApiError as exc:
            return self._slack_failed(row, exc), "failed"
        except (ValueError, KeyError, TypeError) as exc:
            self._store.outbox.mark_failed(row.id, f"unreadable outbox row: {exc}")
            log.error("delivery %d (channel %s) is unreadable and was dropped: %s",
                      row.id, row.channel_id, exc)
            return _Next.CONTINUE, "failed"
        except Exception as exc:
            # Timeouts and dropped connections: Slack may or may not have the post.
            retry_at = self._clock() + _backoff(row.attempts)
            self._store.outbox.mark_failed(row.id, f"{type(exc).__name__}: {exc}"[:500],
                                    retry_at=retry_at)
            log.warning(
                "Slack did not answer for delivery %d (channel %s): %s; stopping this "
                "round, retrying from %s", row.id, row.channel_id, type(exc).__name__,
                retry_at.isoformat(timespec="seconds"),
            )
            return _Next.STOP, "failed"
        self._store.outbox.mark_sent(row.id, posted.ts, parent=posted.parent)
        log.info(
            "delivery %d posted: channel %s, subscription %d, release %s, %s%s",
            row.id, row.channel_id, row.subscription_id, row.release_id, row.kind,
            " (new parent message)" if posted.parent and row.release_id is not None else "",
        )
        if posted.update is not None:
            self._update_parent(row, *posted.update)
        return _Next.CONTINUE, "posted"

    def _post(self, row: Delivery) -> _Posted:
        if row.kind == "digest":
            message = Message(text=str(row.payload["text"]), blocks=tuple(row.payload["blocks"]))
            return _Posted(self._send(row.channel_id, message), parent=False)
        event = ChangeEvent.from_payload(row.payload)
        group = row.payload.get("group_name")
        group_name = group if isinstance(group, str) else None
        now = self._clock()
        parent = render_parent(
            event, group_name=group_name, mention=row.mention, now=now, changed_at=row.created_at
        )
        release_id = event.release.id
        parent_ts = self._store.outbox.get_parent(row.team_id, row.channel_id, release_id)
        if parent_ts is None:
            return _Posted(self._send(row.channel_id, parent), parent=True)
        try:
            ts = self._send(row.channel_id, render_change(event, now=now), thread_ts=parent_ts)
        except SlackApiError as exc:
            if _error_of(exc) not in THREAD_GONE:
                raise
            log.info("channel %s: the message of release %d is gone; posting a new one",
                     row.channel_id, release_id)
            return _Posted(self._send(row.channel_id, parent), parent=True)
        return _Posted(ts, parent=False, update=(parent_ts, parent))

    def _send(self, channel: str, message: Message, *, thread_ts: str | None = None) -> str:
        """chat.postMessage; blocks Slack refuses are replaced by the plain text."""
        args: dict[str, Any] = {"channel": channel, "text": message.text,
                                "unfurl_links": False, "unfurl_media": False}
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
        try:
            response = self._slack.chat_postMessage(**args, blocks=list(message.blocks))
        except SlackApiError as exc:
            if _error_of(exc) not in BLOCK_ERRORS:
                raise
            log.error("channel %s: Slack refused the blocks (%s); posting the text alone",
                      channel, _error_of(exc))
            response = self._slack.chat_postMessage(**args)
        return str(response["ts"])

    def _update_parent(self, row: Delivery, parent_ts: str, message: Message) -> None:
        """Best effort: the reply is out already; a stale parent is fixed by the next change."""
        try:
            self._slack.chat_update(
                channel=row.channel_id, ts=parent_ts, text=message.text,
                blocks=list(message.blocks),
            )
        except SlackApiError as exc:
            log.warning("channel %s: could not update the message of release %s (%s)",
                        row.channel_id, row.release_id, _error_of(exc))
        except Exception as exc:
            log.warning("channel %s: could not update the message of release %s (%s)",
                        row.channel_id, row.release_id, type(exc).__name__)

    def _slack_failed(self, row: Delivery, exc: SlackApiError) -> _Next:
        error = _error_of(exc)
        where = f"channel {row.channel_id}, delivery {row.id}, subscription {row.subscription_id}"
        if error in PAUSE_REASONS:
            self._store.outbox.mark_failed(row.id, error)
            count = self._store.subscriptions.pause_channel(
                row.team_id, row.channel_id, PAUSE_REASONS[error]
            )
            if count:
                self._paused_now.append(row.channel_id)
                log.warning("%s: Slack says %s; paused the channel's %d subscription(s) until "
                            "someone resumes them", where, error, count)
            return _Next.SKIP_CHANNEL
        if error in AUTH_ERRORS:
            self._store.outbox.unclaim_delivery(row.id)
            log.error("Slack refused the bot's token (%s) at %s: delivery stops for this "
                      "round. Check SLACK_BOT_TOKEN and the app's scopes.", error, where)
            return _Next.STOP
        if error == "ratelimited" or _status_of(exc) == 429:
            wait = _retry_after(exc)
            self._store.outbox.mark_failed(row.id, "ratelimited",
                                    retry_at=self._clock() + timedelta(seconds=wait))
            log.warning("%s: still rate limited after retries; waiting %d s", where, wait)
            return _Next.SKIP_CHANNEL
        if error in TRANSIENT_ERRORS or _status_of(exc) >= 500:
            if row.attempts + 1 >= MAX_TRANSIENT_ATTEMPTS:
                self._store.outbox.mark_failed(row.id, error)
                log.error("%s: gave up after %d attempts (%s)", where, row.attempts + 1, error)
                return _Next.SKIP_CHANNEL
            retry_at = self._clock() + _backoff(row.attempts)
            self._store.outbox.mark_failed(row.id, error, retry_at=retry_at)
            log.warning("%s: Slack failed (%s); retrying from %s", where, error,
                        retry_at.isoformat(timespec="seconds"))
            return _Next.SKIP_CHANNEL
        self._store.outbox.mark_failed(row.id, error)
        log.error("%s: Slack refused the post (%s); it will not be retried", where, error)
        return _Next.CONTINUE

    def _purge(self, now: datetime) -> None:
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now
        try:
            removed = self._store.outbox.purge(KEEP_DELIVERED)
        except Exception:
            log.warning("could not purge old outbox rows", exc_info=True)
            return
        if removed:
            log.info("purged %d old outbox rows", removed)


def glitch_reason(previous: Snapshot, polled: Sequence[Release]) -> str | None:
    """Why a poll looks like an API hiccup rather than news; None when it looks sane."""
    if previous.taken_at is None:
        return None
    live = {r.id for r in previous.releases.values() if not r.deleted}
    vanished = live - {r.id for r in polled}
    if not polled and len(live) >= GLITCH_MIN_RELEASES:
        return f"MetaKraftwerk listed no releases, the last poll had {len(live)}"
    if len(live) >= GLITCH_MANY and len(vanished) * 2 > len(live):
        return f"{len(vanished)} of {len(live)} releases vanished at once"
    return None


def _group_name(delivery: NewDelivery, names: Mapping[int, str]) -> str | None:
    release = delivery.payload.get("release")
    group_id = release.get("group_id") if isinstance(release, Mapping) else None
    return names.get(group_id) if isinstance(group_id, int) else None


def _error_of(exc: SlackApiError) -> str:
    try:
        error = exc.response.get("error")
    except Exception:
        error = None
    return str(error) if error else f"http_{_status_of(exc)}"


def _status_of(exc: SlackApiError) -> int:
    status = getattr(exc.response, "status_code", 0)
    return status if isinstance(status, int) else 0


def _retry_after(exc: SlackApiError) -> int:
    headers = getattr(exc.response, "headers", None) or {}
    for key, value in dict(headers).items():
        if str(key).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(1, int(float(str(raw))))
            except ValueError:
                break
    return DEFAULT_RETRY_AFTER


def _backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … up to 2 h between attempts."""
    return timedelta(seconds=min(30 * 2 ** max(0, attempts), 2 * 3600))


def _minutes(delta: timedelta) -> str:
    return f"{round(delta.total_seconds() / 60)} min"
