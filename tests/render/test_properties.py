"""Whatever the API sends and the user types, every view is postable and cannot ping anyone."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app.finder import DetailResult, FindResult, Freshness
from bot.metakraftwerk.models import Release
from bot.mrkdwn import inline
from bot.query import Query
from bot.render.detail import render_detail
from bot.render.listing import render_list
from bot.render.shortcut import ShortcutFindings, render_shortcut_result
from bot.render.standup import render_standup
from bot.render.text import render_text
from tests.render.limits import all_text, assert_valid
from tests.render.support import MENTIONS

# Text with a good share of what breaks Slack messages: markup, mentions, entities, emoji.
_SPICY = st.sampled_from(
    [
        *MENTIONS,
        "<",
        ">",
        "&",
        "&amp;",
        "&lt;",
        "*",
        "_",
        "~",
        "`",
        "```",
        "|",
        "^",
        "\n",
        ":smile:",
        "🚀",
        "Ü",
        "<!date^1^{time}|x>",
        "<https://e.com|x>",
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=40), _SPICY), max_size=12).map("".join)
LONG = st.one_of(TEXT, st.builds(lambda t, n: t * n, TEXT, st.integers(1, 300)))
DATES = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
    st.datetimes(
        min_value=datetime(2023, 1, 1), max_value=datetime(2025, 12, 31), timezones=st.just(UTC)
    ),
)
NOW = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
IDS = st.integers(min_value=-5, max_value=10**12)
SMALL_IDS = st.one_of(st.none(), st.integers(min_value=1, max_value=30))

RELEASES = st.builds(
    Release,
    id=IDS,
    name=TEXT.filter(lambda t: bool(t.strip())),
    group_id=SMALL_IDS,
    description=st.one_of(st.none(), LONG),
    start_date=DATES,
    end_date=DATES,
    closed=st.booleans(),
    deleted=st.booleans(),
    hotfix_of_id=SMALL_IDS,
    prev_release_id=SMALL_IDS,
)
RELEASE_LISTS = st.lists(RELEASES, max_size=60).map(tuple)
GROUP_NAMES = st.dictionaries(st.integers(1, 30), TEXT, max_size=10)
QUERIES = st.builds(
    Query,
    status=st.sampled_from(["open", "closed", "all"]),
    groups=st.lists(TEXT.filter(lambda t: bool(t.strip())), max_size=3).map(tuple),
    group_ids=st.lists(st.integers(1, 30), max_size=2).map(tuple),
    names=st.lists(TEXT.filter(lambda t: bool(t.strip())), max_size=2).map(tuple),
    page=st.integers(min_value=-2, max_value=50),
    format=st.sampled_from(["compact", "full"]),
)
FRESHNESS = st.one_of(
    st.none(),
    st.builds(Freshness, fetched_at=NOW, stale=st.booleans(), reason=st.one_of(st.none(), TEXT)),
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(RELEASE_LISTS, QUERIES, GROUP_NAMES, FRESHNESS, NOW)
def test_list_is_postable_and_escaped(
    releases: tuple[Release, ...],
    query: Query,
    group_names: dict[int, str],
    freshness: Freshness | None,
    now: datetime,
) -> None:
    result = FindResult(query, releases, group_names, freshness)
    message = render_list(result, now)
    assert_valid(message)
    render_text(message)
    if query.format == "compact":
        page = message.meta["page"]
        size = message.meta["page_size"]
        text = all_text(message)
        for release in releases[(page - 1) * size : page * size]:
            if len(release.name) <= 60:
                assert inline(release.name) in text


@SETTINGS
@given(
    RELEASES,
    st.one_of(st.none(), RELEASES),
    st.lists(RELEASES, max_size=40),
    GROUP_NAMES,
    FRESHNESS,
    NOW,
)
def test_detail_is_postable_and_escaped(
    release: Release,
    previous: Release | None,
    hotfixes: list[Release],
    group_names: dict[int, str],
    freshness: Freshness | None,
    now: datetime,
) -> None:
    result = DetailResult(release, previous, previous, tuple(hotfixes), group_names, freshness)
    message = render_detail(result, now)
    assert_valid(message)
    render_text(message)


@SETTINGS
@given(RELEASE_LISTS, QUERIES, GROUP_NAMES, FRESHNESS, NOW, st.one_of(st.none(), TEXT))
def test_standup_is_postable_and_escaped(
    releases: tuple[Release, ...],
    query: Query,
    group_names: dict[int, str],
    freshness: Freshness | None,
    now: datetime,
    title: str | None,
) -> None:
    message = render_standup(FindResult(query, releases, group_names, freshness), now, title=title)
    assert_valid(message)
    render_text(message)


@SETTINGS
@given(
    RELEASE_LISTS,
    st.lists(IDS, max_size=30),
    st.lists(TEXT, max_size=10),
    st.one_of(st.none(), st.builds(FindResult, QUERIES, RELEASE_LISTS, GROUP_NAMES)),
    LONG,
    NOW,
)
def test_shortcut_is_postable_and_escaped(
    releases: tuple[Release, ...],
    missing_ids: list[int],
    missing_names: list[str],
    search: FindResult | None,
    prefill: str,
    now: datetime,
) -> None:
    findings = ShortcutFindings(
        releases=releases,
        missing_ids=tuple(missing_ids),
        missing_names=tuple(missing_names),
        search=search,
        prefill=prefill,
    )
    message = render_shortcut_result(findings, now)
    assert_valid(message)
    render_text(message)


# Dates UTC cannot hold: the parsers refuse them, but a renderer must not crash on one either.
EXTREME = [
    datetime.fromisoformat("0001-01-01T00:00:00+14:00"),
    datetime.fromisoformat("9999-12-31T23:59:59-14:00"),
    datetime(1, 1, 1),
    datetime.max.replace(tzinfo=UTC),
]


def test_dates_utc_cannot_hold_render_in_every_view() -> None:
    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    releases = tuple(
        Release(id=i + 1, name=f"R{i}", group_id=1, start_date=start, end_date=end)
        for i, (start, end) in enumerate(
            [(d, None) for d in EXTREME]
            + [(None, d) for d in EXTREME]
            + list(zip(EXTREME, EXTREME, strict=True))
        )
    )
    for query in (Query(status="all"), Query(status="all", format="full")):
        message = render_list(FindResult(query, releases, {1: "G"}), now)
        assert_valid(message)
        render_text(message)
    standup = render_standup(FindResult(Query(status="all"), releases, {1: "G"}), now)
    assert_valid(standup)
    for release in releases:
        detail = render_detail(DetailResult(release=release, group_names={1: "G"}), now)
        assert_valid(detail)
        assert "UTC" in all_text(detail)
