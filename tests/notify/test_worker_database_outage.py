"""The round loop under database trouble: an outage is expected, so it is logged once when it
starts and once when it ends, never as a traceback every round."""

from __future__ import annotations

import logging
import threading

import pytest
from slack_sdk import WebClient

from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.config import Settings
from bot.notify.store import Store, StoreUnavailable
from bot.notify.worker import PollReport, Worker
from tests.fakes.clock import FakeClock


class ScriptedWorker(Worker):
    """A worker whose rounds play back `outcomes` (an exception is raised), then stop."""

    def __init__(self, *args: object, outcomes: list[Exception | None],
                 stop: threading.Event, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.outcomes = outcomes
        self.stop_event = stop

    def poll_once(self) -> PollReport:
        if not self.outcomes:
            self.stop_event.set()
            return PollReport(leader=True)
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return PollReport(leader=True)


def test_a_database_outage_is_one_warning_then_one_line_when_it_ends(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock, caplog: pytest.LogCaptureFixture,
) -> None:
    down = StoreUnavailable("OperationalError: connection refused")
    stop = threading.Event()
    worker = ScriptedWorker(
        store, ReleaseFinder(demo_cache), WebClient(token="xoxb-test"),
        settings=Settings(poll_interval_seconds=0.01), clock=clock, holder_id="w1",
        outcomes=[down, down, down, None, down, None], stop=stop,
    )
    with caplog.at_level(logging.DEBUG, logger="bot.notify.worker"):
        worker.run(stop)
    records = [r for r in caplog.records if "database" in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in records if r.levelno >= logging.INFO] == [
        ("WARNING", "notification round failed: the database is unavailable (OperationalError: "
                    "connection refused); trying again every 0 s"),
        ("INFO", "the database is available again after 3 failed round(s)"),
        ("WARNING", "notification round failed: the database is unavailable (OperationalError: "
                    "connection refused); trying again every 0 s"),
        ("INFO", "the database is available again after 1 failed round(s)"),
    ]
    assert not any(r.exc_info for r in caplog.records)
