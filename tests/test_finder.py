"""The finder over a real cache and client, against the demo API."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.app.finder import MAX_LIST_CALLS, MAX_MENTIONED_LOOKUPS, ReleaseFinder, display_order
from bot.cache.release_cache import ReleaseCache
from bot.demo import DemoApiServer
from bot.metakraftwerk.errors import GroupNotFound, ReleaseNotFound, Unavailable
from bot.metakraftwerk.models import Release
from bot.query import ListCommand, Query, QueryError, parse_command
from tests.conftest import ClientFactory
from tests.fakes.clock import FakeClock

RELEASES = "/api/v1/releases"
GROUPS = "/api/v1/release_groups"


@pytest.fixture
def finder(demo_cache: ReleaseCache) -> ReleaseFinder:
    return ReleaseFinder(demo_cache)


def query(text: str) -> Query:
    command = parse_command(text.removeprefix("/releases").strip())
    assert isinstance(command, ListCommand)
    return command.query


def found(finder: ReleaseFinder, q: Query) -> list[str]:
    return [r.name for r in finder.find(q).releases]


# ---- find ----------------------------------------------------------------------------------


def test_default_is_open_and_not_deleted(demo_api: DemoApiServer, finder: ReleaseFinder) -> None:
    result = finder.find(Query())
    expected = {r.id for r in demo_api.data.releases() if r.is_open and not r.deleted}
    assert {r.id for r in result.releases} == expected
    assert result.group_names[1] == "DWH_GROUP"
    assert result.freshness is not None
    assert not result.freshness.stale
    assert demo_api.counts.count(RELEASES, params={"closed": "false"}) == 1


def test_display_order_newest_start_first_undated_last() -> None:
    from datetime import UTC, datetime

    a = Release(id=1, name="a", start_date=datetime(2026, 1, 1, tzinfo=UTC))
    b = Release(id=2, name="b", start_date=datetime(2026, 2, 1, tzinfo=UTC))
    c = Release(id=3, name="c", start_date=datetime(2026, 2, 1, tzinfo=UTC))
    d = Release(id=4, name="d")
    e = Release(id=5, name="e")
    assert [r.id for r in display_order([a, d, b, e, c])] == [3, 2, 1, 5, 4]


def test_results_are_sorted(finder: ReleaseFinder) -> None:
    releases = finder.find(Query(status="all")).releases
    assert list(releases) == list(display_order(releases))
    assert releases[-1].start_date is None


def test_one_call_per_group_and_merged(demo_api: DemoApiServer, finder: ReleaseFinder) -> None:
    result = finder.find(query("/releases all group:DWH_GROUP group:LAKE_GROUP"))
    assert {r.group_id for r in result.releases} == {1, 2}
    assert demo_api.counts.count(RELEASES, params={"group": "DWH_GROUP"}) == 1
    assert demo_api.counts.count(RELEASES, params={"group": "LAKE_GROUP"}) == 1
    assert len({r.id for r in result.releases}) == len(result.releases)


def test_calls_by_group_name_need_no_group_list(
    demo_api: DemoApiServer, finder: ReleaseFinder
) -> None:
    result = finder.find(query("group:LAKE_GROUP all"))
    assert result.releases
    assert {result.group_names[r.group_id] for r in result.releases if r.group_id} == {
        "LAKE_GROUP"
    }
    assert demo_api.counts.count(GROUPS) == 0


def test_group_names_are_fetched_once_for_many_lookups(
    demo_api: DemoApiServer, finder: ReleaseFinder
) -> None:
    finder.find(Query())
    finder.find(query("closed"))
    finder.detail(21)
    assert demo_api.counts.count(GROUPS) == 1


def test_releases_the_matches_point_to_are_named_cold_or_warm(finder: ReleaseFinder) -> None:
    cold = finder.find(query("name:R9.HF2 open"))
    (hotfix,) = cold.releases
    assert hotfix.hotfix_of_id is not None
    # Closed R9 is not in the open list: it is fetched by id, not left to what the cache holds.
    assert cold.known()[hotfix.hotfix_of_id].name == "R9"
    finder.find(query("all"))  # now every release is held
    warm = finder.find(query("name:R9.HF2"))
    parent = warm.known()[hotfix.hotfix_of_id]
    assert parent.name == "R9"
    assert hotfix.prev_release_id is not None
    assert warm.known()[hotfix.prev_release_id].name == "R9.HF1"
    assert hotfix.id not in warm.related  # the matches themselves are not "related"


def test_local_filters(finder: ReleaseFinder) -> None:
    assert set(found(finder, query("/releases all name:R9*"))) == {"R9", "R9.HF1", "R9.HF2"}
    assert found(finder, query("/releases all name:R9* hotfix:no")) == ["R9"]
    assert found(finder, query("open group:DWH_GROUP -name:R*")) == ["Default Release"]
    two_chars = found(finder, query("open group:DWH_GROUP -name:R??"))
    assert "READY_FOR_QA" in two_chars
    assert "R9.HF2" in two_chars
    assert "R59" not in two_chars
    assert found(finder, query("/releases all deleted:only group:LAKE_GROUP")) == ["LAKE_TMP"]


def test_group_glob_uses_group_names(finder: ReleaseFinder) -> None:
    result = finder.find(query("/releases open group:FIN*"))
    assert result.releases
    assert {r.group_id for r in result.releases} == {3}


def test_group_names_differing_in_case_are_forgiven(
    demo_api: DemoApiServer, finder: ReleaseFinder
) -> None:
    result = finder.find(query("/releases all group:dwh_group"))
    assert {r.group_id for r in result.releases} == {1}
    assert demo_api.counts.count(RELEASES, params={"group": "DWH_GROUP"}) == 1


def test_release_names_differing_in_case_are_forgiven(finder: ReleaseFinder) -> None:
    assert found(finder, query("/releases all name:r9.hf1")) == ["R9.HF1"]


def test_unknown_group_is_reported(finder: ReleaseFinder) -> None:
    with pytest.raises(GroupNotFound, match="'NOPE' does not exist"):
        finder.find(query("/releases group:NOPE"))


def test_group_names_are_learnt_when_the_groups_endpoint_fails(
    demo_api: DemoApiServer, finder: ReleaseFinder
) -> None:
    demo_api.switches.fail_next(10, 404, path=GROUPS)
    result = finder.find(query("/releases all group:LAKE_GROUP"))
    assert result.group_names == {2: "LAKE_GROUP"}
    assert result.releases


def test_release_id_lookup(demo_api: DemoApiServer, finder: ReleaseFinder) -> None:
    result = finder.find(Query(release_id=59))
    assert [r.name for r in result.releases] == ["R59"]
    assert demo_api.counts.count(f"{RELEASES}/59") == 1
    with pytest.raises(ReleaseNotFound):
        finder.find(Query(release_id=99999))


def test_refresh_bypasses_the_cache(demo_api: DemoApiServer, finder: ReleaseFinder) -> None:
    finder.find(Query())
    demo_api.data.close("R60")
    assert "R60" in found(finder, Query())  # still cached
    assert "R60" not in found(finder, Query(refresh=True))
    assert demo_api.counts.count(RELEASES, params={"closed": "false"}) == 2


def test_stale_answers_are_marked(demo_api: DemoApiServer, make_client: ClientFactory) -> None:
    clock = FakeClock()
    client = make_client(deadline_seconds=0.3)
    cache = ReleaseCache(client, ttl_seconds=60, clock=clock)
    finder = ReleaseFinder(cache, clock)
    fresh = finder.find(Query())
    clock.advance(600)
    demo_api.switches.fail_next(1000, 503)
    stale = finder.find(Query())
    assert stale.releases == fresh.releases
    assert stale.freshness is not None
    assert stale.freshness.stale
    assert stale.freshness.reason == "MetaKraftwerk is unavailable (HTTP 503)"
    assert fresh.freshness is not None
    assert stale.freshness.fetched_at == fresh.freshness.fetched_at
    assert stale.group_names == fresh.group_names  # held names, without another deadline
    assert demo_api.counts.count(GROUPS) == 1


def test_failure_without_stale_data_raises(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    finder = ReleaseFinder(ReleaseCache(make_client(deadline_seconds=0.3)))
    demo_api.switches.fail_next(1000, 503)
    with pytest.raises(Unavailable):
        finder.find(Query())


# ---- detail --------------------------------------------------------------------------------


def test_detail_of_a_release_with_hotfixes(demo_api: DemoApiServer, finder: ReleaseFinder) -> None:
    detail = finder.detail(29)
    assert detail.release.name == "R9"
    assert detail.previous is not None
    assert detail.previous.name == "R2"
    assert detail.hotfix_parent is None
    assert [r.name for r in detail.hotfixes] == ["R9.HF1", "R9.HF2"]
    assert detail.group_names[1] == "DWH_GROUP"
    # the group's list answered the related lookups: no extra by-id calls
    assert demo_api.counts.count(f"{RELEASES}/22") == 0


def test_detail_of_a_hotfix(finder: ReleaseFinder) -> None:
    detail = finder.detail(31)
    assert detail.hotfix_parent is not None
    assert detail.hotfix_parent.name == "R9"
    assert detail.previous is not None
    assert detail.previous.name == "R9.HF1"
    assert detail.hotfixes == ()


def test_detail_fails_when_the_release_itself_cannot_be_read(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    finder = ReleaseFinder(ReleaseCache(make_client(deadline_seconds=0.3)))
    finder.find(Query(release_id=21))  # logged in; release 60 was never fetched
    demo_api.switches.fail_next(1000, 503)
    with pytest.raises(Unavailable):
        finder.detail(60)


def test_detail_is_best_effort_for_relatives(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    cache = ReleaseCache(make_client(deadline_seconds=0.5))
    finder = ReleaseFinder(cache)
    cache.release(31)  # the release alone is cached; its relatives are not

    demo_api.switches.fail_next(1000, 503)
    detail = finder.detail(31)
    assert detail.release.name == "R9.HF2"
    assert detail.previous is None
    assert detail.hotfix_parent is None
    assert detail.hotfixes == ()


def test_unknown_release_detail(finder: ReleaseFinder) -> None:
    with pytest.raises(ReleaseNotFound):
        finder.detail(99999)


# ---- for the worker and the shortcut--------------------------------------------------------


def test_all_releases_is_one_unfiltered_call_with_deleted(
    demo_api: DemoApiServer, finder: ReleaseFinder
) -> None:
    result = finder.all_releases()
    assert len(result.releases) == len(demo_api.data.releases())
    assert any(r.deleted for r in result.releases)
    assert demo_api.counts.count(RELEASES) == 1
    assert result.freshness is not None
    assert not result.freshness.stale


def test_all_releases_exposes_staleness(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    finder = ReleaseFinder(ReleaseCache(make_client(deadline_seconds=0.3)))
    finder.all_releases()
    demo_api.switches.fail_next(1000, 503)
    result = finder.all_releases(refresh=True)
    assert result.freshness is not None
    assert result.freshness.stale


def test_known_names(demo_api: DemoApiServer, finder: ReleaseFinder) -> None:
    names = finder.known_names()
    assert {"R59", "R.COS4.3", "Größe-Ü"} <= names
    assert "LAKE_TMP" not in names  # deleted
    assert demo_api.counts.count(RELEASES) == 1
    finder.known_names()
    assert demo_api.counts.count(RELEASES) == 1


# ---- releases a message mentions -------------------------------------------------------------


def test_mentioned_releases_in_message_order_with_what_is_missing(
    finder: ReleaseFinder,
) -> None:
    from bot.query import scan_message

    scan = scan_message("R59 follows #29; #9999 and status:open", {"R59", "R9", "NOPE_R1"})
    scan = replace(scan, names=(*scan.names, "NOPE_R1"))
    result = finder.find_mentioned(scan)
    assert [r.name for r in result.releases] == ["R9", "R59"]  # ids first, then names
    assert result.missing_ids == (9999,)
    assert result.missing_names == ("NOPE_R1",)
    assert result.search is not None
    assert result.search.releases
    assert result.group_names[1] == "DWH_GROUP"
    assert result.related[22].name == "R2"  # R9's predecessor
    assert result.freshness is not None
    assert not result.freshness.stale


def test_mentioned_lookups_are_bounded(demo_api: DemoApiServer, finder: ReleaseFinder) -> None:
    from bot.query import MessageScan

    ids = tuple(range(10_000, 10_020))
    result = finder.find_mentioned(MessageScan(release_ids=ids))
    assert result.missing_ids == ids[:MAX_MENTIONED_LOOKUPS]
    assert not result.releases
    assert result.search is None
    assert result.freshness is None


def test_any_stale_mentioned_part_makes_the_whole_stale(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    from bot.query import MessageScan

    clock = FakeClock()
    cache = ReleaseCache(make_client(deadline_seconds=0.3), ttl_seconds=60, clock=clock)
    finder = ReleaseFinder(cache, clock)
    scan = MessageScan(release_ids=(21,), names=("R59",))
    finder.find_mentioned(scan)
    clock.advance(600)
    finder.find(Query(release_id=21, status="all", deleted="yes", refresh=True))
    demo_api.switches.fail_next(1000, 503)
    result = finder.find_mentioned(scan)
    assert [r.id for r in result.releases] == [21, 59]
    assert result.freshness is not None
    assert result.freshness.stale
    assert result.freshness.reason == "MetaKraftwerk is unavailable (HTTP 503)"


# ---- bounded upstream calls -------------------------------------------------------------


def test_one_command_asks_for_at_most_a_bounded_number_of_lists(
    demo_api: DemoApiServer, finder: ReleaseFinder
) -> None:
    """48 `group_id:` values and `refresh` made 48 uncached calls for one command."""
    many = " ".join(f"group_id:{i}" for i in range(1, 49))
    with pytest.raises(QueryError) as caught:
        finder.find(query(f"{many} refresh"))
    assert f"at most {MAX_LIST_CALLS}" in caught.value.message
    assert demo_api.counts.count(RELEASES) == 0


def test_lists_up_to_the_bound_are_asked_for(
    demo_api: DemoApiServer, finder: ReleaseFinder
) -> None:
    ids = " ".join(f"group_id:{i}" for i in range(1, MAX_LIST_CALLS + 1))
    finder.find(query(f"{ids} refresh"))
    assert demo_api.counts.count(RELEASES) == MAX_LIST_CALLS
