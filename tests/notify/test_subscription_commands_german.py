"""The notification commands answer in the asker's language, and `lang:` chooses the language
of a subscription's posts, whatever language the person subscribing reads."""

from __future__ import annotations

import pytest

from bot.app.answers import Answers, Caller
from bot.app.finder import ReleaseFinder
from bot.app.language import Languages
from bot.cache.release_cache import ReleaseCache
from bot.config import Settings
from bot.i18n import texts_for
from bot.notify.follow_commands import FollowCommands
from bot.notify.store import Store
from bot.notify.subscription_commands import SubscriptionCommands
from tests.fakes.clock import FakeClock
from tests.render.limits import all_text, assert_valid

ALICE = Caller(team_id="T1", channel_id="C1", user_id="U0ALICE", user_name="alice")


def _service(store: Store, clock: FakeClock, cache: ReleaseCache) -> SubscriptionCommands:
    return SubscriptionCommands(
        store, settings=Settings(), group_names=ReleaseFinder(cache).group_names, clock=clock
    )


def _answers(store: Store, clock: FakeClock, cache: ReleaseCache, language: str) -> Answers:
    """Answers whose callers read `language` (the workspace default; nobody chose another)."""
    finder = ReleaseFinder(cache)
    return Answers(
        finder, clock=clock, subscriptions=_service(store, clock, cache),
        follows=FollowCommands(store, finder, clock=clock),
        languages=Languages(default=language),
    )


@pytest.fixture
def german(store: Store, clock: FakeClock, demo_cache: ReleaseCache) -> Answers:
    return _answers(store, clock, demo_cache, "de")


@pytest.fixture
def english(store: Store, clock: FakeClock, demo_cache: ReleaseCache) -> Answers:
    return _answers(store, clock, demo_cache, "en")


def _languages(store: Store) -> list[str | None]:
    """The language of each of the channel's subscriptions (None: the workspace default)."""
    return [s.language for s in store.subscriptions.in_channel("T1", "C1")]


def _text(answers: Answers, command: str, mode: str) -> str:
    reply = answers.command(command, ALICE)
    assert reply.mode == mode, all_text(reply.message)
    assert_valid(reply.message, allow=("<@U0ALICE>",))
    return all_text(reply.message)


def test_a_german_subscription_is_stored_with_its_language_and_listed(
    german: Answers, store: Store
) -> None:
    said = _text(german, "subscribe group:DWH_GROUP lang:de", "in_channel")
    assert "<@U0ALICE> hat für diesen Channel Release-Änderungen abonniert (#" in said
    assert "): *offen · Gruppe DWH_GROUP*." in said  # the filters in German words too
    assert "Seine Beiträge sind auf Deutsch (`lang:de`)." in said
    assert "Ich prüfe MetaKraftwerk alle" in said
    assert _languages(store) == ["de"]
    listed = _text(german, "subscriptions", "ephemeral")
    assert "Abos in diesem Channel · 1" in listed
    assert "`lang:de`" in listed
    assert "Entfernen" in listed


def test_lang_chooses_the_posts_language_not_the_answers(
    english: Answers, store: Store
) -> None:
    said = _text(english, "digest weekdays 09:00 tz:Europe/Berlin lang:de", "in_channel")
    assert "set up a digest in this channel" in said
    assert "*weekdays at 09:00* Europe/Berlin time" in said
    assert "Europe/Berlin time, *open*." in said  # English words for the English asker
    assert "Its posts are in Deutsch (`lang:de`)." in said
    assert _languages(store) == ["de"]
    _text(english, "subscribe group:LAKE_GROUP", "in_channel")
    languages = {s.kind: s.language for s in store.subscriptions.in_channel("T1", "C1")}
    assert languages == {"digest": "de", "change": None}  # none given: the default


@pytest.mark.parametrize("value", ["fr", "auto", "klingon"])
def test_an_unknown_language_is_refused_with_the_choices(
    german: Answers, english: Answers, store: Store, value: str
) -> None:
    in_english = _text(english, f"subscribe group:DWH_GROUP lang:{value}", "ephemeral")
    assert "`lang:` takes `de` (Deutsch) or `en` (English)" in in_english
    in_german = _text(german, f"digest daily 09:00 lang:{value}", "ephemeral")
    assert "`lang:` nimmt `de` (Deutsch) oder `en` (English)" in in_german
    assert store.subscriptions.in_channel("T1", "C1") == []


def test_refusals_and_removals_in_german(german: Answers) -> None:
    typo = _text(german, "subscribe group:DWH_GRUOP", "ephemeral")
    assert "Es gibt keine Release-Gruppe `DWH_GRUOP`. Meintest du `DWH_GROUP`?" in typo
    assert "Es wurde nichts abonniert." in typo
    assert "In diesem Channel gibt es kein Abo #9." in _text(german, "unsubscribe 9", "ephemeral")
    _text(german, "subscribe group:DWH_GROUP", "in_channel")
    twin = _text(german, "subscribe group:DWH_GROUP", "ephemeral")
    assert "Dieser Channel hat dieses Abo schon (#" in twin
    gone = _text(german, "unsubscribe all", "in_channel")
    assert "<@U0ALICE> hat das 1 Abo dieses Channels entfernt" in gone


def test_following_answers_in_german(german: Answers) -> None:
    followed = _text(german, "follow 21", "ephemeral")
    assert "Du folgst jetzt" in followed
    assert "Ich schicke dir eine Direktnachricht" in followed
    listed = _text(german, "following", "ephemeral")
    assert "Releases, denen du folgst · 1" in listed
    assert "Nicht mehr folgen" in listed
    assert "Du folgst" in _text(german, "unfollow 21", "ephemeral")


def test_filters_too_long_to_keep_are_refused_in_german(german: Answers, store: Store) -> None:
    refused = _text(german, "subscribe name:'" + '"' * 1960 + "'", "ephemeral")
    assert "Diese Filter sind zu lang zum Speichern: gespeichert wären es " in refused
    assert "ich lese höchstens 2000" in refused
    assert store.subscriptions.in_channel("T1", "C1") == []


def test_the_same_subscription_with_another_lang_switches_its_language(
    english: Answers, store: Store
) -> None:
    _text(english, "subscribe group:DWH_GROUP", "in_channel")
    said = _text(english, "subscribe group:DWH_GROUP lang:de", "in_channel")
    assert "switched changes · open · group DWH_GROUP (#" in said
    assert "to Deutsch (`lang:de`)." in said
    assert _languages(store) == ["de"]
    again = _text(english, "subscribe group:DWH_GROUP lang:de", "ephemeral")
    assert "This channel already has that subscription (#" in again


def test_app_homes_rows_are_in_the_viewers_language(
    german: Answers, store: Store, clock: FakeClock, demo_cache: ReleaseCache
) -> None:
    _text(german, "digest weekdays 09:00 tz:Europe/Berlin lang:de", "in_channel")
    service = _service(store, clock, demo_cache)
    [german_row] = service.rows(ALICE, texts_for("de"))
    assert "Zusammenfassung werktags um 09:00 (Europe/Berlin) · offen" in german_row
    assert "Nächste: <!date^" in german_row
    [english_row] = service.rows(ALICE)
    assert "digest weekdays at 09:00 (Europe/Berlin) · open" in english_row
