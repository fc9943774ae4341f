"""Notification messages: within Block Kit limits, escaped, and only the stored mention pings."""

from __future__ import annotations

import zoneinfo
from dataclasses import replace
from datetime import UTC, timedelta

import pytest

from bot.app.finder import EVERYTHING, FindResult
from bot.metakraftwerk.models import Release
from bot.notify.changes import KIND_ORDER, ChangeEvent, ChangeKind, diff
from bot.notify.messages import (
    change_line,
    digest_result,
    mention_label,
    mention_markup,
    mention_pings,
    render_change,
    render_digest,
    render_parent,
)
from bot.query import ListCommand, Query, parse_command
from tests.render.limits import all_text, assert_valid
from tests.render.support import NASTY, NOW, fresh, many, nasty_release, release

TEAM_MENTION = "<!subteam^S0123ABC|@dwh-team>"
GROUP_NAMES = {1: "DWH_GROUP", 2: "LAKE"}
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def _find_all(releases: tuple[Release, ...]) -> FindResult:
    """What the worker's one full poll gives the digests."""
    return FindResult(EVERYTHING, releases, GROUP_NAMES, fresh())


def _event(kind: ChangeKind, **changes: object) -> ChangeEvent:
    before = release(21, days=(-3, 4))
    after = replace(before, **changes) if changes else before  # type: ignore[arg-type]
    if kind == "created":
        return ChangeEvent("created", after)
    if kind == "renamed":
        return ChangeEvent(kind, after, before, {"old_name": before.name})
    if kind == "deleted":
        return ChangeEvent(kind, replace(after, deleted=True), before, {"reason": "vanished"})
    return ChangeEvent(kind, after, before)


EVENTS = {
    "created": _event("created"),
    "restored": _event("restored"),
    "reopened": _event("reopened"),
    "renamed": _event("renamed", name="R21-final"),
    "dates_changed": _event("dates_changed", end_date=NOW + timedelta(days=11)),
    "closed": _event("closed", closed=True),
    "deleted": _event("deleted"),
}


@pytest.mark.parametrize("kind", KIND_ORDER)
def test_every_change_renders_a_parent_and_a_reply(kind: ChangeKind) -> None:
    event = EVENTS[kind]
    parent = render_parent(event, group_name="DWH_GROUP", mention=None, now=NOW)
    reply = render_change(event, now=NOW)
    for message in (parent, reply):
        assert_valid(message)
        assert "R21" in message.text
    assert "DWH_GROUP" in all_text(parent)
    assert "<!date^" in all_text(parent)  # readers see dates in their own zone


def test_lines_say_what_changed() -> None:
    assert change_line(EVENTS["closed"], rich=False) == "R21 closed"
    assert change_line(EVENTS["renamed"], rich=False) == "R21-final renamed (was R21)"
    old_end = (NOW + timedelta(days=4)).strftime("%Y-%m-%d")
    new_end = (NOW + timedelta(days=11)).strftime("%Y-%m-%d")
    assert change_line(EVENTS["dates_changed"], rich=False) == (
        f"R21 dates changed: end {old_end} → {new_end}"
    )
    rich = change_line(EVENTS["dates_changed"])
    assert rich.startswith(":calendar: *R21* dates changed: end <!date^")
    assert "start" not in rich
    assert "no longer listed" in change_line(EVENTS["deleted"], rich=False)


def test_the_parent_shows_the_current_state() -> None:
    closed = render_parent(EVENTS["closed"], group_name="DWH_GROUP", mention=None, now=NOW)
    assert "Closed" in all_text(closed)
    assert ":lock:" in all_text(closed)
    reopened = render_parent(EVENTS["reopened"], group_name=None, mention=None, now=NOW)
    assert "Open" in all_text(reopened)
    assert "group 1" in all_text(reopened)  # no name known: the id, not nothing


def test_the_stored_mention_is_the_only_markup_let_through() -> None:
    parent = render_parent(EVENTS["closed"], group_name="G", mention=TEAM_MENTION, now=NOW)
    assert parent.text.startswith(TEAM_MENTION)
    assert all_text(parent).count(TEAM_MENTION) == 2  # fallback text and the section
    assert_valid(parent, allow=(TEAM_MENTION,))


@pytest.mark.parametrize(
    "mention",
    ["<!channel>", "<!here>", "<!everyone>", "<!subteam^S1|@x> <!channel>", "<#C1|general>",
     "<https://evil.example|click>", "@plain-name"],
)
def test_other_mentions_are_inert(mention: str) -> None:
    parent = render_parent(EVENTS["closed"], group_name="G", mention=mention, now=NOW)
    assert_valid(parent)
    assert not mention_pings(mention)


def test_mention_helpers() -> None:
    assert mention_markup(TEAM_MENTION) == TEAM_MENTION
    assert mention_markup("<@U0123ABC>") == "<@U0123ABC>"
    assert mention_markup("<!here>") == "&lt;!here&gt;"
    assert mention_markup("  ") is None
    assert mention_label(TEAM_MENTION) == "@dwh-team"
    assert mention_label("<@U0123ABC|alice>") == "@alice"
    assert mention_label("<@U0123ABC>") == "@U0123ABC"
    assert mention_pings(TEAM_MENTION)
    assert not mention_pings("@dwh-team")


def test_foreign_text_is_escaped_and_cut() -> None:
    nasty = nasty_release()
    old = replace(nasty, name=NASTY * 30)
    event = ChangeEvent("renamed", nasty, old, {"old_name": old.name})
    for message in (
        render_parent(event, group_name=NASTY * 20, mention=TEAM_MENTION, now=NOW),
        render_change(event, now=NOW),
    ):
        assert_valid(message, allow=(TEAM_MENTION,))
        assert "&lt;!channel&gt;" in all_text(message)


def test_a_digest_is_the_standup_under_its_title() -> None:
    command = parse_command("group:DWH_GROUP")
    assert isinstance(command, ListCommand)
    closed = release(8, closed=True, days=(-5, -0.5))
    everything = _find_all((*many(5), release(9, group_id=2), closed))
    result = digest_result(everything, command.query)
    assert {r.id for r in result.releases} == {1, 2, 3, 4, 5, 8}  # closed ones for their section
    message = render_digest(result, NOW, query=command.query, tz=BERLIN)
    assert_valid(message)
    assert message.blocks[0]["text"]["text"].startswith("Digest · open · group DWH_GROUP")
    assert "share_in_channel" not in str(message.blocks)


def test_an_empty_digest_says_so_in_one_line() -> None:
    message = render_digest(_find_all(()), NOW, query=Query(), tz=UTC)
    assert_valid(message)
    assert len(message.blocks) == 1
    assert "nothing to report" in message.text
    assert "\n" not in message.blocks[0]["text"]["text"]


def test_an_empty_digest_from_stale_data_says_how_old() -> None:
    stale = replace(_find_all(()), freshness=fresh(30, stale=True, reason="timeout"))
    message = render_digest(stale, NOW, query=Query(), tz=UTC)
    assert "30 min ago" in message.text


def test_a_huge_digest_stays_within_limits() -> None:
    crowd = tuple(
        release(i, name=NASTY, days=(-1 - i % 20, (i % 30) - 10)) for i in range(1, 400)
    )
    message = render_digest(_find_all(crowd), NOW, query=Query(), tz=BERLIN)
    assert_valid(message)


def test_the_parent_names_the_previous_release_instead_of_its_id() -> None:


    r9 = Release(id=29, name="R9", group_id=1, closed=True)
    before = Release(id=59, name="R59", group_id=1, prev_release_id=29)
    after = replace(before, closed=True)
    (event,) = diff({29: r9, 59: before}, {29: r9, 59: after})
    parent = render_parent(event, group_name="DWH_GROUP", mention=None, now=NOW)
    text = parent.blocks[0]["text"]["text"]
    assert "after R9" in text
    assert "#29" not in text
    again = ChangeEvent.from_payload(event.to_payload())  # as the outbox stores it
    assert "after R9" in render_parent(again, group_name=None, mention=None, now=NOW).blocks[0][
        "text"
    ]["text"]
