"""The worker-at-scale benchmark runs end to end on tiny numbers (PostgreSQL needed).

PostgreSQL comes from the same place as the store tests' (tests/notify/conftest.py): the
README's default when TEST_DATABASE_URL is unset, skipped when unreachable, failed under CI.
"""

from __future__ import annotations

import argparse

import pytest

from bench.worker_scale import report, run
from tests.notify.conftest import pg_url  # noqa: F401 - the fixture, with its own schema

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_worker_scale_benchmark_plans_and_delivers_paced(pg_url: str) -> None:  # noqa: F811
    options = argparse.Namespace(
        database_url=pg_url, releases=40, groups=4, subscriptions=8, channels=4, changes=4,
        deliver_seconds=2.5,
    )
    figures = run(options)
    assert figures.enqueued > 0
    assert figures.posted > 0
    assert figures.closest_posts_in_a_channel >= 0.9  # one post a second per channel
    assert "planning" in report(figures)
