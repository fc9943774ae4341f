"""Login, renewal and 401 handling, against the demo API, with an injected clock."""

from __future__ import annotations

import base64
import json
import logging
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.clock import Deadline
from bot.config import Secret, Settings
from bot.demo import DemoApiServer
from bot.metakraftwerk.auth import LoginSession, jwt_expiry
from bot.metakraftwerk.client import MetaKraftwerkClient, make_http_client
from bot.metakraftwerk.errors import (
    BadResponse,
    CredentialsRejected,
    MetaKraftwerkError,
    Unavailable,
)
from bot.metakraftwerk.filter import ApiFilter
from tests.conftest import ClientFactory
from tests.fakes.clock import FakeClock

AUTH = "/authentication"
RELEASES = "/api/v1/releases"
STATIC = "static-token-4f9c2e7b"
PASSWORD = "pw-7d1e9a3c-secret"


def _jwt(claims: dict[str, object]) -> str:
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2ln"


def test_login_is_lazy_and_happens_once(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    assert demo_api.counts.count(AUTH) == 0
    demo_client.list_releases()
    demo_client.get_release(21)
    demo_client.list_groups()
    assert demo_api.counts.count(AUTH, method="POST") == 1


def test_static_token_needs_no_login(demo_api: DemoApiServer, make_client: ClientFactory) -> None:
    client = make_client(token=Secret("demo-token"), email=None, password=None)
    assert client.list_releases()
    assert demo_api.counts.count(AUTH) == 0


def test_rejected_static_token_is_not_retried(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    client = make_client(token=Secret("expired-token"), email=None, password=None)
    with pytest.raises(CredentialsRejected) as caught:
        client.list_releases()
    assert "rejected the bot's token (HTTP 401, ref " in caught.value.user_message
    assert "Not authenticated" not in caught.value.user_message
    assert caught.value.detail == "Not authenticated"
    assert demo_api.counts.count(RELEASES) == 1
    assert demo_api.counts.count(AUTH) == 0


def test_no_credentials_says_what_to_set(make_client: ClientFactory) -> None:
    client = make_client(email=None, password=None)
    with pytest.raises(CredentialsRejected, match="METAKRAFTWERK_TOKEN"):
        client.list_releases()


def test_wrong_password(demo_api: DemoApiServer, make_client: ClientFactory) -> None:
    client = make_client(password=Secret("wrong"))
    with pytest.raises(CredentialsRejected) as caught:
        client.list_releases()
    assert caught.value.user_message.startswith(
        "MetaKraftwerk refused the bot's login (HTTP 401, ref "
    )
    assert caught.value.detail == "Invalid login"
    assert demo_api.counts.count(AUTH) == 1
    assert demo_api.counts.count(RELEASES) == 0


def test_a_refused_login_shows_neither_the_account_nor_the_servers_text(
    demo_api: DemoApiServer, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(email="releases-bot@corp.example")
    with caplog.at_level(logging.INFO), pytest.raises(CredentialsRejected) as caught:
        client.list_releases()
    message = caught.value.user_message
    assert "corp.example" not in message
    assert "Invalid login" not in message
    assert caught.value.ref is not None
    assert f"ref {caught.value.ref}" in message
    assert any(
        caught.value.ref in r.getMessage() and "Invalid login" in r.getMessage()
        for r in caplog.records
    )


def test_missing_email_keeps_the_server_message_for_the_log(make_client: ClientFactory) -> None:
    client = make_client()
    client._email = ""  # what a server sees from an empty setting
    with pytest.raises(CredentialsRejected) as caught:
        client.list_releases()
    assert caught.value.detail == "'email' is required"
    assert "'email' is required" not in caught.value.user_message


def test_401_means_one_new_login_and_one_retry(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    demo_client.list_releases(ApiFilter(name="R1"))
    demo_api.switches.revoke_tokens()  # e.g. the server restarted with a new key
    assert demo_client.list_releases()
    assert demo_api.counts.count(AUTH) == 2
    assert demo_api.counts.count(RELEASES, params={}) == 2  # refused once, then answered


def test_401_after_a_fresh_login_is_credentials_rejected(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    demo_api.switches.token_lifetime = -60  # every token the server issues is already expired
    with pytest.raises(CredentialsRejected):
        demo_client.list_releases()
    assert demo_api.counts.count(AUTH) == 2  # the first login, and exactly one more
    assert demo_api.counts.count(RELEASES) == 2


def test_token_is_renewed_an_hour_before_it_expires(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    clock = FakeClock(datetime.now(UTC))
    client = make_client(clock=clock)
    client.list_releases()
    clock.advance(timedelta(hours=18, minutes=50).total_seconds())
    client.list_releases()
    assert demo_api.counts.count(AUTH) == 1
    clock.advance(timedelta(minutes=15).total_seconds())  # 19 h 05 min: inside the last hour
    client.list_releases()
    assert demo_api.counts.count(AUTH) == 2


def test_expired_token_on_the_server_clock_means_relogin() -> None:
    server_clock = FakeClock(datetime.now(UTC))
    with DemoApiServer(clock=server_clock) as api:
        settings = Settings(
            metakraftwerk_url=api.url,
            metakraftwerk_email="demo@example.com",
            metakraftwerk_password=Secret("demo"),
            api_deadline_seconds=2,
        )
        with make_http_client(settings) as http:
            client = MetaKraftwerkClient.from_settings(settings, http)  # real clock: no renewal
            client.list_releases()
            server_clock.advance(timedelta(hours=21).total_seconds())
            client.list_releases()
        assert api.counts.count(AUTH) == 2
        assert api.counts.count(RELEASES) == 3


def test_fifty_threads_share_one_login(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    demo_api.switches.latency = 0.05  # keep the login in flight while the others arrive
    barrier = threading.Barrier(50)
    errors: list[BaseException] = []

    def call() -> None:
        barrier.wait()
        try:
            demo_client.get_release(21)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == []
    assert demo_api.counts.count(AUTH) == 1


def test_fifty_threads_after_a_401_share_one_relogin(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    demo_client.get_release(21)
    demo_api.switches.revoke_tokens()
    barrier = threading.Barrier(50)
    errors: list[BaseException] = []

    def call() -> None:
        barrier.wait()
        try:
            demo_client.get_release(21)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == []
    assert demo_api.counts.count(AUTH) == 2


# ---- the session's bookkeeping, without a server -------------------------------------------


def test_session_renews_from_the_jwt_exp_claim() -> None:
    clock = FakeClock()
    exp = clock.now() + timedelta(hours=2)
    logins: list[int] = []

    def login(deadline: Deadline) -> Secret:
        logins.append(1)
        return Secret(_jwt({"exp": int(exp.timestamp())}))

    session = LoginSession(login, clock)
    deadline = Deadline.start(clock, 5)
    session.token(deadline)
    clock.advance(50 * 60)
    session.token(deadline)
    assert len(logins) == 1
    clock.advance(15 * 60)  # 1 h 05 min into a 2 h token: renewed
    session.token(deadline)
    assert len(logins) == 2


def test_session_assumes_twenty_hours_for_an_opaque_token() -> None:
    clock = FakeClock()
    count = 0

    def login(deadline: Deadline) -> Secret:
        nonlocal count
        count += 1
        return Secret("opaque")

    session = LoginSession(login, clock)
    deadline = Deadline.start(clock, 5)
    session.token(deadline)
    assert session.expires_at == clock.now() + timedelta(hours=20)
    clock.advance(timedelta(hours=18, minutes=59).total_seconds())
    session.token(deadline)
    assert count == 1
    clock.advance(timedelta(minutes=2).total_seconds())
    session.token(deadline)
    assert count == 2


def test_failed_renewal_keeps_using_the_token_until_it_expires() -> None:
    """Renewing an hour early is a margin: a login hiccup then must not fail lookups."""
    clock = FakeClock()
    answers: list[Secret | Exception] = [
        Secret("first"),
        Unavailable("MetaKraftwerk is unavailable (HTTP 503)", cause="HTTP 503"),
        Unavailable("MetaKraftwerk is unavailable (HTTP 503)", cause="HTTP 503"),
    ]

    def login(deadline: Deadline) -> Secret:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    session = LoginSession(login, clock)
    session.token(Deadline.start(clock, 5))
    clock.advance(timedelta(hours=19, minutes=5).total_seconds())  # renewal due, still valid
    assert session.token(Deadline.start(clock, 5)) == Secret("first")
    clock.advance(timedelta(hours=1).total_seconds())  # expired: nothing to fall back to
    with pytest.raises(Unavailable):
        session.token(Deadline.start(clock, 5))


def test_failed_login_reaches_every_waiter_once() -> None:
    clock = FakeClock()
    calls = 0
    entered = threading.Event()
    release = threading.Event()

    def login(deadline: Deadline) -> Secret:
        nonlocal calls
        calls += 1
        entered.set()
        release.wait(5)
        raise CredentialsRejected("Invalid login")

    session = LoginSession(login, clock)
    outcomes: list[BaseException] = []

    def call() -> None:
        try:
            session.token(Deadline.start(clock, 5))
        except MetaKraftwerkError as exc:
            outcomes.append(exc)

    leader = threading.Thread(target=call)
    leader.start()
    assert entered.wait(5)
    others = [threading.Thread(target=call) for _ in range(10)]
    for t in others:
        t.start()
    while session._flight.waiting() < 10:
        threading.Event().wait(0.001)
    release.set()
    for t in [leader, *others]:
        t.join(5)
    assert calls == 1
    assert len(outcomes) == 11


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (_jwt({"exp": 1_900_000_000}), datetime.fromtimestamp(1_900_000_000, UTC)),
        (_jwt({"exp": "soon"}), None),
        (_jwt({"sub": "1"}), None),
        (_jwt({"exp": 10**30}), None),
        ("not-a-jwt", None),
        ("a.!!!.c", None),
        ("a.bnVsbA.c", None),  # "null"
        (  # a payload nested past the recursion limit
            "a." + base64.urlsafe_b64encode(b"[" * 50_000 + b"]" * 50_000).decode() + ".c",
            None,
        ),
    ],
)
def test_jwt_expiry(token: str, expected: datetime | None) -> None:
    assert jwt_expiry(token) == expected


def test_a_login_answer_nested_too_deeply_is_a_bad_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, content=b'{"a": ' * 50_000 + b"1" + b"}" * 50_000)

    http = httpx.Client(base_url="http://api.test", transport=httpx.MockTransport(handler))
    client = MetaKraftwerkClient(http, email="bot@example.com", password=Secret("pw"))
    with pytest.raises(BadResponse, match="JSON the bot cannot read"):
        client.list_releases()


# ---- secrets never leak --------------------------------------------------------------------


def test_secrets_stay_out_of_logs_errors_and_reprs(caplog: pytest.LogCaptureFixture) -> None:
    with DemoApiServer(static_token=STATIC, password=PASSWORD) as api:
        seen: list[str] = []
        settings = Settings(
            metakraftwerk_url=api.url,
            api_deadline_seconds=0.3,
            metakraftwerk_email="demo@example.com",
            metakraftwerk_password=Secret(PASSWORD),
        )
        with caplog.at_level(logging.DEBUG), make_http_client(settings) as http:
            good = MetaKraftwerkClient.from_settings(settings, http)
            good.list_releases()
            api.switches.revoke_tokens()
            good.list_releases()
            seen.append(repr(good))
            api.switches.fail_next(100, 503)
            for client in (
                good,
                MetaKraftwerkClient(http, token=Secret(STATIC + "x"), deadline_seconds=0.3),
                MetaKraftwerkClient(
                    http,
                    email="demo@example.com",
                    password=Secret(PASSWORD + "x"),
                    deadline_seconds=0.3,
                ),
            ):
                api.switches.reset()
                for fault in (None, "503"):
                    if fault:
                        api.switches.fail_next(100, 503)
                    try:
                        client.list_releases(ApiFilter(group="NOPE"))
                    except MetaKraftwerkError as exc:
                        seen += [str(exc), repr(exc), exc.user_message]
                seen.append(repr(client))
            seen.append(repr(settings))
            seen.append(str(settings.redacted()))
    text = caplog.text + "\n".join(seen)
    assert len(seen) > 8
    for secret in (PASSWORD, STATIC, "eyJ"):
        assert secret not in text
