"""Moving sealed secrets onto the first key, and counting which key each one is on.

Rotation walks each sealed column in batches; each batch is one short write transaction that
locks its rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so a process writing a token meanwhile
is neither blocked nor overwritten; SQLite's write transaction excludes every other writer
anyway). Only rows whose key id is not the first key's are read, so a second run finds nothing
to do and an interrupted run goes on where it stopped. A value that opens with no key, or
belongs to another row, is left as it is and reported: dropping it would lose a secret that an
old key (not yet configured again) might still open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, column, func, or_, select, table
from sqlalchemy.sql.expression import TableClause

from bot.notify.store.engine import WRITE
from bot.notify.store.sealed_fields import RowKey, SealedField
from bot.notify.store.trouble import unavailable_as_store_error
from bot.secret_box import SecretBox, SecretError

DEFAULT_BATCH = 500


@dataclass(frozen=True, slots=True)
class FieldRotation:
    """What one run did to one sealed column."""

    field: str
    resealed: int
    unopenable: tuple[RowKey, ...]  # left on their old key, each named by its row key
    remaining: int  # still not on the first key afterwards (unopenable ones included)


@dataclass(frozen=True, slots=True)
class KeyCount:
    """Which keys one sealed column's values are on."""

    field: str
    current: int  # on the first key of SECRET_KEYS
    old: int  # on a later key of SECRET_KEYS: `keys rotate` moves them
    unknown: int  # on no configured key (or none recorded): they do not open here


def rotate_sealed(
    engine: Engine,
    box: SecretBox,
    fields: Iterable[SealedField],
    *,
    batch: int = DEFAULT_BATCH,
    progress: Callable[[str], None] = lambda line: None,
) -> tuple[FieldRotation, ...]:
    """Re-seal every value of `fields` that is not on the box's first key, batch by batch."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    return tuple(_rotate_field(engine, box, field, batch, progress) for field in fields)


def count_keys(
    engine: Engine, box: SecretBox, fields: Iterable[SealedField]
) -> tuple[KeyCount, ...]:
    """Per sealed column: how many values are on the first key, an older one, or none known."""
    counts: list[KeyCount] = []
    with unavailable_as_store_error(), engine.connect() as conn:
        for field in fields:
            sealed = _table(field)
            key_id = sealed.c[field.key_id_column]
            rows = conn.execute(
                select(key_id, func.count())
                .where(sealed.c[field.column].is_not(None))
                .group_by(key_id)
            ).all()
            current = old = unknown = 0
            for sealed_with, count in rows:
                if sealed_with is not None and box.is_current(sealed_with):
                    current += count
                elif sealed_with is not None and box.knows(sealed_with):
                    old += count
                else:
                    unknown += count
            counts.append(KeyCount(field.name, current, old, unknown))
    return tuple(counts)


def _rotate_field(
    engine: Engine,
    box: SecretBox,
    field: SealedField,
    batch: int,
    progress: Callable[[str], None],
) -> FieldRotation:
    unopenable: list[RowKey] = []
    passed: set[RowKey] = set()  # this run's rows that stay where they are
    resealed = 0
    while True:
        with unavailable_as_store_error(), engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                done, failed, moved = _one_batch(conn, box, field, batch, passed)
        for row_key in failed:
            unopenable.append(row_key)
            progress(
                f"{field.name}: the value of row {_shown(row_key)} opens with no key of "
                "SECRET_KEYS, or belongs to another row; left as it is"
            )
        passed.update(failed)
        passed.update(done)
        resealed += moved
        if moved:
            progress(f"{field.name}: {moved} re-sealed ({resealed} so far)")
        if not moved and not failed and not done:
            break
    sealed = _table(field)
    with unavailable_as_store_error(), engine.connect() as conn:
        remaining = conn.scalar(
            select(func.count()).select_from(sealed).where(_on_an_old_key(sealed, field, box))
        )
    return FieldRotation(field.name, resealed, tuple(unopenable), int(remaining or 0))


def _one_batch(
    conn: Connection, box: SecretBox, field: SealedField, batch: int, passed: set[RowKey]
) -> tuple[list[RowKey], list[RowKey], int]:
    """One transaction: (rows changed meanwhile, rows that do not open, rows re-sealed)."""
    sealed = _table(field)
    keys = [sealed.c[name] for name in field.row_key_columns]
    value = sealed.c[field.column]
    # The rows already passed over may come back: asking for that many more guarantees that a
    # batch holds new rows whenever any are left.
    rows = conn.execute(
        select(*keys, value)
        .where(_on_an_old_key(sealed, field, box))
        .order_by(*keys)
        .limit(batch + len(passed))
        .with_for_update(skip_locked=True)
    ).all()
    changed: list[RowKey] = []
    failed: list[RowKey] = []
    moved = 0
    for row in rows:
        row_key: RowKey = tuple(row[: len(keys)])
        if row_key in passed:
            continue
        if moved + len(failed) + len(changed) >= batch:
            break
        token = row[len(keys)]
        try:
            fresh = box.reseal(token, field.context(row_key))
        except SecretError:
            failed.append(row_key)
            continue
        updated = conn.execute(
            sealed.update()
            .where(*_same_row(keys, row_key), value == token)
            .values({field.column: fresh, field.key_id_column: box.current_key_id})
        )
        if updated.rowcount == 1:
            moved += 1
        else:
            changed.append(row_key)
    return changed, failed, moved


def _table(field: SealedField) -> TableClause:
    names = dict.fromkeys((*field.row_key_columns, field.column, field.key_id_column))
    return table(field.table, *(column(name) for name in names))


def _on_an_old_key(
    sealed: TableClause, field: SealedField, box: SecretBox
) -> ColumnElement[bool]:
    key_id = sealed.c[field.key_id_column]
    return and_(
        sealed.c[field.column].is_not(None),
        or_(key_id.is_(None), key_id != box.current_key_id),
    )


def _same_row(keys: Sequence[ColumnElement[Any]], row_key: RowKey) -> list[ColumnElement[bool]]:
    return [key.is_(None) if v is None else key == v for key, v in zip(keys, row_key, strict=True)]


def _shown(row_key: RowKey) -> str:
    return "(" + ", ".join(repr(v) for v in row_key) + ")"
