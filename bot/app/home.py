"""What App Home shows one user: open releases by group, follows, their channels' subscriptions.

Everything comes from the cache and the subscription store; a part that fails becomes a note
in its section instead of failing the whole tab, so the Home tab always opens.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.app.answers import Caller, Subscriptions
from bot.app.finder import FindResult, ReleaseFinder
from bot.app.finders import Finders, finders_of
from bot.app.language import Languages
from bot.clock import Clock
from bot.i18n import ENGLISH, N_, Texts
from bot.metakraftwerk.errors import MetaKraftwerkError, NotConnected
from bot.metakraftwerk.models import Release
from bot.query import Query, SubscriptionsCommand
from bot.render import actions as act
from bot.render.connection_panel import ConnectionPanel
from bot.render.home_view import ChannelRows, HomeData, render_home

log = logging.getLogger(__name__)

MAX_CHANNELS_CHECKED = 100  # one store read each; a user in more sees the first ones
OPEN_RELEASES = Query(status="open")


class FollowedReleases(Protocol):
    """The releases a user follows; the Home section for them shows nothing without any."""

    def followed(self, caller: Caller) -> Sequence[Release]: ...


class SubscriptionRows(Protocol):
    """A channel's subscriptions as data for the Home tab: one mrkdwn row each, in the words of
    `/releases subscriptions` (bot.notify owns that wording)."""

    def rows(self, caller: Caller, t: Texts = ENGLISH) -> tuple[str, ...]: ...


class RowsFromCommands:
    """Rows for a subscriptions service that only answers commands: its list, read back.

    bot/wiring gives Home the service's own `rows`; this serves one built without them.
    """

    def __init__(self, subscriptions: Subscriptions) -> None:
        self._subscriptions = subscriptions

    def rows(self, caller: Caller, t: Texts = ENGLISH) -> tuple[str, ...]:
        reply = self._subscriptions.handle(SubscriptionsCommand(), caller, t)
        return _subscription_rows(reply.message.blocks)


class NoFollows:
    """Until following exists: nobody follows anything, so the section stays empty."""

    def followed(self, caller: Caller) -> Sequence[Release]:
        return ()


@dataclass(frozen=True, slots=True)
class UserChannels:
    """The channels a user is in, as far as Slack told us; `error` when it would not."""

    ids: tuple[str, ...] = ()
    error: str | None = None


class Home:
    def __init__(
        self,
        finder: ReleaseFinder | Finders,
        *,
        clock: Clock,
        subscriptions: Subscriptions | None = None,
        follows: FollowedReleases | None = None,
        rows: SubscriptionRows | None = None,
        languages: Languages | None = None,
    ) -> None:
        """`rows` reads the channels' subscriptions; without it, `subscriptions`' list does."""
        self._finders = finders_of(finder)
        self._clock = clock
        self._subscriptions = subscriptions
        self._rows = rows or (RowsFromCommands(subscriptions) if subscriptions else None)
        self._follows: FollowedReleases = follows or NoFollows()
        self._languages = languages or Languages()

    def view(
        self,
        caller: Caller,
        channels: UserChannels,
        *,
        refresh: bool = False,
        connection: ConnectionPanel | None = None,
    ) -> dict[str, Any]:
        """The Home tab view for `caller` (a `views.publish` view), in their language; with
        `connection` (distributed mode), the MetaKraftwerk connection's section on top."""
        releases, releases_error = self._open_releases(caller, refresh)
        texts = self._languages.for_user(caller.team_id, caller.user_id)
        channel_rows, subscriptions_error = self._channel_rows(caller, channels, texts)
        data = HomeData(
            releases=releases,
            releases_error=releases_error,
            followed=self._followed(caller),
            channels=channel_rows,
            channels_error=channels.error or subscriptions_error,
            subscriptions_available=self._subscriptions is not None,
            connection=connection,
        )
        return render_home(data, self._clock.now(), texts)

    def _open_releases(
        self, caller: Caller, refresh: bool
    ) -> tuple[FindResult | None, str | None]:
        query = Query(status="open", refresh=refresh)
        try:
            return self._finders.for_caller(caller).find(query), None
        except NotConnected as exc:
            log.info("App Home of %s: MetaKraftwerk is not connected", caller.team_id or "?")
            return None, exc.user_message
        except MetaKraftwerkError as exc:
            log.warning("App Home without releases: %s", exc)
            return None, exc.user_message
        except Exception:
            log.exception("App Home without releases")
            return None, N_("The releases could not be read.")

    def _followed(self, caller: Caller) -> tuple[Release, ...]:
        try:
            return tuple(self._follows.followed(caller))
        except Exception:
            log.exception("App Home without followed releases for %s", caller.user_id)
            return ()

    def _channel_rows(
        self, caller: Caller, channels: UserChannels, t: Texts
    ) -> tuple[tuple[ChannelRows, ...], str | None]:
        """The user's channels with subscriptions, rows as `/releases subscriptions` has them."""
        if self._rows is None or not channels.ids:
            return (), None
        out: list[ChannelRows] = []
        for channel_id in channels.ids[:MAX_CHANNELS_CHECKED]:
            where = Caller(caller.team_id, channel_id, caller.user_id, caller.user_name)
            try:
                rows = self._rows.rows(where, t)
            except Exception:
                log.exception("App Home could not read the subscriptions of %s", channel_id)
                return tuple(out), N_("The subscriptions could not be read.")
            if rows:
                out.append(ChannelRows(channel_id, rows))
        return tuple(out), None


def _subscription_rows(blocks: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """The row texts of a subscriptions list (already escaped), without their Remove buttons."""
    prefix = f"{act.BLOCK_SUBSCRIPTION_PREFIX}:"
    return tuple(
        block["text"]["text"]
        for block in blocks
        if str(block.get("block_id", "")).startswith(prefix)
        and isinstance(block.get("text"), dict)
        and isinstance(block["text"].get("text"), str)
    )
