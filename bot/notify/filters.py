"""The one place a subscription's stored filters are read back into a Query."""

from __future__ import annotations

from bot.query import ListCommand, Query, QueryError, parse_command


def stored_query(filters: str) -> Query:
    """The Query a subscription stored as `Query.to_text()`; QueryError if it no longer parses."""
    command = parse_command(filters)
    if not isinstance(command, ListCommand):
        raise QueryError(f"stored filters are not a list query: {filters[:80]!r}")
    return command.query


class StoredQueries:
    """`stored_query` with a cache: the worker reads the same few filters every round."""

    def __init__(self) -> None:
        self._queries: dict[str, Query] = {}

    def __call__(self, filters: str) -> Query:
        query = self._queries.get(filters)
        if query is None:
            query = self._queries[filters] = stored_query(filters)
        return query
