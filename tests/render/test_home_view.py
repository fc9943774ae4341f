"""The App Home view: order by urgency, limits whatever the data, escaping, empty sections."""

from __future__ import annotations

from datetime import timedelta

from bot.render.home_view import ChannelRows, HomeData, group_summaries, home_blocks, render_home
from bot.render.message import Message
from tests.render.limits import all_text, assert_valid
from tests.render.support import GROUPS, NASTY, NOW, find, fresh, nasty_release, release


def _message(data: HomeData) -> Message:
    return Message(text="home", blocks=home_blocks(data, NOW))


def test_groups_with_overdue_releases_come_first_then_ending_soon() -> None:
    calm = release(1, group_id=1, days=(-3, 30))
    soon = release(2, group_id=2, days=(-3, 2))
    late = release(3, group_id=3, days=(-10, -1))
    names = {1: "A_GROUP", 2: "B_GROUP", 3: "C_GROUP"}
    order = [s.group_id for s in group_summaries((calm, soon, late), names, NOW)]
    assert order == [3, 2, 1]


def test_inside_a_group_overdue_then_ending_soon_then_the_rest() -> None:
    rest = release(1, days=(-1, 40))
    soon = release(2, days=(-3, 3))
    later_overdue = release(3, days=(-9, -1))
    oldest_overdue = release(4, days=(-9, -5))
    (summary,) = group_summaries((rest, soon, later_overdue, oldest_overdue), GROUPS, NOW)
    assert [r.id for r in summary.releases] == [4, 3, 2, 1]
    assert (summary.overdue, summary.ending_soon) == (2, 1)


def test_closed_and_deleted_releases_are_not_counted() -> None:
    releases = (release(1), release(2, closed=True), release(3, deleted=True))
    (summary,) = group_summaries(releases, GROUPS, NOW)
    assert [r.id for r in summary.releases] == [1]


def test_the_view_is_a_home_view_with_refresh_and_search() -> None:
    view = render_home(HomeData(releases=find((release(1),))), NOW)
    assert view["type"] == "home"
    ids = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "home_refresh" in ids
    assert "open_search" in ids


def test_huge_data_stays_within_the_limits_and_escaped() -> None:
    releases = tuple(
        release(i, NASTY + str(i), group_id=i % 300, days=(-5, (i % 20) - 10)) for i in range(3000)
    )
    names = {i: f"{NASTY} group {i}" for i in range(300)}
    channels = tuple(
        ChannelRows(f"C{i:05d}", tuple(f"*#{j}* · changes · open" for j in range(40)))
        for i in range(60)
    )
    data = HomeData(
        releases=find(releases, group_names=names),
        followed=tuple(nasty_release(100 + i) for i in range(50)),
        channels=channels,
    )
    message = _message(data)
    assert len(message.blocks) <= 100
    allow = tuple(f"<#C{i:05d}>" for i in range(60))
    assert_valid(message, allow=allow)


def test_followed_releases_show_nothing_when_there_are_none() -> None:
    without = all_text(_message(HomeData(releases=find((release(1),)))))
    assert "follow" not in without.lower()
    with_one = all_text(_message(HomeData(releases=find((release(1),)), followed=(release(7),))))
    assert "Releases you follow" in with_one
    assert "R7" in with_one


def test_stale_data_is_shown_with_its_age() -> None:
    result = find((release(1),), freshness=fresh(12, stale=True, reason="MetaKraftwerk timed out"))
    text = all_text(_message(HomeData(releases=result)))
    assert "MetaKraftwerk timed out" in text
    assert "12 min ago" in text
    assert "R1" in text


def test_no_releases_at_all_still_opens_with_the_reason() -> None:
    text = all_text(_message(HomeData(releases=None, releases_error="MetaKraftwerk <!here> down")))
    assert "could not be read" in text
    assert "&lt;!here&gt;" in text
    assert "How to" in text


def test_channel_subscriptions_and_a_failed_channel_lookup() -> None:
    rows = ChannelRows("C0CHAN", (":bell: *#3* · changes · open · group DWH_GROUP",))
    text = all_text(_message(HomeData(releases=find(()), channels=(rows,))))
    assert "<#C0CHAN>" in text
    assert "#3" in text
    failed = all_text(_message(HomeData(releases=find(()), channels_error="missing_scope")))
    assert "missing_scope" in failed
    none = all_text(_message(HomeData(releases=find(()))))
    assert "None of your channels" in none


def test_a_channel_id_that_is_not_one_is_escaped() -> None:
    rows = ChannelRows("<!channel>", ("*#1* · changes",))
    assert_valid(_message(HomeData(releases=find(()), channels=(rows,))))


def test_ending_soon_is_within_seven_days() -> None:
    inside = release(1, start=NOW - timedelta(days=1), end=NOW + timedelta(days=6, hours=23))
    outside = release(2, start=NOW - timedelta(days=1), end=NOW + timedelta(days=8))
    (summary,) = group_summaries((inside, outside), GROUPS, NOW)
    assert summary.ending_soon == 1


def test_a_followed_release_names_its_predecessor_as_the_other_views_do() -> None:
    r9 = release(29, "R9")
    r59 = release(59, "R59", prev_release_id=29)
    # R9 is at hand among the releases the open list knows (its related releases).
    from dataclasses import replace as _replace

    releases = _replace(find((release(60, "R60", prev_release_id=59), r59)), related={29: r9})
    text = all_text(_message(HomeData(releases=releases, followed=(r59,))))
    followed = text.split("Releases you follow", 1)[1]
    assert "after R9" in followed
    assert "after #29" not in followed
