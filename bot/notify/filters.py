"""The one place a subscription's stored filters are read back into a Query."""

from __future__ import annotations

from bot.i18n import N_, Texts
from bot.query import MAX_CHARS, ListCommand, Query, QueryError, parse_command

TOO_LONG = N_(
    "Those filters are too long to keep: stored, they take {length} characters, and I read "
    "at most {limit}. Use fewer or shorter names, or a `*` pattern."
)
NOT_READ_BACK = N_(
    "Those filters would not read back the same once stored, so I did not keep them. "
    "Write them more simply, e.g. `group:DWH_GROUP name:R6*`."
)


class UnstorableFilters(QueryError):
    """Filters a subscription cannot keep; `words(t)` says why in the reader's language."""

    def __init__(self, message: str, **values: int) -> None:
        super().__init__(message.format(**values))
        self.template = message
        self.values = values

    def words(self, t: Texts) -> str:
        return t._(self.template, **self.values)


def stored_query(filters: str) -> Query:
    """The Query a subscription stored as `Query.to_text()`; QueryError if it no longer parses."""
    command = parse_command(filters)
    if not isinstance(command, ListCommand):
        raise QueryError(f"stored filters are not a list query: {filters[:80]!r}")
    return command.query


def storable_filters(query: Query) -> str:
    """The text to store for `query`; UnstorableFilters when it would not read back the same.

    What cannot be read back would be confirmed, listed, and then never post.
    """
    text = query.to_text()
    try:
        back: Query | None = stored_query(text)
    except QueryError:
        back = None
    if back == query:
        return text
    if len(text) > MAX_CHARS:
        raise UnstorableFilters(TOO_LONG, length=len(text), limit=MAX_CHARS)
    raise UnstorableFilters(NOT_READ_BACK)


class StoredQueries:
    """`stored_query` with a cache: the worker reads the same few filters every round."""

    def __init__(self) -> None:
        self._queries: dict[str, Query] = {}

    def __call__(self, filters: str) -> Query:
        query = self._queries.get(filters)
        if query is None:
            query = self._queries[filters] = stored_query(filters)
        return query
