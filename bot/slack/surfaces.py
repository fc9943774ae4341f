"""The surfaces beyond `/releases`: App Home, the search form, the Workflow Builder step."""

from __future__ import annotations

from slack_bolt import App

from bot.app.answers import Answers
from bot.app.home import Home
from bot.app.search_form import SearchForms
from bot.app.workflow_step import FindReleasesStep
from bot.cache.replay import ReplayGuard
from bot.slack.home_listeners import register_home
from bot.slack.reply_delivery import Delivery
from bot.slack.search_listeners import register_search
from bot.slack.workflow_step_listeners import register_workflow_step


def register_surfaces(app: App, answers: Answers, delivery: Delivery, seen: ReplayGuard) -> None:
    home = Home(
        answers.finder, clock=answers.now, subscriptions=answers.subscriptions,
        follows=answers.follows,
    )
    register_home(app, home, delivery, seen)
    register_search(app, SearchForms(answers), delivery)
    register_workflow_step(app, FindReleasesStep(answers.finder, answers.now), delivery)
