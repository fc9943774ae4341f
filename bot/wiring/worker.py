"""The notification worker of one process, over the store named by DATABASE_URL.
"""

from __future__ import annotations

import logging
import socket
import threading

from slack_sdk import WebClient

from bot.app.language import Languages
from bot.metrics import Metrics
from bot.notify.store import Store
from bot.notify.worker import Worker
from bot.slack.user_locale import SlackLocales
from bot.wiring.services import Services, instrument

log = logging.getLogger(__name__)

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
    # A follower's direct message is in their language: their choice, else their Slack locale.
    locales = SlackLocales(web_client, clock=services.clock)
    services.on_close(locales.close)
    languages = Languages(
        choices=store.languages, slack_locale=locales,
        default=services.settings.default_language,
    )
    return Worker(
        store,
        services.finder,
        web_client,
        settings=services.settings,
        clock=services.clock,
        holder_id=holder_id,
        metrics=metrics,
        languages=languages,
    )



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
