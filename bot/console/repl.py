"""The console's read-eval-print loop: the bot's own handlers, shown as text.

Type `/releases ...` (or just what follows it: `21` is release 21, as in Slack) and read the
answer as text; type `[3]` or `press 3` to press the button shown as `[3]`. With no
MetaKraftwerk credentials it runs on the built-in demo API, whose data `:close R60` and friends
change, so that with `--with-worker` a newcomer sees notifications without Slack.
"""

from __future__ import annotations

import getpass
import re
import shlex
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from bot.app.answers import Answers, Caller, Reply, dumps
from bot.app.home import Home, UserChannels
from bot.app.search_form import SearchForms
from bot.app.workflow_step import FindReleasesStep, StepError
from bot.console.demo_edit import DEMO_VERBS, edit_demo_data
from bot.console.slash import read_slash
from bot.demo.api_server import DemoApiServer
from bot.render.home_view import ACTION_HOME_REFRESH
from bot.render.message import Message
from bot.render.search_modal import SEARCH_FORM_CALLBACK
from bot.render.search_results import MODAL_ACTION_PREFIX
from bot.render.text import ConsoleText, mrkdwn_to_text, render_text

PROMPT = "releases> "
_PRESS = re.compile(r"\[\s*([0-9]+)\s*\]|press\s+\[?([0-9]+)\]?", re.IGNORECASE)
CONSOLE_CHANNEL = "console"
_MODES = {
    "ephemeral": "(only you can see this)",
    "in_channel": "(posted in #console for everyone)",
    "replace": "(replaces the message above)",
    "share": "(shared in #console for everyone)",
    "delete": "(message deleted)",
}
HELP = """\
Type a command as in Slack, e.g. `/releases`, `/releases group:DWH_GROUP all`,
`/releases #21`, `/releases standup`, `/releases help`. The `/releases` may be left out,
so `21` looks up release 21.
  [3]  or  press 3         press the button shown as [3] in the last answer
  :find <message text>     run the "Find releases" message shortcut on a message
  :json                    the last answer as Block Kit JSON (for Block Kit Builder)
  :home                    the App Home tab as Slack would show it to you
  :step <filter>           run the Workflow Builder step "Find releases", e.g.
                           :step group:DWH_GROUP open
  :poll                    let the notification worker poll now (with --with-worker)
  :quit                    leave (Ctrl-D works too)
Demo data (only with the built-in demo API):
  :close R60   :open R60   :delete R60   :rename R60 R60b
  :dates R60 2026-12-01 2026-12-24       :add DWH_GROUP R99
"""


class Console:
    def __init__(
        self,
        answers: Answers,
        out: TextIO,
        *,
        demo: DemoApiServer | None = None,
        caller: Caller | None = None,
        poll: Callable[[], object] | None = None,
        on_demo_change: Callable[[], None] | None = None,
        ansi: bool = False,
        home: Home | None = None,
        step: FindReleasesStep | None = None,
        forms: SearchForms | None = None,
        read_line: Callable[[], str] | None = None,
    ) -> None:
        """`home`, `step` and `forms` come from bot/wiring, built once beside `answers`; a
        console given only answers builds them over the answers' own finder and stores.
        `read_line` reads the search form's field (stdin when `out` is the terminal)."""
        self._answers = answers
        self._home_tab = home or Home(
            answers.finders, clock=answers.clock, subscriptions=answers.subscriptions,
            follows=answers.follows,
        )
        self._workflow_step = step or FindReleasesStep(answers.finders, answers.clock)
        self._forms = forms or SearchForms(answers)
        self._read_line = read_line or (
            sys.stdin.readline if out is sys.stdout else (lambda: "")
        )
        self._out = out
        self._ansi = ansi  # a terminal: `*bold*` is shown bold
        self._demo = demo
        self._poll = poll
        self._on_demo_change = on_demo_change
        self._caller = caller or Caller(
            team_id="TCONSOLE",
            channel_id=CONSOLE_CHANNEL,
            user_id="UCONSOLE",
            user_name=_user_name(),
        )
        self._last: ConsoleText | None = None
        self._last_reply: Reply | None = None

    def run(self, lines: Iterable[str], *, interactive: bool = False) -> None:
        for line in lines:
            if not self.handle(line):
                break
            if interactive:
                self._out.write(PROMPT)
                self._out.flush()

    def handle(self, line: str) -> bool:
        """Answer one line; False when the user asked to leave."""
        text = line.strip()
        if not text:
            return True
        if text in (":quit", ":q", ":exit", "exit", "quit"):
            return False
        if text in (":help", "?"):
            self._print(HELP)
        elif (pressed := _PRESS.fullmatch(text)) is not None:
            self._press(int(pressed.group(1) or pressed.group(2)))
        elif text.lower() == "press":
            self._print("Type `press 3` or `[3]` to press the button shown as [3].")
        elif text.startswith(":"):
            self._meta(text)
        else:
            slash = read_slash(text)
            if slash.refused is not None:
                self._show(Reply(slash.refused))
                return True
            self._show(self._answers.command(slash.text, self._caller))
        return True

    # ---- answers ------------------------------------------------------------------------

    def _show(self, reply: Reply) -> None:
        if reply.view is not None:  # the search form, as the "Open search" button opens it
            self._search_form(reply.view)
            return
        self._last_reply = reply
        rendered = render_text(reply.message, ansi=self._ansi)
        if reply.mode != "delete":
            self._last = rendered
        self._print(f"{_MODES.get(reply.mode, '')}\n{rendered.text}")

    def _press(self, number: int) -> None:
        button = self._last.button(number) if self._last else None
        if button is None:
            self._print(f"There is no button [{number}] in the last answer.")
            return
        self._print(f"(pressed [{number}] {button.label})")
        if button.action_id == ACTION_HOME_REFRESH:
            self._home(refresh=True)
            return
        if button.action_id.startswith(MODAL_ACTION_PREFIX):  # a button inside the results
            step = self._forms.click(button.action_id, button.value, self._caller)
            if step is not None:
                self._show_view(step.view)
            return
        self._show(self._answers.button(button.action_id, button.value, self._caller))

    def _search_form(self, view: dict[str, Any]) -> None:
        """A modal cannot open in a terminal; ask for the form's one field instead, and answer
        it as Slack's form is answered: field errors, or the results view."""
        title = view.get("title")
        name = title.get("text") if isinstance(title, dict) else None
        self._print(f"{name or 'Search form'}. Filters, a release name or #id (empty to cancel):")
        self._out.write("search> ")
        self._out.flush()
        entered = self._read_line().strip()
        if not entered:
            self._print("(search cancelled)")
            return
        values = {"search_filters": {"filters": {"value": entered}}}
        errors = self._forms.errors(values)
        if errors:
            self._print("(the form stays open) " + " ".join(errors.values()))
            return
        self._show_view(self._forms.results(values, self._caller))

    def _show_view(self, view: dict[str, Any]) -> None:
        """A view of the search modal, as text; its buttons are pressed like any other."""
        if view.get("callback_id") == SEARCH_FORM_CALLBACK:  # "New search"
            self._search_form(view)
            return
        rendered = render_text(
            Message(text="Releases", blocks=tuple(view.get("blocks") or ())), ansi=self._ansi
        )
        self._last = rendered
        self._print(f"(search results, only you can see this)\n{rendered.text}")

    # ---- meta commands ------------------------------------------------------------------

    def _home(self, *, refresh: bool = False) -> None:
        """The Home tab; the console's channel stands for the channels the user is in."""
        channels = UserChannels((self._caller.channel_id,))
        view = self._home_tab.view(self._caller, channels, refresh=refresh)
        rendered = render_text(
            Message(text="App Home", blocks=tuple(view["blocks"])), ansi=self._ansi
        )
        self._last = rendered
        self._print(f"(App Home)\n{rendered.text}")

    def _step(self, filter_text: str) -> None:
        try:
            outputs = self._workflow_step.run(filter_text)
        except StepError as exc:
            self._print(f"(step failed) {exc}")
            return
        self._print(
            f"(step completed) count: {outputs.count} · release_ids: {outputs.release_ids or '-'}"
            f"\nsummary:\n{mrkdwn_to_text(outputs.summary, ansi=self._ansi)}"
        )

    def _meta(self, text: str) -> None:
        verb, _, rest = text.partition(" ")
        if verb.lower() == ":home":
            self._home()
            return
        if verb.lower() == ":step":
            self._step(rest.strip())  # as typed: quotes belong to the filter
            return
        try:
            words = shlex.split(text)
        except ValueError as exc:
            self._print(f"Could not read that: {exc}.")
            return
        verb, args = words[0].lower(), words[1:]
        if verb == ":find":
            self._show(self._answers.message_shortcut(" ".join(args), self._caller))
        elif verb == ":json":
            if self._last_reply is None:
                self._print("No answer yet.")
            else:
                self._print(dumps(self._last_reply.message))
        elif verb == ":poll":
            if self._poll is None:
                self._print("The worker is not running; start the console with --with-worker.")
            else:
                self._poll()
                self._print("(polled)")
        elif verb in DEMO_VERBS:
            self._change_demo(verb, args)
        else:
            self._print(f"Unknown console command {verb}; type :help.")

    def _change_demo(self, verb: str, args: list[str]) -> None:
        if self._demo is None:
            self._print("Data can only be changed on the built-in demo API.")
            return
        note, changed = edit_demo_data(self._demo.data, verb, args)
        if changed and self._on_demo_change is not None:
            self._on_demo_change()  # the next answer shows the change at once, not after the TTL
        self._print(note)

    def _print(self, text: str) -> None:
        self._out.write(text.rstrip() + "\n")
        self._out.flush()


def _user_name() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "you"
