"""No answer lost to a reset connection: the Procfile's web process, default settings, against a
Slack stand-in behind a load balancer that forgets its kept-alive connections (the next post on
one is read, then the connection reset), as a load balancer does to connections it dropped."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo.api_server import DemoApiServer
from tests.e2e.conftest import WebProcess, new_key, running_web
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.slow

PEOPLE = 30


class ForgetfulSlack(FakeSlack):
    """After `forget()`, a response_url post on a connection opened before it is read, then
    the connection reset; connections opened since are served."""

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.resets = 0
        fake = self
        served = self._server.RequestHandlerClass

        class Handler(served):  # type: ignore[valid-type,misc]
            def setup(self) -> None:
                super().setup()
                self.generation = fake.generation

            def do_POST(self) -> None:
                if self.path.startswith("/response/") and self.generation < fake.generation:
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    with fake._lock:
                        fake.resets += 1
                    self.close_connection = True
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
                    return
                super().do_POST()

        self._server.RequestHandlerClass = Handler

    def forget(self) -> None:
        with self._lock:
            self.generation += 1


@pytest.fixture
def forgetful() -> Iterator[ForgetfulSlack]:
    slack = ForgetfulSlack()
    with slack:
        yield slack


@pytest.fixture
def web(
    e2e_demo: DemoApiServer, forgetful: ForgetfulSlack, tmp_path: Path
) -> Iterator[WebProcess]:
    with running_web(e2e_demo, forgetful, tmp_path) as process:
        yield process


def _burst(web: WebProcess, count: int) -> list[str]:
    """`count` signed `/releases help` at once; their response_url keys, all acked."""
    keys = [new_key() for _ in range(count)]
    statuses: list[int] = [0] * count
    start = threading.Barrier(count)

    def one(i: int) -> None:
        start.wait(timeout=10)
        statuses[i] = web.command("help", key=keys[i])[1].status_code

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200] * count
    return keys


def test_every_answer_arrives_once_after_the_load_balancer_forgot_the_connections(
    web: WebProcess, forgetful: ForgetfulSlack
) -> None:
    for key in _burst(web, PEOPLE):  # the web process now keeps connections alive
        web.answer(key)
    forgetful.forget()
    keys = _burst(web, PEOPLE)
    for key in keys:
        web.answer(key)
    for _ in range(3):  # three times in a row, one answer each
        forgetful.forget()
        keys.append(web.command("help")[0])
        web.answer(keys[-1])
    print(f"\n{forgetful.resets} posts reset, {len(keys)} answers")
    assert forgetful.resets >= 4, "the load balancer reset no kept-alive connection"
    assert all(len(forgetful.responses_to(key)) == 1 for key in keys)
    assert "response_url post failed" not in web.log(tail=1_000_000)
