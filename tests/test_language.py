"""Which language a person is answered in: their choice, else their Slack locale, else the
workspace default, else English; Slack's tags mapped onto Babel's; a slow users.info never
holds an answer."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.app.language import Languages
from bot.config import read_settings
from bot.i18n import language_of_slack_locale
from bot.query import LanguageCommand
from bot.slack.user_locale import SlackLocales


class Choices:
    def __init__(self) -> None:
        self.chosen: dict[tuple[str, str], str] = {}

    def language_of(self, team_id: str, user_id: str) -> str | None:
        return self.chosen.get((team_id, user_id))

    def choose_language(self, team_id: str, user_id: str, language: str | None) -> None:
        if language is None:
            self.chosen.pop((team_id, user_id), None)
        else:
            self.chosen[(team_id, user_id)] = language


@pytest.mark.parametrize(
    ("tag", "language"),
    [("de-DE", "de"), ("de-AT", "de"), ("de-CH", "de"), ("en-US", "en"), ("en-GB", "en"),
     ("es-LA", None), ("fr-FR", None), ("xx-YY", None), ("", None), (None, None),
     ("zh-Hant", None), ("not a tag", None)],
)
def test_slack_locale_tags_map_onto_the_bot_languages(
    tag: str | None, language: str | None
) -> None:
    assert language_of_slack_locale(tag) == language


def test_es_la_is_read_as_babels_es_419() -> None:
    from bot.i18n.languages import babel_locale

    assert str(babel_locale("es-LA")) == "es_419"


def test_the_order_is_choice_then_slack_then_default() -> None:
    choices = Choices()
    slack = {"UDE": "de-DE", "UFR": "fr-FR"}
    languages = Languages(
        choices=choices, slack_locale=lambda team, user: slack.get(user), default="de"
    )
    assert languages.language_of("T1", "UDE") == "de"
    assert languages.language_of("T1", "UFR") == "de"  # no French: the workspace default
    assert Languages(slack_locale=lambda t, u: "fr-FR").language_of("T1", "U") == "en"
    languages.choose(LanguageCommand("en"), "T1", "UDE")
    assert languages.language_of("T1", "UDE") == "en"
    assert languages.language_of("T2", "UDE") == "de"  # a choice is per team and user
    assert "Slack-Sprache" in languages.choose(LanguageCommand("auto"), "T1", "UDE")
    assert languages.language_of("T1", "UDE") == "de"


def test_a_broken_store_or_slack_falls_back_without_an_error() -> None:
    class Broken(Choices):
        def language_of(self, team_id: str, user_id: str) -> str | None:
            raise OSError("database gone")

    def slack(team: str, user: str) -> str | None:
        raise RuntimeError("slack gone")

    assert Languages(choices=Broken(), slack_locale=slack).language_of("T", "U") == "en"
    with pytest.raises(LookupError):
        Languages().choose(LanguageCommand("de"), "T", "U")


class SlowSlack:
    """users.info that answers only once `go` is set."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.calls: list[dict[str, Any]] = []

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        self.go.wait(30)
        return {"ok": True, "user": {"id": kwargs["user"], "locale": "de-DE"}}


def test_a_slow_users_info_answers_in_the_default_and_fills_the_cache_later() -> None:
    slack = SlowSlack()
    locales = SlackLocales(slack, wait_seconds=0.05)  # type: ignore[arg-type]
    with_answer = SlackLocales(slack, wait_seconds=30)  # type: ignore[arg-type]
    try:
        assert locales.locale("T1", "U1") is None  # Slack is slow: not waited for
        assert locales.locale("T1", "U1") is None  # still the one lookup, not a second
        slack.go.set()
        assert with_answer.locale("T1", "U2") == "de-DE"
        assert len([c for c in slack.calls if c["user"] == "U1"]) == 1
        assert all(c["include_locale"] is True for c in slack.calls)
        assert with_answer.locale("T1", "U2") == "de-DE"  # cached: no new call
        assert len([c for c in slack.calls if c["user"] == "U2"]) == 1
    finally:
        locales.close()
        with_answer.close()


def test_default_language_is_checked_in_the_settings() -> None:
    settings, errors = read_settings({"DEFAULT_LANGUAGE": "DE"}, None)
    assert not errors
    assert settings.default_language == "de"
    _, errors = read_settings({"DEFAULT_LANGUAGE": "fr"}, None)
    assert errors
    assert "DEFAULT_LANGUAGE" in str(errors)
