"""The worker-at-scale benchmark runs end to end on tiny numbers (PostgreSQL needed)."""

from __future__ import annotations

import argparse
import os

import pytest

from bench.worker_scale import report, run

pytestmark = pytest.mark.slow


def test_worker_scale_benchmark_plans_and_delivers_paced() -> None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("TEST_DATABASE_URL is not set")
        pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL to run the benchmark on")
    options = argparse.Namespace(
        database_url=url, releases=40, groups=4, subscriptions=8, channels=4, changes=4,
        deliver_seconds=2.5,
    )
    figures = run(options)
    assert figures.enqueued > 0
    assert figures.posted > 0
    assert figures.closest_posts_in_a_channel >= 0.9  # one post a second per channel
    assert "planning" in report(figures)
