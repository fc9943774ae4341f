"""The web process's app as `releases-bot serve` loads it, in-process."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Secret, Settings
from bot.wiring import web_app_factory
from tests.fakes.signing import SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.slack.support import call


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def test_loading_takes_what_startup_made_out_of_the_collectors_scans(
    slack: FakeSlack, tmp_path: Path
) -> None:
    settings = Settings(
        slack_bot_token=Secret("xoxb-test"),
        slack_signing_secret=Secret(SIGNING_SECRET),
        slack_api_url=slack.url + "/api/",
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
    )
    gc.unfreeze()
    load = web_app_factory(settings, demo=True)
    assert gc.get_freeze_count() == 0
    app = load()
    try:
        assert gc.get_freeze_count() > 10_000
        assert call(app, "GET", "/healthz").status.startswith("200")
    finally:
        app.close()
        gc.unfreeze()
