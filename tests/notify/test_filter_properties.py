"""Every subscription filter that is kept reads back to the same query."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import example, given

from bot.notify.filters import storable_filters, stored_query
from bot.query import MAX_CHARS, QueryError, SubscribeCommand, parse_command
from tests.test_query_properties import SETTINGS, command_like


@SETTINGS
@given(command_like)
@example("name:'" + '"' * 1960 + "'")
@example("name:" + "“x”" * 600)
def test_what_is_stored_reads_back_the_same_or_is_refused(text: str) -> None:
    try:
        command = parse_command("subscribe " + text)
    except QueryError:
        return
    if not isinstance(command, SubscribeCommand):
        return
    query = replace(command.query, page=1, format="compact", refresh=False)
    try:
        filters = storable_filters(query)
    except QueryError:
        # Refused only when the stored form is longer than the grammar reads.
        assert len(query.to_text()) > MAX_CHARS
        return
    assert stored_query(filters) == query
