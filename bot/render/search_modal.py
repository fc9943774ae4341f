"""The search form: release group, status, name, hotfixes and free filters, in one modal.

The global shortcut "Search releases", the Search button of App Home and the shortcut's "Open
search" button open it; its answer shows in the modal itself (see `bot/render/search_results.py`).
`SEARCH_VIEW_CALLBACK` is the earlier form, whose answer went to the message's response_url:
forms opened before an upgrade still submit with it, and the fields read the same.

Every field becomes filter text for the `/releases` grammar, so the form can ask for nothing the
command could not, and a mistake names the field it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.mrkdwn import truncate
from bot.query import ListCommand, Query, QueryError, parse_command, quote_value

SEARCH_VIEW_CALLBACK = "release_search"
SEARCH_FORM_CALLBACK = "release_search_form"
BLOCK_FILTERS = "search_filters"
ACTION_FILTERS = "filters"
BLOCK_STATUS = "search_status"
ACTION_STATUS = "status"
BLOCK_GROUP = "search_group"
ACTION_GROUP = "search_group_select"
BLOCK_NAME = "search_name"
ACTION_NAME = "name"
BLOCK_HOTFIX = "search_hotfix"
ACTION_HOTFIX = "hotfix"
MAX_PREFILL = 150
MAX_NAME_INPUT = 300
MAX_OPTIONS = 100  # Slack's limit for a static select; more groups -> external_select
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
_STATUSES = (("open", "Open"), ("closed", "Closed"), ("all", "Any status"))
_HOTFIXES = (("any", "With hotfixes"), ("yes", "Only hotfixes"), ("no", "No hotfixes"))
_GROUP_ID_VALUE = re.compile(r"id:(\d{1,10})")


def _option(label: str, value: str) -> dict[str, Any]:
    text = {"type": "plain_text", "text": truncate(label, MAX_OPTION_TEXT)}
    return {"text": text, "value": value}


def group_option(group_id: int, name: str) -> dict[str, Any]:
    """A known group: chosen by id, so any name (long, odd characters) works."""
    return _option(name or f"group {group_id}", f"id:{group_id}")


def pattern_option(pattern: str) -> dict[str, Any] | None:
    """What was typed, as a group pattern (`DWH*`); None when it cannot be an option value."""
    value = f"name:{pattern}"
    if not pattern.strip() or len(value) > MAX_OPTION_VALUE:
        return None
    return _option(f"{pattern} (pattern)", value)


def group_options(groups: Mapping[int, str], typed: str = "") -> list[dict[str, Any]]:
    """Options for the group select, filtered by what was typed (case-insensitive part)."""
    wanted = typed.strip().casefold()
    globbed = "*" in wanted or "?" in wanted
    matching = sorted(
        (
            (name, group_id)
            for group_id, name in groups.items()
            if globbed or not wanted or wanted in name.casefold()
        ),
        key=lambda item: item[0].casefold(),
    )
    options = [group_option(group_id, name) for name, group_id in matching]
    if globbed:
        typed_option = pattern_option(typed.strip())
        options = [typed_option] if typed_option else []
    return options[:MAX_OPTIONS]


def _group_element(groups: Mapping[int, str] | None) -> dict[str, Any]:
    placeholder = {"type": "plain_text", "text": "Any group"}
    if groups and len(groups) <= MAX_OPTIONS:
        return {
            "type": "static_select",
            "action_id": ACTION_GROUP,
            "placeholder": placeholder,
            "options": group_options(groups),
        }
    # Many groups, or none known yet: Slack asks the app as the user types.
    return {
        "type": "external_select",
        "action_id": ACTION_GROUP,
        "placeholder": {"type": "plain_text", "text": "Type a group name, or DWH*"},
        "min_query_length": 0,
    }


def render_search_form(
    prefill: str = "", *, response_url: str | None = None, groups: Mapping[int, str] | None = None
) -> dict[str, Any]:
    """The form as a modal; `groups` fills the group select (external_select when unknown)."""
    metadata = json.dumps({"response_url": response_url or ""})
    if len(metadata) > 3000:
        metadata = json.dumps({"response_url": ""})
    statuses = [_option(label, value) for value, label in _STATUSES]
    hotfixes = [_option(label, value) for value, label in _HOTFIXES]
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
        "callback_id": SEARCH_FORM_CALLBACK,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Find releases"},
        "submit": {"type": "plain_text", "text": "Search"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": BLOCK_GROUP,
                "optional": True,
                "label": {"type": "plain_text", "text": "Release group"},
                "element": _group_element(groups),
            },
            {
                "type": "input",
                "block_id": BLOCK_STATUS,
                "label": {"type": "plain_text", "text": "Status"},
                "element": {
                    "type": "radio_buttons",
                    "action_id": ACTION_STATUS,
                    "initial_option": statuses[0],
                    "options": statuses,
                },
            },
            {
                "type": "input",
                "block_id": BLOCK_NAME,
                "optional": True,
                "label": {"type": "plain_text", "text": "Name"},
                "hint": {
                    "type": "plain_text",
                    "text": "* and ? match any characters (R5*); commas separate names",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": ACTION_NAME,
                    "placeholder": {"type": "plain_text", "text": "R59, R6*"},
                    "max_length": MAX_NAME_INPUT,
                },
            },
            {
                "type": "input",
                "block_id": BLOCK_HOTFIX,
                "label": {"type": "plain_text", "text": "Hotfixes"},
                "element": {
                    "type": "radio_buttons",
                    "action_id": ACTION_HOTFIX,
                    "initial_option": hotfixes[0],
                    "options": hotfixes,
                },
            },
            {
                "type": "input",
                "block_id": BLOCK_FILTERS,
                "optional": True,
                "label": {"type": "plain_text", "text": "More filters, a release name or #id"},
                "hint": {
                    "type": "plain_text",
                    "text": "Same filters as /releases, e.g. -name:*-HF* deleted:yes",
                },
                "element": field,
            },
        ],
    }


class SearchFormError(QueryError):
    """Input one field of the form holds that the grammar cannot read."""

    def __init__(self, message: str, block_id: str) -> None:
        super().__init__(message)
        self.block_id = block_id


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
