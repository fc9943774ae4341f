"""A release closed before its end date is in the standup's "Closed since ...", end to end.

The worker process polls the demo API and its snapshot records when the release closed; a
signed `/releases standup` to the web process then reads that time from the same database.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Notifier
from tests.e2e.test_notifications import GROUP, command, subscribe, wait_baselines, wait_post

pytestmark = pytest.mark.slow


def test_a_release_closed_early_is_in_the_standup(notifier: Notifier) -> None:
    data = notifier.demo.data
    release = data.get("R59")  # open, ends in a few days
    assert not release.closed

    def closed_section() -> str:
        answer = command(notifier, "C1", f"standup group:{GROUP}")
        blocks = [b["text"]["text"] for b in answer["blocks"] if b.get("type") == "section"]
        return next((t for t in blocks if t.startswith("*:lock: Closed")), "")

    subscribe(notifier, "C1", f"subscribe group:{GROUP}")
    wait_baselines(notifier, "C1")
    notifier.wait_rounds(1)
    data.close(release.id)
    wait_post(notifier, "C1", release.id, "closed")  # the worker's snapshot saw it close
    notifier.wait_rounds(1)

    section = closed_section()
    assert f"#{release.id}" in section
    assert "· closed <!date^" in section
