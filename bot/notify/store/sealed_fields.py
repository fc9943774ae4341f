"""Where sealed secrets live: one entry per Text column holding a Fernet token.

Every table that stores a secret names its column here, beside the key-id column that says
which key sealed it and the columns that identify its row. `keys rotate` and `check` read this
registry, so a new sealed column is rotated and counted as soon as it is listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.secret_box import context_of

RowKey = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class SealedField:
    """One sealed column. `context` builds, from the row key's values (in the order of
    `row_key_columns`), the context the value was sealed with, as the table's own code does."""

    table: str
    column: str
    key_id_column: str
    row_key_columns: tuple[str, ...]
    context: Callable[[RowKey], str]

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"


def row_context(table: str, column: str) -> Callable[[RowKey], str]:
    """The usual context: table, column, and the row key's values joined by `:`."""

    def build(row_key: RowKey) -> str:
        return context_of(table, column, ":".join("" if v is None else str(v) for v in row_key))

    return build


def _joined(table: str, field: str, separator: str) -> Callable[[RowKey], str]:
    """A context as a table's own code builds it: its field and the row key's values."""

    def build(row_key: RowKey) -> str:
        row = separator.join("" if v is None else str(v) for v in row_key)
        return context_of(table, field, row)

    return build


# The sealed columns of the schema. Each table that seals a secret adds its entry with the
# migration that creates it; the contexts are those of bot/install/store.py and
# bot/connect/store.py (tests/notify/test_sealed_fields.py holds each to its table's code).
SEALED_FIELDS: tuple[SealedField, ...] = (
    SealedField("installations", "bot_token", "key_id", ("enterprise_id", "team_id"),
                _joined("installations", "bot_token", "/")),
    SealedField("connections", "password_sealed", "password_key_id",
                ("owner_enterprise_id", "owner_team_id"),
                _joined("connections", "password", ":")),
    SealedField("connections", "session_token_sealed", "session_key_id",
                ("owner_enterprise_id", "owner_team_id"),
                _joined("connections", "session_token", ":")),
)
