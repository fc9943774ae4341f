"""`/releases follow | unfollow | following`, the Follow/Unfollow buttons, and App Home's list.

A follow belongs to the person, not the channel: every answer is private to them, and the
changes come as direct messages from the worker (`follow_routing`, `worker.direct`). Release
names come from the cache; when MetaKraftwerk is down the list still shows the ids.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.app.answers import Caller, FollowsCommand, Reply
from bot.app.finder import ReleaseFinder
from bot.app.finders import Finders, finders_of
from bot.clock import Clock, SystemClock
from bot.i18n import ENGLISH, N_, Texts
from bot.logs import new_ref
from bot.metakraftwerk.errors import MetaKraftwerkError, NotConnected
from bot.metakraftwerk.models import Release
from bot.mrkdwn import escape_truncated
from bot.notify.store import Store, StoreUnavailable
from bot.notify.store.follows import MAX_FOLLOWS_PER_USER, FollowLimitReached
from bot.query import FollowCommand, UnfollowCommand
from bot.render import actions as act
from bot.render import parts
from bot.render.block_limits import MAX_SECTION_TEXT, cut_mrkdwn, fit_blocks, fit_text
from bot.render.errors import render_error
from bot.render.message import Message

log = logging.getLogger(__name__)

MAX_LISTED = 40  # one section with an Unfollow button each; the rest are counted
WHAT_COMES = N_(
    "I'll send you a direct message when it opens or closes, its dates change, it is renamed "
    "or deleted, or it gets a new hotfix."
)
FOLLOWING_HINT = N_("`/releases following` lists the releases you follow.")


class FollowCommands:
    """The `Follows` service `bot.app.answers.Answers` delegates to, over the store and cache."""

    def __init__(
        self, store: Store, finder: ReleaseFinder | Finders, *, clock: Clock | None = None
    ) -> None:
        self._store = store
        self._finders = finders_of(finder)  # the follower's connection's releases
        self._clock = clock or SystemClock()

    def handle(self, command: FollowsCommand, caller: Caller, t: Texts = ENGLISH) -> Reply:
        """The answer in `t`, the language of the person who asked."""
        if not caller.user_id:
            return Reply(render_error(
                t._("I could not tell who you are, so I cannot follow for you."), t=t
            ))
        try:
            if isinstance(command, FollowCommand):
                return self._follow(command.release_id, caller, t)
            if isinstance(command, UnfollowCommand):
                return self._unfollow(command.release_id, caller, t)
            return self._following(caller, t)
        except StoreUnavailable as exc:
            ref = new_ref()
            log.warning("%s by %s: the database is unavailable (ref %s): %s",
                        type(command).__name__, caller.user_id, ref, exc)
            return Reply(render_error(
                t._("The database is busy or unreachable; try again in a minute (ref {ref}).",
                    ref=ref), t=t,
            ))

    def is_following(self, caller: Caller, release_id: int) -> bool | None:
        if not caller.user_id:
            return None
        return self._store.follows.is_following(caller.team_id, caller.user_id, release_id)

    def followed(self, caller: Caller) -> Sequence[Release]:
        """The user's followed releases as the cache knows them (App Home)."""
        follows = self._store.follows.of_user(caller.team_id, caller.user_id)
        if not follows:
            return ()
        try:
            known = {r.id: r for r in self._finders.for_caller(caller).all_releases().releases}
        except NotConnected:
            return ()  # App Home says so above
        return tuple(known[f.release_id] for f in follows if f.release_id in known)

    # ---- commands ---------------------------------------------------------------------------

    def _follow(self, release_id: int, caller: Caller, t: Texts) -> Reply:
        finder = self._finders.for_caller(caller)
        release = finder.detail(release_id).release  # ReleaseNotFound: a clear answer
        name = f"{parts.bold(parts.name_label(release.name, 80))} (#{release.id})"
        if release.deleted:
            return Reply(render_error(
                t._("{release} is deleted; there is nothing left to follow.", release=name),
                t=t,
            ))
        try:
            follow, new = self._store.follows.follow(caller.team_id, caller.user_id, release.id)
        except FollowLimitReached:
            return Reply(render_error(
                t._("You follow {count} releases already, the most I keep per person. "
                    "Unfollow one first.", count=MAX_FOLLOWS_PER_USER),
                t._(FOLLOWING_HINT), t,
            ))
        if not new:
            if self._store.outbox.paused_follows.resume(follow.id):
                log.info("user %s resumed the paused follow of release %d", caller.user_id,
                         release.id)
                return Reply(_note(
                    t._("You follow {release} again; its direct messages resume.",
                        release=name),
                    t._(FOLLOWING_HINT),
                ))
            return Reply(_note(t._("You already follow {release}.", release=name),
                               t._(FOLLOWING_HINT)))
        log.info("user %s follows release %d", caller.user_id, release.id)
        return Reply(_note(
            t._("You follow {release} now.", release=name) + " " + t._(WHAT_COMES),
            t._("`/releases unfollow {id}` stops it.", id=release.id) + " "
            + t._(FOLLOWING_HINT),
        ))

    def _unfollow(self, release_id: int, caller: Caller, t: Texts) -> Reply:
        if not self._store.follows.unfollow(caller.team_id, caller.user_id, release_id):
            return Reply(render_error(
                t._("You don't follow release #{id}.", id=release_id), t._(FOLLOWING_HINT), t
            ))
        log.info("user %s unfollowed release %d", caller.user_id, release_id)
        return Reply(_note(
            t._("You no longer follow {release}; no more messages about it.",
                release=self._label(caller, release_id, t)),
            t._("`/releases follow {id}` follows it again.", id=release_id),
        ))

    def _following(self, caller: Caller, t: Texts) -> Reply:
        follows = self._store.follows.of_user(caller.team_id, caller.user_id)
        known, names, trouble = self._releases(caller, t)
        pauses = self._store.outbox.paused_follows.reasons([f.id for f in follows])
        paused = {f.release_id: pauses[f.id] for f in follows if f.id in pauses}
        return Reply(render_following([f.release_id for f in follows], known, names,
                                      self._clock.now(), trouble=trouble, paused=paused, t=t))

    def _releases(
        self, caller: Caller, t: Texts
    ) -> tuple[dict[int, Release], dict[int, str], str | None]:
        try:
            result = self._finders.for_caller(caller).all_releases()
        except MetaKraftwerkError as exc:
            log.warning("the follow list without names: %s", exc)
            return {}, {}, t._(exc.user_message)
        return {r.id: r for r in result.releases}, dict(result.group_names), None

    def _label(self, caller: Caller, release_id: int, t: Texts) -> str:
        known, _, _ = self._releases(caller, t)
        release = known.get(release_id)
        if release is None:
            return t._("release #{id}", id=release_id)
        return f"{parts.bold(parts.name_label(release.name, 80))} (#{release_id})"


def render_following(
    release_ids: Sequence[int],
    known: dict[int, Release],
    group_names: dict[int, str],
    now: datetime,
    *,
    trouble: str | None = None,
    paused: Mapping[int, str] | None = None,
    t: Texts = ENGLISH,
) -> Message:
    """The user's follows, one row each with an Unfollow button; a paused one says why."""
    if not release_ids:
        text = t._(
            "You follow no releases. `/releases follow 21`, or the *Follow* button on a "
            "release's details, sends you a direct message when it changes."
        ) + " " + t._(WHAT_COMES)
        return Message(text=fit_text(text), blocks=fit_blocks([parts.section(text)]),
                       meta={"view": "following"})
    blocks: list[dict[str, Any]] = [
        parts.header(t._("Releases you follow · {count}", count=len(release_ids)))
    ]
    ids = act.ActionIds()
    for release_id in release_ids[:MAX_LISTED]:
        release = known.get(release_id)
        line = (
            parts.summary_line(release, group_names=group_names, known=known, now=now, t=t)
            if release is not None
            else t._("Release #{id}", id=release_id)
        )
        button = parts.button(
            t._("Unfollow"), ids(act.ACTION_UNFOLLOW, release_id),
            act.encode_release_ref(release_id),
        )
        # Both lines name the id already (`*R59* #59 · …`, `Release #59`).
        text = line
        if paused and release_id in paused:
            text += f"\n{parts.EMOJI_WARNING} " + t._(
                "Paused: {reason}. `/releases follow {id}` resumes it.",
                reason=escape_truncated(t._(paused[release_id] or "?"), 300), id=release_id,
            )
        blocks.append(parts.section(cut_mrkdwn(text, MAX_SECTION_TEXT), accessory=button))
    notes = [t._(WHAT_COMES)]
    if len(release_ids) > MAX_LISTED:
        notes.insert(0, t._("…and {count} more, not shown.", count=len(release_ids) - MAX_LISTED))
    if trouble:
        notes.insert(0, f"{parts.EMOJI_WARNING} " + t._(
            "Names not available: {reason}", reason=cut_mrkdwn(trouble, 300)
        ))
    blocks.append(parts.context(*notes))
    return Message(
        text=fit_text(t.ngettext("You follow {count} release", "You follow {count} releases",
                                 len(release_ids))),
        blocks=fit_blocks(blocks),
        meta={"view": "following"},
    )


def _note(text: str, hint: str | None = None) -> Message:
    blocks = [parts.section(cut_mrkdwn(text, MAX_SECTION_TEXT))]
    if hint:
        blocks.append(parts.context(cut_mrkdwn(hint, 1500)))
    return Message(text=fit_text(text), blocks=fit_blocks(blocks), meta={"view": "follow"})
