"""The long-running processes: Socket Mode and the notification worker, stopped by signals.

They build their parts with `bot.wiring` and only run them here.
"""

from __future__ import annotations

import logging
import threading

from prometheus_client import CollectorRegistry
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cache.setup import replay_guard
from bot.config import ConfigError, Settings, metakraftwerk_source
from bot.metrics import Metrics
from bot.metrics_http import MetricsServer, WorkerHealth
from bot.slack.app import build_app, check_slack_settings, verify_bot_token
from bot.slack.webclient import make_web_client
from bot.startup import (
    WAITING_FOR_DATABASE,
    database_reachable_now,
    wait_for_database,
    warn_of_a_private_database,
)
from bot.wiring import (
    build_answer_client,
    build_audience,
    build_channel_check,
    build_delivery,
    build_distributed_worker,
    build_languages,
    build_services,
    build_subscriptions,
    build_use_cases,
    build_worker,
    start_worker_thread,
)

log = logging.getLogger(__name__)


SOCKET_MODE_DISTRIBUTED = (
    "`releases-bot socket` cannot run with RELEASES_BOT_MODE=distributed: Socket Mode cannot "
    "serve apps installed from a link (Slack allows it only for apps outside the App "
    "Directory); run `releases-bot serve` behind PUBLIC_URL"
)


def run_socket_mode(settings: Settings, *, with_worker: bool = False, demo: bool = False) -> int:
    if settings.is_distributed:
        raise ConfigError(SOCKET_MODE_DISTRIBUTED)
    check_slack_settings(settings, http_mode=False)
    assert settings.slack_app_token is not None
    if not demo:
        metakraftwerk_source(settings, demo_allowed=False)
    verify_bot_token(settings)
    services = build_services(settings, demo=demo)
    try:
        # Sleeps out no 429 in its answer threads, as in the web process.
        web_client = build_answer_client(services)
        subscriptions = build_subscriptions(services, web_client)
        languages = build_languages(services, subscriptions, web_client)
        use_cases = build_use_cases(
            services, subscriptions, languages, audience=build_audience(services.settings),
            channel=build_channel_check(services.settings, subscriptions),
        )
        app = build_app(
            services.settings,
            use_cases.answers,
            build_delivery(services, web_client),
            replay=replay_guard(services.shared),
            surfaces=use_cases.surfaces,
            require_signing_secret=False,
        )
        if with_worker:
            start_worker_thread(services, web_client, "socket-mode")
        handler = SocketModeHandler(
            app,
            app_token=settings.slack_app_token.value,
            web_client=WebClient(base_url=services.settings.slack_api_url),
            logger=logging.getLogger("bot.slack.socket"),
        )
        # Closed first on the way out: no new events while the worker and the store stop.
        services.on_close(handler.close)
        stop = threading.Event()
        _stop_on_signals(stop)
        log.info("connecting to Slack in Socket Mode")
        try:
            handler.connect()  # type: ignore[no-untyped-call]
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "unknown"
            raise ConfigError(f"Slack did not accept SLACK_APP_TOKEN ({error})") from None
        log.info("connected in Socket Mode; SIGTERM or Ctrl+C stops")
        stop.wait()
    finally:
        services.close()
    return 0


def run_worker(settings: Settings, *, once: bool = False, demo: bool = False) -> int:
    if settings.is_distributed:
        return run_distributed_worker(settings, once=once, demo=demo)
    if settings.slack_bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is required for the worker to post (xoxb-...)")
    warn_of_a_private_database(settings.database_url, "worker")
    services = build_services(settings, demo=demo)
    try:
        # No sleeping out 429s inside the worker: a rate-limited channel backs off alone.
        client = make_web_client(services.settings, max_rate_limit_retries=0)
        services.on_close(client.close)
        metrics = Metrics(CollectorRegistry())
        stop = threading.Event()
        health: WorkerHealth | None = None
        if settings.metrics_port is not None and not once:
            # Up before the database: a platform's health check learns why it waits.
            health = WorkerHealth(metrics, settings.poll_interval_seconds)
            health.waiting_for = WAITING_FOR_DATABASE
            server = MetricsServer(metrics, health, settings.metrics_port).start()
            services.on_close(server.close)
        if once:
            database_reachable_now(settings.database_url)  # a one-off run does not wait
        else:
            _stop_on_signals(stop)
            if not wait_for_database(settings.database_url, stop):
                return 0
        worker = build_worker(services, client, metrics=metrics)
        if health is not None:
            health.started()
        if once:
            try:
                worker.poll_once()
            finally:
                worker.close()
            return 0
        log.info("worker started; polling every %ss", settings.poll_interval_seconds)
        worker.run(stop)
    finally:
        services.close()
    return 0


def run_distributed_worker(
    settings: Settings, *, once: bool = False, demo: bool = False
) -> int:
    """Distributed mode: claim due connections and poll each with its own account, beside the
    delivery loops, until SIGTERM; then finish the polls in flight and give back the rest.
    Any number of these processes share the work (PostgreSQL row claims, no leader)."""
    warn_of_a_private_database(settings.database_url, "worker")
    services = build_services(settings, demo=demo)
    try:
        stop = threading.Event()
        if once:
            database_reachable_now(settings.database_url)
        else:
            _stop_on_signals(stop)
            if not wait_for_database(settings.database_url, stop):
                return 0
        worker = build_distributed_worker(services)
        added = worker.connections.schedule_missing()
        if added:
            log.info("scheduled %d connections that had no poll schedule", added)
        if once:
            worker.claiming.step()
            stop.set()  # run() now only waits for the polls just started
        threads = [
            threading.Thread(target=loop, args=(stop,), name=f"loop-{n}", daemon=True)
            for n, loop in enumerate(worker.loops)
        ]
        for thread in threads:
            thread.start()
        log.info("distributed worker started: polling connections by claims")
        worker.claiming.run(stop)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    finally:
        services.close()
    return 0


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM (a platform's stop) and SIGINT end the worker between polls, or Socket Mode."""
    import signal

    def handler(signum: int, frame: object) -> None:
        log.info("signal %s: stopping after the current step", signum)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
