"""Slack's 429s in the web process: never slept out on a shared thread, tried again later.

The web process's WebClient raises a 429 at once (bot/wiring): sleeping out Retry-After in
an answer thread held every answer queued behind it. A view that Slack refused for now is
offered to the work queue again once Retry-After is over (`WorkQueue.submit_later`, no thread
waits meanwhile), a few times at most; after that, or for a longer wait, it is given up with
one warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from bot.slack.work import WorkQueue

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 60.0  # a longer Retry-After is not waited for: the view would be too old
RETRIES = 2
DEFAULT_WAIT_SECONDS = 1.0  # when a 429 carries no readable Retry-After


def retry_after(exc: SlackApiError) -> float | None:
    """The seconds Slack asked to wait, for a 429; None for any other error."""
    response = exc.response
    if response is None or response.status_code != 429:
        return None
    headers = response.headers or {}
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        seconds = float(str(raw))
    except ValueError:
        return DEFAULT_WAIT_SECONDS
    return seconds if 0 <= seconds < float("inf") else DEFAULT_WAIT_SECONDS


def again_later(
    work: WorkQueue,
    exc: SlackApiError,
    job: Callable[[int], object],
    *,
    what: str,
    retries_left: int,
) -> bool:
    """For a 429, `job(retries_left - 1)` once Retry-After is over; False for any other error.

    A 429 that is not tried again (no retries left, too long a wait, no room) is logged."""
    wait = retry_after(exc)
    if wait is None:
        return False
    if (
        retries_left > 0
        and wait <= MAX_WAIT_SECONDS
        and work.submit_later(wait, lambda: job(retries_left - 1))
    ):
        log.info("%s rate-limited by Slack; trying again in %.0f s", what, wait)
        return True
    log.warning("%s rate-limited by Slack (Retry-After %.0f s); given up", what, wait)
    return True
