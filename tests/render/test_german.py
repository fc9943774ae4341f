"""The same answers in English and German, side by side: the German ones say it in German
(dates and relative times by Babel, `<!date^…>` tokens kept), show no English message the
catalog translates, and hold every Block Kit limit with the longer German texts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from babel.messages.pofile import read_po

from bot.i18n import ENGLISH, Texts, texts_for
from bot.i18n.catalog import catalog_path
from bot.query import Query
from bot.render import parts
from bot.render.detail import render_detail
from bot.render.errors import render_not_available, render_unexpected_error
from bot.render.groups import render_groups
from bot.render.help import TOPICS, render_help
from bot.render.home_view import HomeData, render_home
from bot.render.listing import render_list
from bot.render.message import Message
from bot.render.no_match import render_no_release_named
from bot.render.standup import render_standup
from tests.render.limits import all_text, assert_valid
from tests.render.support import GROUPS, NOW, detail, find, fresh, many, nasty_release, release

GERMAN = texts_for("de")


def _english_leftovers(text: str) -> list[str]:
    """English messages of the catalog (those German changes) that appear in `text`."""
    with catalog_path("de", ".po").open("rb") as handle:
        catalog = read_po(handle, locale="de")
    found = []
    for message in catalog:
        source = str(message.id[0] if isinstance(message.id, tuple) else message.id)
        target = str(message.string[0] if isinstance(message.string, tuple) else message.string)
        fixed = source.split("{")[0].strip()
        if len(fixed) >= 12 and fixed != target.split("{")[0].strip() and fixed in text:
            found.append(fixed)
    return found


def _answers(t: Texts) -> dict[str, Message]:
    hotfix = release(30, "R30.HF1", hotfix_of_id=21, prev_release_id=21)
    return {
        "list": render_list(find(many(12), freshness=fresh(3)), NOW, t=t),
        "empty": render_list(find((), Query(status="open", names=("R9",))), NOW, t=t),
        "detail": render_detail(detail(release(), hotfixes=(hotfix,)), NOW, following=True, t=t),
        "nasty": render_detail(detail(nasty_release()), NOW, shared_by="U123", t=t),
        "stale": render_list(
            find(many(3), freshness=fresh(90, stale=True, reason="The API timed out")), NOW, t=t
        ),
        "groups": render_groups(GROUPS, many(4), NOW, fresh(), t),
        "standup": render_standup(find((*many(6), release(9, closed=True, days=(-9, -1))),
                                       Query(status="all")), NOW, t=t),
        "no match": render_no_release_named(["R599", "R5999"], ["R59"], "/releases open", t),
        "help": render_help(None, t),
        **{f"help {topic}": render_help(topic, t) for topic in TOPICS},
        "not available": render_not_available("Following releases", t),
        "unexpected": render_unexpected_error("ab12", t),
    }


def test_english_stays_as_it_was_without_a_texts_argument() -> None:
    english = _answers(ENGLISH)
    assert english["list"] == render_list(find(many(12), freshness=fresh(3)), NOW)
    assert "Open releases · 12" in all_text(english["list"])
    assert "data from 3 min ago" in all_text(english["list"])


@pytest.mark.parametrize("name", sorted(_answers(ENGLISH)))
def test_the_german_answer_is_german_and_within_every_limit(name: str) -> None:
    english, german = _answers(ENGLISH)[name], _answers(GERMAN)[name]
    assert_valid(german, allow=("<@U123>",))
    assert all_text(german) != all_text(english)
    assert _english_leftovers(all_text(german)) == []


def test_german_words_dates_and_relative_times() -> None:
    listing = all_text(_answers(GERMAN)["list"])
    assert "Offene Releases · 12" in listing
    assert "Daten von vor 3 Minuten" in listing
    assert "<!date^" in listing  # Slack still shows each reader's own time
    card = all_text(_answers(GERMAN)["detail"])
    assert "*Beginn*" in card
    assert "vor 3 Tagen" in card
    assert "in 4 Tagen" in card
    assert "Nicht mehr folgen" in card
    assert GERMAN.date(NOW) == "5. März 2024"
    assert parts.date_fallback(NOW, GERMAN) == "5. März 2024, 09:00 UTC"
    assert GERMAN.join(["R59", "R60", "R61"]) == "R59, R60 und R61"


def test_german_help_names_the_german_keywords_beside_the_canonical_ones() -> None:
    text = all_text(render_help("filters", GERMAN))
    assert "`open` (`offen`)" in text
    assert "`closed` (`geschlossen`)" in text
    assert "status:closed" in text  # the syntax shown stays the canonical one


def test_the_longest_german_texts_fit_in_home() -> None:
    data = HomeData(releases=find(many(40, days=(-9, -1)) + many(30), freshness=fresh(1)),
                    followed=many(15))
    view = render_home(data, NOW - timedelta(minutes=1), GERMAN)
    assert view["blocks"]
    message = Message(text="Home", blocks=tuple(view["blocks"]))
    assert_valid(message)
    assert "Offene Releases nach Gruppe" in all_text(message)
