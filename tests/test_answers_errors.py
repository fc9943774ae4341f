"""What a Slack user sees when MetaKraftwerk fails: a fixed text with a ref, never its words."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from bot.app.answers import Answers, Caller
from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.config import Secret
from bot.demo import DemoApiServer
from bot.metakraftwerk.client import MetaKraftwerkClient
from bot.render.text import mrkdwn_to_text

CALLER = Caller(team_id="T1", channel_id="C1", user_id="U1")
PASSWORD = "Sup3r-S3cret"
LEAK = f"could not connect to postgresql://mk_admin:{PASSWORD}@db.internal:5432/metakraftwerk"


@pytest.fixture
def answers(demo_cache: ReleaseCache) -> Answers:
    return Answers(ReleaseFinder(demo_cache))


def shown(answers: Answers, text: str) -> str:
    reply = answers.command(text, CALLER)
    return reply.message.text + "\n" + str(reply.message.blocks)


def test_an_upstream_error_shows_the_status_and_a_ref_and_logs_the_text_masked(
    demo_api: DemoApiServer, answers: Answers, caplog: pytest.LogCaptureFixture
) -> None:
    demo_api.switches.fail_next(status=418, message=LEAK, path="/api/v1/releases")
    with caplog.at_level(logging.INFO):
        text = shown(answers, "all")
    found = re.search(r"MetaKraftwerk answered HTTP 418 \(ref ([0-9a-f]{6})\)", text)
    assert found is not None, text
    for leaked in (PASSWORD, "db.internal", "postgresql", "could not connect"):
        assert leaked not in text
    ref = found.group(1)
    logged = [r.getMessage() for r in caplog.records if ref in r.getMessage()]
    assert any("could not connect to postgresql://mk_admin:***@" in line for line in logged)
    assert PASSWORD not in caplog.text


def test_a_refused_login_shows_no_account_to_the_user(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient, answers: Answers
) -> None:
    demo_client._email = "releases-bot@corp.example"
    text = mrkdwn_to_text(shown(answers, "all"))
    assert "refused the bot's login (HTTP 401, ref " in text
    assert "corp.example" not in text
    assert "Invalid login" not in text


def test_the_bots_own_specific_answers_stay(answers: Answers) -> None:
    assert "No release with id 99999" in shown(answers, "99999")
    assert "A release group with the name 'NOPE' does not exist" in shown(answers, "group:NOPE")


def test_json_nested_too_deeply_gets_a_clear_answer_not_something_went_wrong() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"[" * 100_000 + b"]" * 100_000)

    http = httpx.Client(base_url="http://api.test", transport=httpx.MockTransport(handler))
    client = MetaKraftwerkClient(http, token=Secret("t"), deadline_seconds=1.0)
    answers = Answers(ReleaseFinder(ReleaseCache(client, ttl_seconds=60.0)))
    text = shown(answers, "all")
    assert "JSON the bot cannot read" in text
    assert "Something went wrong" not in text
