"""Delivery: post the outbox to Slack, oldest first, with the Slack error policy.

The first row for a (channel, release) posts the parent message; later ones reply in its
thread and rewrite the parent to the current state. A parent someone deleted is posted again,
with the current state, and the reply goes into its new thread. Each row is claimed (fenced by
the lease) just before it is posted and marked sent after, so a row leaves `pending` only once
Slack took it. One failing channel never holds up the others, and a channel's rows keep their
order: after a failure its later rows wait until its back-off ends (the worker delivers
again then, between polls).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app.language import Languages
from bot.clock import Clock
from bot.i18n import Texts
from bot.metrics import Metrics
from bot.notify.changes import ChangeEvent
from bot.notify.messages import render_change, render_parent
from bot.notify.records import Delivery
from bot.notify.store import Store
from bot.notify.worker.backoff import Backoff, gives_up
from bot.notify.worker.direct import direct_channel, direct_message, tell_paused_follower
from bot.notify.worker.lease import LeaseKeeper
from bot.notify.worker.slack_errors import (
    BLOCK_ERRORS,
    PAUSE_REASONS,
    PERMISSION_ERRORS,
    THREAD_GONE,
    TOKEN_ERRORS,
    TRANSIENT_ERRORS,
    error_of,
    permission_reason,
    retry_after,
    status_of,
)
from bot.render.message import Message

log = logging.getLogger(__name__)

BATCH_SIZE = 200
PARALLEL_CHANNELS = 8  # channels posted to at once; Slack limits each channel, not the app
CHANNEL_INTERVAL = 1.0  # seconds between two posts to one channel (Slack: about 1 per second)


class _Next(Enum):
    CONTINUE = "continue"  # go on with the next row
    SKIP_CHANNEL = "skip_channel"  # this channel's later rows wait for the next round
    STOP = "stop"  # stop delivering this round


@dataclass(frozen=True, slots=True)
class _Posted:
    ts: str
    parent: bool  # this post is the release's (new) parent message
    update: tuple[str, Message] | None = None  # (parent ts, current state) to rewrite after


class Deliverer:
    """Posts pending outbox rows while the lease holds; one per worker."""

    def __init__(
        self,
        store: Store,
        web_client: WebClient,
        lease: LeaseKeeper,
        clock: Clock,
        batch_size: int = BATCH_SIZE,
        *,
        parallel_channels: int = PARALLEL_CHANNELS,
        channel_interval: float = CHANNEL_INTERVAL,
        metrics: Metrics | None = None,
        backoff: Backoff | None = None,
        languages: Languages | None = None,
    ) -> None:
        self._store = store
        # Channel posts in their subscription's language, direct messages in the reader's.
        self._languages = languages or Languages()
        self._backoff = backoff or Backoff()
        self._metrics = metrics
        self._slack = web_client
        self._lease = lease
        self._clock = clock
        self._batch = batch_size
        self._paused: list[str] = []
        sqlite = store.engine.dialect.name == "sqlite"
        self._parallel = 1 if sqlite else max(1, parallel_channels)
        self._interval = channel_interval
        self._pace_lock = threading.Lock()
        self._last_post: dict[str, float] = {}  # channel -> monotonic time of its last post
        self._token_refused: bool | None = None  # None: not read from the store yet
        self._paused_follows: dict[int, str] = {}  # read at the start of each delivery

    def deliver(self, stop: threading.Event | None = None) -> tuple[int, int, list[str]]:
        """Post what is due; (posted, failed, channels paused). LeaseLost ends it early, and
        `stop` (a graceful shutdown) between two rows.

        Channels are served side by side (up to `parallel_channels` on PostgreSQL; SQLite has
        one writer, so one at a time), each channel's rows in order and at most one post per
        `channel_interval` seconds, Slack's limit for one channel.
        """
        for row in self._store.outbox.recover_in_flight(fence=self._lease.lease):
            log.warning(
                "delivery %d (channel %s, subscription %d, release %s, %s) was being posted "
                "when a worker stopped; posting it again, so Slack may show it twice",
                row.id, row.channel_id, row.subscription_id, row.release_id, row.kind,
            )
        if self._token_refused is None:
            self._token_refused = self._store.worker_status.token_refused() is not None
        self._paused_follows = self._store.outbox.paused_follows.reasons()
        posted = failed = 0
        paused = self._paused = []
        halt = threading.Event()  # a token error: nobody posts any more this round
        waiting: set[tuple[str, str]] = set()
        last_seen = 0  # rows come oldest first: each batch starts after the last one
        while True:
            batch = self._store.outbox.pending_deliveries(limit=self._batch, after_id=last_seen)
            if not batch:
                break
            last_seen = batch[-1].id
            channels: dict[tuple[str, str], list[Delivery]] = {}
            for row in batch:
                channel = (row.team_id, row.channel_id)
                if channel not in waiting:
                    channels.setdefault(channel, []).append(row)
            for channel, (done, lost, skip) in self._serve(channels, stop, halt):
                posted += done
                failed += lost
                if skip:
                    waiting.add(channel)
            if halt.is_set() or (stop is not None and stop.is_set()):
                break
        return posted, failed, paused

    def _serve(
        self,
        channels: dict[tuple[str, str], list[Delivery]],
        stop: threading.Event | None,
        halt: threading.Event,
    ) -> list[tuple[tuple[str, str], tuple[int, int, bool]]]:
        """Each channel's rows, channels in parallel; waits for all before returning, so no
        post runs on after a round ended (the first exception, e.g. LeaseLost, is re-raised).

        The first row goes alone: a refused token then stops the round after one post, as it
        does one channel at a time.
        """
        workers = min(self._parallel, len(channels))
        if workers <= 1:
            return [(c, self._channel(rows, stop, halt)) for c, rows in channels.items()]
        first, rows = next(iter(channels.items()))
        head = self._channel(rows[:1], stop, halt)
        rest = dict(channels)
        if head[2] or halt.is_set() or len(rows) == 1:
            del rest[first]
        else:
            rest[first] = rows[1:]
        with ThreadPoolExecutor(workers, thread_name_prefix="deliver") as pool:
            calls = {c: pool.submit(self._channel, r, stop, halt) for c, r in rest.items()}
            wait(calls.values())
        served = {c: call.result() for c, call in calls.items()}
        later = served.pop(first, (0, 0, head[2]))
        merged = (head[0] + later[0], head[1] + later[1], later[2])
        return [(first, merged), *served.items()]

    def _channel(
        self, rows: list[Delivery], stop: threading.Event | None, halt: threading.Event
    ) -> tuple[int, int, bool]:
        """One channel's rows in order: (posted, failed, whether its later rows wait)."""
        posted = failed = 0
        try:
            for row in rows:
                if halt.is_set() or (stop is not None and stop.is_set()):
                    break
                self._lease.keep()
                self._pace(row.channel_id)
                outcome, result = self._deliver_one(row)
                posted += result == "posted"
                failed += result == "failed"
                if outcome is _Next.STOP:
                    halt.set()
                    break
                if outcome is _Next.SKIP_CHANNEL:
                    return posted, failed, True
        except BaseException:
            halt.set()  # LeaseLost and the like: the other channels stop too
            raise
        return posted, failed, False

    def _pace(self, channel_id: str) -> None:
        """Wait until this channel's last post is `channel_interval` seconds old."""
        if self._interval <= 0:
            return
        with self._pace_lock:
            last = self._last_post.get(channel_id)
        if last is not None:
            delay = last + self._interval - self._clock.monotonic()
            if delay > 0:
                self._clock.sleep(delay)
        with self._pace_lock:
            self._last_post[channel_id] = self._clock.monotonic()

    def _deliver_one(self, row: Delivery) -> tuple[_Next, str]:
        """Claim, post, record. Returns what to do next, and `posted`, `failed` or `none`."""
        if not self._store.outbox.claim_delivery(row.id, fence=self._lease.lease):
            return _Next.CONTINUE, "none"  # taken or cancelled meanwhile
        if row.follow_id is not None and row.follow_id in self._paused_follows:
            reason = self._paused_follows[row.follow_id]
            self._store.outbox.mark_failed(row.id, f"not sent, the follow is paused: {reason}")
            return _Next.CONTINUE, "none"
        try:
            posted = self._post(row)
        except SlackApiError as exc:
            self._count_failure(error_of(exc))
            return self._slack_failed(row, exc), "failed"
        except (ValueError, KeyError, TypeError) as exc:
            self._count_failure("unreadable_row")
            self._store.outbox.mark_failed(row.id, f"unreadable outbox row: {exc}")
            log.error("delivery %d (channel %s) is unreadable and was dropped: %s",
                      row.id, row.channel_id, exc)
            return _Next.CONTINUE, "failed"
        except Exception as exc:
            # Timeouts, dropped connections and anything else: Slack may or may not have the
            # post. Retried with a back-off of this channel alone, then parked.
            self._count_failure(type(exc).__name__)
            return self._other_failure(row, exc), "failed"
        self._store.outbox.mark_sent(row.id, posted.ts, parent=posted.parent)
        if self._token_refused:
            self._store.worker_status.clear_token_refused()
            self._token_refused = False
            log.info("Slack takes the bot's token again; posting resumed")
        log.info(
            "delivery %d posted: channel %s, subscription %d, release %s, %s%s",
            row.id, row.channel_id, row.subscription_id, row.release_id, row.kind,
            " (new parent message)" if posted.parent and row.release_id is not None else "",
        )
        if posted.update is not None:
            self._update_parent(row, *posted.update)
        return _Next.CONTINUE, "posted"

    def _count_failure(self, error: str) -> None:
        if self._metrics is not None:
            self._metrics.delivery_failed(error)

    def _post(self, row: Delivery) -> _Posted:
        if row.follow_id is not None:  # a follower's DM: a message of its own, no thread
            message = direct_message(row, self._clock, self._reader(row))
            return _Posted(self._send(direct_channel(self._slack, row.channel_id), message), False)
        if row.kind == "digest":
            message = Message(text=str(row.payload["text"]), blocks=tuple(row.payload["blocks"]))
            return _Posted(self._send(row.channel_id, message), parent=False)
        event = ChangeEvent.from_payload(row.payload)
        group = row.payload.get("group_name")
        group_name = group if isinstance(group, str) else None
        now = self._clock.now()
        t = self._languages.for_posts(row.language)
        parent = render_parent(
            event, group_name=group_name, mention=row.mention, now=now, changed_at=row.created_at,
            t=t,
        )
        release_id = event.release.id
        parent_ts = self._store.outbox.get_parent(row.team_id, row.channel_id, release_id)
        if parent_ts is None:
            return _Posted(self._send(row.channel_id, parent), parent=True)
        try:
            ts = self._send(row.channel_id, render_change(event, now=now, t=t), thread_ts=parent_ts)
        except SlackApiError as exc:
            if error_of(exc) not in THREAD_GONE:
                raise
            log.info("channel %s: the message of release %d is gone (%s); posting it again, "
                     "then the change in its thread", row.channel_id, release_id, error_of(exc))
            new_parent = self._send(row.channel_id, parent)
            # Recorded at once: if the reply fails, its retry goes to the new thread.
            self._store.outbox.record_parent(row.team_id, row.channel_id, release_id,
                                             new_parent)
            reply = render_change(event, now=now, t=t)
            return _Posted(self._send(row.channel_id, reply, thread_ts=new_parent), False)
        return _Posted(ts, parent=False, update=(parent_ts, parent))

    def _reader(self, row: Delivery) -> Texts:
        """The language of the follower a direct message goes to (its channel is their id)."""
        return self._languages.for_user(row.team_id, row.channel_id)

    def _send(self, channel: str, message: Message, *, thread_ts: str | None = None) -> str:
        """chat.postMessage; blocks Slack refuses are replaced by the plain text."""
        args: dict[str, Any] = {"channel": channel, "text": message.text,
                                "unfurl_links": False, "unfurl_media": False}
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
        try:
            response = self._slack.chat_postMessage(**args, blocks=list(message.blocks))
        except SlackApiError as exc:
            if error_of(exc) not in BLOCK_ERRORS:
                raise
            log.error("channel %s: Slack refused the blocks (%s); posting the text alone",
                      channel, error_of(exc))
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
                        row.channel_id, row.release_id, error_of(exc))
        except Exception as exc:
            log.warning("channel %s: could not update the message of release %s (%s)",
                        row.channel_id, row.release_id, type(exc).__name__)

    def _other_failure(self, row: Delivery, exc: Exception) -> _Next:
        reason = f"{type(exc).__name__}: {exc}"[:500]
        if gives_up(row.attempts + 1, row.created_at, self._clock.now()):
            self._store.outbox.mark_failed(row.id, f"gave up after {row.attempts + 1} "
                                                   f"attempts: {reason}")
            log.error("delivery %d (channel %s, subscription %d) parked as failed after %d "
                      "attempts: %s", row.id, row.channel_id, row.subscription_id,
                      row.attempts + 1, type(exc).__name__)
            return _Next.SKIP_CHANNEL
        retry_at = self._clock.now() + self._backoff.delay(row.attempts)
        self._store.outbox.mark_failed(row.id, reason, retry_at=retry_at)
        log.warning(
            "Slack did not answer for delivery %d (channel %s): %s; the channel waits until "
            "%s", row.id, row.channel_id, type(exc).__name__,
            retry_at.isoformat(timespec="milliseconds"),
        )
        return _Next.SKIP_CHANNEL

    def _slack_failed(self, row: Delivery, exc: SlackApiError) -> _Next:
        error = error_of(exc)
        where = f"channel {row.channel_id}, delivery {row.id}, subscription {row.subscription_id}"
        if error in PAUSE_REASONS:
            self._store.outbox.mark_failed(row.id, error)
            count = self._store.subscriptions.pause_channel(
                row.team_id, row.channel_id, PAUSE_REASONS[error]
            )
            if count:
                self._paused.append(row.channel_id)
                log.warning("%s: Slack says %s; paused the channel's %d subscription(s) until "
                            "someone resumes them", where, error, count)
            return _Next.SKIP_CHANNEL
        if error in PERMISSION_ERRORS:
            return self._refused_here(row, exc)
        if error in TOKEN_ERRORS:
            self._store.outbox.unclaim_delivery(row.id)
            self._store.worker_status.record_token_refused(error)
            self._token_refused = True
            log.error("Slack refused the bot's token (%s) at %s: delivery stops for this "
                      "round. Check SLACK_BOT_TOKEN and the app's installation.", error, where)
            return _Next.STOP
        if error == "ratelimited" or status_of(exc) == 429:
            wait = retry_after(exc)
            self._store.outbox.mark_failed(
                row.id, "ratelimited", retry_at=self._clock.now() + timedelta(seconds=wait)
            )
            log.warning("%s: still rate limited after retries; waiting %d s", where, wait)
            return _Next.SKIP_CHANNEL
        if error in TRANSIENT_ERRORS or status_of(exc) >= 500:
            if gives_up(row.attempts + 1, row.created_at, self._clock.now()):
                self._store.outbox.mark_failed(row.id, error)
                log.error("%s: gave up after %d attempts (%s)", where, row.attempts + 1, error)
                return _Next.SKIP_CHANNEL
            retry_at = self._clock.now() + self._backoff.delay(row.attempts)
            self._store.outbox.mark_failed(row.id, error, retry_at=retry_at)
            log.warning("%s: Slack failed (%s); retrying from %s", where, error,
                        retry_at.isoformat(timespec="milliseconds"))
            return _Next.SKIP_CHANNEL
        self._store.outbox.mark_failed(row.id, error)
        log.error("%s: Slack refused the post (%s); it will not be retried", where, error)
        return _Next.CONTINUE

    def _refused_here(self, row: Delivery, exc: SlackApiError) -> _Next:
        """A permission error fails this one delivery: a follower's follow is paused (and the
        user told once, if Slack lets the app say it), a channel's subscriptions are paused,
        each with the reason shown; every other channel and follower goes on."""
        error, reason = error_of(exc), permission_reason(exc)
        self._store.outbox.mark_failed(row.id, reason)
        if row.follow_id is not None:
            self._paused_follows[row.follow_id] = reason
            pauses = self._store.outbox.paused_follows
            told = row.channel_id in pauses.users()  # the user's id: told about another one
            if pauses.pause(row.follow_id, reason, user_id=row.channel_id):
                log.warning("follow %d (user %s, release %s): Slack refused its direct message "
                            "(%s); the follow is paused until the user follows again",
                            row.follow_id, row.channel_id, row.release_id, error)
                if not told:
                    reader = self._reader(row)
                    tell_paused_follower(self._slack, row, permission_reason(exc, reader), reader)
            return _Next.CONTINUE
        count = self._store.subscriptions.pause_channel(
            row.team_id, row.channel_id, f"{reason}. Fix the app's installation, then repeat "
                                         "the subscribe or digest command to resume"
        )
        if count:
            self._paused.append(row.channel_id)
            log.warning("channel %s, delivery %d: Slack refused the post (%s); paused the "
                        "channel's %d subscription(s) until someone resumes them",
                        row.channel_id, row.id, error, count)
        return _Next.SKIP_CHANNEL
