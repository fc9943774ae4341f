"""The lenient scan behind the "Find releases in this message" shortcut."""

from __future__ import annotations

import pytest

from bot.query import MAX_PATTERNS, MessageScan, Query, scan_message

KNOWN = (
    "R59",
    "R9",
    "R9.HF1",
    "2023.Q1",
    "Release 2022 Q1",
    "HF-July-01",
    "R.COS4.3",
    "READY_FOR_QA",
)

S = MessageScan
Q = Query

SCAN_CASES: list[tuple[str, MessageScan]] = [
    ("", S()),
    ("nothing to see here", S()),
    # ids
    ("Can someone check #21?", S(release_ids=(21,))),
    ("release 21 is late", S(release_ids=(21,))),
    ("Release #21 is late", S(release_ids=(21,))),
    ("RELEASE 21.", S(release_ids=(21,))),
    ("release id 21", S(release_ids=(21,))),
    ("releases 21 and 22", S(release_ids=(21, 22))),
    ("Releases 21, 22 & 23 are late", S(release_ids=(21, 22, 23))),
    ("releases #21, #22 or #23", S(release_ids=(21, 22, 23))),
    ("releases 21 &amp; 22", S(release_ids=(21, 22))),
    ("#22 then #21 then #22 again, and release 21", S(release_ids=(22, 21))),
    ("(#21)", S(release_ids=(21,))),
    ("#21st birthday", S()),
    ("release 2023.Q1 is out", S(names=("2023.Q1",))),
    ("release 2.1 is out", S()),
    ("meet at 09:00 or 9:30 in room 21", S()),
    ("release at 10:30", S()),
    ("issue #1234567890123 is too big", S()),
    ("#99999999999", S()),
    ("abc#21 x#21", S()),
    ("&#21; entity", S()),
    # Slack markup and URLs are not ids
    ("see <#C123|general> and <@U1> and <!subteam^S1|@team>", S()),
    ("<#C02|21>", S()),
    ("link <https://x.example/releases/#21|release 21> there", S()),
    ("http://example.com/#45 and www.example.com/#46", S()),
    ("```#99 release 5```", S()),
    ("<@U123> please look at #7", S(release_ids=(7,))),
    ("<mailto:qa@example.com|release 21 team> <@U1|R59>", S()),
    ("<!subteam^S1|@release 21>", S()),
    ("typed &lt;#12&gt; by hand", S(release_ids=(12,))),
    # filter tokens
    ("group:DWH_GROUP please", S(query=Q(status="all", groups=("DWH_GROUP",)))),
    ("look at group:DWH_GROUP.", S(query=Q(status="all", groups=("DWH_GROUP",)))),
    (
        'group:DWH_GROUP and -name:"*-HF*" pls',
        S(query=Q(status="all", groups=("DWH_GROUP",), exclude_names=("*-HF*",))),
    ),
    (
        "name:“Release 2022 Q1”",
        S(query=Q(status="all", names=("Release 2022 Q1",)), names=("Release 2022 Q1",)),
    ),
    (
        'name:"release 21" group_id:5',
        S(query=Q(status="all", names=("release 21",), group_ids=(5,))),
    ),
    ("status:open group=X", S(query=Q(groups=("X",)))),
    ("(closed:yes, hotfix:no)", S(query=Q(status="closed", hotfix=False))),
    ("grp:x status:bogus closed:yes", S(query=Q(status="closed"))),
    ("page:2 format:full refresh:yes", S()),
    ("Meeting: tomorrow, note:foo", S()),
    ("https://x.example/?group:A", S()),
    ("<https://x.example/?group:A|group:A>", S()),
    ("group:R&amp;D", S(query=Q(status="all", groups=("R&D",)))),
    # known names as whole words, case-insensitive, canonical spelling
    ("R9.HF1 is out, R9 next. r59!", S(names=("R9.HF1", "R9", "R59"))),
    ("XR59 R590 R59x R9-2 R9.HF10 are not known", S()),
    ("We ship release 2022 q1 today", S(names=("Release 2022 Q1",))),
    ("HF-July-01, READY_FOR_QA; R.COS4.3", S(names=("HF-July-01", "READY_FOR_QA", "R.COS4.3"))),
    ("July-01 alone", S()),
    ("<https://x/R59|R59> only in a link", S()),
    (
        "Release #21 (R59) and group:DWH_GROUP",
        S(release_ids=(21,), query=Q(status="all", groups=("DWH_GROUP",)), names=("R59",)),
    ),
]


@pytest.mark.parametrize(("text", "expected"), SCAN_CASES)
def test_scan_message(text: str, expected: MessageScan) -> None:
    assert scan_message(text, KNOWN) == expected


def test_found_anything() -> None:
    assert not S().found_anything
    assert S(release_ids=(1,)).found_anything
    assert S(names=("R1",)).found_anything
    assert S(query=Q()).found_anything


def test_known_names_are_cleaned_and_may_be_empty() -> None:
    assert scan_message("R1 r1", []) == S()
    assert scan_message("R1 and R2", ["", "  ", " R1 ", "r1"]) == S(names=("R1",))
    assert scan_message("R(1) a+b", ["R(1)", "a+b", "*"]) == S(names=("R(1)", "a+b"))


def test_long_messages_and_many_names_are_fine() -> None:
    names = [f"R{i}" for i in range(3000)]
    text = "blah " * 5000 + "R2999 #5"
    scan = scan_message(text, names)
    assert scan.names == ("R2999",)
    assert scan.release_ids == (5,)


def test_a_message_full_of_patterns_yields_at_most_the_pattern_limit() -> None:
    text = " ".join(f"name:*{'?' * 22}Z{i}" for i in range(300))
    scan = scan_message(text, [])
    assert scan.query is not None
    assert len(scan.query.names) == MAX_PATTERNS
    assert scan.query.names[0] == f"*{'?' * 22}Z0"
