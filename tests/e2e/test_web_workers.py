"""`WEB_CONCURRENCY=2`: two processes serve one socket; one that dies is replaced."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo.api_server import DemoApiServer
from tests.e2e.conftest import WebProcess, running_web
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.slow


@pytest.fixture
def two(tmp_path: Path) -> Iterator[WebProcess]:
    with (
        DemoApiServer() as demo,
        FakeSlack() as slack,
        running_web(demo, slack, tmp_path, WEB_CONCURRENCY="2") as process,
    ):
        yield process


def children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


def wait_children(pid: int, count: int, timeout: float = 15) -> set[int]:
    deadline = time.monotonic() + timeout
    while len(found := children(pid)) != count:
        assert time.monotonic() < deadline, f"{found} after {timeout} s"
        time.sleep(0.1)
    return found


def test_two_processes_serve_and_a_dead_one_is_replaced(two: WebProcess) -> None:
    first = wait_children(two.proc.pid, 2)
    for _ in range(6):
        assert two.ask("help")["text"]
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while victim in (now := children(two.proc.pid)) or len(now) != 2:
        assert time.monotonic() < deadline, now
        time.sleep(0.1)
    for _ in range(6):
        assert two.ask("help")["text"]
    assert "exited" in two.log()
