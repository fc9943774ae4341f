"""Distributed mode end to end, without `--demo`: each installed workspace is answered from its
own MetaKraftwerk connection, on PostgreSQL.

Two MetaKraftwerk customers (two stand-ins, each with its own account, allowlisted by base URL)
both have a release 21 named differently. Each workspace's `/releases 21`, asked at the same
time as the other's, shows only its own. A workspace without a connection is told who can
connect it, with a link to App Home; one whose stored password MetaKraftwerk refuses hears
that its connection is failing, and the connection records the error.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from bot.clock import SystemClock
from bot.connect.links import LinkSigner
from bot.connect.records import Account
from bot.connect.store import ConnectionStore
from bot.demo.api_server import DemoApiServer
from bot.notify.store.schema import connections
from bot.secret_box import SecretBox
from bot.tenant import Tenant
from tests.e2e.conftest import WebProcess, all_text
from tests.e2e.test_distributed_install import command_from, database_url, distributed_web, install
from tests.fakes.signing import event_body, post_event
from tests.fakes.slack_api import FakeSlack

__all__ = ["database_url"]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _connect(
    store: ConnectionStore, team: str, api: DemoApiServer, password: str | None = None
) -> None:
    """What the connect page stores for `team`: an account on `api` whose session token
    expired, so the first request logs in with the sealed password."""
    _token, nonce_hash = LinkSigner("test").new_link()
    store.add_link(nonce_hash, Tenant("", team), f"U{team}")
    grant = store.link(nonce_hash)
    assert grant is not None
    expired = SystemClock().now() - timedelta(hours=1)
    store.connect(grant, Account(
        base_url=api.url, email=api.email, password=password or api.password,
        session_token="expired-session", session_expires_at=expired,
    ))


def _ask_together(web: WebProcess, asks: list[tuple[str, str]]) -> list[dict[str, object]]:
    """Each (team, text) posted at the same moment from its own thread; the answers in order."""
    keys: list[str] = [""] * len(asks)
    start = threading.Barrier(len(asks))

    def post(index: int, team: str, text_: str) -> None:
        start.wait()
        keys[index] = command_from(web, team, text_)

    threads = [threading.Thread(target=post, args=(i, team, text_))
               for i, (team, text_) in enumerate(asks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return [web.answer(key) for key in keys]


def _home(web: WebProcess, team: str) -> str:
    """The App Home view published for the installer of `team`, as text."""
    user = f"U{team}"
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
             "event_ts": "1700000000.000200"}
    body = event_body(event, event_id=f"Ev{uuid.uuid4().hex[:10]}", team_id=team)
    assert post_event(web.http, web.events_url, body).status_code == 200

    def published(_slack: object) -> bool:
        return any(c.args.get("user_id") == user for c in web.slack.calls_to("views.publish"))

    assert web.slack.wait_for(published), web.log()
    calls = [c for c in web.slack.calls_to("views.publish") if c.args.get("user_id") == user]
    return all_text(calls[-1].args["view"])


def test_each_workspace_reads_its_own_connection_and_an_unconnected_one_is_told(
    tmp_path: Path, database_url: str
) -> None:
    with (
        DemoApiServer(email="svc@one.example", password="pw-one") as one,
        DemoApiServer(email="svc@two.example", password="pw-two") as two,
        FakeSlack() as slack,
    ):
        one.data.rename(21, "ALPHA-ONE")
        two.data.rename(21, "BETA-TWO")
        one.data.rename(60, "OPEN-ONE")  # open: on App Home
        two.data.rename(60, "OPEN-TWO")
        slack.script.require_token = True
        for team in ("TAAA1", "TBBB2", "TNONE", "TFAIL"):  # each a member of their own team
            slack.script.users[f"U{team}"] = {"team_id": team}
        with distributed_web(
            one, slack, tmp_path, database_url, with_demo=False,
            METAKRAFTWERK_ALLOWED_URLS=f"{one.url},{two.url}",
        ) as web:
            health = web.http.get(f"{web.url}/healthz").json()
            assert health["metakraftwerk"] == "per connection"  # served without --demo
            for team, token in (("TAAA1", "xoxb-one"), ("TBBB2", "xoxb-two"),
                                ("TNONE", "xoxb-none"), ("TFAIL", "xoxb-fail")):
                assert install(web, team, token).status_code == 302
            # Written with the deployment's own keys, as its connect page would.
            engine = create_engine(database_url)
            store = ConnectionStore(engine, SecretBox([web.env["SECRET_KEYS"]]), SystemClock())
            _connect(store, "TAAA1", one)
            _connect(store, "TBBB2", two)
            _connect(store, "TFAIL", two, password="not-the-password")

            for _ in range(3):  # cold, then from each connection's cache
                first, second = _ask_together(web, [("TAAA1", "21"), ("TBBB2", "21")])
                assert "ALPHA-ONE" in all_text(first)
                assert "BETA-TWO" not in all_text(first)
                assert "BETA-TWO" in all_text(second)
                assert "ALPHA-ONE" not in all_text(second)
            listed_one, listed_two = _ask_together(
                web, [("TAAA1", "R1 all"), ("TBBB2", "R1 all")]
            )
            assert "BETA-TWO" not in all_text(listed_one)
            assert "ALPHA-ONE" not in all_text(listed_two)
            # Each customer's stand-in was asked with its own account only: one login each.
            assert one.counts.count("/authentication", "POST") == 1
            assert two.counts.count("/authentication", "POST") >= 1

            # The new login is kept sealed: a restart would not log in again.
            connection = store.for_workspace(Tenant("", "TAAA1"))
            assert connection is not None
            assert connection.session_expires_at is not None
            assert connection.session_expires_at > SystemClock().now()
            assert store.session_token(connection) != "expired-session"

            # No connection: who can connect it, and the way to App Home; no lookup made.
            lookups = one.counts.count("/api/v1/releases/21", "GET")
            unconnected = web.answer(command_from(web, "TNONE", "21"))
            said = all_text(unconnected)
            assert "isn't connected" in said
            assert "<@UTNONE>" in said  # the installer
            buttons = [e for b in unconnected.get("blocks", []) if b.get("type") == "actions"
                       for e in b["elements"]]
            assert [b["url"] for b in buttons] == [
                "slack://app?team=TNONE&id=A0APP&tab=home"]
            assert one.counts.count("/api/v1/releases/21", "GET") == lookups
            assert "isn't connected" in all_text(web.answer(command_from(web, "TNONE", "open")))
            subscribed = web.answer(command_from(web, "TNONE", "subscribe group:DWH_GROUP"))
            assert "isn't connected" in all_text(subscribed)
            # A connected workspace's subscription is checked against its own groups.
            ok = all_text(web.answer(command_from(web, "TAAA1", "subscribe group:DWH_GROUP")))
            assert "isn't connected" not in ok
            assert "DWH_GROUP" in ok
            helped = all_text(web.answer(command_from(web, "TNONE", "help")))
            assert "/releases" in helped  # help needs no connection
            assert "isn't connected" not in helped

            # App Home: each workspace's open releases are its own; none without a connection.
            homes = {team: _home(web, team) for team in ("TAAA1", "TBBB2", "TNONE")}
            assert "OPEN-ONE" in homes["TAAA1"]
            assert "OPEN-TWO" not in homes["TAAA1"]
            assert "OPEN-TWO" in homes["TBBB2"]
            assert "OPEN-ONE" not in homes["TBBB2"]
            assert "isn't connected" in homes["TNONE"]
            assert "OPEN-" not in homes["TNONE"]

            # A refused login: the user hears the connection is failing; the error is kept.
            failing = all_text(web.answer(command_from(web, "TFAIL", "21")))
            assert "failing" in failing
            assert "App Home" in failing
            assert "BETA-TWO" not in failing
            with engine.connect() as conn:
                rows = {row.owner_team_id: row for row in conn.execute(select(connections))}
            engine.dispose()
            assert rows["TFAIL"].status == "failing"
            assert rows["TFAIL"].last_error
            assert rows["TAAA1"].status == "active"
        log = web.log(tail=1_000_000)
        for secret in ("pw-one", "pw-two", "not-the-password"):
            assert secret not in log
        assert "ALPHA-ONE" not in json.dumps([c.args for c in slack.calls if c.token == "xoxb-two"])
