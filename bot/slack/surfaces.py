"""The surfaces beyond `/releases`: App Home, the search form, the Workflow Builder step.

Their use cases are built once, by the composition root (bot/wiring), and handed in here.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt import App

from bot.app.home import Home
from bot.app.search_form import SearchForms
from bot.app.workflow_step import FindReleasesStep
from bot.cache.replay import ReplayGuard
from bot.slack.connect_listeners import ConnectHome
from bot.slack.home_listeners import register_home
from bot.slack.reply_delivery import Delivery
from bot.slack.search_listeners import register_search
from bot.slack.workflow_step_listeners import register_workflow_step


@dataclass(frozen=True, slots=True)
class Surfaces:
    """The use cases behind App Home, the search form and the Workflow Builder step."""

    home: Home
    search_forms: SearchForms
    workflow_step: FindReleasesStep
    connect: ConnectHome | None = None  # distributed mode: the MetaKraftwerk connection


def register_surfaces(
    app: App, surfaces: Surfaces, delivery: Delivery, seen: ReplayGuard
) -> None:
    register_home(app, surfaces.home, delivery, seen, surfaces.connect)
    register_search(app, surfaces.search_forms, delivery)
    register_workflow_step(app, surfaces.workflow_step, delivery, seen)
