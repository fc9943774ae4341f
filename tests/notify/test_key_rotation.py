"""`keys rotate` on a real SQLite file and on PostgreSQL, over test tables registered like the
schema's own sealed columns: old-key rows move, a second run does nothing, strays are reported."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, select, update

from bot.config import ConfigError, Secret, Settings
from bot.keys import rotate_keys
from bot.notify.store import Store
from bot.notify.store.engine import create_store_engine
from bot.notify.store.rotation import KeyCount, count_keys, rotate_sealed
from bot.notify.store.sealed_fields import SealedField, row_context
from bot.secret_box import SecretBox, SecretError, new_key
from tests.e2e.test_cli import releases_bot

OLD, NEW, STRAY = new_key(), new_key(), new_key()

metadata = MetaData()
tokens = Table(
    "test_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("token", Text),
    Column("token_key_id", String(12)),
)
pairs = Table(  # a row key with a nullable part, as (enterprise, team) has
    "test_pairs", metadata,
    Column("enterprise_id", String(20), nullable=True),
    Column("team_id", String(20), nullable=False),
    Column("secret", Text, nullable=False),
    Column("secret_key_id", String(12), nullable=False),
)
TOKENS = SealedField("test_tokens", "token", "token_key_id", ("id",),
                     row_context("test_tokens", "token"))
PAIRS = SealedField("test_pairs", "secret", "secret_key_id", ("enterprise_id", "team_id"),
                    row_context("test_pairs", "secret"))
REGISTRY = (TOKENS, PAIRS)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    Store.from_url(db_url).close()  # the real schema, migrated, beside the test tables
    made = create_store_engine(db_url)
    metadata.create_all(made)
    yield made
    made.dispose()


def seal_tokens(engine: Engine, box: SecretBox, ids: range) -> None:
    with engine.begin() as conn:
        for row_id in ids:
            conn.execute(tokens.insert().values(
                id=row_id, token=box.seal(f"xoxb-{row_id}", TOKENS.context((row_id,))),
                token_key_id=box.current_key_id,
            ))


def stored(engine: Engine) -> dict[int, tuple[str | None, str | None]]:
    with engine.connect() as conn:
        return {r.id: (r.token, r.token_key_id) for r in conn.execute(select(tokens))}


def test_old_key_rows_move_to_the_new_key_and_a_second_run_does_nothing(engine: Engine) -> None:
    old = SecretBox([OLD])
    seal_tokens(engine, old, range(1, 8))
    with engine.begin() as conn:
        conn.execute(tokens.insert().values(id=8, token=None, token_key_id=None))  # none kept
        for enterprise in (None, "E1"):
            conn.execute(pairs.insert().values(
                enterprise_id=enterprise, team_id="T1", secret_key_id=old.current_key_id,
                secret=old.seal(f"pw-{enterprise}", PAIRS.context((enterprise, "T1"))),
            ))
    box = SecretBox([NEW, OLD])
    lines: list[str] = []
    results = rotate_sealed(engine, box, REGISTRY, batch=3, progress=lines.append)

    assert [(r.field, r.resealed, r.unopenable, r.remaining) for r in results] == [
        ("test_tokens.token", 7, (), 0), ("test_pairs.secret", 2, (), 0)
    ]
    assert lines == [
        "test_tokens.token: 3 re-sealed (3 so far)", "test_tokens.token: 3 re-sealed (6 so far)",
        "test_tokens.token: 1 re-sealed (7 so far)", "test_pairs.secret: 2 re-sealed (2 so far)",
    ]
    new_only = SecretBox([NEW])
    rows = stored(engine)
    assert rows[8] == (None, None)
    for row_id in range(1, 8):
        token, key_id = rows[row_id]
        assert key_id == new_only.current_key_id
        assert token is not None
        assert new_only.open(token, TOKENS.context((row_id,))) == f"xoxb-{row_id}"
        with pytest.raises(SecretError):
            old.open(token, TOKENS.context((row_id,)))
    with engine.connect() as conn:
        opened = {r.enterprise_id: new_only.open(r.secret, PAIRS.context((r.enterprise_id, "T1")))
                  for r in conn.execute(select(pairs))}
    assert opened == {None: "pw-None", "E1": "pw-E1"}

    again: list[str] = []
    second = rotate_sealed(engine, box, REGISTRY, progress=again.append)
    assert [(r.resealed, r.remaining) for r in second] == [(0, 0), (0, 0)]
    assert again == []
    assert stored(engine) == rows


def test_a_ciphertext_copied_from_another_row_is_reported_and_kept(engine: Engine) -> None:
    old = SecretBox([OLD])
    seal_tokens(engine, old, range(1, 6))
    copied = stored(engine)[2][0]
    stray = SecretBox([STRAY]).seal("xoxb-9", TOKENS.context((4,)))
    with engine.begin() as conn:
        conn.execute(update(tokens).where(tokens.c.id == 5).values(token=copied))
        conn.execute(update(tokens).where(tokens.c.id == 4).values(
            token=stray, token_key_id=SecretBox([STRAY]).current_key_id))
    box = SecretBox([NEW, OLD])
    lines: list[str] = []
    (result,) = rotate_sealed(engine, box, [TOKENS], batch=2, progress=lines.append)

    assert result.resealed == 3
    assert sorted(result.unopenable) == [(4,), (5,)]
    assert result.remaining == 2
    assert sum("row (5)" in line and "left as it is" in line for line in lines) == 1
    rows = stored(engine)
    assert rows[5] == (copied, old.current_key_id)  # never dropped
    assert rows[4][0] == stray
    assert count_keys(engine, box, [TOKENS]) == (KeyCount("test_tokens.token", 3, 1, 1),)

    (again,) = rotate_sealed(engine, box, [TOKENS])
    assert (again.resealed, sorted(again.unopenable), again.remaining) == (0, [(4,), (5,)], 2)


def test_an_interrupted_run_goes_on_where_it_stopped(engine: Engine) -> None:
    seal_tokens(engine, SecretBox([OLD]), range(1, 11))
    box = SecretBox([NEW, OLD])

    def stop(line: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate_sealed(engine, box, [TOKENS], batch=4, progress=stop)
    assert count_keys(engine, box, [TOKENS]) == (KeyCount("test_tokens.token", 4, 6, 0),)
    (result,) = rotate_sealed(engine, box, [TOKENS], batch=4)
    assert (result.resealed, result.remaining) == (6, 0)


@pytest.mark.postgres
def test_a_row_another_transaction_holds_is_passed_over_not_waited_for(pg_url: str) -> None:
    Store.from_url(pg_url).close()
    engine = create_store_engine(pg_url)
    metadata.create_all(engine)
    try:
        seal_tokens(engine, SecretBox([OLD]), range(1, 5))
        box = SecretBox([NEW, OLD])
        with engine.connect() as other, other.begin():
            other.execute(select(tokens).where(tokens.c.id == 2).with_for_update())
            (held,) = rotate_sealed(engine, box, [TOKENS], batch=10)
        assert (held.resealed, held.unopenable, held.remaining) == (3, (), 1)
        (after,) = rotate_sealed(engine, box, [TOKENS])
        assert (after.resealed, after.remaining) == (1, 0)
    finally:
        engine.dispose()


def settings_for(db_url: str, *keys: str) -> Settings:
    return Settings(database_url=db_url, secret_keys=tuple(Secret(k) for k in keys))


def test_the_command_prints_progress_and_a_summary(engine: Engine, db_url: str) -> None:
    seal_tokens(engine, SecretBox([OLD]), range(1, 4))
    out = io.StringIO()
    assert rotate_keys(settings_for(db_url, NEW, OLD), out, fields=REGISTRY, batch=2) == 0
    text = out.getvalue()
    assert text.startswith(f"Re-sealing onto key {SecretBox([NEW]).current_key_id}")
    assert "test_tokens.token: 2 re-sealed (2 so far)\n" in text
    assert "test_tokens.token: 3 re-sealed, all on the first key.\n" in text
    assert text.endswith("Done: every sealed value is on key "
                         f"{SecretBox([NEW]).current_key_id}.\n")
    for secret in ("xoxb-1", NEW, OLD):
        assert secret not in text


def test_the_command_fails_while_a_value_stays_behind(engine: Engine, db_url: str) -> None:
    seal_tokens(engine, SecretBox([STRAY]), range(1, 3))
    out = io.StringIO()
    assert rotate_keys(settings_for(db_url, NEW, OLD), out, fields=[TOKENS]) == 1
    assert "test_tokens.token: 0 re-sealed, 2 open with no key (left as they are)." \
        in out.getvalue()
    assert "Not done: 2 value(s) still on an old key" in out.getvalue()


def test_the_command_needs_keys_and_a_migrated_database(db_url: str) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEYS is not set"):
        rotate_keys(settings_for(db_url), io.StringIO(), fields=REGISTRY)
    with pytest.raises(ConfigError, match="schema version 0"):
        rotate_keys(settings_for(db_url, NEW), io.StringIO(), fields=REGISTRY)


@pytest.mark.postgres
@pytest.mark.slow
def test_the_installed_command_rotates_what_the_schema_registers(
    pg_url: str, tmp_path: Path
) -> None:
    Store.from_url(pg_url).close()
    result = releases_bot(
        "keys", "rotate", "--batch", "50", cwd=tmp_path,
        RELEASES_BOT_MODE="distributed", SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="cs",
        SLACK_SIGNING_SECRET="ss", PUBLIC_URL="https://releases.example.com",
        SECRET_KEYS=f"{NEW},{OLD}", DATABASE_URL=pg_url,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    current = SecretBox([NEW]).current_key_id
    assert result.stdout.startswith(f"Re-sealing onto key {current} (the first of SECRET_KEYS), "
                                    "50 rows a batch.\n")
    assert result.stdout.endswith(f"Done: every sealed value is on key {current}.\n")
    assert NEW not in result.stdout + result.stderr
