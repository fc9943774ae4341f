"""The web process: the signed front, the Bolt app, the answer queues and the pages, built
inside each process after the fork.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from prometheus_client import CollectorRegistry
from slack_sdk import WebClient

from bot.cache.setup import replay_guard
from bot.config import Settings, metakraftwerk_source
from bot.connect.routes import PREFIX as CONNECT_PREFIX
from bot.install.oauth_flow import InstallRoutes
from bot.install.revocation import register_revocation
from bot.metrics import Metrics, TimedFront
from bot.slack.app import build_app, check_slack_settings, verify_bot_token
from bot.slack.front import SlackFront
from bot.slack.reply_delivery import TRIGGER_QUEUE_LIMIT, TRIGGER_THREADS, Delivery
from bot.slack.response_urls import ResponseUrls, make_response_http
from bot.slack.signature import SlackSignature
from bot.slack.webclient import make_web_client
from bot.slack.work import WorkQueue
from bot.web import WebApp
from bot.wiring.distributed import (
    build_connect_home,
    build_connect_pages,
    build_finders,
    build_install,
)
from bot.wiring.services import Services, build_services, freeze_startup_objects, instrument
from bot.wiring.use_cases import (
    build_audience,
    build_channel_check,
    build_languages,
    build_subscriptions,
    build_use_cases,
    open_store,
)

log = logging.getLogger(__name__)

# Queued answers get this long to finish when the process stops.
DRAIN_SECONDS = 8.0
NOTICE_THREADS, NOTICE_QUEUE_LIMIT = 2, 256


def build_delivery(services: Services, web_client: WebClient) -> Delivery:
    """The work queue, the notice queue and the response_url client of one process."""
    settings = services.settings
    http = make_response_http()
    services.on_close(http.close)
    work = WorkQueue(settings.listener_threads, settings.work_queue_limit, name="answer")
    notices = WorkQueue(NOTICE_THREADS, NOTICE_QUEUE_LIMIT, name="notice")
    triggers = WorkQueue(TRIGGER_THREADS, TRIGGER_QUEUE_LIMIT, name="trigger")
    # Closed before the HTTP client: queued answers still go out while the process stops.
    services.on_close(lambda: notices.close(timeout=DRAIN_SECONDS / 2))
    services.on_close(lambda: triggers.close(timeout=DRAIN_SECONDS / 2))
    services.on_close(lambda: work.close(timeout=DRAIN_SECONDS))
    return Delivery(
        work, notices, ResponseUrls.from_settings(settings, http), web_client, triggers
    )



def build_answer_client(services: Services) -> WebClient:
    """The Web API client of a process that answers Slack (web, Socket Mode).

    A 429 is never slept out: that would hold an answer thread others need. It fails at once;
    the surfaces show what they have, and a refused view is tried again once Slack allows it
    (bot/slack/rate_limits.py)."""
    client = make_web_client(services.settings, max_rate_limit_retries=0)
    services.on_close(client.close)
    return client



def web_app_factory(settings: Settings, *, demo: bool = False) -> Callable[[], Any]:
    """Check the settings now, and return what builds the WSGI app inside each web process."""
    check_slack_settings(settings, http_mode=True)
    if not demo and not settings.is_distributed:  # distributed: a connection per workspace
        metakraftwerk_source(settings, demo_allowed=False)
    if not settings.is_distributed:
        verify_bot_token(settings)  # in distributed mode each installation brings its own

    def load() -> Any:
        services = build_services(settings, demo=demo)
        # Built here, after a fork: each web process counts and serves its own metrics.
        metrics = Metrics(CollectorRegistry())
        web_client = build_answer_client(services)
        store = open_store(services)
        install = (
            build_install(services.settings, store, web_client)
            if services.settings.is_distributed else None
        )
        # Distributed mode: each workspace's requests read its own connection (the demo, with
        # --demo, stands in for all of them).
        finders = (
            build_finders(services, store, install.store, metrics)
            if install is not None and services.demo is None else None
        )
        instrument(services, metrics, finders.cache_stats if finders is not None else None)
        subscriptions = build_subscriptions(services, web_client, store=store, finders=finders)
        use_cases = build_use_cases(
            services, subscriptions, build_languages(services, subscriptions, web_client),
            audience=build_audience(settings),
            channel=build_channel_check(settings, subscriptions),
            finders=finders,
        )
        if settings.is_distributed:
            surfaces = replace(
                use_cases.surfaces, connect=build_connect_home(services, subscriptions.store)
            )
            use_cases = replace(use_cases, surfaces=surfaces)
        use_cases.answers.observe_with(metrics)
        replay = replay_guard(services.shared)
        app = build_app(
            services.settings,
            use_cases.answers,
            build_delivery(services, web_client),
            replay=replay,
            surfaces=use_cases.surfaces,
            authorize=install.authorize if install else None,
            oauth_flow=install.flow if install else None,
        )
        assert services.settings.slack_signing_secret is not None
        front: Any = SlackFront(
            app, SlackSignature(services.settings.slack_signing_secret.value), replay
        )
        pages = (
            [(CONNECT_PREFIX, build_connect_pages(
                services, subscriptions.store,
                # This process answers from the new connection at once, not in a few seconds.
                on_connected=(lambda grant, _: finders.forget(grant.tenant)) if finders else None,
            ))]
            if settings.is_distributed else []
        )
        if install is not None:
            register_revocation(app, install.uninstalls)
            front = InstallRoutes(install.flow, front)  # unsigned: outside the front
        web = WebApp(TimedFront(front, metrics.ack_seconds), services.health,
                     close=services.close, metrics=metrics.render, pages=pages)
        freeze_startup_objects()
        return web

    return load
