"""The work queue: bounded, never blocking the caller, drained on close."""

from __future__ import annotations

import functools
import logging
import threading

import pytest

from bot.slack.work import WorkQueue
from tests.waiting import wait_for


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


def test_a_thread_starts_only_when_no_idle_one_is_there_and_is_kept() -> None:
    queue = WorkQueue(4, 0, name="t-answer")
    names: list[str] = []
    gate = threading.Event()

    def note() -> None:
        names.append(threading.current_thread().name)

    def note_and_hold() -> None:
        note()
        gate.wait()

    try:
        for _ in range(6):  # one after the other: the first thread takes each
            assert queue.submit(note)
            wait_for(lambda: queue.pending == 0)
        assert set(names) == {"t-answer_0"}
        for _ in range(4):  # four at once: four threads, no fifth
            assert queue.submit(note_and_hold)
        assert not queue.submit(note)
    finally:
        gate.set()
        queue.close(timeout=5)
    assert set(names) == {f"t-answer_{i}" for i in range(4)}


def test_jobs_still_queued_when_close_gives_up_never_run() -> None:
    gate = threading.Event()
    ran: list[str] = []
    queue = WorkQueue(1, 2, name="t")
    queue.submit(gate.wait)
    queue.submit(lambda: ran.append("late"))
    queue.close(timeout=0.05)
    assert queue.pending == 1  # the running job; the queued one is dropped
    gate.set()
    wait_for(lambda: queue.pending == 0)
    assert ran == []
    assert not queue.submit(lambda: ran.append("after"))

