"""The web process's WSGI app with the connect page, served by waitress on a loopback port.

Built by the same wiring as `releases-bot serve` in distributed mode (bot/wiring), with the
demo MetaKraftwerk API as the one allowed base URL and an injected clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from waitress.server import create_server

from bot.config import Secret, Settings
from bot.connect.links import LinkSigner
from bot.connect.store import ConnectionStore
from bot.demo import DemoApiServer
from bot.notify.store import Store
from bot.secret_box import new_key
from bot.tenant import Tenant
from bot.web import WebApp
from bot.wiring import Services, build_connect_pages, build_connections, build_services
from tests.fakes.clock import FakeClock

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

TENANT = Tenant("E1", "T1")


@dataclass
class ConnectSite:
    url: str  # the web process's base URL
    database_url: str
    connections: ConnectionStore
    signer: LinkSigner
    demo: DemoApiServer
    clock: FakeClock

    def new_link(self, tenant: Tenant = TENANT, user_id: str = "U1") -> str:
        token, nonce_hash = self.signer.new_link()
        self.connections.add_link(nonce_hash, tenant, user_id)
        return f"{self.url}/connect/{token}"


def _no_slack(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"Not Found"]


@contextmanager
def connect_site(database_url: str, demo: DemoApiServer, clock: FakeClock) -> Iterator[ConnectSite]:
    key = new_key()
    settings = Settings(
        mode="distributed", database_url=database_url, secret_keys=(Secret(key),),
        public_url="http://127.0.0.1", metakraftwerk_allowed_urls=(demo.url,),
        metakraftwerk_url=demo.url, metakraftwerk_token=Secret("unused"),
        api_deadline_seconds=3.0,
    )
    services: Services = build_services(settings, clock=clock)
    store = Store.from_url(database_url, clock=clock)
    pages = build_connect_pages(services, store)
    web = WebApp(_no_slack, lambda: {}, pages=[("/connect/", pages)])
    server: Any = create_server(web, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, name="connect-site", daemon=True)
    thread.start()
    try:
        yield ConnectSite(
            f"http://127.0.0.1:{server.effective_port}",
            database_url,
            build_connections(services, store),
            LinkSigner(key),
            demo,
            clock,
        )
    finally:
        server.close()
        thread.join(timeout=5)
        store.close()
        services.close()
