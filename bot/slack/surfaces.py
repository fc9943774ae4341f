"""The surfaces beyond `/releases`: App Home, the search form, the Workflow Builder step."""

from __future__ import annotations

from slack_bolt import App

from bot.answers import Answers
from bot.home import Home
from bot.slack.home import SeenEvents, register_home


def register_surfaces(app: App, answers: Answers) -> None:
    home = Home(answers.finder, clock=answers.now, subscriptions=answers.subscriptions)
    register_home(app, home, SeenEvents())
