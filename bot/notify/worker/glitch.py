"""When a poll looks like an API hiccup rather than news, and when to believe it anyway."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.metakraftwerk.models import Release
from bot.notify.records import Snapshot

log = logging.getLogger(__name__)

# A poll is a glitch, not news, when the list is empty though the last one had this many live
# releases, or when more than half of at least GLITCH_MANY live releases vanished at once.
# The same shape seen GLITCH_CONFIRMATIONS polls in a row is believed.
GLITCH_MIN_RELEASES = 3
GLITCH_MANY = 10
GLITCH_CONFIRMATIONS = 3


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


class GlitchGuard:
    """Remembers the last glitch's shape across rounds, to believe it once it keeps coming."""

    def __init__(self) -> None:
        self._glitch: tuple[frozenset[int], int] | None = None

    def reason(self, previous: Snapshot, polled: Sequence[Release]) -> str | None:
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
