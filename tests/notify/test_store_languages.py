"""The languages people chose, and a subscription's language, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, create_engine, select, text
from sqlalchemy.exc import DBAPIError

from bot.notify.store import Store, StoreUnavailable
from bot.notify.store.database import Database
from bot.notify.store.point_read import PointRead
from bot.notify.store.schema import user_languages
from tests.fakes.clock import FakeClock


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


@pytest.mark.postgres
def test_a_choice_is_read_after_postgresql_dropped_the_pooled_connection(pg_url: str) -> None:
    with Store.from_url(pg_url) as store:
        store.languages.choose_language("T1", "U1", "de")
        with store.engine.connect() as conn:  # the one connection the pool holds
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
        killer = create_engine(pg_url)
        try:
            with killer.connect() as conn:
                assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            killer.dispose()
        assert store.languages.language_of("T1", "U1") == "de"


@pytest.mark.postgres
@pytest.mark.timeout(60)
def test_a_locked_language_table_becomes_store_unavailable(pg_url: str) -> None:
    blocker = create_engine(pg_url)
    try:
        with Store.from_url(pg_url) as store, blocker.connect() as conn, conn.begin():
            conn.execute(text("LOCK TABLE user_languages IN ACCESS EXCLUSIVE MODE"))
            with pytest.raises(StoreUnavailable, match="lock"):
                store.languages.language_of("T1", "U1")
    finally:
        blocker.dispose()


def test_a_bug_in_the_read_stays_a_bug(store: Store) -> None:
    broken = PointRead(store._db, select(text("language")).select_from(
        text("no_such_table")).where(text("user_id = :user_id")))
    with pytest.raises(DBAPIError) as raised:
        broken.scalar(user_id="U1")
    assert not isinstance(raised.value, StoreUnavailable)
    assert "no_such_table" in str(raised.value.orig)


@pytest.mark.postgres
def test_a_connection_lost_mid_read_is_reported_and_not_lent_again(pg_url: str) -> None:
    # Without the store engine's pre-ping, the lost connection is met by the read itself.
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    killer = create_engine(pg_url)
    try:
        with Store.from_url(pg_url) as store:
            store.languages.choose_language("T1", "U1", "de")
        read = PointRead(Database(engine, FakeClock()), select(user_languages.c.language).where(
            user_languages.c.user_id == bindparam("user_id")))
        assert read.scalar(user_id="U1") == "de"
        with engine.connect() as conn:  # the pool's one connection
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
        with killer.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(StoreUnavailable):
            read.scalar(user_id="U1")
        assert read.scalar(user_id="U1") == "de"  # on a new connection
    finally:
        engine.dispose()
        killer.dispose()
