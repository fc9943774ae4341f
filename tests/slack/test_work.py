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



# ---- jobs due later: no pool thread waits for them ------------------------------------------


def test_a_job_due_later_holds_no_pool_thread() -> None:
    queue = WorkQueue(1, 0, name="t")
    ran = threading.Event()
    try:
        assert queue.submit_later(3600, ran.set)
        assert queue.waiting_later == 1
        gate = threading.Event()
        assert queue.submit(gate.wait)  # the one thread is free for other work
        gate.set()
    finally:
        queue.close(timeout=5)
    assert not ran.is_set()


def test_jobs_due_later_run_in_the_order_they_are_due() -> None:
    queue = WorkQueue(1, 4, name="t")
    order: list[str] = []
    try:
        assert queue.submit_later(0.3, lambda: order.append("second"))
        assert queue.submit_later(0.0, lambda: order.append("first"))
        wait_for(lambda: len(order) == 2)
    finally:
        queue.close(timeout=5)
    assert order == ["first", "second"]


def test_close_drops_the_jobs_due_later_and_refuses_more(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = WorkQueue(1, 0, name="t")
    assert queue.submit_later(3600, lambda: None)
    queue.close(timeout=5)
    assert queue.waiting_later == 0
    assert "1 job(s) due later dropped" in caplog.text
    assert not queue.submit_later(0, lambda: None)


def test_jobs_due_later_are_bounded() -> None:
    queue = WorkQueue(1, 0, name="t", max_later=3)
    try:
        assert [queue.submit_later(3600, lambda: None) for _ in range(4)] == [True] * 3 + [False]
    finally:
        queue.close(timeout=5)


def test_a_job_due_on_a_full_queue_is_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = WorkQueue(1, 0, name="t")
    gate = threading.Event()
    ran = threading.Event()
    try:
        assert queue.submit(gate.wait)
        assert queue.submit_later(0, ran.set)
        wait_for(lambda: queue.waiting_later == 0)
        wait_for(lambda: "found the queue full" in caplog.text)
    finally:
        gate.set()
        queue.close(timeout=5)
    assert not ran.is_set()
