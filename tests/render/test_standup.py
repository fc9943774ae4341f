from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.app.standup import last_working_day, standup_groups
from bot.metakraftwerk.models import Release
from bot.query import Query
from bot.render import actions as act
from bot.render.message import Message
from bot.render.standup import render_standup, sections
from tests.render.limits import all_text, assert_valid, buttons
from tests.render.support import MENTIONS, NOW, find, nasty_release, release

TUESDAY = NOW  # 2024-03-05 09:00 UTC
MONDAY = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
MONDAY_0 = datetime(2024, 3, 4, tzinfo=UTC)
FRIDAY_0 = datetime(2024, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def _group_of(releases: list[Release], now: datetime, **kwargs: object) -> dict[int, str]:
    groups = standup_groups(releases, now, **kwargs)  # type: ignore[arg-type]
    out: dict[int, str] = {}
    for key, _, _, members in sections(groups):
        for member in members:
            assert member.id not in out, "a release in two groups"
            out[member.id] = key
    return out


def _r(
    start: datetime | None, end: datetime | None, *, closed: bool = False, deleted: bool = False
) -> Release:
    return release(1, start=start, end=end, days=None, closed=closed, deleted=deleted)


@pytest.mark.parametrize(
    ("now", "start", "end", "closed", "expected"),
    [
        # Tuesday 09:00 UTC: the week and the "closed since" window both start Monday 00:00.
        (TUESDAY, TUESDAY - 9 * D, TUESDAY - H, False, "overdue"),
        (TUESDAY, None, TUESDAY - 1 * D, False, "overdue"),
        (TUESDAY, TUESDAY - 9 * D, TUESDAY, False, "ending_soon"),
        (TUESDAY, TUESDAY - 9 * D, TUESDAY + 6 * D, False, "ending_soon"),
        (TUESDAY, TUESDAY - 9 * D, TUESDAY + 7 * D, False, "ending_soon"),
        (TUESDAY, TUESDAY + D, TUESDAY + 3 * D, False, "ending_soon"),  # soon beats upcoming
        (TUESDAY, MONDAY_0 + H, TUESDAY + 3 * D, False, "ending_soon"),  # soon beats started
        (TUESDAY, MONDAY_0, TUESDAY + 8 * D, False, "started_this_week"),
        (TUESDAY, TUESDAY - H, None, False, "started_this_week"),
        (TUESDAY, MONDAY_0 - timedelta(minutes=1), TUESDAY + 8 * D, False, "running"),
        (TUESDAY, None, None, False, "running"),
        (TUESDAY, None, TUESDAY + 30 * D, False, "running"),
        (TUESDAY, TUESDAY + H, TUESDAY + 20 * D, False, "upcoming"),
        (TUESDAY, TUESDAY + H, None, False, "upcoming"),
        (TUESDAY, TUESDAY - 9 * D, MONDAY_0, True, "closed_recently"),
        (TUESDAY, TUESDAY - 9 * D, TUESDAY, True, "closed_recently"),
        (TUESDAY, TUESDAY - 9 * D, MONDAY_0 - timedelta(minutes=1), True, None),
        (TUESDAY, TUESDAY - 9 * D, TUESDAY + H, True, None),  # ends in the future: not yet
        (TUESDAY, None, None, True, None),  # no end date: cannot tell when it closed
        # Monday 09:00 UTC: both windows reach back to Friday 00:00.
        (MONDAY, FRIDAY_0 + D, MONDAY + 20 * D, False, "started_this_week"),  # Saturday
        (MONDAY, FRIDAY_0 - H, MONDAY + 20 * D, False, "running"),  # Thursday
        (MONDAY, FRIDAY_0 - 9 * D, FRIDAY_0 + 10 * H, True, "closed_recently"),
        (MONDAY, FRIDAY_0 - 9 * D, FRIDAY_0 - H, True, None),
    ],
)
def test_standup_grouping(
    now: datetime,
    start: datetime | None,
    end: datetime | None,
    closed: bool,
    expected: str | None,
) -> None:
    assert _group_of([_r(start, end, closed=closed)], now).get(1) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2024, 3, 4), date(2024, 3, 1)),  # Monday -> Friday
        (date(2024, 3, 5), date(2024, 3, 4)),  # Tuesday -> Monday
        (date(2024, 3, 8), date(2024, 3, 7)),  # Friday -> Thursday
        (date(2024, 3, 9), date(2024, 3, 8)),  # Saturday -> Friday
        (date(2024, 3, 10), date(2024, 3, 8)),  # Sunday -> Friday
    ],
)
def test_last_working_day(today: date, expected: date) -> None:
    assert last_working_day(today) == expected


def test_local_days_follow_the_time_zone() -> None:
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    now = datetime(2024, 3, 4, 23, 30, tzinfo=UTC)  # Tuesday 00:30 in Berlin, Monday in UTC
    saturday = _r(FRIDAY_0 - 9 * D, FRIDAY_0 + D + 12 * H, closed=True)
    assert _group_of([saturday], now) == {1: "closed_recently"}  # UTC: since Friday
    assert _group_of([saturday], now, tz=berlin) == {}  # Berlin: since Monday
    groups = standup_groups([saturday], now, tz=berlin)
    assert groups.closed_since == datetime(2024, 3, 3, 23, 0, tzinfo=UTC)
    assert groups.closed_since_label == "since yesterday"
    assert standup_groups([], now).closed_since_label == "since Friday"


def test_closed_since_days_overrides_the_working_day_rule() -> None:
    old = _r(TUESDAY - 9 * D, TUESDAY - 2 * D - H, closed=True)
    assert _group_of([old], TUESDAY) == {}
    assert _group_of([old], TUESDAY, closed_since_days=3) == {1: "closed_recently"}
    label = standup_groups([], TUESDAY, closed_since_days=3).closed_since_label
    assert label == "in the last 3 days"


def test_groups_are_sorted_by_urgency() -> None:
    releases = [
        release(1, days=(-20, -1)),
        release(2, days=(-20, -5)),
        release(3, days=(-20, 3)),
        release(4, days=(-20, 2)),
    ]
    groups = standup_groups(releases, NOW)
    assert [r.id for r in groups.overdue] == [2, 1]
    assert [r.id for r in groups.ending_soon] == [4, 3]


def _sections(message: Message) -> list[str]:
    return [b["text"]["text"] for b in message.blocks if b["type"] == "section"]


def test_render_standup_groups_with_one_line_each() -> None:
    releases = (
        release(1, "R1", days=(-20, -2)),
        release(2, "R2", days=(-20, 2), hotfix_of_id=1),
        release(3, "R3", days=(-0.5, 30)),
        release(4, "R4", days=(-30, 30)),
        release(5, "R5", days=(-30, -0.5), closed=True),
        release(6, "R6", days=(-30, -8), closed=True),
    )
    message = render_standup(find(releases, Query(status="all", groups=("DWH_GROUP",))), NOW)
    assert_valid(message)
    assert message.blocks[0]["text"]["text"] == "Standup · DWH_GROUP"
    sections = _sections(message)
    assert [s.split("\n")[0] for s in sections] == [
        "*:red_circle: Overdue* (1)",
        "*:hourglass: Ending within 7 days* (1)",
        "*:rocket: Started this week* (1)",
        "*:large_green_circle: Running* (1)",
        "*:lock: Closed since yesterday* (1)",
    ]
    end = int((NOW - 2 * D).timestamp())
    assert sections[0] == (
        "*:red_circle: Overdue* (1)\n"
        f"• *R1* #1 · ended <!date^{end}^{{date_short_pretty}}|2024-03-03 09:00 UTC> (2 days ago)"
    )
    assert sections[1].endswith("(in 2 days) · :adhesive_bandage: hotfix of R1")
    assert "R6" not in all_text(message)
    assert message.text == (
        "Standup · DWH_GROUP: 1 overdue, 1 ending within 7 days, 1 started this week, "
        "1 running, 1 closed since yesterday"
    )
    share = [b for b in buttons(message) if b["action_id"].startswith("share_in_channel")]
    assert len(share) == 1
    details = [b for b in buttons(message) if b["action_id"].startswith("release_detail:")]
    assert len(details) == 5  # one a release
    assert act.decode(share[0]["action_id"], share[0]["value"]) == act.ShareRequest(
        "standup", query_text=Query(status="all", groups=("DWH_GROUP",)).to_text()
    )
    assert message.blocks[-1]["block_id"] == act.BLOCK_STANDUP_ACTIONS


def test_group_names_show_when_several_groups_are_involved() -> None:
    releases = (release(1, days=(-20, -2)), release(2, group_id=2, days=(-20, -2)))
    message = render_standup(find(releases), NOW)
    lines = _sections(message)[0].split("\n")[1:]
    assert lines[0].startswith("• *R1* #1 · DWH_GROUP · ended ")
    assert lines[1].startswith("• *R2* #2 · LAKE · ended ")


def test_empty_standup_is_one_line() -> None:
    message = render_standup(find((release(6, days=(-30, -8), closed=True),)), NOW)
    assert_valid(message)
    assert _sections(message) == [
        "Nothing to report: no open releases, and none closed since yesterday."
    ]
    assert message.text == "Standup: nothing to report since yesterday"


def test_digest_title_and_no_share_button() -> None:
    message = render_standup(
        find((release(1),), Query(groups=("DWH_GROUP",))),
        MONDAY,
        title="Digest · DWH_GROUP <!channel>",
        share=False,
    )
    assert_valid(message)
    assert message.blocks[0]["text"]["text"] == "Digest · DWH_GROUP &lt;!channel&gt;"
    assert not buttons(message)


def test_two_hundred_nasty_releases_are_cut_with_a_count() -> None:
    releases = tuple(nasty_release(i) for i in range(200))
    message = render_standup(find(releases, Query(status="all", deleted="yes")), NOW)
    assert_valid(message)
    text = all_text(message)
    for mention in MENTIONS:
        assert mention not in text
    assert "more" in _sections(message)[0].split("\n")[-1]
    assert message.meta["open"] == 200


def test_shared_standup() -> None:
    message = render_standup(find((release(1),)), NOW, shared_by="U9")
    assert_valid(message, allow=("<@U9>",))
    assert not buttons(message)


def test_a_release_closed_early_shows_when_the_snapshots_saw_it_close() -> None:
    early = _r(TUESDAY - 9 * D, TUESDAY + 5 * D, closed=True)  # closed days before its end
    seen = {early.id: MONDAY_0 + 10 * H}
    assert _group_of([early], TUESDAY) == {}  # by end date: not yet in the window
    assert _group_of([early], TUESDAY, closed_at=seen) == {early.id: "closed_recently"}
    late = _r(TUESDAY - 9 * D, FRIDAY_0, closed=True)  # closed on Monday, after its end
    assert _group_of([late], TUESDAY) == {}
    assert _group_of([late], TUESDAY, closed_at={late.id: MONDAY_0 + H}) == {
        late.id: "closed_recently"
    }
    old = {early.id: FRIDAY_0 - D}  # seen closing before the window: not news
    assert _group_of([early], TUESDAY, closed_at=old) == {}
    message = render_standup(find((early,), Query(status="all")), TUESDAY, closed_at=seen)
    assert "· closed <!date^1709546400^" in all_text(message)  # Monday 10:00 UTC



def test_details_buttons_of_releases_with_the_same_name_say_which_is_which() -> None:
    same = tuple(release(i, "Default Release", group_id=1 + i % 2) for i in range(1, 6))
    labels = [b["text"]["text"] for b in buttons(render_standup(find(same), NOW))]
    details = [label for label in labels if label.startswith("Details")]
    assert len(details) == 5
    assert len(set(details)) == 5
    assert "Details Default Release #1" in details
    # A name that is unique stays as it was.
    one = [b["text"]["text"] for b in buttons(render_standup(find((release(9, "R9"),)), NOW))]
    assert "Details R9" in one
