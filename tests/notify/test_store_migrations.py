"""Alembic migrations: a fresh database and one at every step released before Alembic reach
the newest schema, which matches the code's tables exactly, and keep their rows."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from bot.notify.records import NewDelivery
from bot.notify.store import Store
from bot.notify.store.engine import create_store_engine
from bot.notify.store.migrations import alembic_config, head_version
from bot.notify.store.probe import ProbeFailed, probe_database
from bot.notify.store.schema import (
    connect_links,
    connection_schedules,
    connections,
    metadata,
    outbox,
    subscriptions,
)
from bot.notify.store.subscriptions import TwinSubscription
from tests.fakes.clock import FakeClock
from tests.notify.legacy_steps import STEPS, build_legacy
from tests.notify.support import T0


def schema_differences(conn: Connection) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match `metadata`."""
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            # The pre-Alembic bookkeeping table stays for the release before; it is not ours.
            "include_name": lambda name, kind, _parent: not (
                kind == "table" and name == "schema_version"
            ),
        },
    )
    return list(compare_metadata(context, metadata))


def _alembic_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_a_fresh_database_gets_the_newest_schema(db_url: str, clock: FakeClock) -> None:
    with Store.from_url(db_url, clock=clock) as store:
        assert store.schema_version() == head_version()
        assert _alembic_revision(store.engine) == f"{head_version():04d}"
        with store.engine.connect() as conn:
            assert schema_differences(conn) == []
            legacy = conn.execute(text("SELECT version FROM schema_version ORDER BY version"))
            assert legacy.scalars().all() == list(STEPS)  # the release before still starts


@pytest.mark.parametrize("step", STEPS)
def test_a_database_at_each_released_step_upgrades(
    db_url: str, clock: FakeClock, step: int
) -> None:
    engine = create_store_engine(db_url)
    try:
        with engine.begin() as conn:
            build_legacy(conn, step)
        assert probe_database(db_url).version == step
        with Store(engine, clock=clock) as store:
            assert store.schema_version() == head_version()
            with engine.connect() as conn:
                assert schema_differences(conn) == []
                assert conn.scalar(select(func.count()).select_from(outbox)) == 1
                kinds = conn.execute(select(subscriptions.c.kind).order_by(subscriptions.c.id))
                assert kinds.scalars().all() == ["change", "digest"]
            # The upgraded database works: what was there reads back, new rows go in.
            (first, digest) = store.subscriptions.in_channel("T1", "C1")
            assert (first.filters, digest.schedule) == ("open", "weekdays 09:00")
            assert len(store.follows.all()) == (1 if step >= 3 else 0)
            with pytest.raises(TwinSubscription):  # the old rows got the store's twin keys
                store.subscriptions.add_change(
                    team_id="T1", channel_id="C1", filters="open", created_by="U9"
                )
            assert store.follows.follow("T1", "U3", 8)[1]
            (row,) = store.outbox.commit_poll({}, [NewDelivery(
                subscription_id=first.id, team_id="T1", channel_id="C1", kind="closed",
                payload={"kind": "closed"}, release_id=7,
            )])
            assert store.outbox.claim_delivery(row)
        assert Store(engine, clock=clock).migrate() == head_version()  # again: nothing to do
    finally:
        engine.dispose()


def test_a_database_newer_than_the_code_is_refused_by_check(sqlite_url: str) -> None:
    Store.from_url(sqlite_url).close()
    engine = create_store_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(ProbeFailed, match="newer than this release"):
        probe_database(sqlite_url)


def test_an_unknown_revision_is_refused_by_check(sqlite_url: str) -> None:
    Store.from_url(sqlite_url).close()
    engine = create_store_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ae1027a6acf'"))
    engine.dispose()
    with pytest.raises(ProbeFailed, match="unknown schema revision 'ae1027a6acf'"):
        probe_database(sqlite_url)


def test_the_comparison_sees_a_missing_index_and_column(db_url: str, clock: FakeClock) -> None:
    """The check above can fail: a database one index and one column short is different."""
    engine = create_store_engine(db_url)
    try:
        with engine.begin() as conn:
            build_legacy(conn, 3)  # before step 4's index and step 5's column
        with engine.connect() as conn:
            found = {str(diff) for diff in schema_differences(conn)}
        assert any("ix_outbox_channel_order" in diff for diff in found)
        assert any("payload_id" in diff for diff in found)
    finally:
        engine.dispose()


def test_twins_stored_before_the_twin_key_are_collapsed_to_one(
    db_url: str, clock: FakeClock
) -> None:
    """Concurrent commands could store one subscription several times; the upgrade keeps the
    first active one and removes the others with what they still had queued."""
    engine = create_store_engine(db_url)
    try:
        with engine.begin() as conn:
            build_legacy(conn, 5)  # rows 1 (change, open) and 2 (digest)
            for paused in (True, False, False):  # rows 3, 4, 5: twins of row 1's
                conn.execute(text(
                    "INSERT INTO subscriptions (team_id, channel_id, kind, filters, created_by,"
                    " created_at, baseline_done, paused_at, events, mention)"
                    " VALUES ('T1', 'C2', 'change', 'open', 'U1', :at, :t, :paused,"
                    " 'closed', NULL)"
                ), {"at": T0, "t": True, "paused": T0 if paused else None})
            conn.execute(text(
                "INSERT INTO outbox (subscription_id, team_id, channel_id, kind, payload,"
                " created_at, available_at, state, attempts)"
                " VALUES (5, 'T1', 'C2', 'closed', '{}', :at, :at, 'pending', 0)"
            ), {"at": T0})
        with Store(engine, clock=clock) as store:
            (kept,) = store.subscriptions.in_channel("T1", "C2")
            assert (kept.id, kept.paused) == (4, False)
            assert [s.id for s in store.subscriptions.in_channel("T1", "C1")] == [1, 2]
            with engine.connect() as conn:
                queued = conn.execute(select(outbox.c.subscription_id)).scalars().all()
            assert queued == [1]  # the sent row of step 1's sample; row 5's pending one went
            with pytest.raises(TwinSubscription) as twin:
                store.subscriptions.add_change(
                    team_id="T1", channel_id="C2", filters="open", created_by="U9",
                    events=("closed",),
                )
            assert twin.value.twin.id == 4
    finally:
        engine.dispose()


def test_every_migration_file_is_package_data() -> None:
    """`pip install .` ships the scripts the bot runs at start: pyproject names each file."""
    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["package-data"]["bot"]
    scripts = root / "bot" / "notify" / "store" / "alembic"
    files = [p for p in scripts.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert any(p.name.startswith("r0005") for p in files)
    unshipped = [
        str(p) for p in files
        if not any(p.relative_to(root / "bot").match(glob) for glob in globs)
    ]
    assert unshipped == []


def test_a_database_at_step_6_gets_the_connection_schedules(
    db_url: str, clock: FakeClock
) -> None:
    """The schedule table arrives beside what step 6 left, which stays, and it refuses a
    status the claims do not know and an interval of zero."""
    engine = create_store_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn, T0), "0006")
            assert not inspect(conn).has_table("connection_schedules")
            conn.execute(text(
                "INSERT INTO subscriptions (team_id, channel_id, kind, filters, created_by,"
                " created_at, baseline_done, twin_key) VALUES ('T1', 'C1', 'change', 'open',"
                " 'U1', :at, :t, 'k1')"
            ), {"at": T0, "t": True})
        with Store(engine, clock=clock) as store:
            assert store.schema_version() == head_version()
            assert [s.filters for s in store.subscriptions.in_channel("T1", "C1")] == ["open"]
            with engine.connect() as conn:
                assert schema_differences(conn) == []
            row = {
                "connection_id": "c1", "next_poll_at": T0, "interval_seconds": 60,
                "lease_generation": 0, "consecutive_failures": 0, "status": "active",
            }
            with engine.begin() as conn:
                conn.execute(insert(connection_schedules).values(**row))
            for bad in ({"status": "asleep"}, {"interval_seconds": 0}):
                with pytest.raises(IntegrityError), engine.begin() as conn:
                    conn.execute(insert(connection_schedules).values(
                        **{**row, "connection_id": "c2", **bad}))
    finally:
        engine.dispose()


def test_connections_and_connect_links_come_with_step_9(db_url: str, clock: FakeClock) -> None:
    """The connection tables: one connection per owner, statuses checked, links by hash."""
    with Store.from_url(db_url, clock=clock) as store:
        row = {
            "owner_enterprise_id": "", "owner_team_id": "T1", "base_url": "https://mkw.example",
            "email": "svc@example.com", "password_sealed": "sealed", "password_key_id": "k1",
            "connected_by": "U1", "connected_at": T0, "status": "active",
        }
        with store.engine.begin() as conn:
            conn.execute(connections.insert().values(**row))
            conn.execute(connect_links.insert().values(
                nonce_hash="ab" * 32, enterprise_id="", team_id="T1", user_id="U1",
                created_at=T0, expires_at=T0,
            ))
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(connections.insert().values(**row))  # a second one for T1
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(connections.insert().values(
                **{**row, "owner_team_id": "T2", "status": "maybe"}
            ))
