"""The work queue: bounded, never blocking the caller, drained on close."""

from __future__ import annotations

import functools
import logging
import threading

import pytest

from bot.slack.work import WorkQueue


def test_jobs_beyond_threads_and_limit_are_refused_at_once() -> None:
    gate = threading.Event()
    queue = WorkQueue(2, 3, name="t")
    try:
        accepted = [queue.submit(gate.wait) for _ in range(7)]
        assert accepted == [True] * 5 + [False] * 2
        assert queue.pending == 5
    finally:
        gate.set()
        queue.close(timeout=5)
    assert queue.pending == 0


def test_a_finished_job_frees_its_place() -> None:
    queue = WorkQueue(1, 0, name="t")
    done = threading.Event()
    assert queue.submit(done.set)
    assert done.wait(5)
    queue.close(timeout=5)
    assert queue.pending == 0


def test_a_failing_job_is_logged_and_frees_its_place(caplog: pytest.LogCaptureFixture) -> None:
    queue = WorkQueue(1, 0, name="t")

    def broken() -> None:
        raise RuntimeError("boom")

    assert queue.submit(broken)
    queue.close(timeout=5)
    assert queue.pending == 0
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


def test_close_waits_for_queued_work_then_refuses_more() -> None:
    queue = WorkQueue(1, 5, name="t")
    ran: list[int] = []
    for i in range(5):
        assert queue.submit(functools.partial(ran.append, i))
    queue.close(timeout=5)
    assert ran == [0, 1, 2, 3, 4]
    assert not queue.submit(lambda: None)


def test_close_gives_up_after_its_timeout(caplog: pytest.LogCaptureFixture) -> None:
    gate = threading.Event()
    queue = WorkQueue(1, 1, name="t")
    queue.submit(gate.wait)
    queue.submit(gate.wait)
    queue.close(timeout=0.1)
    gate.set()
    assert "2 job(s) unfinished" in caplog.text
