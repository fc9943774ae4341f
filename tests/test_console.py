"""The console: the bot's own answers as text, buttons pressed by number, demo data changes."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import Settings
from bot.console import Console
from bot.wiring import Services, build_answers, build_services


@dataclass
class ConsoleRun:
    console: Console
    out: io.StringIO
    services: Services

    def say(self, line: str) -> str:
        """Type one line; returns what the console printed for it."""
        start = len(self.out.getvalue())
        assert self.console.handle(line)
        return self.out.getvalue()[start:]


@pytest.fixture
def run(tmp_path: object) -> Iterator[ConsoleRun]:
    services = build_services(Settings(), demo=True)
    try:
        out = io.StringIO()
        console = Console(
            build_answers(services), out, demo=services.demo, on_demo_change=services.cache.clear
        )
        yield ConsoleRun(console, out, services)
    finally:
        services.close()


def numbered(text: str) -> dict[str, int]:
    """Button labels shown as `[n] Label` -> n (the first of each label)."""
    found: dict[str, int] = {}
    for number, label in re.findall(r"\[(\d+)\] ([^\[\n]+?)(?=\s{2,}|\s*\[|\s*$)", text, re.M):
        found.setdefault(label.strip(), int(number))
    return found


def test_a_list_with_numbered_buttons(run: ConsoleRun) -> None:
    text = run.say("/releases")
    assert "(only you can see this)" in text
    assert "Open releases" in text
    assert "R60" in text
    buttons = numbered(text)
    assert "Details" in buttons
    assert "Next ›" in buttons
    assert "Share in channel" in buttons


def test_pressing_a_button_by_number(run: ConsoleRun) -> None:
    listing = run.say("/releases group:DWH_GROUP open")
    first_details = numbered(listing)["Details"]
    text = run.say(f"[{first_details}]")
    assert f"(pressed [{first_details}] Details)" in text
    assert "Status" in text  # a detail view

    nxt = run.say("/releases all")
    page_two = run.say(f"press {numbered(nxt)['Next ›']}")
    assert "(replaces the message above)" in page_two
    assert "page 2 of" in page_two


def test_pressing_a_button_that_is_not_there(run: ConsoleRun) -> None:
    assert "There is no button [1]" in run.say("[1]")
    run.say("/releases help")
    assert "There is no button [99]" in run.say("[99]")


def test_json_of_the_last_answer(run: ConsoleRun) -> None:
    assert "No answer yet." in run.say(":json")
    run.say("/releases #59")
    data = json.loads(run.say(":json"))
    assert data["text"].startswith("Release R59")
    assert data["blocks"]
    # The description's mention stays escaped in the Block Kit JSON.
    dumped = json.dumps(data)
    assert "&lt;!channel&gt;" in dumped
    assert "<!channel>" not in dumped


def test_close_changes_the_demo_data_and_the_next_answer(run: ConsoleRun) -> None:
    assert "R60" not in run.say("/releases closed")  # cached from here on, for the TTL...
    assert "(demo data: R60 #60 is now closed)" in run.say(":close R60")
    # ...so a fresh look needs `refresh`, as it would in Slack.
    closed = run.say("/releases closed refresh")
    assert "*R60*" in closed
    # Not listed among the open ones (R61 may still name it: "after R60").
    assert "*R60*" not in run.say("/releases open refresh")


def test_close_then_a_first_look_at_closed_releases(run: ConsoleRun) -> None:
    assert "now closed" in run.say(":close R60")
    assert "R60" in run.say("/releases closed")


def test_unknown_meta_command_and_bad_demo_changes(run: ConsoleRun) -> None:
    assert "Unknown console command :frobnicate; type :help." in run.say(":frobnicate")
    assert "Could not change the demo data" in run.say(":close R9999")
    assert "Usage" in run.say(":close")
    assert "Only /releases is known here" in run.say("/deploy now")


def test_find_recognises_names_whatever_was_asked_before(run: ConsoleRun) -> None:
    run.say("/releases R60")  # the cache now holds a list with R60 alone
    text = run.say(":find can someone check #21 and R59?")
    assert "Releases in this message · 2" in text
    assert "R1" in text
    assert "R59" in text


def test_find_with_nothing_offers_the_search(run: ConsoleRun) -> None:
    text = run.say(":find lunch anyone?")
    assert "I found no releases in this message." in text
    assert "Open search" in numbered(text)
    # A modal cannot open in a terminal; without a terminal the search is cancelled.
    assert "(search cancelled)" in run.say(f"[{numbered(text)['Open search']}]")


def test_quit(run: ConsoleRun) -> None:
    assert run.console.handle(":quit") is False
    assert run.console.handle("  ") is True


def test_a_demo_change_shows_at_once_not_after_the_cache_expires(run: ConsoleRun) -> None:
    assert "*R60*" not in run.say("/releases closed group:DWH_GROUP")
    run.say(":close R60")
    assert "*R60*" in run.say("/releases closed group:DWH_GROUP")
    assert "Status*: Closed" in run.say("/releases closed name:R60")  # one match: its card


def test_the_demo_database_is_removed_afterwards(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile
    from pathlib import Path

    from bot.console import ask

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out = io.StringIO()
    assert ask(Settings(), "/releases help", out=out) == 0
    assert "/releases" in out.getvalue()
    assert list(Path(str(tmp_path)).iterdir()) == []


def test_home_shows_the_home_tab_and_refresh_works(run: ConsoleRun) -> None:
    text = run.say(":home")
    assert "(App Home)" in text
    assert "Open releases by group" in text
    assert "DWH_GROUP" in text
    assert "R60" in text
    refresh = numbered(text)["Refresh"]
    run.say(":close R60")
    again = run.say(f"[{refresh}]")
    assert "(App Home)" in again
    assert "*R60*" not in again  # no longer listed (R61 still names it: "after R60")


def test_step_runs_the_workflow_step(run: ConsoleRun) -> None:
    text = run.say(":step group:DWH_GROUP open")
    assert "(step completed)" in text
    count = int(re.search(r"count: (\d+)", text).group(1))  # type: ignore[union-attr]
    ids = re.search(r"release_ids: ([\d,]+)", text).group(1)  # type: ignore[union-attr]
    assert count == len(ids.split(",")) > 0
    assert "DWH_GROUP" in text
    failed = run.say(":step group:NO_SUCH_GROUP")
    assert "(step failed)" in failed
    assert "NO_SUCH_GROUP" in failed


def test_a_typo_in_the_slash_command_suggests_the_command(run: ConsoleRun) -> None:
    text = run.say("/releasse open")
    assert "Did you mean `/releases open`?" in text
    assert "releasse open`" not in text


def test_another_slash_command_is_not_ours(run: ConsoleRun) -> None:
    text = run.say("/deploy now")
    assert "`/deploy` is not a command of this app." in text
    assert "No release named" not in text
    # `/releasesopen` is no way to spell `/releases open` either.
    assert "Did you mean `/releases open`?" in run.say("/releasesopen")


def test_a_bare_number_looks_up_that_release_as_in_slack(run: ConsoleRun) -> None:
    run.say("/releases")  # an answer with buttons: a number must still not press one
    text = run.say("21")
    assert "(pressed" not in text
    assert "R1" in text.split("\n")[1]  # release #21's card
    assert "Status" in text


def test_the_help_says_how_to_press_a_button(run: ConsoleRun) -> None:
    text = run.say(":help")
    assert "[3]" in text
    assert "press 3" in text


def test_press_without_a_number_says_how(run: ConsoleRun) -> None:
    assert "press 3" in run.say("press")


def test_bold_is_bold_on_a_terminal(run: ConsoleRun) -> None:
    ansi = Console(build_answers(run.services), run.out, ansi=True)
    start = len(run.out.getvalue())
    ansi.handle("/releases group:DWH_GROUP")
    text = run.out.getvalue()[start:]
    assert "\x1b[1mR59\x1b[0m" in text
    assert "*R59*" not in text


def test_following_names_each_release_once(tmp_path: Path) -> None:
    from bot.wiring import build_subscriptions

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'bot.db'}")
    services = build_services(settings, demo=True)
    try:
        out = io.StringIO()
        answers = build_answers(services, build_subscriptions(services, None))
        follower = ConsoleRun(Console(answers, out), out, services)
        assert "You follow" in follower.say("/releases follow 59")
        listed = follower.say("/releases following")
    finally:
        services.close()
    row = next(line for line in listed.splitlines() if "R59" in line)
    assert row.count("#59") == 1


def test_the_search_form_the_console_asks_for_is_titled_search_releases(
    run: ConsoleRun,
) -> None:
    offer = run.say(":find lunch anyone?")
    asked = run.say(f"[{numbered(offer)['Open search']}]")
    assert "Search releases. Filters, a release name or #id" in asked


def test_the_search_form_answers_as_the_slack_form_does(tmp_path: object) -> None:
    """The form's field errors, then the results view, whose buttons press like any other."""
    services = build_services(Settings(), demo=True)
    typed = iter(["group:", "name:R60", "group:DWH_GROUP"])
    try:
        out = io.StringIO()
        run = ConsoleRun(
            Console(build_answers(services), out, read_line=lambda: next(typed)), out, services
        )
        offer = run.say(":find lunch anyone?")
        button = f"[{numbered(offer)['Open search']}]"
        refused = run.say(button)
        assert "(the form stays open)" in refused
        assert "group" in refused.split("(the form stays open)")[1]
        found = run.say(button)
        assert "(search results, only you can see this)" in found
        assert "R60" in found
        assert "New search" in numbered(found)
        listed = run.say(f"[{numbered(found)['New search']}]")
        assert "(search results, only you can see this)" in listed
        pages = numbered(listed)
        assert "Details" in pages
        detail = run.say(f"[{pages['Details']}]")
        assert "(search results, only you can see this)" in detail
    finally:
        services.close()
