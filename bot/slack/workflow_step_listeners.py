"""Bolt wiring of the "Find releases" custom step (`function_executed` events).

Bolt acknowledges the event in the request's thread; the step runs on `delivery.work` and
completes through `complete` and `fail`, whose client carries the execution's
`bot_access_token`, as Slack requires. With the queue full the step fails at once, on the
notice queue, saying the bot is busy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import App, Complete, Fail
from slack_sdk.errors import SlackApiError

from bot.app.workflow_step import (
    FUNCTION_CALLBACK,
    INPUT_FILTER,
    FindReleasesStep,
    StepError,
    unexpected_error,
)
from bot.slack.reply_delivery import Delivery

log = logging.getLogger(__name__)

BUSY_STEP_TEXT = "The bot is busy with many requests right now. Please try again in a minute."


def register_workflow_step(app: App, step: FindReleasesStep, delivery: Delivery) -> None:
    app.function(FUNCTION_CALLBACK)(partial(on_find_releases_step, step, delivery))


def on_find_releases_step(
    step: FindReleasesStep,
    delivery: Delivery,
    inputs: dict[str, Any],
    complete: Complete,
    fail: Fail,
) -> None:
    """Hand the step to a work thread; when there is no room, fail it as busy."""
    if delivery.work.submit(lambda: find_releases_step(step, inputs, complete, fail)):
        return
    log.warning("busy: a workflow step was failed with the busy text")
    if not delivery.notices.submit(lambda: _finish(lambda: fail(BUSY_STEP_TEXT))):
        log.warning("no room to fail the workflow step either; it times out in Slack")


def find_releases_step(
    step: FindReleasesStep, inputs: dict[str, Any], complete: Complete, fail: Fail
) -> None:
    """Complete the execution with the outputs, or fail it with the reason."""
    filter_text = (inputs or {}).get(INPUT_FILTER)
    try:
        outputs = step.run(filter_text)
    except StepError as exc:
        log.info("workflow step refused filter %r: %s", str(filter_text)[:80], exc)
        reason = str(exc)
        _finish(lambda: fail(reason))
        return
    except Exception as exc:
        text = unexpected_error(exc)
        _finish(lambda: fail(text))
        return
    _finish(lambda: complete(outputs=outputs.as_dict()))


def _finish(call: Callable[[], object]) -> None:
    """functions.completeSuccess/completeError; a refusal is logged, not raised."""
    try:
        call()
    except SlackApiError as exc:
        log.warning("completing the workflow step failed: %s", exc.response.get("error"))
    except OSError as exc:
        log.warning("completing the workflow step failed: %s", type(exc).__name__)
