"""The search form: release group, status, name, hotfixes and free filters, in one modal.

The global shortcut "Search releases", the Search button of App Home and the shortcut's "Open
search" button open it; its answer shows in the modal itself (see `bot/render/search_results.py`).
`RETIRED_SEARCH_CALLBACK` is the form of the app's first version, which answered at a message's
response_url: one still open from before an upgrade is answered with `render_outdated_form`.

This module only draws the form; what a submitted form asks for is read by the use case
(bot/app/search_query.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.i18n import ENGLISH, N_, Texts
from bot.mrkdwn import truncate

RETIRED_SEARCH_CALLBACK = "release_search"
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
_STATUSES = (("open", N_("Open")), ("closed", N_("Closed")), ("all", N_("Any status")))
_HOTFIXES = (
    ("any", N_("With hotfixes")), ("yes", N_("Only hotfixes")), ("no", N_("No hotfixes"))
)
OUTDATED_TEXT = N_("This search form is out of date: open a new one.")


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


def _group_element(groups: Mapping[int, str] | None, t: Texts) -> dict[str, Any]:
    placeholder = {"type": "plain_text", "text": t._("Any group")}
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
        "placeholder": {"type": "plain_text", "text": t._("Type a group name, or DWH*")},
        "min_query_length": 0,
    }


def render_outdated_form(t: Texts = ENGLISH) -> dict[str, Any]:
    """What replaces a form of the retired kind when it is submitted: it says to open a new one."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": t._("Search releases")[:24]},
        "close": {"type": "plain_text", "text": t._("Close")[:24]},
        "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": t._(OUTDATED_TEXT)}},
        ],
    }


def render_search_form(
    prefill: str = "",
    *,
    groups: Mapping[int, str] | None = None,
    t: Texts = ENGLISH,
) -> dict[str, Any]:
    """The form as a modal; `groups` fills the group select (external_select when unknown)."""
    statuses = [_option(t._(label), value) for value, label in _STATUSES]
    hotfixes = [_option(t._(label), value) for value, label in _HOTFIXES]
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
        "title": {"type": "plain_text", "text": t._("Search releases")[:24]},
        "submit": {"type": "plain_text", "text": t._("Search")[:24]},
        "close": {"type": "plain_text", "text": t._("Cancel")[:24]},
        "blocks": [
            {
                "type": "input",
                "block_id": BLOCK_GROUP,
                "optional": True,
                "label": {"type": "plain_text", "text": t._("Release group")},
                "element": _group_element(groups, t),
            },
            {
                "type": "input",
                "block_id": BLOCK_STATUS,
                "label": {"type": "plain_text", "text": t._("Status")},
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
                "label": {"type": "plain_text", "text": t._("Name")},
                "hint": {
                    "type": "plain_text",
                    "text": t._("* and ? match any characters (R5*); commas separate names"),
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
                "label": {"type": "plain_text", "text": t._("Hotfixes")},
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
                "label": {"type": "plain_text", "text": t._("More filters, a release name or #id")},
                "hint": {
                    "type": "plain_text",
                    "text": t._("Same filters as /releases, e.g. -name:*-HF* deleted:yes"),
                },
                "element": field,
            },
        ],
    }
