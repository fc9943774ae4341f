"""The search form: its group select, how its fields become a query, which field an error marks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.views import View

from bot.app.search_query import SearchFormError, search_form_query
from bot.query import Query, parse_command
from bot.render.listing import query_text, render_list
from bot.render.message import Message
from bot.render.search_modal import (
    BLOCK_FILTERS,
    BLOCK_GROUP,
    BLOCK_NAME,
    OUTDATED_TEXT,
    RETIRED_SEARCH_CALLBACK,
    SEARCH_FORM_CALLBACK,
    group_options,
    pattern_option,
    render_outdated_form,
    render_search_form,
)
from bot.render.search_results import (
    ShareTarget,
    message_action_id,
    modal_blocks,
    render_loading_view,
    render_results_view,
)
from tests.render.limits import assert_valid
from tests.render.support import NASTY, NOW, find, release


def _values(
    *, group: str | None = None, name: str = "", status: str = "open", hotfix: str = "any",
    filters: str = "",
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "search_status": {"status": {"selected_option": {"value": status}}},
        "search_hotfix": {"hotfix": {"selected_option": {"value": hotfix}}},
        "search_name": {"name": {"value": name or None}},
        "search_filters": {"filters": {"value": filters or None}},
    }
    if group is not None:
        values["search_group"] = {"search_group_select": {"selected_option": {"value": group}}}
    return values


def _group_element(view: dict[str, Any]) -> dict[str, Any]:
    element: dict[str, Any] = next(
        b for b in view["blocks"] if b["block_id"] == BLOCK_GROUP
    )["element"]
    return element


def test_up_to_100_groups_are_a_static_select_more_an_external_one() -> None:
    few = render_search_form(groups={i: f"G{i}" for i in range(100)})
    View(**few).validate_json()
    assert _group_element(few)["type"] == "static_select"
    assert len(_group_element(few)["options"]) == 100
    many = render_search_form(groups={i: f"G{i}" for i in range(101)})
    View(**many).validate_json()
    assert _group_element(many)["type"] == "external_select"
    unknown = render_search_form()
    assert _group_element(unknown)["type"] == "external_select"


def test_the_form_carries_no_metadata_its_answer_needs_none() -> None:
    form = render_search_form("group:DWH_GROUP", groups={1: "DWH_GROUP"})
    assert form["callback_id"] == SEARCH_FORM_CALLBACK
    assert "private_metadata" not in form


def test_a_retired_form_is_answered_by_a_small_modal_saying_to_open_a_new_one() -> None:
    view = render_outdated_form()
    View(**view).validate_json()
    assert_valid(Message(text=OUTDATED_TEXT, blocks=tuple(view["blocks"])))
    assert [b["text"]["text"] for b in view["blocks"]] == [OUTDATED_TEXT]
    # No submit and no callback: nothing in it is read again, it can only be closed.
    assert "submit" not in view
    assert view.get("callback_id") not in (RETIRED_SEARCH_CALLBACK, SEARCH_FORM_CALLBACK)
    assert render_outdated_form() == view  # pure: the same view every time


def test_group_options_fit_slack_whatever_the_names() -> None:
    groups = {1: "x" * 500, 2: NASTY, 3: ""}
    for option in group_options(groups):
        assert 0 < len(option["text"]["text"]) <= 75
        assert len(option["value"]) <= 150


def test_group_options_follow_what_was_typed() -> None:
    groups = {1: "DWH_GROUP", 2: "LAKE_GROUP", 3: "dwh_archive"}
    assert [o["text"]["text"] for o in group_options(groups, "dwh")] == ["dwh_archive", "DWH_GROUP"]
    (pattern,) = group_options(groups, "DWH*")
    assert pattern["value"] == "name:DWH*"
    assert len(group_options({i: f"G{i}" for i in range(500)}, "g")) == 100


def test_fields_become_one_query() -> None:
    query = search_form_query(
        _values(group="id:3", name="R5*, R60", status="all", hotfix="no", filters="-name:R59")
    )
    assert query == Query(
        status="all", group_ids=(3,), names=("R5*", "R60"), exclude_names=("R59",), hotfix=False
    )
    assert search_form_query(_values(group="name:DWH*")).groups == ("DWH*",)


def test_a_choice_typed_into_the_filters_wins_over_the_buttons() -> None:
    query = search_form_query(_values(status="all", hotfix="yes", filters="closed hotfix:no"))
    assert (query.status, query.hotfix) == ("closed", False)


def test_odd_names_round_trip_through_the_grammar() -> None:
    query = search_form_query(_values(name='O\'Brien "x" <y> & z'))
    assert query.names == ('O\'Brien "x" <y> & z',)


@pytest.mark.parametrize(
    ("values", "block"),
    [
        (_values(filters="bogus:1"), BLOCK_FILTERS),
        (_values(filters="subscribe"), BLOCK_FILTERS),
        (_values(name="x" * 301), BLOCK_NAME),
        (_values(group="who knows"), BLOCK_GROUP),
        (_values(name="R1", filters="#21"), BLOCK_FILTERS),
    ],
)
def test_an_error_marks_the_field_it_came_from(values: dict[str, Any], block: str) -> None:
    with pytest.raises(SearchFormError) as caught:
        search_form_query(values)
    assert caught.value.block_id == block


# ---- the answer in the modal ------------------------------------------------------------


def _list_message() -> Message:
    releases = tuple(release(i, NASTY + str(i)) for i in range(1, 31))
    return render_list(find(releases, Query(status="all")), NOW)


def test_results_keep_paging_and_details_as_modal_buttons_and_drop_share() -> None:
    blocks = modal_blocks(_list_message())
    ids = [
        e["action_id"]
        for b in blocks
        for e in [b.get("accessory") or {}, *(b.get("elements") or [])]
        if e.get("type") == "button"
    ]
    assert ids
    assert all(i.startswith("in_modal:") for i in ids)
    assert {message_action_id(i).split(":")[0] for i in ids} == {
        "release_detail", "releases_page"
    }


def test_the_results_view_is_valid_and_carries_what_to_share() -> None:
    target = ShareTarget("list", query_text="all group:DWH_GROUP", page=2)
    view = render_results_view(_list_message(), share=target, prefill="all")
    View(**view).validate_json()
    assert len(view["blocks"]) <= 100
    shown = tuple(b for b in view["blocks"] if b["type"] != "input")
    assert_valid(Message(text="results", blocks=shown))
    assert ShareTarget.from_metadata(view["private_metadata"]) == target
    assert view["submit"]["text"] == "Share"


def test_nothing_to_share_means_no_picker_and_no_submit() -> None:
    view = render_results_view(_list_message(), share=None)
    assert "submit" not in view
    assert all(b["type"] != "input" for b in view["blocks"])


def test_share_metadata_that_was_tampered_with_is_refused() -> None:
    assert ShareTarget.from_metadata("not json") is None
    assert ShareTarget.from_metadata('{"k": "detail", "id": "21"}') is None
    assert ShareTarget.from_metadata(None) is None
    assert ShareTarget.from_metadata('{"k":"detail","id":21}') == ShareTarget(
        "detail", release_id=21
    )


def test_the_loading_view_escapes_what_was_typed() -> None:
    view = render_loading_view("name <!channel>")
    View(**view).validate_json()
    assert_valid(Message(text="loading", blocks=tuple(view["blocks"])))


# ---- private_metadata within Slack's 3000 characters -------------------------------------

MAX_PRIVATE_METADATA = 3000
_FIELD_CHARS = st.sampled_from(['"', "'", "\\", "-name:'", "name:", " ", ",", "&", "<", "*", "x"])
_FIELD = st.lists(st.one_of(_FIELD_CHARS, st.text(max_size=5)), max_size=200).map("".join)
_GROUP_VALUES = st.one_of(
    st.none(),
    st.integers(0, 10**10 - 1).map(lambda i: f"id:{i}"),
    _FIELD.map(lambda t: pattern_option(t[:100] or "x")).map(
        lambda o: o["value"] if o else None
    ),
)


def _results_view(values: dict[str, Any]) -> dict[str, Any] | None:
    """What the search form's submission shows, as SearchForms.results builds it."""
    try:
        query = search_form_query(values)
    except SearchFormError:
        return None
    share = ShareTarget("list", query_text=query_text(query), page=query.page)
    return render_results_view(_list_message(), share=share, prefill=query_text(query))


def _check_metadata(view: dict[str, Any]) -> None:
    metadata = view.get("private_metadata", "")
    assert len(metadata) <= MAX_PRIVATE_METADATA, len(metadata)
    View(**view).validate_json()


def test_a_filter_of_quotes_within_the_fields_limits_still_fits_the_metadata() -> None:
    # Seen from Slack: 3,226 characters of private_metadata, so views.update was refused.
    view = _results_view(
        _values(filters="-name:'" + '"' * 491 + "'", name='"' * 300, group="name:" + '"' * 145)
    )
    assert view is not None
    _check_metadata(view)
    target = ShareTarget.from_metadata(view["private_metadata"])
    assert target is not None
    assert parse_command(target.query_text) == parse_command(
        query_text(search_form_query(_values(
            filters="-name:'" + '"' * 491 + "'", name='"' * 300, group="name:" + '"' * 145
        )))
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.integers(0, 500).flatmap(lambda n: _FIELD.map(lambda t: (t * 10)[:n])),
        st.integers(0, 491).map(lambda n: "-name:'" + '"' * n + "'"),
    ),
    st.one_of(
        st.integers(0, 300).flatmap(lambda n: _FIELD.map(lambda t: (t * 10)[:n])),
        st.integers(0, 300).map(lambda n: '\\' * n),
    ),
    _GROUP_VALUES,
    st.sampled_from(["open", "closed", "all"]),
)
def test_any_form_within_its_field_limits_gives_a_view_slack_takes(
    filters: str, name: str, group: str | None, status: str
) -> None:
    view = _results_view(_values(filters=filters, name=name, group=group, status=status))
    if view is None:
        return
    _check_metadata(view)
    if "private_metadata" in view:
        target = ShareTarget.from_metadata(view["private_metadata"])
        assert target is not None
        assert target.kind == "list"


def test_share_metadata_too_long_for_slack_drops_share_instead() -> None:
    target = ShareTarget("list", query_text="name:" + "x" * 3100)
    view = render_results_view(_list_message(), share=target)
    assert "private_metadata" not in view
    assert "submit" not in view
    assert all(b["type"] != "input" for b in view["blocks"])
