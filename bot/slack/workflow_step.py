"""Bolt wiring of the "Find releases" custom step (`function_executed` events).

Bolt acknowledges the event itself and hands the listener a client bound to the execution's
`bot_access_token`; `complete` and `fail` use that client, as Slack requires.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, Complete, Fail

from bot.workflow_step import (
    FUNCTION_CALLBACK,
    INPUT_FILTER,
    FindReleasesStep,
    StepError,
    unexpected_error,
)

log = logging.getLogger(__name__)


def register_workflow_step(app: App, step: FindReleasesStep) -> None:
    def on_find_releases(inputs: dict[str, Any], complete: Complete, fail: Fail) -> None:
        find_releases_step(step, inputs, complete, fail)

    app.function(FUNCTION_CALLBACK)(on_find_releases)


def find_releases_step(
    step: FindReleasesStep, inputs: dict[str, Any], complete: Complete, fail: Fail
) -> None:
    """Complete the execution with the outputs, or fail it with the reason."""
    filter_text = (inputs or {}).get(INPUT_FILTER)
    try:
        outputs = step.run(filter_text)
    except StepError as exc:
        log.info("workflow step refused filter %r: %s", str(filter_text)[:80], exc)
        fail(str(exc))
        return
    except Exception as exc:
        fail(unexpected_error(exc))
        return
    complete(outputs=outputs.as_dict())
