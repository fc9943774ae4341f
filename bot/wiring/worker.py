"""The notification worker of one process, over the store named by DATABASE_URL: the single
leader worker, or in distributed mode the claiming worker polling each connection.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from slack_sdk import WebClient

from bot.app.language import Languages
from bot.connect.poll import ConnectionPoll
from bot.connect.store import ConnectionStore
from bot.metakraftwerk.client import make_http_client
from bot.metrics import Metrics
from bot.notify.scale.claims import ScheduleClaims
from bot.notify.scale.worker import ClaimingWorker
from bot.notify.store import Store
from bot.notify.store.database import Database
from bot.notify.worker import Worker
from bot.notify.worker.lease import default_holder_id
from bot.slack.user_locale import SlackLocales
from bot.wiring.distributed import build_connections
from bot.wiring.services import Services, instrument

# A loop run beside the claiming worker in its own thread until the event is set.
Loop = Callable[[threading.Event], None]

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


@dataclass(frozen=True, slots=True)
class DistributedWorker:
    """Distributed mode's worker process: the claiming worker with the real poll of each
    connection, and the loops that run beside it."""

    claiming: ClaimingWorker
    connections: ConnectionStore
    loops: tuple[Loop, ...]


def build_distributed_worker(services: Services, owner: str | None = None) -> DistributedWorker:
    """The claiming worker over the store named by DATABASE_URL (PostgreSQL), polling each
    connection at its own base URL with its sealed account."""
    settings = services.settings
    store = Store.from_url(settings.database_url, clock=services.clock)
    services.on_close(store.close)
    connections = build_connections(services, store)

    def http_on(base_url: str) -> httpx.Client:
        return make_http_client(settings, base_url=base_url)

    poll = ConnectionPoll(
        connections, store, http_on, services.clock,
        deadline_seconds=settings.api_deadline_seconds,
    )
    services.on_close(poll.close)
    claiming = ClaimingWorker(
        ScheduleClaims(Database(store.engine, services.clock)), poll,
        owner=owner or default_holder_id(), on_failing=poll.on_failing,
    )
    return DistributedWorker(claiming, connections, delivery_loops(services, store))


def delivery_loops(services: Services, store: Store) -> tuple[Loop, ...]:
    """The loops that post distributed mode's outbox rows, each run beside the claiming worker
    (`bot.run`) until SIGTERM. The delivery with per-team fairness, a token bucket per team and
    each team's own token is started here; until then the polls queue their rows and nothing in
    this process posts them."""
    return ()
