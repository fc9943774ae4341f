"""Distributed mode end to end: the web process installs two teams through the OAuth redirect
against the Slack stand-in, on PostgreSQL, and answers each with its own team's token."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from bot.demo.api_server import DemoApiServer
from bot.secret_box import new_key as new_fernet_key
from tests.e2e.conftest import (
    WebProcess,
    _stop,
    _wait_healthy,
    free_port,
    new_key,
    procfile_command,
    web_env,
)
from tests.fakes.signing import post_signed, slash_command_body
from tests.fakes.slack_api import FakeSlack

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SERVER = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def database_url() -> Iterator[str]:
    """A database of its own on the test server (the web process migrates it), dropped after."""
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 3})
    name = f"releases_bot_install_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        message = f"PostgreSQL not reachable for the distributed test: {type(exc).__name__}"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def distributed_web(
    demo: DemoApiServer, slack: FakeSlack, workdir: Path, database_url: str, *,
    with_demo: bool = True, **overrides: str,
) -> Iterator[WebProcess]:
    """The Procfile's web process in distributed mode. With `with_demo`, the built-in demo
    (`--demo`) stands in for every workspace's MetaKraftwerk; without, each workspace reads
    its own connection. `overrides` go into its environment."""
    port = free_port()
    env = web_env(
        demo, slack, workdir,
        PORT=str(port), SLACK_BOT_TOKEN="", METAKRAFTWERK_TOKEN="", METAKRAFTWERK_URL="",
        RELEASES_BOT_MODE="distributed", SLACK_CLIENT_ID="111.222",
        SLACK_CLIENT_SECRET="client-secret", PUBLIC_URL=f"http://127.0.0.1:{port}",
        SECRET_KEYS=new_fernet_key(), DATABASE_URL=database_url, **overrides,
    )
    log_path = workdir / "web.log"
    command = procfile_command("web") + (" --demo" if with_demo else "")
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"], cwd=workdir, env=env,
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    http = httpx.Client(timeout=30)
    process = WebProcess(f"http://127.0.0.1:{port}", proc, log_path, env, http, slack, demo)
    try:
        _wait_healthy(process)
        yield process
    finally:
        http.close()
        _stop(proc, port)
    assert "Traceback" not in process.log(tail=1_000_000), process.log()


def install(web: WebProcess, team: str, token: str, enterprise: str = "") -> httpx.Response:
    """A browser's install: /slack/install, Slack's consent (a code), the redirect back."""
    started = web.http.get(f"{web.url}/slack/install")
    assert started.status_code == 302, started.text
    authorize = urlsplit(started.headers["location"])
    assert (authorize.netloc, authorize.path) == ("slack.com", "/oauth/v2/authorize")
    query = parse_qs(authorize.query)
    assert query["redirect_uri"] == [f"{web.url}/slack/oauth_redirect"]
    assert "im:write" in query["scope"][0]
    state = query["state"][0]
    cookie = started.headers["set-cookie"].split(";")[0]
    assert cookie == f"slack-app-oauth-state={state}"
    code = new_key()
    grant = {"team": team, "token": token, "user": f"U{team}"}
    if enterprise:
        grant.update(enterprise=enterprise, team="", user=f"U{enterprise}")
    web.slack.script.oauth_codes[code] = grant
    return web.http.get(
        f"{web.url}/slack/oauth_redirect", params={"code": code, "state": state},
        headers={"Cookie": cookie},
    )


def command_from(web: WebProcess, team: str, text_: str, enterprise: str = "") -> str:
    key = new_key()
    body = slash_command_body(text_, response_url=web.slack.response_url(key), team_id=team,
                              user_id=f"U{team}", channel_id=f"C{team}")
    if enterprise:  # a workspace of a Grid org the app is installed on org-wide
        body += f"&enterprise_id={enterprise}&is_enterprise_install=true"
    assert post_signed(web.http, web.events_url, body).status_code == 200
    return key


def test_two_teams_install_and_each_is_answered_with_its_own_token(
    e2e_demo: DemoApiServer, tmp_path: Path, database_url: str
) -> None:
    with FakeSlack() as slack:
        slack.script.require_token = True
        with distributed_web(e2e_demo, slack, tmp_path, database_url) as web:
            done = install(web, "TAAA1", "xoxb-team-one")
            assert done.status_code == 302, done.text
            assert done.headers["location"] == (
                "https://slack.com/app_redirect?app=A0APP&team=TAAA1")
            (welcome,) = slack.calls_to("chat.postMessage")
            assert (welcome.token, welcome.args["channel"]) == ("xoxb-team-one", "UTAAA1")
            assert "slack://app?team=TAAA1&id=A0APP&tab=home" in welcome.args["text"]

            # A reused state is refused with a short fixed text.
            started = web.http.get(f"{web.url}/slack/install")
            state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
            cookie = started.headers["set-cookie"].split(";")[0]
            code = new_key()
            slack.script.oauth_codes[code] = {"team": "TAAA1", "token": "xoxb-x"}
            first = web.http.get(f"{web.url}/slack/oauth_redirect",
                                 params={"code": code, "state": state},
                                 headers={"Cookie": cookie})
            assert first.status_code == 302
            again = web.http.get(f"{web.url}/slack/oauth_redirect",
                                 params={"code": "other", "state": state},
                                 headers={"Cookie": cookie})
            assert again.status_code == 400
            assert again.text.startswith("This install link has expired or was already used")
            assert "Traceback" not in again.text

            assert install(web, "TBBB2", "xoxb-team-two").status_code == 302

            # Each team's command: its Web API calls (users.info for the digest's time zone)
            # carry its own token, and it is answered.
            one = command_from(web, "TAAA1", "digest daily 09:00")
            two = command_from(web, "TBBB2", "digest daily 09:00")
            web.answer(one)
            web.answer(two)
            seen = {(c.args.get("user"), c.token) for c in slack.calls_to("users.info")}
            assert seen == {("UTAAA1", "xoxb-x"), ("UTBBB2", "xoxb-team-two")}

            # A team nobody installed is told so, and no call is made for it.
            before = len(slack.calls)
            key = command_from(web, "TNOPE", "open")
            assert "install" in json.dumps(web.answer(key)).lower()
            assert len(slack.calls) == before

            # Uninstalling the second team: its token is gone at once, the first is untouched.
            event = json.dumps({
                "type": "event_callback", "team_id": "TBBB2", "api_app_id": "A0APP",
                "event": {"type": "app_uninstalled"}, "event_id": "Ev1", "event_time": 1,
                "authorizations": [{"team_id": "TBBB2", "is_enterprise_install": False}],
            })
            assert post_signed(web.http, web.events_url, event, form=False).status_code == 200
            after_uninstall = len(slack.calls)
            gone = command_from(web, "TBBB2", "digest weekdays 10:00")
            assert "install" in json.dumps(web.answer(gone)).lower()
            kept = command_from(web, "TAAA1", "digest weekdays 10:00")
            assert "install" not in json.dumps(web.answer(kept)).lower()
            later = slack.calls[after_uninstall:]
            assert not [c for c in later if c.token == "xoxb-team-two"]
            assert all(c.token == "xoxb-x" for c in later if c.args.get("user") == "UTAAA1")
            assert not [c for c in slack.calls if c.token is None]

            # An org-wide install (Enterprise Grid): no team; the admin is sent on to add the
            # app to the org's workspaces, and a workspace of the org is answered with its token.
            org = install(web, "", "xoxb-org", enterprise="E0RG")
            assert org.status_code == 302, org.text
            assert org.headers["location"] == (
                "https://app.slack.com/manage/E0RG/integrations/profile/A0APP/workspaces/add")
            key = command_from(web, "TORG1", "digest daily 08:00", enterprise="E0RG")
            web.answer(key)
            assert (slack.calls_to("users.info")[-1].args["user"],
                    slack.calls_to("users.info")[-1].token) == ("UTORG1", "xoxb-org")
            revoked = json.dumps({
                "type": "event_callback", "enterprise_id": "E0RG", "api_app_id": "A0APP",
                "event": {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}},
                "event_id": "Ev2", "event_time": 2, "is_enterprise_install": True,
                "authorizations": [{"enterprise_id": "E0RG", "team_id": None,
                                    "is_enterprise_install": True}],
            })
            assert post_signed(web.http, web.events_url, revoked, form=False).status_code == 200
            key = command_from(web, "TORG2", "digest daily 08:00", enterprise="E0RG")
            assert "install" in json.dumps(web.answer(key)).lower()
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT team_id, bot_token, revoked_at FROM installations ORDER BY team_id")).all()
        history = conn.execute(text(
            "SELECT team_id, kind FROM installation_events ORDER BY id")).all()
    engine.dispose()
    assert [(r.team_id, r.bot_token is None, r.revoked_at is None) for r in rows] == [
        ("", True, False), ("TAAA1", False, True), ("TBBB2", True, False)]
    assert "xoxb-" not in " ".join(str(r.bot_token) for r in rows)
    assert [tuple(h) for h in history] == [
        ("TAAA1", "installed"), ("TAAA1", "reinstalled"), ("TBBB2", "installed"),
        ("TBBB2", "uninstalled"), ("", "installed"), ("", "tokens_revoked")]
