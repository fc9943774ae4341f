"""The composition root: the running bot assembled from settings (one httpx client, one cache,
one finder, one store, and each use case once).

Every entry point (web, Socket Mode, worker, console) builds its parts here, so they share the
same wiring and the tests can build the same thing with their own clock and servers. The
adapters (the Bolt app, the console) receive the use cases built here and build none of their
own. The loops that run those parts are in `bot.run`.
"""

from __future__ import annotations

import gc
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from slack_bolt.oauth import OAuthFlow
from slack_sdk import WebClient

from bot.app.answers import Answers
from bot.app.finder import ReleaseFinder
from bot.app.gate import AudienceLookup, ChannelCheck, Gate
from bot.app.home import Home
from bot.app.language import Languages
from bot.app.search_form import SearchForms
from bot.app.timing import TimedAnswers
from bot.app.workflow_step import FindReleasesStep
from bot.cache.redis.link import RedisLink
from bot.cache.release_cache import ReleaseCache
from bot.cache.setup import cache_store, replay_guard, shared_link
from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Secret, Settings, metakraftwerk_source
from bot.connect.links import LinkSigner
from bot.connect.routes import PREFIX as CONNECT_PREFIX
from bot.connect.routes import Connected, ConnectPages
from bot.connect.store import ConnectionStore
from bot.connect.verify import HttpFor, Verifier
from bot.demo.api_server import DEMO_TOKEN, DemoApiServer
from bot.health import OK, DatabaseProbe
from bot.install.authorize import TenantAuthorize
from bot.install.oauth_flow import InstallRoutes, build_oauth_flow
from bot.install.revocation import Uninstalls, register_revocation
from bot.install.states import TenantStateStore
from bot.install.store import TenantInstallationStore
from bot.metakraftwerk.client import MetaKraftwerkClient, make_http_client
from bot.metrics import Metrics, TimedFront, httpx_hooks
from bot.notify.follow_commands import FollowCommands
from bot.notify.store import Store
from bot.notify.store.database import Database
from bot.notify.subscription_commands import SubscriptionCommands
from bot.notify.user_timezone import slack_user_timezone
from bot.notify.worker import Worker
from bot.secret_box import SecretBox
from bot.slack.app import build_app, check_slack_settings, verify_bot_token
from bot.slack.channel_sharing import shared_channel_check
from bot.slack.connect_listeners import ConnectHome
from bot.slack.front import SlackFront
from bot.slack.reply_delivery import TRIGGER_QUEUE_LIMIT, TRIGGER_THREADS, Delivery
from bot.slack.response_urls import ResponseUrls, make_response_http
from bot.slack.signature import SlackSignature
from bot.slack.surfaces import Surfaces
from bot.slack.user_locale import SlackLocales
from bot.slack.user_standing import lookup_client, slack_audience
from bot.slack.webclient import make_web_client
from bot.slack.work import WorkQueue
from bot.web import WebApp

log = logging.getLogger(__name__)

# Queued answers get this long to finish when the process stops.
DRAIN_SECONDS = 8.0
NOTICE_THREADS, NOTICE_QUEUE_LIMIT = 2, 256

@dataclass
class Services:
    """The long-lived parts of one process; `close()` releases sockets and threads."""

    settings: Settings
    http: httpx.Client
    client: MetaKraftwerkClient
    cache: ReleaseCache
    finder: ReleaseFinder
    clock: Clock
    demo: DemoApiServer | None = None
    shared: RedisLink | None = None  # CACHE_URL's Redis, for the cache and the replay guard
    database: DatabaseProbe | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:
                log.exception("error while shutting down")
        self.finder.close()
        self.http.close()
        if self.demo is not None:
            self.demo.close()

    def on_close(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def health(self) -> dict[str, Any]:
        status = {
            "cache": {**self.cache.stats(), **self.cache.backend()},
            "metakraftwerk": "demo" if self.demo is not None else "configured",
        }
        if self.database is not None:
            database = self.database.check()
            status["database"] = database
            if database != OK:
                status["status"] = "error"
        return status


def start_demo(settings: Settings) -> tuple[Settings, DemoApiServer]:
    """Start the demo API in-process and point the settings at it."""
    demo = DemoApiServer().start()
    log.info("using the built-in demo MetaKraftwerk API at %s", demo.url)
    return replace(
        settings,
        metakraftwerk_url=demo.url,
        metakraftwerk_token=Secret(DEMO_TOKEN),
        metakraftwerk_email=None,
        metakraftwerk_password=None,
    ), demo


def build_services(
    settings: Settings, *, demo: bool = False, clock: Clock | None = None
) -> Services:
    """The data path; with `demo`, or no credentials where that is allowed, the demo API."""
    demo_server: DemoApiServer | None = None
    if demo:
        settings, demo_server = start_demo(settings)
    else:
        metakraftwerk_source(settings, demo_allowed=False)
    clock = clock or SystemClock()
    http = make_http_client(settings)
    client = MetaKraftwerkClient.from_settings(settings, http, clock=clock)
    shared = shared_link(settings, clock)
    cache = ReleaseCache.from_settings(client, settings, clock=clock, store=cache_store(shared))
    finder = ReleaseFinder(cache, clock=clock)
    services = Services(settings, http, client, cache, finder, clock, demo_server, shared)
    services.on_close(cache.close)
    return services


@dataclass(frozen=True, slots=True)
class InstallParts:
    """Installing from a link (distributed mode): the store, authorize, flow, uninstalls."""

    store: TenantInstallationStore
    authorize: TenantAuthorize
    flow: OAuthFlow
    uninstalls: Uninstalls


@dataclass(frozen=True, slots=True)
class UseCases:
    """Every use case of one process, each built once, over the same finder, clock and store."""

    answers: TimedAnswers
    surfaces: Surfaces


def build_use_cases(
    services: Services,
    subscriptions: SubscriptionCommands | None = None,
    languages: Languages | None = None,
    *,
    audience: AudienceLookup | None = None,
    channel: ChannelCheck | None = None,
) -> UseCases:
    """The answers to `/releases`, App Home, the search form and the Workflow Builder step;
    `audience` tells guests and users of other organisations (none: everyone is a member),
    `channel` refuses posting into a channel shared with other organisations."""
    follows = build_follows(services, subscriptions)
    languages = languages or build_languages(services, subscriptions, None)
    answers = _answers(services, subscriptions, follows, languages, Gate(audience, channel))
    home = Home(
        services.finder,
        clock=services.clock,
        subscriptions=subscriptions,
        follows=follows,
        rows=subscriptions,
        languages=languages,
    )
    return UseCases(
        answers,
        Surfaces(
            home=home,
            search_forms=SearchForms(answers, services.finder),
            workflow_step=FindReleasesStep(services.finder, services.clock),
        ),
    )


def build_answers(
    services: Services,
    subscriptions: SubscriptionCommands | None = None,
    languages: Languages | None = None,
) -> Answers:
    """The answers alone, where no other surface is served (the one-shot `ask`)."""
    languages = languages or build_languages(services, subscriptions, None)
    return _answers(
        services, subscriptions, build_follows(services, subscriptions), languages, Gate()
    )


def build_languages(
    services: Services,
    subscriptions: SubscriptionCommands | None,
    web_client: WebClient | None,
    *,
    default: str | None = None,
) -> Languages:
    """Who reads which language: choices in the store, Slack locales, DEFAULT_LANGUAGE."""
    locales = None
    if web_client is not None:
        locales = SlackLocales(web_client, clock=services.clock)
        services.on_close(locales.close)
    return Languages(
        choices=subscriptions.store.languages if subscriptions is not None else None,
        slack_locale=locales,
        default=default or services.settings.default_language,
    )


def _answers(
    services: Services,
    subscriptions: SubscriptionCommands | None,
    follows: FollowCommands | None,
    languages: Languages,
    gate: Gate,
) -> TimedAnswers:
    # The standup reads when the worker saw releases close from the subscriptions' store.
    return TimedAnswers(
        services.finder,
        clock=services.clock,
        subscriptions=subscriptions,
        follows=follows,
        release_link=services.settings.metakraftwerk_web_url,
        closed_times=(
            (lambda ids: subscriptions.store.outbox.closed_times(ids)) if subscriptions else None
        ),
        user_timezone=subscriptions.user_timezone if subscriptions is not None else None,
        languages=languages,
        gate=gate,
    )


def build_follows(
    services: Services, subscriptions: SubscriptionCommands | None
) -> FollowCommands | None:
    """Following releases shares the subscriptions' store: without one, nobody can follow."""
    if subscriptions is None:
        return None
    return FollowCommands(subscriptions.store, services.finder, clock=services.clock)


def build_subscriptions(
    services: Services, web_client: WebClient | None
) -> SubscriptionCommands:
    """The notification commands over the store named by DATABASE_URL."""
    store = Store.from_url(services.settings.database_url, clock=services.clock)
    services.on_close(store.close)
    services.database = DatabaseProbe(store.ping)
    services.on_close(services.database.close)

    def no_timezone(user_id: str) -> str | None:
        return None

    return SubscriptionCommands(
        store,
        settings=services.settings,
        group_names=services.finder.group_names,
        user_timezone=slack_user_timezone(web_client) if web_client is not None else no_timezone,
        clock=services.clock,
    )


def build_worker(
    services: Services, web_client: WebClient, holder_id: str | None = None,
    metrics: Metrics | None = None,
) -> Worker:
    """The notification worker over the store named by DATABASE_URL."""
    store = Store.from_url(services.settings.database_url, clock=services.clock)
    services.on_close(store.close)
    if metrics is not None:
        instrument(services, metrics)
        metrics.watch_outbox(store.worker_status.outbox_depth)
    return Worker(
        store,
        services.finder,
        web_client,
        settings=services.settings,
        clock=services.clock,
        holder_id=holder_id,
        metrics=metrics,
    )


def instrument(services: Services, metrics: Metrics) -> None:
    """Count the API cache's lookups and time each MetaKraftwerk call in `metrics`."""
    metrics.watch_cache(services.cache.stats)
    hooks = httpx_hooks(metrics)
    current = services.http.event_hooks
    services.http.event_hooks = {
        kind: [*current.get(kind, []), *hooks[kind]] for kind in ("request", "response")
    }


def start_worker_thread(services: Services, web_client: WebClient, holder: str) -> Worker:
    """Run the notification worker beside the listeners (console and Socket Mode demos)."""
    worker = build_worker(services, web_client, f"{socket.gethostname()}:{holder}")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="worker", daemon=True)
    thread.start()

    def shut_down() -> None:
        stop.set()
        thread.join(timeout=10)

    services.on_close(shut_down)
    return worker


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


def build_audience(settings: Settings) -> AudienceLookup:
    """Who is a guest or of another organisation, from users.info on a client of its own."""
    token = settings.slack_bot_token.value if settings.slack_bot_token else None
    return slack_audience(lookup_client(token, settings.slack_api_url))


def build_channel_check(settings: Settings, subscriptions: SubscriptionCommands) -> ChannelCheck:
    """Channels shared with other organisations get no subscriptions unless allowed."""
    token = settings.slack_bot_token.value if settings.slack_bot_token else None
    return shared_channel_check(
        lookup_client(token, settings.slack_api_url), subscriptions.store.shared_channels.is_allowed
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
    if not demo:
        metakraftwerk_source(settings, demo_allowed=False)
    if not settings.is_distributed:
        verify_bot_token(settings)  # in distributed mode each installation brings its own

    def load() -> Any:
        services = build_services(settings, demo=demo)
        # Built here, after a fork: each web process counts and serves its own metrics.
        metrics = Metrics(CollectorRegistry())
        instrument(services, metrics)
        web_client = build_answer_client(services)
        subscriptions = build_subscriptions(services, web_client)
        use_cases = build_use_cases(
            services, subscriptions, build_languages(services, subscriptions, web_client),
            audience=build_audience(settings),
            channel=build_channel_check(settings, subscriptions),
        )
        if settings.is_distributed:
            surfaces = replace(
                use_cases.surfaces, connect=build_connect_home(services, subscriptions.store)
            )
            use_cases = replace(use_cases, surfaces=surfaces)
        use_cases.answers.observe_with(metrics)
        replay = replay_guard(services.shared)
        install = (
            build_install(services.settings, subscriptions.store, web_client)
            if services.settings.is_distributed else None
        )
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
            [(CONNECT_PREFIX, build_connect_pages(services, subscriptions.store))]
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


def build_connections(services: Services, store: Store) -> ConnectionStore:
    """The MetaKraftwerk connections in the store's database, sealed with SECRET_KEYS."""
    box = SecretBox([key.value for key in services.settings.secret_keys])
    return ConnectionStore(store.engine, box, services.clock)


def _verifier(services: Services, http_for: HttpFor | None = None) -> Verifier:
    settings = services.settings

    def for_base_url(base_url: str) -> httpx.Client:
        return make_http_client(settings, base_url=base_url)

    return Verifier(http_for or for_base_url, services.clock, settings.api_deadline_seconds)


def build_connect_home(
    services: Services, store: Store, *, http_for: HttpFor | None = None
) -> ConnectHome:
    """App Home's connection section and its admins' buttons (distributed mode)."""
    settings = services.settings
    assert settings.public_url is not None  # required in distributed mode
    return ConnectHome(
        build_connections(services, store),
        LinkSigner(settings.secret_keys[0].value),
        _verifier(services, http_for),
        settings.public_url,
    )


def build_connect_pages(
    services: Services,
    store: Store,
    *,
    http_for: HttpFor | None = None,
    on_connected: Connected | None = None,
) -> ConnectPages:
    """The connect page: links signed with the first SECRET_KEYS key, accounts checked against
    the allowlisted base URL they name, over a client that never follows a redirect."""
    settings = services.settings
    return ConnectPages(
        build_connections(services, store),
        LinkSigner(settings.secret_keys[0].value),
        _verifier(services, http_for),
        settings.metakraftwerk_allowed_urls,
        services.clock,
        secure_cookie=(settings.public_url or "https:").startswith("https:"),
        on_connected=on_connected,
    )


def build_install(settings: Settings, store: Store, web_client: WebClient) -> InstallParts:
    """Distributed mode's installations over the store's database, sealed with SECRET_KEYS."""
    if not (settings.slack_client_id and settings.slack_client_secret and settings.public_url):
        raise ConfigError("distributed mode needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, PUBLIC_URL")
    database = Database(store.engine, SystemClock())
    box = SecretBox([key.value for key in settings.secret_keys])
    installs = TenantInstallationStore(database, box)
    authorize = TenantAuthorize(installs)
    flow = build_oauth_flow(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.value,
        public_url=settings.public_url,
        store=installs,
        states=TenantStateStore(database),
        authorize=authorize,
        client=web_client,
    )
    return InstallParts(installs, authorize, flow, Uninstalls(installs, authorize))


def freeze_startup_objects() -> None:
    """Take what startup made (about 100k objects: modules, settings, the cache, Bolt) out of
    the garbage collector's scans: it lives as long as the process. Otherwise the first full
    collection walks all of it in the middle of the first burst of commands (33 ms)."""
    gc.collect()
    gc.freeze()
