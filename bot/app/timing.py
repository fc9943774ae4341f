"""Answers that time each /releases command for the process's metrics."""

from __future__ import annotations

import time

from bot.app.answers import Answers, Caller, Reply
from bot.metrics import Metrics


class TimedAnswers(Answers):
    """The same answers; `command` is observed in `releases_bot_command_seconds`."""

    def observe_with(self, metrics: Metrics) -> TimedAnswers:
        self._metrics = metrics
        return self

    def command(self, text: str, caller: Caller) -> Reply:
        started = time.monotonic()
        try:
            return super().command(text, caller)
        finally:
            metrics = getattr(self, "_metrics", None)
            if metrics is not None:
                metrics.command_seconds.observe(time.monotonic() - started)
