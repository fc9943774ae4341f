"""The languages people chose, and a subscription's language, on SQLite and PostgreSQL."""

from __future__ import annotations

from bot.notify.store import Store


def test_a_choice_is_stored_per_team_and_user_and_auto_forgets_it(store: Store) -> None:
    languages = store.languages
    assert languages.language_of("T1", "U1") is None
    languages.choose_language("T1", "U1", "de")
    languages.choose_language("T1", "U1", "en")  # a new choice replaces the old one
    languages.choose_language("T2", "U1", "de")
    assert languages.language_of("T1", "U1") == "en"
    assert languages.language_of("T2", "U1") == "de"
    languages.choose_language("T1", "U1", None)
    assert languages.language_of("T1", "U1") is None
    assert languages.language_of("T2", "U1") == "de"


def test_a_subscription_keeps_its_language(store: Store) -> None:
    german = store.subscriptions.add_change(
        team_id="T1", channel_id="C1", filters="open", created_by="U1", language="de"
    )
    plain = store.subscriptions.add_change(
        team_id="T1", channel_id="C1", filters="closed", created_by="U1"
    )
    by_id = {s.id: s for s in store.subscriptions.in_channel("T1", "C1")}
    assert by_id[german.id].language == "de"
    assert by_id[plain.id].language is None  # the workspace default
