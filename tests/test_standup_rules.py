"""What a standup reads: every status under the filters given, whichever surface asks."""

from __future__ import annotations

from bot.app.finder import ReleaseFinder
from bot.app.standup import read_standup, standup_query
from bot.cache.release_cache import ReleaseCache
from bot.notify.messages import digest_query
from bot.query import Query, StandupCommand, parse_command


def test_a_standup_reads_open_and_closed_releases_under_the_query_as_asked(
    demo_cache: ReleaseCache,
) -> None:
    query = Query(groups=("DWH_GROUP",))
    result = read_standup(ReleaseFinder(demo_cache), query)
    assert result.query == query  # the view titles and shares it as it was asked
    assert any(r.closed for r in result.releases)
    assert any(r.is_open for r in result.releases)


def test_the_command_the_step_and_the_digest_read_the_same_releases() -> None:
    command = parse_command("standup group:DWH_GROUP")
    assert isinstance(command, StandupCommand)
    query = command.query
    assert standup_query(query).status == "all"
    assert digest_query(query).status == standup_query(query).status
    assert digest_query(query).groups == standup_query(query).groups
