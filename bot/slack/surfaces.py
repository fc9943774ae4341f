"""The surfaces beyond `/releases`: App Home, the search form, the Workflow Builder step."""

from __future__ import annotations

from slack_bolt import App

from bot.answers import Answers
from bot.home import Home
from bot.search import SearchForms
from bot.slack.home import SeenEvents, register_home
from bot.slack.search import register_search
from bot.slack.workflow_step import register_workflow_step
from bot.workflow_step import FindReleasesStep


def register_surfaces(app: App, answers: Answers) -> None:
    home = Home(
        answers.finder, clock=answers.now, subscriptions=answers.subscriptions,
        follows=answers.follows,
    )
    register_home(app, home, SeenEvents())
    register_search(app, SearchForms(answers))
    register_workflow_step(app, FindReleasesStep(answers.finder, answers.now))
