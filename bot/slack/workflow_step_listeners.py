"""Bolt wiring of the "Find releases" custom step (`function_executed` events).

Bolt acknowledges the event in the request's thread; the step runs on `delivery.work` and
completes through `complete` and `fail`, whose client carries the execution's
`bot_access_token`, as Slack requires. With the queue full the step fails at once, on the
notice queue, saying the bot is busy. When Slack answers the completion with a 429, the same
call (the outputs are not looked up again) is offered to the queue again once Retry-After is
over, a few times at most (bot/slack/rate_limits.py); no thread sleeps meanwhile.

Slack delivers an event again when it did not see the 200 in time (`X-Slack-Retry-Num`, the
same execution); the injected ReplayGuard (shared on Redis when CACHE_URL is set) lets one
delivery per execution complete it, in this process or another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import App, Complete, Fail
from slack_sdk.errors import SlackApiError

from bot.app.caller import Caller
from bot.app.workflow_step import (
    FUNCTION_CALLBACK,
    NOBODY,
    FindReleasesStep,
    StepError,
    filter_input,
    unexpected_error,
)
from bot.cache.replay import ReplayGuard
from bot.slack import payload
from bot.slack.actor import with_actor
from bot.slack.rate_limits import RETRIES, again_later
from bot.slack.reply_delivery import Delivery
from bot.slack.work import WorkQueue

log = logging.getLogger(__name__)

BUSY_STEP_TEXT = "The bot is busy with many requests right now. Please try again in a minute."
SEEN_TTL_SECONDS = 15 * 60.0  # Slack retries within minutes


def register_workflow_step(
    app: App, step: FindReleasesStep, delivery: Delivery, seen: ReplayGuard
) -> None:
    app.function(FUNCTION_CALLBACK)(partial(on_find_releases_step, step, delivery, seen))


def on_find_releases_step(
    step: FindReleasesStep,
    delivery: Delivery,
    seen: ReplayGuard,
    inputs: object,
    complete: Complete,
    fail: Fail,
    event: dict[str, Any],
    body: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> None:
    """Hand the step to a work thread; when there is no room, fail it as busy. The step
    reads the connection of the installation that runs it (Bolt's `body` and `context`)."""
    execution = payload.text(event, "function_execution_id")
    caller = with_actor(Caller(), body or {}, context)

    def first_time() -> bool:
        """The first delivery of this execution, or Slack's retry of one already handled."""
        if execution and not seen.first_time(f"function_executed:{execution}", SEEN_TTL_SECONDS):
            log.info("workflow step %s seen before (a retry); not run again", execution[:40])
            return False
        return True

    def run() -> None:
        if first_time():
            find_releases_step(step, inputs, complete, fail, later=delivery.work, caller=caller)

    def busy() -> None:
        if first_time():
            _finish(lambda: fail(BUSY_STEP_TEXT), delivery.notices)

    if delivery.work.submit(run):
        return
    log.warning("busy: a workflow step was failed with the busy text")
    if not delivery.notices.submit(busy):
        log.warning("no room to fail the workflow step either; it times out in Slack")


def find_releases_step(
    step: FindReleasesStep,
    inputs: object,
    complete: Complete,
    fail: Fail,
    *,
    later: WorkQueue | None = None,
    caller: Caller = NOBODY,
) -> None:
    """Complete the execution with the outputs, or fail it with the reason; a completion Slack
    rate-limits is sent again on `later` (without one, it is logged and given up)."""
    filter_text: object = None
    try:
        filter_text = filter_input(inputs)
        outputs = step.run(filter_text, caller)
    except StepError as exc:
        log.info("workflow step refused filter %r: %s", str(filter_text)[:80], exc)
        reason = str(exc)
        _finish(lambda: fail(reason), later)
        return
    except Exception as exc:
        text = unexpected_error(exc)
        _finish(lambda: fail(text), later)
        return
    result = outputs.as_dict()
    _finish(lambda: complete(outputs=result), later)


def _finish(
    call: Callable[[], object], later: WorkQueue | None, *, retries_left: int = RETRIES
) -> None:
    """functions.completeSuccess/completeError; a refusal is logged, not raised, and a 429
    is tried again on `later` once Retry-After is over."""
    try:
        call()
    except SlackApiError as exc:
        def again(left: int) -> None:
            _finish(call, later, retries_left=left)

        what = "completing the workflow step"
        if later is None or not again_later(
            later, exc, again, what=what, retries_left=retries_left
        ):
            log.warning("%s failed: %s", what, exc.response.get("error"))
    except OSError as exc:
        log.warning("completing the workflow step failed: %s", type(exc).__name__)
