"""The demo API speaks the documented endpoints, errors and shapes, and misbehaves on request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOKEN, DemoApiServer
from tests.conftest import shared_tls_context
from tests.fakes.clock import FakeClock

RELEASES = "/api/v1/releases"
AUTH_HEADERS = {"Authorization": f"Bearer {DEMO_TOKEN}"}


@pytest.fixture
def http(demo_api: DemoApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=demo_api.url, headers=AUTH_HEADERS, timeout=5, verify=shared_tls_context()
    ) as client:
        yield client


def names(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {r["name"] for r in response.json()}


# ---- releases ------------------------------------------------------------------------------


def test_list_has_every_documented_field(http: httpx.Client) -> None:
    body = http.get(RELEASES).json()
    assert isinstance(body, list)
    assert len(body) >= 25
    fields = {
        "id", "group_id", "name", "description", "start_date", "end_date",
        "closed", "deleted", "hotfix_of_id", "prev_release_id",
    }  # fmt: skip
    assert all(set(r) == fields for r in body)
    assert any(r["start_date"] and r["start_date"].endswith("Z") for r in body)


def test_filters(http: httpx.Client) -> None:
    assert "R59" in names(http.get(RELEASES, params={"group": "DWH_GROUP"}))
    assert "R59" not in names(http.get(RELEASES, params={"group": "LAKE_GROUP"}))
    assert names(http.get(RELEASES, params={"group_id": "2", "name": "2023.Q1"})) == {"2023.Q1"}
    closed = http.get(RELEASES, params={"closed": "true"}).json()
    assert closed
    assert all(r["closed"] for r in closed)
    assert all(not r["closed"] for r in http.get(RELEASES, params={"closed": "false"}).json())
    both = {"group": "DWH_GROUP", "closed": "false", "name": "R9.HF2"}
    assert names(http.get(RELEASES, params=both)) == {"R9.HF2"}
    assert names(http.get(RELEASES, params={**both, "closed": "true"})) == set()


def test_unknown_group_is_a_framework_shaped_404(http: httpx.Client) -> None:
    response = http.get(RELEASES, params={"group": "X"})
    assert response.status_code == 404
    assert response.json() == {
        "name": "NotFound",
        "message": "A release group with the name 'X' does not exist!",
        "code": 404,
        "className": "not-found",
    }


@pytest.mark.parametrize(("params"), [{"group_id": "abc"}, {"closed": "maybe"}])
def test_bad_parameter_values_are_400(http: httpx.Client, params: dict[str, str]) -> None:
    response = http.get(RELEASES, params=params)
    assert response.status_code == 400
    assert response.json()["name"] == "BadRequest"


def test_one_release(http: httpx.Client) -> None:
    body = http.get(f"{RELEASES}/30").json()
    assert (body["name"], body["hotfix_of_id"], body["prev_release_id"]) == ("R9.HF1", 29, 29)


@pytest.mark.parametrize("raw_id", ["99999", "abc"])
def test_unknown_release_is_404(http: httpx.Client, raw_id: str) -> None:
    response = http.get(f"{RELEASES}/{raw_id}")
    assert response.status_code == 404
    assert response.json()["message"] == f"No record found for id '{raw_id}'"


def test_release_groups(http: httpx.Client) -> None:
    body = http.get("/api/v1/release_groups").json()
    assert {"id": 1, "name": "DWH_GROUP"} in body


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_releases_endpoint_is_read_only(http: httpx.Client, method: str) -> None:
    response = http.request(method, f"{RELEASES}/21" if method != "POST" else RELEASES, json={})
    assert response.status_code == 405


def test_unknown_path_is_404(http: httpx.Client) -> None:
    assert http.get("/api/v2/releases").status_code == 404


# ---- authentication ------------------------------------------------------------------------


def test_login_returns_a_jwt_shaped_token_that_works(demo_api: DemoApiServer) -> None:
    with httpx.Client(base_url=demo_api.url, timeout=5) as http:
        response = http.post(
            "/authentication",
            json={"strategy": "local", "email": DEMO_EMAIL, "password": DEMO_PASSWORD},
        )
        assert response.status_code == 201
        body = response.json()
        token = body["accessToken"]
        assert token.count(".") == 2
        assert body["user"]["email"] == DEMO_EMAIL
        assert body["authentication"]["strategy"] == "local"
        listed = http.get(RELEASES, headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"strategy": "local", "email": DEMO_EMAIL, "password": "wrong"}, 401, "Invalid login"),
        ({"strategy": "local", "email": "x@example.com", "password": "demo"}, 401, "Invalid login"),
        ({"strategy": "local", "password": "demo"}, 400, "'email' is required"),
        ({"strategy": "local", "email": DEMO_EMAIL}, 400, "'password' is required"),
    ],
)
def test_login_errors(
    demo_api: DemoApiServer, payload: dict[str, str], status: int, message: str
) -> None:
    response = httpx.post(f"{demo_api.url}/authentication", json=payload, timeout=5)
    assert response.status_code == status
    assert response.json()["message"] == message


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic ZGVtbzpkZW1v"}],
)
@pytest.mark.parametrize("path", [RELEASES, f"{RELEASES}/21", "/api/v1/release_groups"])
def test_missing_or_bad_token_is_401(
    demo_api: DemoApiServer, headers: dict[str, str], path: str
) -> None:
    response = httpx.get(f"{demo_api.url}{path}", headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json()["message"] == "Not authenticated"


def test_tokens_expire_on_the_server_clock() -> None:
    clock = FakeClock(datetime(2026, 3, 4, 9, tzinfo=UTC))
    with DemoApiServer(clock=clock) as api:
        token = api.issue_token()
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{api.url}{RELEASES}/21", headers=headers).status_code == 200
        clock.advance(timedelta(hours=19, minutes=59).total_seconds())
        assert httpx.get(f"{api.url}{RELEASES}/21", headers=headers).status_code == 200
        clock.advance(120)
        assert httpx.get(f"{api.url}{RELEASES}/21", headers=headers).status_code == 401
        api.switches.token_lifetime = 60
        short = {"Authorization": f"Bearer {api.issue_token()}"}
        clock.advance(61)
        assert httpx.get(f"{api.url}{RELEASES}/21", headers=short).status_code == 401


def test_revoked_tokens_are_refused(demo_api: DemoApiServer) -> None:
    headers = {"Authorization": f"Bearer {demo_api.issue_token()}"}
    demo_api.switches.revoke_tokens()
    assert httpx.get(f"{demo_api.url}{RELEASES}/21", headers=headers).status_code == 401
    assert httpx.get(f"{demo_api.url}{RELEASES}/21", headers=AUTH_HEADERS).status_code == 200


# ---- switches and counts -------------------------------------------------------------------


def test_fail_next_with_retry_after(demo_api: DemoApiServer, http: httpx.Client) -> None:
    demo_api.switches.fail_next(2, 503, retry_after=7, path=RELEASES)
    first = http.get(RELEASES)
    assert (first.status_code, first.headers["Retry-After"]) == (503, "7")
    assert http.get("/api/v1/release_groups").status_code == 200  # other paths unaffected
    assert http.get(RELEASES).status_code == 503
    assert http.get(RELEASES).status_code == 200


def test_invalid_json(demo_api: DemoApiServer, http: httpx.Client) -> None:
    demo_api.switches.invalid_json_next()
    response = http.get(RELEASES)
    assert response.status_code == 200
    with pytest.raises(ValueError, match="Expecting"):
        response.json()


def test_drop_closes_without_an_answer(demo_api: DemoApiServer, http: httpx.Client) -> None:
    demo_api.switches.drop_next()
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(RELEASES)
    assert http.get(RELEASES).status_code == 200


def test_hang_until_released(demo_api: DemoApiServer, http: httpx.Client) -> None:
    demo_api.switches.hang()
    answers: list[int] = []
    waiter = threading.Thread(target=lambda: answers.append(http.get(f"{RELEASES}/21").status_code))
    waiter.start()
    end = time.monotonic() + 5
    while demo_api.counts.count(f"{RELEASES}/21") == 0 and time.monotonic() < end:
        time.sleep(0.005)
    assert answers == []
    demo_api.switches.release_hang()
    waiter.join(5)
    assert answers == [200]


def test_hung_requests_time_out_on_the_client(demo_api: DemoApiServer) -> None:
    demo_api.switches.hang()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{demo_api.url}{RELEASES}", headers=AUTH_HEADERS, timeout=0.2)


def test_latency_is_added(demo_api: DemoApiServer, http: httpx.Client) -> None:
    demo_api.switches.latency = 0.2
    started = time.monotonic()
    http.get(f"{RELEASES}/21")
    assert time.monotonic() - started >= 0.2


def test_counts_by_path_method_and_params(demo_api: DemoApiServer, http: httpx.Client) -> None:
    http.get(RELEASES, params={"group": "DWH_GROUP"})
    http.get(RELEASES, params={"group": "DWH_GROUP"})
    http.get(RELEASES)
    http.get(f"{RELEASES}/21")
    counts = demo_api.counts
    assert counts.count(RELEASES, params={"group": "DWH_GROUP"}) == 2
    assert counts.count(RELEASES, params={}) == 1
    assert counts.count(RELEASES) == 3
    assert counts.count(method="GET") == 4
    assert counts.total == 4
    assert counts.most_repeated() == 2  # the same list call, asked twice
    counts.reset()
    assert counts.total == 0
    assert counts.most_repeated() == 0


def test_changes_to_the_data_show_in_the_next_answer(
    demo_api: DemoApiServer, http: httpx.Client
) -> None:
    demo_api.data.close("R60")
    assert http.get(f"{RELEASES}/60").json()["closed"] is True
    added = demo_api.data.add("R62", "DWH_GROUP", prev="R60")
    assert http.get(f"{RELEASES}/{added.id}").json()["prev_release_id"] == 60


def test_port_zero_picks_a_free_port() -> None:
    with DemoApiServer(port=0) as one, DemoApiServer(port=0) as two:
        assert one.port != two.port
        assert one.url.startswith("http://127.0.0.1:")


# ---- several customers ---------------------------------------------------------------------


def _login(client: httpx.Client, email: str, password: str) -> dict[str, str]:
    answer = client.post("/authentication", json={"strategy": "local", "email": email,
                                                  "password": password})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['accessToken']}"}


def test_each_customer_sees_its_own_releases_under_the_same_ids(demo_api: DemoApiServer) -> None:
    alpha = demo_api.add_customer("alpha@example.com", "a-pw")
    beta = demo_api.add_customer("beta@example.com", "b-pw")
    shared = alpha.data.releases()[0].id
    alpha.data.rename(shared, "Alpha's")
    with httpx.Client(base_url=demo_api.url, timeout=5, verify=shared_tls_context()) as client:
        as_alpha = _login(client, "alpha@example.com", "a-pw")
        as_beta = _login(client, "beta@example.com", "b-pw")
        assert client.post("/authentication", json={
            "strategy": "local", "email": "alpha@example.com", "password": "b-pw",
        }).status_code == 401
        one = client.get(f"{RELEASES}/{shared}", headers=as_alpha).json()
        other = client.get(f"{RELEASES}/{shared}", headers=as_beta).json()
        default = client.get(f"{RELEASES}/{shared}", headers=AUTH_HEADERS).json()
    assert one["name"] == "Alpha's"
    assert other["name"] == beta.data.by_id(shared).name != "Alpha's"  # type: ignore[union-attr]
    assert default["name"] == demo_api.data.by_id(shared).name  # type: ignore[union-attr]


def test_release_lists_answered_at_once_are_counted_per_account(
    demo_api: DemoApiServer,
) -> None:
    demo_api.add_customer("alpha@example.com", "a-pw")
    with httpx.Client(base_url=demo_api.url, timeout=10, verify=shared_tls_context()) as client:
        as_alpha = _login(client, "alpha@example.com", "a-pw")
        demo_api.switches.hang(RELEASES)  # both lists wait inside the server until released
        threads = [
            threading.Thread(target=client.get, args=(RELEASES,), kwargs={"headers": h})
            for h in (as_alpha, as_alpha, AUTH_HEADERS)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            demo_api.counts.peak_in_flight("alpha@example.com") < 2
            or demo_api.counts.peak_in_flight(DEMO_EMAIL) < 1
        ):
            time.sleep(0.01)
        demo_api.switches.release_hang()
        for thread in threads:
            thread.join()
        client.get(RELEASES, headers=as_alpha)
    assert demo_api.counts.peak_in_flight("alpha@example.com") == 2
    assert demo_api.counts.peak_in_flight(DEMO_EMAIL) == 1
