"""The search form's two ends: the form every entry opens, and what a submitted one asks for.

`search_form` is the one builder of the form: the global shortcut, App Home's Search button, the
"Open search" button of an answer, the results' "New search" and the console all get it here.
Every field becomes filter text for the `/releases` grammar, so the form can ask for nothing the
command could not, and a mistake names the field it came from. The block and action ids are
the view's (bot/render/search_modal.py), which draws the form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.app.finder import ReleaseFinder
from bot.i18n import ENGLISH, Texts
from bot.query import ListCommand, Query, QueryError, parse_command, quote_value
from bot.render.search_modal import (
    ACTION_FILTERS,
    ACTION_GROUP,
    ACTION_HOTFIX,
    ACTION_NAME,
    ACTION_STATUS,
    BLOCK_FILTERS,
    BLOCK_GROUP,
    BLOCK_HOTFIX,
    BLOCK_NAME,
    BLOCK_STATUS,
    MAX_NAME_INPUT,
    render_search_form,
)

_GROUP_ID_VALUE = re.compile(r"id:(\d{1,10})")


class SearchFormError(QueryError):
    """Input one field of the form holds that the grammar cannot read."""

    def __init__(self, message: str, block_id: str) -> None:
        super().__init__(message)
        self.block_id = block_id


def search_form(
    finder: ReleaseFinder, prefill: str = "", t: Texts = ENGLISH
) -> dict[str, Any]:
    """The form, with the group names the finder already holds; never waits for the API (a
    trigger_id lasts 3 s), so with none held yet the group select asks as the user types."""
    groups = finder.group_names(fetch=False)
    return render_search_form(prefill, groups=groups or None, t=t)


def search_form_query(values: Mapping[str, Any]) -> Query:
    """The query a submitted form asks for; SearchFormError naming the field otherwise."""
    filters = (_value(values, BLOCK_FILTERS, ACTION_FILTERS, "value") or "").strip()
    try:
        command = parse_command(filters)
    except QueryError as exc:
        raise SearchFormError(exc.message, BLOCK_FILTERS) from None
    if not isinstance(command, ListCommand):
        raise SearchFormError(
            "The search form takes filters, a release name or an id.", BLOCK_FILTERS
        )
    extra = [
        *_checked(_group_tokens(values), BLOCK_GROUP),
        *_checked(_name_tokens(values), BLOCK_NAME),
    ]
    query = command.query
    if extra:
        try:
            combined = parse_command(" ".join([filters, *extra]))
        except QueryError as exc:
            raise SearchFormError(exc.message, BLOCK_FILTERS) from None
        assert isinstance(combined, ListCommand)
        query = combined.query
    if query.release_id is not None:
        return query
    # A status or hotfix choice typed into the filters wins over the radio buttons' default.
    status = _selected(values, BLOCK_STATUS, ACTION_STATUS)
    if query.status == "open" and status == "closed":
        query = replace(query, status="closed")
    elif query.status == "open" and status == "all":
        query = replace(query, status="all")
    hotfix = _selected(values, BLOCK_HOTFIX, ACTION_HOTFIX)
    if query.hotfix is None and hotfix in ("yes", "no"):
        query = replace(query, hotfix=hotfix == "yes")
    return query


def _checked(tokens: list[str], block_id: str) -> list[str]:
    """Tokens of one field, read alone first, so an error marks that field."""
    if tokens:
        try:
            parse_command(" ".join(tokens))
        except QueryError as exc:
            raise SearchFormError(exc.message, block_id) from None
    return tokens


def _group_tokens(values: Mapping[str, Any]) -> list[str]:
    chosen = _selected(values, BLOCK_GROUP, ACTION_GROUP)
    if not chosen:
        return []
    by_id = _GROUP_ID_VALUE.fullmatch(chosen)
    if by_id:
        return [f"group_id:{by_id.group(1)}"]
    if chosen.startswith("name:") and chosen[5:].strip():
        return [f"group:{quote_value(chosen[5:].strip())}"]
    raise SearchFormError("Pick the group again from the list.", BLOCK_GROUP)


def _name_tokens(values: Mapping[str, Any]) -> list[str]:
    typed = _value(values, BLOCK_NAME, ACTION_NAME, "value") or ""
    if len(typed) > MAX_NAME_INPUT:
        raise SearchFormError(f"Names take at most {MAX_NAME_INPUT} characters.", BLOCK_NAME)
    names = [n.strip() for n in typed.split(",") if n.strip()]
    return [f"name:{quote_value(n)}" for n in names]


def _selected(values: Mapping[str, Any], block: str, action: str) -> str | None:
    option = _value(values, block, action, "selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) else None


def _value(values: Mapping[str, Any], block: str, action: str, key: str) -> Any:
    element = (values.get(block) or {}).get(action) or {}
    return element.get(key) if isinstance(element, Mapping) else None
