"""Distributed mode's parts: installations from a link and MetaKraftwerk connections, sealed
with SECRET_KEYS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from slack_bolt.oauth import OAuthFlow
from slack_sdk import WebClient

from bot.clock import SystemClock
from bot.config import ConfigError, Settings
from bot.connect.finders import ConnectionFinders, connection_parts
from bot.connect.links import LinkSigner
from bot.connect.routes import Connected, ConnectPages
from bot.connect.store import ConnectionStore
from bot.connect.verify import HttpFor, Verifier
from bot.install.authorize import TenantAuthorize
from bot.install.oauth_flow import app_home_link, build_oauth_flow
from bot.install.revocation import Uninstalls
from bot.install.states import TenantStateStore
from bot.install.store import TenantInstallationStore
from bot.metakraftwerk.client import make_http_client
from bot.metrics import Metrics, httpx_hooks
from bot.notify.store import Store
from bot.notify.store.database import Database
from bot.secret_box import SecretBox
from bot.slack.connect_listeners import ConnectHome
from bot.tenant import Tenant
from bot.wiring.services import Services

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class InstallParts:
    """Installing from a link (distributed mode): the store, authorize, flow, uninstalls."""

    store: TenantInstallationStore
    authorize: TenantAuthorize
    flow: OAuthFlow
    uninstalls: Uninstalls



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



def build_connections(services: Services, store: Store) -> ConnectionStore:
    """The MetaKraftwerk connections in the store's database, sealed with SECRET_KEYS."""
    settings = services.settings
    box = SecretBox([key.value for key in settings.secret_keys])
    return ConnectionStore(
        store.engine, box, services.clock,
        interval_seconds=max(1, round(settings.poll_interval_seconds)),
    )



def build_finders(
    services: Services, store: Store, installs: TenantInstallationStore | None = None,
    metrics: Metrics | None = None,
) -> ConnectionFinders:
    """Each workspace's finder over its own connection; a workspace without one is told who
    installed the app (from `installs`) and where App Home is. Every connection's calls are
    timed in `metrics`, with no tenant named."""
    connections = build_connections(services, store)

    def installer_of(tenant: Tenant) -> tuple[str | None, str | None]:
        if installs is None:
            return None, None
        user, app = installs.installer(Tenant(tenant.enterprise_id, tenant.team_id))
        home = app_home_link(tenant.team_id, app) if app and tenant.team_id else None
        return user, home

    finders = ConnectionFinders(
        connections,
        connection_parts(
            services.settings, connections, services.clock, services.shared,
            event_hooks=httpx_hooks(metrics) if metrics is not None else None,
        ),
        services.clock,
        installer_of=installer_of,
    )
    services.on_close(finders.close)
    return finders



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
