"""The client against the demo API over loopback: filters, endpoints, errors, retries, deadline."""

from __future__ import annotations

import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest

from bot import __version__
from bot.config import Secret, Settings
from bot.demo import DEMO_TOKEN, DemoApiServer
from bot.metakraftwerk.client import MetaKraftwerkClient, make_http_client
from bot.metakraftwerk.errors import (
    BadResponse,
    GroupNotFound,
    MetaKraftwerkError,
    ReleaseNotFound,
    Unavailable,
)
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.retry import RetryPolicy
from tests.conftest import TEST_DEADLINE, ClientFactory
from tests.fakes.clock import FakeClock

RELEASES = "/api/v1/releases"


def mocked(handler: Callable[[httpx.Request], httpx.Response]) -> MetaKraftwerkClient:
    """A client whose API answers with `handler` (for shapes the demo never sends)."""
    http = httpx.Client(base_url="http://api.test", transport=httpx.MockTransport(handler))
    return MetaKraftwerkClient(http, token=Secret("t"), deadline_seconds=1.0)


def names(releases: tuple[object, ...]) -> set[str]:
    return {r.name for r in releases}  # type: ignore[attr-defined]


# ---- filters and endpoints -----------------------------------------------------------------


def test_unfiltered_list_returns_every_release_including_deleted(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    releases = demo_client.list_releases(ApiFilter())
    assert {r.id for r in releases} == {r.id for r in demo_api.data.releases()}
    assert any(r.deleted for r in releases)
    assert demo_api.counts.count(RELEASES, params={}) == 1


def test_group_filter(demo_client: MetaKraftwerkClient) -> None:
    releases = demo_client.list_releases(ApiFilter(group="LAKE_GROUP"))
    assert releases
    assert {r.group_id for r in releases} == {2}
    assert "R.COS4.3" in names(releases)


def test_group_id_filter(demo_client: MetaKraftwerkClient) -> None:
    releases = demo_client.list_releases(ApiFilter(group_id=3))
    assert {r.group_id for r in releases} == {3}
    assert "FIN-2025-03" in names(releases)


def test_name_filter_is_exact(demo_client: MetaKraftwerkClient) -> None:
    assert names(demo_client.list_releases(ApiFilter(name="R9.HF1"))) == {"R9.HF1"}
    assert demo_client.list_releases(ApiFilter(name="r9.hf1")) == ()


@pytest.mark.parametrize("closed", [True, False])
def test_closed_filter(demo_client: MetaKraftwerkClient, closed: bool) -> None:
    releases = demo_client.list_releases(ApiFilter(closed=closed))
    assert releases
    assert all(r.closed is closed for r in releases)


def test_filters_combine_with_and(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    f = ApiFilter(group="DWH_GROUP", group_id=1, name="R59", closed=False)
    assert names(demo_client.list_releases(f)) == {"R59"}
    assert demo_client.list_releases(ApiFilter(group="DWH_GROUP", closed=True, name="R59")) == ()
    assert demo_api.counts.count(RELEASES, params=f.params()) == 1


def test_unicode_group_and_names_survive_the_round_trip(demo_client: MetaKraftwerkClient) -> None:
    releases = demo_client.list_releases(ApiFilter(group="Größe-Ü 🚀"))
    assert {"Größe-Ü", "🚀 Launch", "日本語リリース"} <= names(releases)


def test_get_release(demo_client: MetaKraftwerkClient) -> None:
    release = demo_client.get_release(31)
    assert (release.name, release.hotfix_of_id, release.prev_release_id) == ("R9.HF2", 29, 30)


def test_list_groups(demo_client: MetaKraftwerkClient) -> None:
    groups = demo_client.list_groups()
    assert groups[1] == "DWH_GROUP"
    assert groups[4] == "Größe-Ü 🚀"


def test_user_agent_and_base_url(demo_settings: Settings) -> None:
    with make_http_client(demo_settings) as http:
        assert http.headers["User-Agent"] == f"releases-bot/{__version__}"
        assert str(http.base_url).rstrip("/") == demo_settings.metakraftwerk_url
        assert "Authorization" not in http.headers


# ---- errors --------------------------------------------------------------------------------


def test_unknown_group_is_told_in_the_bots_own_words(demo_client: MetaKraftwerkClient) -> None:
    with pytest.raises(GroupNotFound) as caught:
        demo_client.list_releases(ApiFilter(group="NOPE"))
    assert caught.value.user_message == "A release group with the name 'NOPE' does not exist!"


def test_unknown_release_id(demo_client: MetaKraftwerkClient) -> None:
    with pytest.raises(ReleaseNotFound) as caught:
        demo_client.get_release(99999)
    assert caught.value.release_id == 99999
    assert "99999" in caught.value.user_message


def test_invalid_json_is_a_bad_response(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    demo_client.list_releases()  # log in first
    demo_api.switches.invalid_json_next(path=RELEASES)
    with pytest.raises(BadResponse, match="not JSON"):
        demo_client.list_releases()


def test_non_list_answer_is_a_bad_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"total": 1, "data": []})

    with pytest.raises(BadResponse, match="object, not a list"):
        mocked(handler).list_releases()


def test_bad_records_are_skipped_not_fatal() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"id": 1, "name": "R1"}, {"name": "no id"}, 7, None])

    assert names(mocked(handler).list_releases()) == {"R1"}


def test_unreadable_single_release_is_a_bad_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=["not", "an", "object"])

    with pytest.raises(BadResponse):
        mocked(handler).get_release(1)


def test_an_unknown_group_never_shows_the_servers_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="no such group, sorry")

    with pytest.raises(GroupNotFound) as caught:
        mocked(handler).list_releases(ApiFilter(group="X"))
    assert caught.value.user_message == "A release group with the name 'X' does not exist!"
    with pytest.raises(GroupNotFound) as by_id:
        mocked(handler).list_releases(ApiFilter(group_id=7))
    assert by_id.value.user_message == "No release group with id 7"


def test_odd_groups_answer_gives_empty_names_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"groups": "unexpected"})

    client = mocked(handler)
    with caplog.at_level(logging.WARNING):
        assert client.list_groups() == {}
        assert client.list_groups() == {}
    assert sum("group names" in r.getMessage() for r in caplog.records) == 1


def test_a_404_without_a_group_filter_is_a_bad_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<html>Cannot GET</html>")

    with pytest.raises(BadResponse, match="HTTP 404"):
        mocked(handler).list_releases()


UPSTREAM_PASSWORD = "Sup3r-S3cret"
UPSTREAM_TEXT = f"pool exhausted: postgresql://mk_admin:{UPSTREAM_PASSWORD}@db.internal:5432/mk"
REF = re.compile(r"\bref ([0-9a-f]{6})\)")


@pytest.mark.parametrize(
    ("status", "error", "shown"),
    [
        (418, "BadResponse", "MetaKraftwerk answered HTTP 418 (ref "),
        (400, "BadResponse", "MetaKraftwerk answered HTTP 400 (ref "),
        (403, "CredentialsRejected", "MetaKraftwerk refused access (HTTP 403, ref "),
    ],
)
@pytest.mark.parametrize("as_json", [True, False])
def test_upstream_error_text_is_logged_masked_and_never_shown(
    status: int, error: str, shown: str, as_json: bool, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if as_json:
            return httpx.Response(status, json={"name": "Teapot", "message": UPSTREAM_TEXT})
        return httpx.Response(status, text=UPSTREAM_TEXT)

    with caplog.at_level(logging.INFO), pytest.raises(MetaKraftwerkError) as caught:
        mocked(handler).list_releases()
    message = caught.value.user_message
    assert type(caught.value).__name__ == error
    assert message.startswith(shown)
    assert str(caught.value) == message
    assert "pool exhausted" not in message
    assert "db.internal" not in message
    ref = REF.search(message)
    assert ref is not None
    assert caught.value.ref == ref.group(1)
    logged = [r.getMessage() for r in caplog.records if ref.group(1) in r.getMessage()]
    assert len(logged) == 1
    assert f"HTTP {status}" in logged[0]
    assert "pool exhausted: postgresql://mk_admin:***@db.internal" in logged[0]
    assert UPSTREAM_PASSWORD not in caplog.text
    assert UPSTREAM_PASSWORD not in (caught.value.detail or "")


def test_each_failure_gets_its_own_ref() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(418, json={"message": "short and stout"})

    client = mocked(handler)
    refs = set()
    for _ in range(3):
        with pytest.raises(BadResponse) as caught:
            client.list_releases()
        refs.add(caught.value.ref)
    assert len(refs) == 3
    assert None not in refs


def test_an_unreadable_release_says_so_without_the_servers_values() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": UPSTREAM_TEXT, "name": "R1"})

    with pytest.raises(BadResponse) as caught:
        mocked(handler).get_release(1)
    assert "pool exhausted" not in caught.value.user_message
    assert "release 1" in caught.value.user_message
    assert REF.search(caught.value.user_message)


def test_501_is_unavailable_without_retry() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(501)

    with pytest.raises(Unavailable, match="HTTP 501"):
        mocked(handler).list_releases()
    assert calls == 1


def test_failing_groups_endpoint_gives_empty_names(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    demo_api.switches.fail_next(1, 404, path="/api/v1/release_groups")
    assert demo_client.list_groups() == {}


# ---- retries -------------------------------------------------------------------------------


def test_5xx_is_retried_with_growing_backoff(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    client = make_client(
        clock=clock, retry=RetryPolicy(initial=0.1, maximum=5.0, jitter=0.0), deadline_seconds=8
    )
    demo_api.switches.fail_next(3, 503, path=RELEASES)
    assert client.list_releases(ApiFilter(group="DWH_GROUP"))
    assert demo_api.counts.count(RELEASES) == 4
    assert clock.sleeps == pytest.approx([0.1, 0.2, 0.4])


def test_backoff_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(initial=0.1, maximum=1.0, jitter=1.0)
    rng = random.Random(7)
    for attempt, base in [(1, 0.1), (2, 0.2), (3, 0.4), (6, 1.0)]:
        waits = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(base <= w <= min(1.0, 2 * base) for w in waits)
        assert len(set(waits)) > 1 or base == 1.0


def test_429_honours_retry_after_seconds(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    client = make_client(clock=clock, deadline_seconds=8)
    demo_api.switches.fail_next(1, 429, retry_after=3, path=RELEASES)
    assert client.list_releases()
    assert clock.sleeps == [3.0]


def test_retry_after_http_date(demo_api: DemoApiServer, make_client: ClientFactory) -> None:
    clock = FakeClock()
    client = make_client(clock=clock, deadline_seconds=8)
    when = format_datetime(clock.now() + timedelta(seconds=2), usegmt=True)
    demo_api.switches.fail_next(1, 503, retry_after=when, path=RELEASES)
    assert client.list_releases()
    assert clock.sleeps == pytest.approx([2.0], abs=1.0)


def test_retry_after_beyond_the_deadline_gives_up_at_once(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    client = make_client(clock=clock, deadline_seconds=8)
    client.list_releases(ApiFilter(name="R1"))  # logged in
    demo_api.switches.fail_next(5, 429, retry_after=120, path=RELEASES)
    with pytest.raises(Unavailable) as caught:
        client.list_releases()
    assert caught.value.cause == "HTTP 429"
    assert clock.sleeps == []
    assert demo_api.counts.count(RELEASES, params={}) == 1


def test_persistent_503_ends_in_unavailable(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    demo_api.switches.fail_next(1000, 503, path=RELEASES)
    with pytest.raises(Unavailable) as caught:
        demo_client.list_releases()
    assert caught.value.cause == "HTTP 503"
    assert caught.value.user_message == "MetaKraftwerk is unavailable (HTTP 503)"
    assert demo_api.counts.count(RELEASES) > 1


def test_dropped_connection_is_retried(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    demo_api.switches.drop_next(1, path=RELEASES)
    assert demo_client.list_releases()
    assert demo_api.counts.count(RELEASES) == 2


def test_hung_server_fails_within_the_deadline(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    client = make_client(deadline_seconds=0.5)
    client.list_releases(ApiFilter(name="R1"))  # log in before the server hangs
    demo_api.switches.hang(path=RELEASES)
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        client.list_releases()
    elapsed = time.monotonic() - started
    assert caught.value.cause == "timeout"
    assert caught.value.user_message == "MetaKraftwerk did not answer within 0.5 s"
    assert elapsed < 0.5 + 1.0


def test_hung_login_is_bounded_by_the_same_deadline(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    client = make_client(deadline_seconds=0.5)
    demo_api.switches.hang(path="/authentication")
    started = time.monotonic()
    with pytest.raises(Unavailable):
        client.list_releases()
    assert time.monotonic() - started < 0.5 + 1.0
    assert demo_api.counts.count(RELEASES) == 0


def test_closed_port_is_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(metakraftwerk_url=f"http://127.0.0.1:{port}", api_deadline_seconds=0.5)
    with make_http_client(settings) as http:
        client = MetaKraftwerkClient(
            http, token=Secret(DEMO_TOKEN), deadline_seconds=0.5, retry=RetryPolicy(initial=0.01)
        )
        with pytest.raises(Unavailable) as caught:
            client.list_releases()
    assert caught.value.cause == "connection refused"
    assert "connection refused" in caught.value.user_message


def test_one_shared_http_client_serves_concurrent_calls(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    errors: list[BaseException] = []

    def call() -> None:
        try:
            demo_client.get_release(21)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TEST_DEADLINE + 5)
    assert errors == []
    assert demo_api.counts.count(f"{RELEASES}/21") == 20


def test_undecodable_body_is_a_bad_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"not gzip", headers={"Content-Encoding": "gzip"})

    with pytest.raises(BadResponse, match="cannot be decoded"):
        mocked(handler).list_releases()


def test_404_for_a_group_id_names_the_id() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, content=b"")

    with pytest.raises(GroupNotFound, match="No release group with id 77"):
        mocked(handler).list_releases(ApiFilter(group_id=77))


# ---- JSON the bot cannot read ----------------------------------------------------------------

DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a": ' * 50_000 + b"1" + b"}" * 50_000


def answering(status: int, body: bytes) -> MetaKraftwerkClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, content=body, headers={"Content-Type": "application/json"}
        )

    return mocked(handler)


CALLS: dict[str, Callable[[MetaKraftwerkClient], object]] = {
    "list": lambda client: client.list_releases(),
    "one": lambda client: client.get_release(1),
    "groups": lambda client: client.fetch_groups(),
}


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT])
@pytest.mark.parametrize("call", CALLS)
def test_json_nested_too_deeply_is_a_bad_response(body: bytes, call: str) -> None:
    client, read = answering(200, body), CALLS[call]
    with pytest.raises(BadResponse) as caught:
        read(client)
    assert "JSON the bot cannot read" in caught.value.user_message


def test_an_error_body_nested_too_deeply_is_still_a_status_and_a_ref() -> None:
    with pytest.raises(BadResponse) as caught:
        answering(418, DEEP_ARRAY).list_releases()
    assert caught.value.user_message.startswith("MetaKraftwerk answered HTTP 418 (ref ")


@pytest.mark.parametrize("depth", [0, 150, 400])
def test_deep_values_inside_records_never_escape_as_recursion(depth: int) -> None:
    # Parseable near the top of a stack, but deep enough that parsing, showing or checking
    # them recurses past the limit when the call starts deep in a listener's stack.
    nested = "[" * 900 + "]" * 900
    body = (
        f'[{{"id": {nested}, "name": "R1"}}, {{"id": 2, "name": {nested}}}, '
        f'{{"id": 3, "name": "R3", "description": {nested}}}]'
    )
    client = answering(200, body.encode())

    def deep(levels: int) -> tuple[object, ...]:
        return deep(levels - 1) if levels else client.list_releases()

    outcome: object
    try:
        outcome = deep(depth)
    except BadResponse as exc:
        outcome = exc
    if isinstance(outcome, BadResponse):
        assert "JSON the bot cannot read" in outcome.user_message
    else:
        assert isinstance(outcome, tuple)
        assert names(outcome) == {"R3"}
