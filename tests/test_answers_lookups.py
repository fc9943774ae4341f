"""Lookups against the demo API answer the same, whatever was asked before."""

from __future__ import annotations

import pytest

from bot.answers import Answers, Caller
from bot.finder import ReleaseFinder
from bot.metakraftwerk.cache import ReleaseCache
from tests.render.limits import all_text

CALLER = Caller(team_id="T1", channel_id="C1", user_id="U1")
LINK = "https://mk.example/releases/{id}"


@pytest.fixture
def answers(demo_cache: ReleaseCache) -> Answers:
    return Answers(ReleaseFinder(demo_cache), release_link=LINK)


def shown(answers: Answers, text: str) -> str:
    return all_text(answers.command(text, CALLER).message)


# ---- ids and links ------------------------------------------------------------------------


def test_list_rows_show_ids_and_link_names_to_metakraftwerk(answers: Answers) -> None:
    text = shown(answers, "group:DWH_GROUP")
    assert "*<https://mk.example/releases/59|R59>* #59" in text


def test_the_header_names_the_group_as_metakraftwerk_spells_it(answers: Answers) -> None:
    reply = answers.command("group:dwh_group", CALLER)
    assert reply.message.blocks[0]["text"]["text"].startswith("Open releases · DWH_GROUP · ")


def test_a_page_past_the_end_says_so(answers: Answers) -> None:
    assert "Page 9 is past the end" in shown(answers, "all page:9")
