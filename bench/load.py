"""Signed `/releases` commands sent as Slack sends them, a fixed number at a time.

Each command carries its own response URL on the receiver, so its answer can be matched to its
send time: ack = the HTTP round trip of the command, answer = send to arrival of the post.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bench.receiver import Recorder

SIGNING_SECRET = "bench-signing-secret"
EVENTS_PATH = "/slack/events"


@dataclass(frozen=True, slots=True)
class Sample:
    key: str
    target: str
    sent: float  # perf_counter
    ack: float | None  # seconds; None when the command got no HTTP answer
    status: int | None


@dataclass(frozen=True, slots=True)
class Answered:
    """A command and what became of it."""

    sample: Sample
    answer: float | None  # seconds from send to the response_url post's arrival
    size: int | None
    body: dict[str, object] | None


def command_body(text: str, response_url: str) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": "T0001",
            "team_domain": "example",
            "channel_id": "C0CHAN",
            "channel_name": "data-team",
            "user_id": "U0USER",
            "user_name": "ada",
            "command": "/releases",
            "text": text,
            "api_app_id": "A0APP",
            "response_url": response_url,
            "trigger_id": "1234.5678.abcd",
        }
    )


def signed_headers(body: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def burst(
    targets: Sequence[str],
    texts: Sequence[str],
    response_url: Callable[[str], str],
    *,
    concurrency: int,
    on_sent: Callable[[int], None] | None = None,
) -> list[Sample]:
    """Send `texts[i]` to `targets[i % len(targets)]`, `concurrency` at a time; `on_sent(n)`
    is called after the n-th command was acked (for events in the middle of a run)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    http = httpx.Client(timeout=30, limits=limits)
    lock = threading.Lock()
    done = 0

    def one(i: int) -> Sample:
        nonlocal done
        key = uuid.uuid4().hex[:16]
        target = targets[i % len(targets)]
        body = command_body(texts[i], response_url(key))
        headers = signed_headers(body)
        sent = time.perf_counter()
        try:
            response = http.post(f"{target}{EVENTS_PATH}", content=body, headers=headers)
        except httpx.HTTPError:
            sample = Sample(key, target, sent, None, None)
        else:
            sample = Sample(key, target, sent, time.perf_counter() - sent, response.status_code)
        if on_sent is not None:
            with lock:
                done += 1
                n = done
            on_sent(n)
        return sample

    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="slack") as pool:
            return list(pool.map(one, range(len(texts))))
    finally:
        http.close()


def collect(samples: Sequence[Sample], recorder: Recorder, timeout: float) -> list[Answered]:
    """Wait up to `timeout` for every acked command's answer."""
    arrivals = recorder.wait_all([s.key for s in samples if s.status == 200], timeout)
    answered = []
    for s in samples:
        arrival = arrivals.get(s.key)
        if arrival is None:
            answered.append(Answered(s, None, None, None))
        else:
            answered.append(Answered(s, arrival.at - s.sent, arrival.size, arrival.body))
    return answered
