"""The one place a subscription's stored filters are read back into a Query."""

from __future__ import annotations

from bot.query import MAX_CHARS, ListCommand, Query, QueryError, parse_command


def stored_query(filters: str) -> Query:
    """The Query a subscription stored as `Query.to_text()`; QueryError if it no longer parses."""
    command = parse_command(filters)
    if not isinstance(command, ListCommand):
        raise QueryError(f"stored filters are not a list query: {filters[:80]!r}")
    return command.query


def storable_filters(query: Query) -> str:
    """The text to store for `query`; QueryError when it would not read back the same query.

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
        raise QueryError(
            f"Those filters are too long to keep: stored, they take {len(text)} characters, "
            f"and I read at most {MAX_CHARS}. Use fewer or shorter names, or a `*` pattern."
        )
    raise QueryError(
        "Those filters would not read back the same once stored, so I did not keep them. "
        "Write them more simply, e.g. `group:DWH_GROUP name:R6*`."
    )


class StoredQueries:
    """`stored_query` with a cache: the worker reads the same few filters every round."""

    def __init__(self) -> None:
        self._queries: dict[str, Query] = {}

    def __call__(self, filters: str) -> Query:
        query = self._queries.get(filters)
        if query is None:
            query = self._queries[filters] = stored_query(filters)
        return query
