"""A standup burst: many people type the same command at once against a slow API."""

from __future__ import annotations

import statistics
import threading
import time

import pytest

from tests.e2e.conftest import WebProcess, new_key

pytestmark = pytest.mark.slow

PEOPLE = 30
LATENCY = 1.0  # seconds the demo API takes for every answer
ACK_WITHIN = 3.0  # Slack's deadline for the HTTP acknowledgement
# A filter no other test uses, so the web process has nothing cached for it.
QUERY = "group:SYNAPSE_SANDBOX all"
UPSTREAM = {"group": "SYNAPSE_SANDBOX"}


def test_thirty_commands_at_once_ack_in_time_and_share_one_upstream_call(
    web: WebProcess,
) -> None:
    web.demo.counts.reset()
    web.demo.switches.latency = LATENCY
    keys = [new_key() for _ in range(PEOPLE)]
    ack_seconds: list[float] = [0.0] * PEOPLE
    statuses: list[int] = [0] * PEOPLE
    errors: list[BaseException] = []
    start = threading.Barrier(PEOPLE)

    def one(i: int) -> None:
        try:
            start.wait(timeout=10)
            began = time.perf_counter()
            _, response = web.command(QUERY, key=keys[i])
            ack_seconds[i] = time.perf_counter() - began
            statuses[i] = response.status_code
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(PEOPLE)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors, errors
        assert statuses == [200] * PEOPLE
        answers = [web.answer(key, timeout=15) for key in keys]
    finally:
        web.demo.switches.latency = 0.0

    print(
        f"\n{PEOPLE} acks: max {max(ack_seconds):.3f} s, "
        f"median {statistics.median(ack_seconds):.3f} s, min {min(ack_seconds):.3f} s"
    )
    slow = [round(t, 3) for t in ack_seconds if t >= ACK_WITHIN]
    assert not slow, f"acks slower than {ACK_WITHIN} s: {slow}"
    for answer in answers:
        assert answer["response_type"] == "ephemeral"
        assert "SYNAPSE_SANDBOX" in answer["text"]
    assert len({a["text"] for a in answers}) == 1  # everyone saw the same list
    assert web.demo.counts.count("/api/v1/releases", "GET", UPSTREAM) == 1
