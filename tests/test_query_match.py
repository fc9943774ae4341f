"""Query -> API calls, local matching, and the restatement shown under every answer."""

from __future__ import annotations

import pytest

from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release
from bot.query import ListCommand, Query, glob_match, parse_command

Q = Query
F = ApiFilter
GROUPS = {1: "DWH_GROUP", 2: "LAKE_GROUP", 3: "Data Lake", 4: "dwh_sandbox"}

R1 = Release(id=21, name="R1", group_id=1)
R9 = Release(id=30, name="R9", group_id=1, closed=True)
R9_HF1 = Release(id=31, name="R9.HF1", group_id=1, hotfix_of_id=30, prev_release_id=30)
R9_HF2 = Release(id=32, name="R9-HF2", group_id=1, hotfix_of_id=30, closed=True)
LAKE = Release(id=40, name="Release 2022 Q1", group_id=2)
GONE = Release(id=41, name="R-2025-Q1", group_id=2, deleted=True)
GONE_CLOSED = Release(id=42, name="HF-July-01", group_id=3, deleted=True, closed=True)
SANDBOX = Release(id=50, name="READY_FOR_QA", group_id=4)
ORPHAN = Release(id=60, name="2023.Q1", group_id=None)
UNKNOWN_GROUP = Release(id=70, name="R.COS4.3", group_id=99)
ALL = (R1, R9, R9_HF1, R9_HF2, LAKE, GONE, GONE_CLOSED, SANDBOX, ORPHAN, UNKNOWN_GROUP)


def query(text: str) -> Query:
    """The query of `text`; names alone would search every status, so these say `open`."""
    command = parse_command(text)
    assert isinstance(command, ListCommand)
    if command.by_name:
        command = parse_command(f"{text} open")
        assert isinstance(command, ListCommand)
    return command.query


API_CASES: list[tuple[str, tuple[ApiFilter, ...]]] = [
    ("", (F(closed=False),)),
    ("closed", (F(closed=True),)),
    ("all", (F(),)),
    ("open closed", (F(),)),
    ("group:DWH_GROUP", (F(group="DWH_GROUP", closed=False),)),
    ("group:A group:B all", (F(group="A"), F(group="B"))),
    ("group:A group:DWH* ", (F(closed=False),)),
    (
        "group:DWH? group_id:1 group_id:2",
        (F(group_id=1, closed=False), F(group_id=2, closed=False)),
    ),
    ("group:A group_id:1", (F(group="A", closed=False),)),
    ("group_id:1 group_id:2 closed", (F(group_id=1, closed=True), F(group_id=2, closed=True))),
    ("-group:A", (F(closed=False),)),
    ("-group_id:1", (F(closed=False),)),
    ("R59", (F(name="R59", closed=False),)),
    ('name:"Release 2022 Q1" group:X', (F(group="X", name="Release 2022 Q1", closed=False),)),
    ("R59 R60", (F(closed=False),)),
    ("R5*", (F(closed=False),)),
    ("R5?", (F(closed=False),)),
    ("-R59", (F(closed=False),)),
    ("R59 -R60", (F(name="R59", closed=False),)),
    ("hotfix:yes deleted:only page:2 format:full refresh", (F(closed=False),)),
]


@pytest.mark.parametrize(("text", "expected"), API_CASES)
def test_api_filters(text: str, expected: tuple[ApiFilter, ...]) -> None:
    assert query(text).api_filters() == expected


def test_api_filter_params() -> None:
    assert F().params() == {}
    assert F(group="A", group_id=1, name="R 1", closed=False).params() == {
        "group": "A",
        "group_id": "1",
        "name": "R 1",
        "closed": "false",
    }
    assert F(closed=True).params() == {"closed": "true"}


MATCH_CASES: list[tuple[str, tuple[Release, ...]]] = [
    ("", (R1, R9_HF1, LAKE, SANDBOX, ORPHAN, UNKNOWN_GROUP)),
    ("closed", (R9, R9_HF2)),
    ("all", (R1, R9, R9_HF1, R9_HF2, LAKE, SANDBOX, ORPHAN, UNKNOWN_GROUP)),
    ("all deleted:yes", ALL),
    ("all deleted:only", (GONE, GONE_CLOSED)),
    ("deleted:only", (GONE,)),
    ("group:DWH_GROUP", (R1, R9_HF1)),
    ("group:dwh_group", (R1, R9_HF1)),
    ("group:DWH*", (R1, R9_HF1, SANDBOX)),
    ("group:*lake*", (LAKE,)),
    ('group:"Data Lake" all deleted:yes', (GONE_CLOSED,)),
    ("group:DWH_GROUP group:LAKE_GROUP", (R1, R9_HF1, LAKE)),
    ("group:99", ()),
    ("group:*", (R1, R9_HF1, LAKE, SANDBOX)),
    ("-group:*", (ORPHAN, UNKNOWN_GROUP)),
    ("-group:DWH*", (LAKE, ORPHAN, UNKNOWN_GROUP)),
    ("-group:DWH_GROUP -group:LAKE_GROUP", (SANDBOX, ORPHAN, UNKNOWN_GROUP)),
    ("group_id:2 all", (LAKE,)),
    ("group_id:1 group_id:4", (R1, R9_HF1, SANDBOX)),
    ("-group_id:1", (LAKE, SANDBOX, ORPHAN, UNKNOWN_GROUP)),
    ("group:DWH* group_id:4", (SANDBOX,)),
    ("group:DWH_GROUP group_id:4", ()),
    ("R1", (R1,)),
    ("r1", (R1,)),
    ("R9 all", (R9,)),
    ("R9* all", (R9, R9_HF1, R9_HF2)),
    ("R9?HF? all", (R9_HF1, R9_HF2)),
    ('name:"*-HF*" all', (R9_HF2,)),
    ('all -name:"*HF*"', (R1, R9, LAKE, SANDBOX, ORPHAN, UNKNOWN_GROUP)),
    ('name:"release 2022 q1"', (LAKE,)),
    ("name:2023.Q1", (ORPHAN,)),
    ("name:2023?Q1", (ORPHAN,)),
    ("name:2023*", (ORPHAN,)),
    ("R1 R9 all", (R1, R9)),
    ("hotfix:yes all", (R9_HF1, R9_HF2)),
    ("hotfix:no all", (R1, R9, LAKE, SANDBOX, ORPHAN, UNKNOWN_GROUP)),
    ("hotfix:yes hotfix:no", (R1, R9_HF1, LAKE, SANDBOX, ORPHAN, UNKNOWN_GROUP)),
    ("group:DWH_GROUP hotfix:no all -R9", (R1,)),
    ("page:5 format:full refresh", (R1, R9_HF1, LAKE, SANDBOX, ORPHAN, UNKNOWN_GROUP)),
    # an id looks up that release whatever its status or deletion
    ("#42", (GONE_CLOSED,)),
    ("30", (R9,)),
    ("#12345", ()),
]


@pytest.mark.parametrize(("text", "expected"), MATCH_CASES)
def test_matches(text: str, expected: tuple[Release, ...]) -> None:
    q = query(text)
    assert tuple(r for r in ALL if q.matches(r, GROUPS)) == expected


def test_api_filters_return_a_superset_of_the_matches() -> None:
    """Each API call, simulated on the sample data, together with the local filter."""
    for text, _ in MATCH_CASES:
        q = query(text)
        if q.release_id is not None:
            continue
        fetched = {r for f in q.api_filters() for r in ALL if _server_side(f, r)}
        assert {r for r in ALL if q.matches(r, GROUPS)} <= fetched, text


def _server_side(f: ApiFilter, release: Release) -> bool:
    return (
        (f.group is None or GROUPS.get(release.group_id or -1, "").lower() == f.group.lower())
        and (f.group_id is None or release.group_id == f.group_id)
        and (f.name is None or release.name.lower() == f.name.lower())
        and (f.closed is None or release.closed == f.closed)
    )


def test_unknown_group_names_match_no_group_pattern() -> None:
    assert not query("group:DWH_GROUP").matches(UNKNOWN_GROUP, GROUPS)
    assert not query("group:99").matches(UNKNOWN_GROUP, {})
    assert not query("group:DWH_GROUP").matches(R1, {})
    assert query("group:DWH_GROUP").matches(R1, {1: "DWH_GROUP"})
    assert query("-group:DWH_GROUP").matches(R1, {})
    assert query("group_id:99").matches(UNKNOWN_GROUP, {})
    assert not query("group:*").matches(ORPHAN, GROUPS)


DESCRIBE_CASES: list[tuple[str, str]] = [
    ("", "open · deleted hidden"),
    ("closed", "closed · deleted hidden"),
    ("all deleted:yes", "open and closed · deleted shown"),
    ("deleted:only", "open · deleted only"),
    (
        'group:DWH_GROUP group:LAKE_GROUP -name:"*-HF*"',
        "open · group DWH_GROUP or LAKE_GROUP · name not *-HF* · deleted hidden",
    ),
    ("group_id:1 group_id:2", "open · group id 1 or 2 · deleted hidden"),
    (
        "-group:A -group:B -group_id:3",
        "open · group not A, not B · group id not 3 · deleted hidden",
    ),
    ('R59 "Release 2022 Q1"', "open · name R59 or Release 2022 Q1 · deleted hidden"),
    ("-R1 -R2", "open · name not R1, not R2 · deleted hidden"),
    ("hotfix:yes", "open · hotfixes only · deleted hidden"),
    ("hotfix:no", "open · no hotfixes · deleted hidden"),
    ("page:3 format:full refresh", "open · deleted hidden"),
    ("#21 format:full", "release #21"),
    ("name:R&amp;D", "open · name R&D · deleted hidden"),
]


@pytest.mark.parametrize(("text", "expected"), DESCRIBE_CASES)
def test_describe(text: str, expected: str) -> None:
    assert query(text).describe() == expected


GLOB_CASES: list[tuple[str, str, bool]] = [
    ("R1", "R1", True),
    ("r1", "R1", True),
    ("R1", "R10", False),
    ("R*", "R10", True),
    ("R*", "R", True),
    ("*", "", True),
    ("?", "", False),
    ("R?", "R1", True),
    ("R?", "R10", False),
    ("*-HF*", "R9-HF2", True),
    ("*-HF*", "R9.HF1", False),
    ("[R]1", "[R]1", True),
    ("[R]1", "R1", False),
    ("R[0-9]", "R1", False),
    ("a*b*c", "aXXbYYc", True),
    ("a*b*c", "aXXbYY", False),
    ("**a", "a", True),
    ("ÄRGER", "ärger", True),
    ("STRASSE", "straße", True),
    ("*a*a*a*a*a*a*a*a*a*a*b", "a" * 200, False),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), GLOB_CASES)
def test_glob_match(pattern: str, text: str, expected: bool) -> None:
    assert glob_match(pattern, text) is expected
