"""The search form the message shortcut offers when a message names no release."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.mrkdwn import truncate
from bot.query import ListCommand, Query, QueryError, parse_command

SEARCH_VIEW_CALLBACK = "release_search"
BLOCK_FILTERS = "search_filters"
ACTION_FILTERS = "filters"
BLOCK_STATUS = "search_status"
ACTION_STATUS = "status"
MAX_PREFILL = 150
_STATUSES = (("open", "Open"), ("closed", "Closed"), ("all", "Any status"))


def render_search_form(prefill: str, *, response_url: str | None) -> dict[str, Any]:
    """A modal with a filters field; the answer goes back through the shortcut's response_url."""
    metadata = json.dumps({"response_url": response_url or ""})
    if len(metadata) > 3000:
        metadata = json.dumps({"response_url": ""})
    options = [
        {"text": {"type": "plain_text", "text": label}, "value": value}
        for value, label in _STATUSES
    ]
    field: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ACTION_FILTERS,
        "placeholder": {"type": "plain_text", "text": "group:DWH_GROUP name:R59 or #21"},
        "max_length": 500,
    }
    if prefill.strip():
        field["initial_value"] = truncate(prefill.strip(), MAX_PREFILL)
    return {
        "type": "modal",
        "callback_id": SEARCH_VIEW_CALLBACK,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Find releases"},
        "submit": {"type": "plain_text", "text": "Search"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": BLOCK_FILTERS,
                "optional": True,
                "label": {"type": "plain_text", "text": "Filters, a release name or #id"},
                "hint": {
                    "type": "plain_text",
                    "text": "Same filters as /releases, e.g. group:DWH_GROUP hotfix:no",
                },
                "element": field,
            },
            {
                "type": "input",
                "block_id": BLOCK_STATUS,
                "label": {"type": "plain_text", "text": "Status"},
                "element": {
                    "type": "radio_buttons",
                    "action_id": ACTION_STATUS,
                    "initial_option": options[0],
                    "options": options,
                },
            },
        ],
    }


def search_form_query(values: Mapping[str, Any]) -> Query:
    """The query a submitted form asks for; QueryError with a friendly message otherwise."""
    filters = _value(values, BLOCK_FILTERS, ACTION_FILTERS, "value") or ""
    status = _value(values, BLOCK_STATUS, ACTION_STATUS, "selected_option") or {}
    status_value = status.get("value") if isinstance(status, Mapping) else None
    command = parse_command(filters.strip())
    if not isinstance(command, ListCommand):
        raise QueryError("The search form takes filters, a release name or an id.")
    query = command.query
    # A status typed into the filters wins over the radio buttons' default.
    if query.release_id is None and query.status == "open" and status_value in ("closed", "all"):
        query = replace(query, status=status_value)
    return query


def _value(values: Mapping[str, Any], block: str, action: str, key: str) -> Any:
    element = (values.get(block) or {}).get(action) or {}
    return element.get(key) if isinstance(element, Mapping) else None
