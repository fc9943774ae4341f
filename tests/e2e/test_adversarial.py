"""The web process attacked from outside, and overloaded: it must stay safe, small and prompt.

One web process for the module (its own demo API and Slack stand-in, a 1 s cache, so that a
slowed API really is waited for). A second stand-in, `probe`, plays a server an attacker
controls: nothing may ever reach it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import make_url

from bot.demo.api_server import DemoApiServer
from bot.render.search_modal import (
    OUTDATED_TEXT,
    RETIRED_SEARCH_CALLBACK,
    SEARCH_FORM_CALLBACK,
    render_search_form,
)
from tests.benchmarks.bench_server import slow_clients
from tests.e2e.conftest import WebProcess, new_key, running_web
from tests.fakes.signing import (
    interactive_body,
    signed_bytes_headers,
    signed_headers,
    slash_command_body,
    view_submission_payload,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.tcp_proxy import TcpProxy
from tests.notify.conftest import pg_url  # noqa: F401 - the fixture, with its own schema

pytestmark = pytest.mark.slow

FORM = "application/x-www-form-urlencoded"
ACK_WITHIN = 3.0  # Slack's deadline for the HTTP acknowledgement
QUIET = 1.5  # seconds to wait for something that must not happen


@pytest.fixture(scope="module")
def probe() -> Iterator[FakeSlack]:
    """A server of the attacker's: every post it receives is a failure."""
    with FakeSlack() as server:
        yield server


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    workdir = tmp_path_factory.mktemp("adversarial")
    with (
        DemoApiServer() as demo,
        FakeSlack() as slack,
        running_web(demo, slack, workdir, CACHE_TTL_SECONDS="1") as process,
    ):
        yield process


@pytest.fixture(autouse=True)
def no_traceback(web: WebProcess) -> Iterator[None]:
    """Whatever a test sends, the web process logs no traceback for it."""
    before = len(web.log(tail=10_000_000))
    yield
    added = web.log(tail=10_000_000)[before:]
    assert "Traceback" not in added, added


def new_log_lines(web: WebProcess, before: int, *, settle: float = 0.5) -> list[str]:
    time.sleep(settle)
    return web.log(tail=10_000_000)[before:].splitlines()


def log_size(web: WebProcess) -> int:
    return len(web.log(tail=10_000_000))


def raw_post(web: WebProcess, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return web.http.post(web.events_url, content=body, headers=headers)


def signed_post(web: WebProcess, body: str, content_type: str = FORM) -> httpx.Response:
    return raw_post(web, body.encode(), signed_headers(body, content_type=content_type))


def peak_rss_kib(pid: int) -> int:
    """The most memory the process ever held (a body read and freed again still counts)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def assert_still_answers(web: WebProcess) -> None:
    """A genuine command sent now is answered: anything sent before it has been handled."""
    answer = web.ask("help")
    assert answer["text"]


# ---- 1. unsigned requests never make the bot post anywhere --------------------------------


@pytest.mark.parametrize(
    "timestamp",
    ["abc", "", "9" * 400, "-1", "1e9", "0x6553f100", "1.7e9"],
    ids=lambda t: repr(t[:12]),
)
def test_unverifiable_timestamps_are_refused_and_nothing_is_posted(
    web: WebProcess, probe: FakeSlack, timestamp: str
) -> None:
    key = new_key()
    for target in (probe.response_url(key), web.slack.response_url(key)):
        body = urlencode({"command": "/releases", "text": "x", "response_url": target})
        response = raw_post(
            web,
            body.encode(),
            {"Content-Type": FORM, "X-Slack-Request-Timestamp": timestamp},
        )
        assert response.status_code in (400, 401), response.text
        assert "Traceback" not in response.text
    assert_still_answers(web)
    assert probe.wait_responses(key, timeout=QUIET) == []
    assert web.slack.responses_to(key) == []


def test_an_unsigned_interaction_is_refused_and_nothing_is_posted(
    web: WebProcess, probe: FakeSlack
) -> None:
    key = new_key()
    payload = {"type": "block_actions", "actions": "x", "response_url": probe.response_url(key)}
    response = raw_post(web, interactive_body(payload).encode(), {"Content-Type": FORM})
    assert response.status_code == 401
    assert_still_answers(web)
    assert probe.wait_responses(key, timeout=QUIET) == []


# ---- 2. slow clients do not take the server down ---------------------------------------


def test_forty_slow_clients_do_not_stop_signed_commands(web: WebProcess) -> None:
    with slow_clients(web.url, 40, interval=0.5) as sockets:
        assert len(sockets) == 40
        time.sleep(1.0)
        for _ in range(5):
            began = time.monotonic()
            key, response = web.command("help")
            assert response.status_code == 200
            assert time.monotonic() - began < ACK_WITHIN
            assert web.answer(key)["text"]


# ---- 3. acks in time while every thread waits on a slow API ----------------------------


def test_eighty_commands_against_a_slow_api_are_acked_in_time_and_all_answered(
    web: WebProcess,
) -> None:
    count, latency = 80, 6.0
    keys = [new_key() for _ in range(count)]
    web.demo.switches.latency = latency
    try:

        def one(i: int) -> tuple[int, float]:
            began = time.monotonic()
            # Distinct commands: different releases, so they cannot share one answer.
            _, response = web.command(f"#{i % 60 + 1}", key=keys[i])
            return response.status_code, time.monotonic() - began

        with ThreadPoolExecutor(20) as pool:
            acks = list(pool.map(one, range(count)))
        # `help` too is acked at once while every listener waits on the API.
        began = time.monotonic()
        help_key, help_ack = web.command("help")
        help_seconds = time.monotonic() - began
        deadline = time.monotonic() + 60
        answered = [
            web.slack.wait_responses(key, 1, timeout=max(0.1, deadline - time.monotonic()))
            for key in [*keys, help_key]
        ]
    finally:
        web.demo.switches.latency = 0.0
    assert [status for status, _ in acks] == [200] * count
    slow = [round(seconds, 2) for _, seconds in acks if seconds >= ACK_WITHIN]
    assert not slow, f"acks slower than {ACK_WITHIN} s: {slow}"
    assert help_ack.status_code == 200
    assert help_seconds < ACK_WITHIN
    missing = [key for key, posts in zip([*keys, help_key], answered, strict=True) if not posts]
    assert not missing, f"{len(missing)} commands never answered\n{web.log()}"
    for posts in answered:
        assert "busy" not in posts[0].body.get("text", "").lower()


# ---- 6. answers go only to Slack's own response URLs -----------------------------------


def test_a_view_submission_naming_a_foreign_response_url_posts_nothing_there(
    web: WebProcess, probe: FakeSlack
) -> None:
    key = new_key()
    # A forged form: its metadata and its conversation picker name the attacker's server.
    # The form answers in the modal itself, so neither is followed.
    view = {
        **render_search_form(""),
        "private_metadata": json.dumps({"response_url": probe.response_url(key)}),
    }
    assert view["callback_id"] == SEARCH_FORM_CALLBACK
    values = {"search_filters": {"filters": {"type": "plain_text_input", "value": "all"}}}
    payload = view_submission_payload(view, values)
    view_id = f"VADV{new_key()[:8].upper()}"
    payload["view"]["id"] = view_id
    payload["response_urls"] = [
        {"block_id": "search_filters", "action_id": "filters", "channel_id": "C0X",
         "response_url": probe.response_url(key)}
    ]
    response = signed_post(web, interactive_body(payload))
    assert response.status_code == 200
    assert response.json()["response_action"] == "update"
    assert web.slack.wait_for(  # the answer went into the modal, on Slack's own API
        lambda s: any(c.args.get("view_id") == view_id for c in s.calls_to("views.update"))
    ), web.log()
    assert probe.wait_responses(key, timeout=QUIET) == []
    assert probe.calls == []


def test_a_retired_form_naming_a_foreign_response_url_posts_nothing_there(
    web: WebProcess, probe: FakeSlack
) -> None:
    key = new_key()
    # The app's first version kept the response_url in the form's metadata.
    view = {
        **render_search_form(""),
        "callback_id": RETIRED_SEARCH_CALLBACK,
        "private_metadata": json.dumps({"response_url": probe.response_url(key)}),
    }
    values = {"search_filters": {"filters": {"type": "plain_text_input", "value": "all"}}}
    response = signed_post(web, interactive_body(view_submission_payload(view, values)))
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "update"
    assert [b["text"]["text"] for b in body["view"]["blocks"]] == [OUTDATED_TEXT]
    assert probe.wait_responses(key, timeout=QUIET) == []


def test_a_command_with_a_foreign_response_url_is_not_answered_there(
    web: WebProcess, probe: FakeSlack
) -> None:
    key = new_key()
    body = slash_command_body("help", response_url=probe.response_url(key))
    assert signed_post(web, body).status_code == 200
    assert_still_answers(web)
    assert probe.wait_responses(key, timeout=QUIET) == []


# ---- 7. malformed bodies: a clear status, no traceback -----------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=notjson", FORM),
        (b"[1]", "application/json"),
        (b"\xff\xfe\x00binary", FORM),
        (b"payload=%5B1%5D", FORM),
    ],
    ids=["payload-not-json", "json-list", "binary", "payload-list"],
)
def test_unsigned_junk_is_refused_without_a_traceback(
    web: WebProcess, body: bytes, content_type: str
) -> None:
    response = raw_post(web, body, {"Content-Type": content_type})
    assert response.status_code in (400, 401)
    assert "Traceback" not in response.text


SIGNED_JUNK = {
    "form-sent-as-json": (
        urlencode({"command": "/releases", "text": "help"}),
        "application/json",
    ),
    "payload-not-json": ("payload=notjson", FORM),
    "json-list": ("[1]", "application/json"),
    "payload-list": ("payload=%5B1%5D", FORM),
}


@pytest.mark.parametrize("case", list(SIGNED_JUNK))
def test_signed_junk_gets_400_and_one_log_line(web: WebProcess, case: str) -> None:
    body, content_type = SIGNED_JUNK[case]
    before = log_size(web)
    response = signed_post(web, body, content_type)
    assert response.status_code == 400, response.text
    lines = new_log_lines(web, before)
    assert len(lines) == 1, lines


# Slack shows its user an error for any status but 200: a payload of a shape Slack never
# sends gets 200 and nothing (Bolt's own `actions[0]` once made this HTTP 500).
SIGNED_MALFORMED: dict[str, dict[str, Any]] = {
    "actions-empty": {"type": "block_actions", "actions": [], "user": {"id": "U1"}},
    "actions-a-string": {"type": "block_actions", "actions": "x", "user": {"id": "U1"}},
    "user-a-string": {
        "type": "message_action", "callback_id": "find_releases", "user": "x",
        "message": "y", "channel": 3,
    },
}


@pytest.mark.parametrize("case", list(SIGNED_MALFORMED))
def test_a_signed_malformed_payload_gets_200_nothing_and_one_log_line(
    web: WebProcess, case: str
) -> None:
    before = log_size(web)
    response = signed_post(web, interactive_body(SIGNED_MALFORMED[case]))
    assert response.status_code == 200, response.text
    assert response.text == ""
    lines = new_log_lines(web, before)
    assert len(lines) == 1, lines
    assert "malformed" in lines[0]


def test_signed_binary_gets_400(web: WebProcess) -> None:
    body = b"\xff\xfe\x00binary"
    before = log_size(web)
    assert raw_post(web, body, signed_bytes_headers(body, content_type=FORM)).status_code == 400
    assert len(new_log_lines(web, before)) == 1


# ---- 8. large bodies are refused unread -------------------------------------------------

BIG = 60 * 1024 * 1024


def _send_big(url: str, headers: bytes, chunks: Iterator[bytes]) -> bytes:
    """Send a request as fast as the server takes it; return what it answered."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(headers)
        with contextlib.suppress(OSError):
            for chunk in chunks:
                sock.sendall(chunk)
        sock.settimeout(5)
        answer = b""
        with contextlib.suppress(OSError):
            while data := sock.recv(65536):
                answer += data
        return answer


def _pieces(total: int, size: int = 1024 * 1024) -> Iterator[bytes]:
    piece = b"a" * size
    for _ in range(total // size):
        yield piece


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_sixty_megabyte_body_is_refused_unread(web: WebProcess, framing: str) -> None:
    before = peak_rss_kib(web.proc.pid)
    if framing == "content-length":
        head = (
            "POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {BIG}\r\n\r\n"
        ).encode()
        chunks = _pieces(BIG)
    else:
        head = (
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunks = (b"%x\r\n%s\r\n" % (len(p), p) for p in _pieces(BIG))
    answer = _send_big(web.url, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    grown = peak_rss_kib(web.proc.pid) - before
    assert grown < 16 * 1024, f"peak RSS grew by {grown} KiB"
    assert_still_answers(web)


# ---- 9. replays ------------------------------------------------------------------------


def test_a_replayed_unsubscribe_does_nothing(web: WebProcess) -> None:
    channel = f"C{new_key().upper()}"

    def command(text: str) -> tuple[str, dict[str, str], str]:
        key = new_key()
        body = slash_command_body(text, response_url=web.slack.response_url(key),
                                  channel_id=channel)
        return key, signed_headers(body, content_type=FORM), body

    def send(key: str, headers: dict[str, str], body: str) -> httpx.Response:
        return raw_post(web, body.encode(), headers)

    first = command("subscribe group:DWH_GROUP")
    assert send(*first).status_code == 200
    web.answer(first[0])
    unsubscribe = command("unsubscribe all")
    assert send(*unsubscribe).status_code == 200
    assert "1" in web.answer(unsubscribe[0])["text"]
    again = command("subscribe group:LAKE_GROUP")
    assert send(*again).status_code == 200
    web.answer(again[0])

    replayed = send(*unsubscribe)
    assert replayed.status_code == 200
    assert replayed.text == ""
    listing = command("subscriptions")
    assert send(*listing).status_code == 200
    assert "LAKE_GROUP" in json.dumps(web.answer(listing[0]))
    assert len(web.slack.wait_responses(unsubscribe[0], 2, timeout=QUIET)) == 1


# ---- 10. health --------------------------------------------------------------------------


def test_healthz_names_the_database(web: WebProcess) -> None:
    response = web.http.get(f"{web.url}/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.postgres
def test_healthz_answers_503_quickly_when_postgresql_goes_away(
    pg_url: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    url = make_url(pg_url)  # a private schema, dropped after the test
    target = (url.host or "127.0.0.1", url.port or 5432)
    with TcpProxy(target[1], target[0]) as proxy:
        database_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
        with (
            DemoApiServer() as demo,
            FakeSlack() as slack,
            running_web(demo, slack, tmp_path, DATABASE_URL=database_url) as web_process,
        ):
            healthy = web_process.http.get(f"{web_process.url}/healthz")
            assert healthy.status_code == 200
            assert healthy.json()["database"] == "ok"
            proxy.close()
            began = time.monotonic()
            down = web_process.http.get(f"{web_process.url}/healthz")
            assert time.monotonic() - began < 3.0
            assert down.status_code == 503
            assert down.json()["status"] == "error"
            assert down.json()["database"].startswith("down")


# ---- upstream amplification -----------------------------------------------------------


def test_one_command_cannot_make_dozens_of_uncached_api_calls(web: WebProcess) -> None:
    """48 `group_id:` values and `refresh` made about 48 uncached calls for one command."""
    many = " ".join(f"group_id:{i}" for i in range(1, 49))
    before = web.demo.counts.count("/api/v1/releases")
    answer = web.ask(f"{many} refresh")
    assert "at most 10" in answer["text"]
    assert web.demo.counts.count("/api/v1/releases") == before
