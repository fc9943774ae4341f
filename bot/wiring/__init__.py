"""The composition root: the running bot assembled from settings (one httpx client, one cache,
one finder, one store, and each use case once; in distributed mode a finder per MetaKraftwerk
connection, chosen by each request's workspace).

Every entry point (web, Socket Mode, worker, console) builds its parts here, so they share the
same wiring and the tests can build the same thing with their own clock and servers. The
adapters (the Bolt app, the console) receive the use cases built here and build none of their
own. The loops that run those parts are in `bot.run`. One module per kind of process part:
`services` (the data path), `use_cases`, `web`, `worker` and `distributed` (installations and
MetaKraftwerk connections).
"""

from bot.wiring.distributed import (
    InstallParts,
    build_connect_home,
    build_connect_pages,
    build_connections,
    build_finders,
    build_install,
)
from bot.wiring.services import (
    Services,
    build_services,
    freeze_startup_objects,
    instrument,
    start_demo,
)
from bot.wiring.use_cases import (
    UseCases,
    build_answers,
    build_audience,
    build_channel_check,
    build_follows,
    build_languages,
    build_subscriptions,
    build_use_cases,
    open_store,
)
from bot.wiring.web import (
    DRAIN_SECONDS,
    build_answer_client,
    build_delivery,
    web_app_factory,
)
from bot.wiring.worker import (
    DistributedWorker,
    build_distributed_worker,
    build_worker,
    start_worker_thread,
)

__all__ = [
    "DRAIN_SECONDS", "DistributedWorker", "InstallParts", "Services", "UseCases",
    "build_answer_client",
    "build_answers", "build_audience", "build_channel_check", "build_connect_home",
    "build_connect_pages", "build_connections", "build_delivery", "build_distributed_worker",
    "build_finders", "build_follows", "build_install", "build_languages", "build_services",
    "build_subscriptions", "build_use_cases", "build_worker", "freeze_startup_objects",
    "instrument", "open_store", "start_demo", "start_worker_thread", "web_app_factory",
]
