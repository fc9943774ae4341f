"""In-process WSGI calls and a Bolt app with the bot's listeners over stub answers."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast
from unittest.mock import Mock
from wsgiref.util import setup_testing_defaults

import httpx
from slack_bolt import App
from slack_sdk import WebClient

from bot.app.answers import Answers, Caller, Reply
from bot.render.message import Message
from bot.slack import listeners
from bot.slack.reply_delivery import Delivery
from bot.slack.response_urls import Origin, ResponseUrls
from bot.slack.work import WorkQueue
from tests.fakes.signing import SIGNING_SECRET


@dataclass
class Called:
    status: str
    headers: dict[str, str]
    body: bytes


def call(
    app: Any,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    stream: Any = None,
    content_length: str | None = None,
) -> Called:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": stream if stream is not None else io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)) if content_length is None else content_length,
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> Any:
        seen["status"], seen["headers"] = status, dict(response_headers)

    out = b"".join(app(environ, start_response))
    return Called(seen["status"], seen["headers"], out)


@dataclass
class StubAnswers:
    """Answers every command with its own text; `gate` holds answers back while it is clear."""

    asked: list[str] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.gate.set()

    def command(self, text: str, caller: Caller) -> Reply:
        self.asked.append(text)
        self.gate.wait(10)
        return Reply(Message(f"answer to {text}"))

    def button(self, action_id: str, value: str, caller: Caller) -> Reply:
        self.asked.append(f"button {action_id}")
        self.gate.wait(10)
        return Reply(Message(f"clicked {action_id}"))

    def message_shortcut(self, text: str, caller: Caller) -> Reply:
        self.asked.append(f"shortcut {text}")
        return Reply(Message("shortcut"))

    def log_unexpected(self, error: BaseException) -> str:
        self.errors.append(error)
        return "ref1"


def make_delivery(
    slack_url: str, *, threads: int = 2, limit: int = 8
) -> tuple[Delivery, httpx.Client]:
    http = httpx.Client(timeout=5)
    origin = Origin.of(slack_url)
    assert origin is not None
    delivery = Delivery(
        WorkQueue(threads, limit, name="test-answer"),
        WorkQueue(1, 8, name="test-notice"),
        ResponseUrls(http, [origin]),
        WebClient(token="xoxb-test", base_url=slack_url),
    )
    return delivery, http


def make_app(answers: StubAnswers, delivery: Delivery) -> App:
    app = App(
        signing_secret=SIGNING_SECRET,
        client=delivery.client,
        token_verification_enabled=False,
        process_before_response=True,
    )
    listeners.register(app, cast(Answers, answers), delivery)
    return app


class HeldWork:
    """A work queue stand-in: keeps what is offered until `run_all`; when `full`, refuses it.
    What is offered for later waits in `later` (and never runs by itself)."""

    def __init__(self, *, full: bool = False) -> None:
        self.full = full
        self.jobs: list[Callable[[], object]] = []
        self.later: list[tuple[float, Callable[[], object]]] = []  # (seconds, job)

    def submit(self, job: Callable[[], object]) -> bool:
        if self.full:
            return False
        self.jobs.append(job)
        return True

    def submit_later(self, seconds: float, job: Callable[[], object]) -> bool:
        self.later.append((seconds, job))
        return True

    def run_all(self) -> int:
        ran = 0
        while self.jobs:
            self.jobs.pop(0)()
            ran += 1
        return ran


def stub_delivery(
    *,
    client: WebClient | None = None,
    full: bool = False,
    response_urls: ResponseUrls | None = None,
) -> tuple[Delivery, HeldWork, HeldWork]:
    """A Delivery whose queues hold their jobs (see HeldWork), a mock client by default.

    `full` fills the work queue only; the trigger lane is `held_triggers(delivery)`."""
    work, notices = HeldWork(full=full), HeldWork()
    delivery = Delivery(
        cast(WorkQueue, work),
        cast(WorkQueue, notices),
        response_urls or Mock(ResponseUrls),
        client or Mock(WebClient),
        cast(WorkQueue, HeldWork()),
    )
    return delivery, work, notices


def held_triggers(delivery: Delivery) -> HeldWork:
    """The trigger lane of a `stub_delivery`."""
    return cast(HeldWork, delivery.triggers)
