"""The `/releases` grammar, row by row: text -> command, or text -> the error a user sees."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

import pytest

from bot.query import (
    MAX_CHARS,
    MAX_ID,
    MAX_PATTERNS,
    VALID_KEYS,
    Command,
    DigestCommand,
    HelpCommand,
    ListCommand,
    Query,
    QueryError,
    StandupCommand,
    SubscribeCommand,
    SubscriptionsCommand,
    UnsubscribeCommand,
    parse_command,
    quote_value,
)
from bot.schedule import Schedule

Q = Query
WEEKDAYS = frozenset(range(5))

LIST_CASES: list[tuple[str, Query]] = [
    # defaults and status
    ("", Q()),
    ("   ", Q()),
    ("open", Q()),
    ("closed", Q(status="closed")),
    ("all", Q(status="all")),
    ("OPEN", Q()),
    ("Closed", Q(status="closed")),
    ("open closed", Q(status="all")),
    ("closed open", Q(status="all")),
    ("open open", Q()),
    ("all closed", Q(status="all")),
    ("status:open", Q()),
    ("status:closed", Q(status="closed")),
    ("status=all", Q(status="all")),
    ("STATUS:Closed", Q(status="closed")),
    ("status:open closed:true", Q(status="all")),
    ("status:closed closed:yes", Q(status="closed")),
    ("closed:true", Q(status="closed")),
    ("closed:TRUE", Q(status="closed")),
    ("closed:yes", Q(status="closed")),
    ("closed:1", Q(status="closed")),
    ("closed:false", Q(status="open")),
    ("closed:No", Q(status="open")),
    ("closed:0", Q(status="open")),
    ("closed:true closed:false", Q(status="all")),
    # groups
    ("group:DWH_GROUP", Q(groups=("DWH_GROUP",))),
    ("group=DWH_GROUP", Q(groups=("DWH_GROUP",))),
    ("GROUP:DWH_GROUP", Q(groups=("DWH_GROUP",))),
    ("group:DWH_GROUP open", Q(groups=("DWH_GROUP",))),
    ("group:A group:B", Q(groups=("A", "B"))),
    ("group:B group:A", Q(groups=("B", "A"))),
    ("group:A group:a", Q(groups=("A",))),
    ("group:DWH*", Q(groups=("DWH*",))),
    ('group:"Data Lake"', Q(groups=("Data Lake",))),
    ("-group:SANDBOX", Q(exclude_groups=("SANDBOX",))),
    ("group:A -group:B", Q(groups=("A",), exclude_groups=("B",))),
    ("group_id:3", Q(group_ids=(3,))),
    ("group-id:3", Q(group_ids=(3,))),
    ("groupid:3", Q(group_ids=(3,))),
    ("group_id:#3", Q(group_ids=(3,))),
    ("group_id:3 group_id:4 group_id:3", Q(group_ids=(3, 4))),
    ("-group_id:7", Q(exclude_group_ids=(7,))),
    ("group_id:007", Q(group_ids=(7,))),
    # names
    ("R59", Q(names=("R59",))),
    ("R9.HF1", Q(names=("R9.HF1",))),
    ("2023.Q1", Q(names=("2023.Q1",))),
    ("R.COS4.3", Q(names=("R.COS4.3",))),
    ("HF-July-01", Q(names=("HF-July-01",))),
    ("READY_FOR_QA", Q(names=("READY_FOR_QA",))),
    ("R59 group:DWH_GROUP", Q(names=("R59",), groups=("DWH_GROUP",))),
    ("R59 R60", Q(names=("R59", "R60"))),
    ("name:R1", Q(names=("R1",))),
    ("Name=R1", Q(names=("R1",))),
    ("name:R1 name:r1", Q(names=("R1",))),
    ('name:"Release 2022 Q1"', Q(names=("Release 2022 Q1",))),
    ("name:“Release 2022 Q1”", Q(names=("Release 2022 Q1",))),
    ("name:”Release 2022 Q1”", Q(names=("Release 2022 Q1",))),
    ("name:‘Release 2022 Q1’", Q(names=("Release 2022 Q1",))),
    ("name:'Release 2022 Q1'", Q(names=("Release 2022 Q1",))),
    ('name:"  padded  "', Q(names=("padded",))),
    ('"Release 2022 Q1"', Q(names=("Release 2022 Q1",))),
    ("“Release 2022 Q1” closed", Q(names=("Release 2022 Q1",), status="closed")),
    ('name:"say \\"hi\\""', Q(names=('say "hi"',))),
    ('name:"back\\\\slash"', Q(names=("back\\slash",))),
    ("name:O'Brien", Q(names=("O'Brien",))),
    ("name:R9:x", Q(names=("R9:x",))),
    ("name:a=b", Q(names=("a=b",))),
    ("name:-x", Q(names=("-x",))),
    ('name:"open"', Q(names=("open",))),
    ('"open"', Q(names=("open",))),
    ('"21"', Q(names=("21",))),
    ("name:21", Q(names=("21",))),
    ("name:*-HF*", Q(names=("*-HF*",))),
    ("R5?", Q(names=("R5?",))),
    ("name:[x]", Q(names=("[x]",))),
    ('-name:"*-HF*"', Q(exclude_names=("*-HF*",))),
    ("-R59", Q(exclude_names=("R59",))),
    ('-"Release 1"', Q(exclude_names=("Release 1",))),
    ("release R59", Q(names=("R59",))),
    ("release", Q(names=("release",))),
    # Slack sends &, <, > as entities, and links as markup
    ("name:R&amp;D", Q(names=("R&D",))),
    ('name:"R &amp; D"', Q(names=("R & D",))),
    ("name:a&lt;b&gt;", Q(names=("a<b>",))),
    ("name:&amp;amp;", Q(names=("&amp;",))),
    ("<http://R.COS4.3|R.COS4.3>", Q(names=("R.COS4.3",))),
    ("name:<http://R.COS4.3|R.COS4.3>", Q(names=("R.COS4.3",))),
    ("\u00a0group:X\u00a0open\u00a0", Q(groups=("X",))),
    ("group:X\n\tclosed", Q(groups=("X",), status="closed")),
    # ids
    ("21", Q(release_id=21)),
    ("#21", Q(release_id=21)),
    ("id:21", Q(release_id=21)),
    ("id:#21", Q(release_id=21)),
    ("release 21", Q(release_id=21)),
    ("Release #21", Q(release_id=21)),
    ("releases 21", Q(release_id=21)),
    ("21 #21", Q(release_id=21)),
    ("0021", Q(release_id=21)),
    ("0", Q(release_id=0)),
    (str(MAX_ID), Q(release_id=MAX_ID)),
    ("21 format:full", Q(release_id=21, format="full")),
    ("#21 refresh", Q(release_id=21, refresh=True)),
    # hotfix, deleted
    ("hotfix:yes", Q(hotfix=True)),
    ("hotfix:TRUE", Q(hotfix=True)),
    ("hotfix:no", Q(hotfix=False)),
    ("hotfix:false", Q(hotfix=False)),
    ("hotfix:yes hotfix:no", Q(hotfix=None)),
    ("hotfix:yes hotfix:yes", Q(hotfix=True)),
    ("deleted:no", Q()),
    ("deleted:yes", Q(deleted="yes")),
    ("deleted:true", Q(deleted="yes")),
    ("deleted:only", Q(deleted="only")),
    ("deleted:ONLY", Q(deleted="only")),
    ("deleted:only deleted:no", Q(deleted="yes")),
    ("deleted:only deleted:only", Q(deleted="only")),
    ("deleted:yes deleted:no", Q(deleted="yes")),
    # paging, format, refresh
    ("page:2", Q(page=2)),
    ("page=02", Q(page=2)),
    ("page:2 page:2", Q(page=2)),
    ("page:1", Q()),
    ("format:full", Q(format="full")),
    ("format:FULL", Q(format="full")),
    ("format:compact", Q()),
    ("refresh", Q(refresh=True)),
    ("REFRESH", Q(refresh=True)),
    ("refresh:yes", Q(refresh=True)),
    ("refresh:no", Q()),
    ("refresh:no refresh", Q(refresh=True)),
    # everything at once
    (
        'closed group:DWH_GROUP group:LAKE -name:"*-HF*" hotfix:no deleted:yes page:3 '
        "format:full refresh",
        Q(
            status="closed",
            groups=("DWH_GROUP", "LAKE"),
            exclude_names=("*-HF*",),
            hotfix=False,
            deleted="yes",
            page=3,
            format="full",
            refresh=True,
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), LIST_CASES)
def test_list_queries(text: str, expected: Query) -> None:
    command = parse_command(text)
    assert isinstance(command, ListCommand)
    if command.by_name:  # names alone search every status (tests/test_query_words.py)
        assert expected.names, text
        assert expected.status == "open", text
        expected = replace(expected, status="all")
    assert command.query == expected


OTHER_CASES: list[tuple[str, Command]] = [
    ("help", HelpCommand()),
    ("HELP", HelpCommand()),
    ("help filters", HelpCommand("filters")),
    ("help Digest", HelpCommand("digest")),
    ("?", HelpCommand()),
    ("-h", HelpCommand()),
    ("--help", HelpCommand()),
    ("standup", StandupCommand(Q())),
    ("Standup group:DWH_GROUP", StandupCommand(Q(groups=("DWH_GROUP",)))),
    ("subscribe", SubscribeCommand(Q())),
    ("subscribe group:X closed", SubscribeCommand(Q(groups=("X",), status="closed"))),
    (
        "subscribe group:X mention:<!subteam^S123|@dwh-team>",
        SubscribeCommand(Q(groups=("X",)), "<!subteam^S123|@dwh-team>"),
    ),
    ("subscribe mention:<!subteam^S123>", SubscribeCommand(Q(), "<!subteam^S123>")),
    ("subscribe mention:<@U123|alice>", SubscribeCommand(Q(), "<@U123|alice>")),
    ("subscribe mention:<@U123>", SubscribeCommand(Q(), "<@U123>")),
    ("subscribe mention:<@U123|Alice Smith>", SubscribeCommand(Q(), "<@U123|Alice Smith>")),
    ("subscribe mention:@dwh-team", SubscribeCommand(Q(), "@dwh-team")),
    ("subscribe mention:dwh-team", SubscribeCommand(Q(), "@dwh-team")),
    ("subscribe @dwh-team group:X", SubscribeCommand(Q(groups=("X",)), "@dwh-team")),
    ("subscribe <!subteam^S1|@ops> open", SubscribeCommand(Q(), "<!subteam^S1|@ops>")),
    ("subscribe mention:@a mention:@a", SubscribeCommand(Q(), "@a")),
    (
        "digest weekdays 09:00",
        DigestCommand(Schedule(WEEKDAYS, time(9, 0)), None, Q()),
    ),
    (
        "digest weekdays 09:00 tz:Europe/Berlin group:DWH_GROUP",
        DigestCommand(Schedule(WEEKDAYS, time(9, 0)), "Europe/Berlin", Q(groups=("DWH_GROUP",))),
    ),
    (
        "DIGEST daily 18:30 tz:europe/berlin",
        DigestCommand(Schedule(frozenset(range(7)), time(18, 30)), "Europe/Berlin", Q()),
    ),
    (
        "digest mon,thu 9:30 closed",
        DigestCommand(Schedule(frozenset({0, 3}), time(9, 30)), None, Q(status="closed")),
    ),
    (
        "digest mon, thu at 9:30",
        DigestCommand(Schedule(frozenset({0, 3}), time(9, 30)), None, Q()),
    ),
    (
        "digest 09:00 weekdays timezone:UTC",
        DigestCommand(Schedule(WEEKDAYS, time(9, 0)), "UTC", Q()),
    ),
    (
        "digest mon-fri 08:15 R59",
        DigestCommand(Schedule(WEEKDAYS, time(8, 15)), None, Q(names=("R59",))),
    ),
    ("subscriptions", SubscriptionsCommand()),
    ("Subscriptions", SubscriptionsCommand()),
    ("unsubscribe 3", UnsubscribeCommand(ids=(3,))),
    ("unsubscribe #3", UnsubscribeCommand(ids=(3,))),
    ("unsubscribe 3,4", UnsubscribeCommand(ids=(3, 4))),
    ("unsubscribe 3, 4 5 3", UnsubscribeCommand(ids=(3, 4, 5))),
    ("unsubscribe all", UnsubscribeCommand(all=True)),
    ("unsubscribe ALL", UnsubscribeCommand(all=True)),
]


@pytest.mark.parametrize(("text", "expected"), OTHER_CASES)
def test_other_commands(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


ERROR_CASES: list[tuple[str, str]] = [
    # unknown keys list the valid ones and suggest the closest
    ("grp:DWH", "Did you mean `group`?"),
    ("grp:DWH", "Valid keys: `group`, `group_id`, `name`"),
    ("stauts:open", "Did you mean `status`?"),
    ("nmae:R1", "Did you mean `name`?"),
    ("colour:red", "I don't know the filter `colour:`"),
    ("R9:x", '`name:"R9:x"`'),
    # bad values name the key and what it accepts
    ("status:pending", "`status` takes `open`, `closed` or `all`"),
    ("closed:maybe", "`closed` takes `true`/`false`"),
    ("hotfix:sometimes", "`hotfix` takes `yes`"),
    ("deleted:whatever", "`deleted` takes `no`"),
    ("format:wide", "`format` takes `compact` or `full`"),
    ("refresh:please", "`refresh` takes"),
    ("group_id:DWH", "a group id is a whole number"),
    ("group_id:-3", "a group id is a whole number"),
    ("id:abc", "a release id is a whole number"),
    # page
    ("page:0", "page starts at 1"),
    ("page:-1", "whole number from 1"),
    ("page:two", "whole number from 1"),
    ("page:1.5", "whole number from 1"),
    ("page:99999999999", "too large"),
    ("page:2 page:3", "`page` is given twice"),
    ("format:full format:compact", "`format` is given twice"),
    # ids
    ("99999999999", "too large (at most 2147483647)"),
    (str(MAX_ID + 1), "too large"),
    ("#" + "9" * 40, "too large"),
    ("group_id:2147483648", "too large"),
    ("21 22", "one release at a time"),
    ("21 group:X", "`group` does not apply"),
    ("21 closed", "does not apply"),
    ("#21 page:2", "`page` does not apply"),
    ("#abc", "`#abc` is not a release id"),
    ("#", "is not a release id"),
    ("-21", "cannot exclude a release id"),
    # quotes and empty values
    ('name:"Release 2022', "is never closed"),
    ("name:“Release 2022", "is never closed"),
    ('"', "is never closed"),
    ('name:"abc\\"', "is never closed"),
    ("name:", "has no value"),
    ("group=", "has no value"),
    ('name:""', "has no value"),
    ('name:"   "', "has no value"),
    ('""', "is empty"),
    ("-", "A lone `-`"),
    # minus on keywords
    ("-open", "`-` only excludes"),
    ("-all", "`-` only excludes"),
    ("-refresh", "`-` only excludes"),
    ("-status:open", "`-` only excludes"),
    ("-hotfix:yes", "`-` only excludes"),
    ("-page:2", "`-` only excludes"),
    # mentions, channels and command-specific keys
    ("<#C123|general>", "`#general` is a mention or channel"),
    ("<@U123>", "is a mention or channel"),
    ("<!here>", "is a mention or channel"),
    ("group:<#C123|general>", "not a mention or channel"),
    ("mention:@team", "only works with `subscribe`"),
    ("tz:Europe/Berlin", "only works with `digest`"),
    ("subscribe mention:@a mention:@b", "`mention:` is given twice"),
    ("subscribe mention:<#C1|general>", "`mention` takes a user group or a user"),
    ("subscribe mention:<!here>", "`mention` takes a user group or a user"),
    ("subscribe mention:<@U123|" + "a" * 121 + ">", "`mention` takes a user group or a user"),
    ("subscribe tz:UTC", "only works with `digest`"),
    # digest
    ("digest", "needs days and a time"),
    ("digest daily", "needs a time"),
    ("digest 09:00", "needs days"),
    ("digest fortnightly 09:00", "`fortnightly` is not a day list"),
    ("digest weekdays 25:00", "is not a time of day"),
    ("digest weekdays 09:00 tz:Mars/Olympus", "is not a time zone"),
    ("digest weekdays 09:00 tz:../../etc/passwd", "is not a time zone"),
    ("digest weekdays 09:00 tz:UTC tz:Europe/Berlin", "`tz:` is given twice"),
    ("digest weekdays 09:00 grp:x", "Did you mean `group`?"),
    # subscriptions, unsubscribe
    ("subscriptions all", "takes nothing after it"),
    ("unsubscribe", "Which subscription?"),
    ("unsubscribe abc", "`abc` is not a subscription id"),
    ("unsubscribe 3 all", "give it alone"),
    ("unsubscribe 99999999999", "too large"),
    ("unsubscribe ,", "Which subscription?"),
    # size caps
    ("x" * (MAX_CHARS + 1), "I read at most 2000"),
    (" ".join(["R1"] * 51), "more than 50 words"),
    (" ".join(f"name:*{'?' * 22}Z{i}" for i in range(47)), "Too many patterns"),
    (" ".join(f"-group:G{i}*" for i in range(MAX_PATTERNS + 1)), f"at most {MAX_PATTERNS}"),
]


@pytest.mark.parametrize(("text", "fragment"), ERROR_CASES)
def test_errors(text: str, fragment: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_command(text)
    assert fragment in caught.value.message
    assert str(caught.value) == caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        "grp:<!channel>",
        'name:"<!channel> &lt;!here&gt;',
        "page:<@U1>",
        "status:&lt;!channel&gt;",
        "digest <!channel> 09:00",
        "unsubscribe <!here>",
        "21 22 group:<!everyone>",
    ],
)
def test_errors_never_echo_live_markup(text: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_command(text)
    message = caught.value.message
    assert "<!" not in message
    assert "<@" not in message


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("page:&lt;2&gt;", "`page:&lt;2&gt;`"),  # typed `page:<2>`
        ("hotfix:R&amp;D", "`hotfix:R&amp;D`"),  # typed `hotfix:R&D`
        ('"R&amp;D', '`"R&amp;D`'),
    ],
)
def test_errors_echo_what_was_typed_escaped_once(text: str, shown: str) -> None:
    """Slack sends `&`, `<`, `>` as entities; the echo shows the typed characters again."""
    with pytest.raises(QueryError) as caught:
        parse_command(text)
    assert shown in caught.value.message
    assert "&amp;amp;" not in caught.value.message
    assert "&amp;lt;" not in caught.value.message


def test_help_topic_is_read_as_typed() -> None:
    assert parse_command("help R&amp;D") == HelpCommand("r&d")


def test_echoed_backticks_cannot_break_out_of_code() -> None:
    with pytest.raises(QueryError) as caught:
        parse_command("status:`*bold*`")
    assert caught.value.message.count("`") % 2 == 0


def test_error_keeps_the_offending_token() -> None:
    with pytest.raises(QueryError) as caught:
        parse_command("open grp:DWH closed")
    assert caught.value.token == "grp:DWH"


def test_echo_of_long_input_is_shortened() -> None:
    with pytest.raises(QueryError) as caught:
        parse_command("status:" + "x" * 500)
    assert len(caught.value.message) < 300


def test_valid_keys_describe_every_key() -> None:
    assert set(VALID_KEYS) >= {
        "group", "group_id", "name", "status", "closed", "hotfix", "deleted", "page",
        "format", "refresh", "mention", "tz",
    }  # fmt: skip
    assert all(description.strip() for description in VALID_KEYS.values())


def test_query_is_hashable_and_frozen() -> None:
    query = Q(groups=("A",))
    assert hash(query) == hash(Q(groups=("A",)))
    with pytest.raises(AttributeError):
        query.page = 2  # type: ignore[misc]


def test_with_page_and_helpers() -> None:
    query = Q(groups=("A",), page=1)
    assert query.with_page(3) == Q(groups=("A",), page=3)
    assert Q(page=4, format="full", refresh=True).is_default
    assert not Q(status="all").is_default
    assert Q(release_id=5).is_lookup
    assert not Q().is_lookup


QUOTE_CASES: list[tuple[str, str]] = [
    ("R59", "R59"),
    ("2023.Q1", "2023.Q1"),
    ("*-HF*", "*-HF*"),
    ("R9:x", "R9:x"),
    ("Release 2022 Q1", '"Release 2022 Q1"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("it's", '"it\\\'s"'),
    ("a\\b", '"a\\\\b"'),
    ("R&D", '"R&D"'),
    ("&amp;", '"\\&amp;"'),
    ("a<b>", '"a<b>"'),
    ("“x”", '"\\“x\\”"'),
    ("", '""'),
]


@pytest.mark.parametrize(("value", "expected"), QUOTE_CASES)
def test_quote_value(value: str, expected: str) -> None:
    assert quote_value(value) == expected
    if value:
        assert parse_command(f"name:{expected}") == ListCommand(
            Q(names=(value,), status="all"), by_name=True
        )


ROUND_TRIP: list[Query] = [
    Q(),
    Q(status="closed"),
    Q(status="all"),
    Q(release_id=21),
    Q(release_id=0, format="full", refresh=True),
    Q(release_id=MAX_ID),
    Q(groups=("DWH_GROUP", "LAKE_GROUP"), exclude_names=("*-HF*",)),
    Q(groups=("Data Lake",), group_ids=(1, 2), exclude_group_ids=(3,)),
    Q(names=("Release 2022 Q1", "R9.HF1"), exclude_groups=("SAND BOX",)),
    Q(names=('quote " inside',), exclude_names=("back\\slash", "it's")),
    Q(names=("R&D", "&amp;", "&lt;b&gt;", "<!channel>", "a<b", "x>y")),
    Q(names=("“smart”", "‘single’", "„low“")),
    Q(names=("name:colon", "key=value", "-dash", "#hash", "21", "open", "refresh", "help")),
    Q(names=("tab\there", "new\nline", "nbsp\u00a0in")),
    Q(names=("Ünïcödé", "日本語", "emoji 🚀", "ß")),
    Q(hotfix=True, deleted="only", page=7, format="full", refresh=True),
    Q(hotfix=False, deleted="yes"),
    Q(status="all", page=MAX_ID),
    Q(groups=("[x]",), names=("R?",)),
]


@pytest.mark.parametrize("query", ROUND_TRIP)
def test_round_trip(query: Query) -> None:
    text = query.to_text()
    assert parse_command(text) == ListCommand(query)
    assert query.to_text() == text  # deterministic


@pytest.mark.parametrize("query", ROUND_TRIP)
def test_round_trip_through_subcommands(query: Query) -> None:
    if query.release_id is not None:
        return
    text = query.to_text()
    assert parse_command(f"standup {text}") == StandupCommand(query)
    assert parse_command(f"subscribe {text} mention:<@U1>") == SubscribeCommand(query, "<@U1>")
    digest = parse_command(f"digest weekdays 09:00 {text}")
    assert isinstance(digest, DigestCommand)
    assert digest.query == query


def test_to_text_examples() -> None:
    assert Q().to_text() == "open"
    assert Q(release_id=21).to_text() == "#21"
    assert (
        Q(status="closed", groups=("DWH_GROUP",), exclude_names=("*-HF*",), page=2).to_text()
        == "closed group:DWH_GROUP -name:*-HF* page:2"
    )
    assert Q(names=("Release 2022 Q1",)).to_text() == 'open name:"Release 2022 Q1"'


def test_to_text_is_canonical_for_equivalent_inputs() -> None:
    texts = ["closed group=X", "group:X status:closed", "GROUP:X closed:true", "closed:yes group:X"]
    canonical = {
        command.query.to_text()
        for command in map(parse_command, texts)
        if isinstance(command, ListCommand)
    }
    assert canonical == {"closed group:X"}


def test_patterns_up_to_the_limit_are_fine_and_exact_names_do_not_count() -> None:
    globs = [f"name:R{i}*" for i in range(MAX_PATTERNS - 1)] + ["-group:T?ST"]
    exact = [f"R{i}" for i in range(25)]
    command = parse_command(" ".join(globs + exact))
    assert isinstance(command, ListCommand)
    assert len(command.query.names) == MAX_PATTERNS - 1 + 25
    # The same pattern twice (in any case) is one pattern.
    again = parse_command(" ".join([*globs, "name:r0*", "NAME:R1*"]))
    assert isinstance(again, ListCommand)


def test_the_pattern_limit_names_itself_and_a_way_out() -> None:
    with pytest.raises(QueryError) as caught:
        parse_command(" ".join(f"name:*R{i}" for i in range(MAX_PATTERNS + 1)))
    message = caught.value.message
    assert f"at most {MAX_PATTERNS}" in message
    assert "`*` or `?`" in message
    assert caught.value.token == f"name:*R{MAX_PATTERNS}"
