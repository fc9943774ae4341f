"""The registry's entries match the tables' own code: what the installation and connection
stores seal, `keys rotate` re-seals, and the stores open it afterwards with the new key alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from slack_sdk.oauth.installation_store import Installation

from bot.connect.links import LinkSigner
from bot.connect.records import Account
from bot.connect.store import ConnectionStore
from bot.install.store import TenantInstallationStore
from bot.notify.store import Store
from bot.notify.store.database import Database
from bot.notify.store.rotation import count_keys, rotate_sealed
from bot.notify.store.sealed_fields import SEALED_FIELDS
from bot.secret_box import SecretBox, new_key
from bot.tenant import Tenant as Owner
from tests.fakes.clock import FakeClock
from tests.notify.conftest import clock, db_url, pg_url, sqlite_url

__all__ = ["clock", "db_url", "pg_url", "sqlite_url"]

OLD, NEW = new_key(), new_key()


@pytest.fixture
def store(db_url: str, clock: FakeClock) -> Iterator[Store]:
    with Store.from_url(db_url, clock=clock) as opened:
        yield opened


def _seal_everything(store: Store, clock: FakeClock, box: SecretBox) -> None:
    installs = TenantInstallationStore(Database(store.engine, clock), box)
    for enterprise, team, org in ((None, "T1", False), ("E1", None, True), ("E1", "T2", False)):
        installs.save(Installation(
            app_id="A1", enterprise_id=enterprise, team_id=team, bot_token=f"xoxb-{team}",
            bot_id="B1", bot_user_id="UB1", bot_scopes="commands", user_id="U1",
            is_enterprise_install=org,
        ))
    connections = ConnectionStore(store.engine, box, clock)
    for owner in (Owner("", "T1"), Owner("E1", "")):
        _token, nonce_hash = LinkSigner("k").new_link()
        connections.add_link(nonce_hash, owner, "U1")
        grant = connections.link(nonce_hash)
        assert grant is not None
        connections.connect(grant, Account(
            "https://mkw.example", "svc@example.com", f"pw-{owner.team_id}",
            f"session-{owner.team_id}", clock.now() + timedelta(hours=20),
        ))


def test_every_sealed_column_is_rotated_and_opens_with_the_new_key_alone(
    store: Store, clock: FakeClock
) -> None:
    _seal_everything(store, clock, SecretBox([OLD]))
    rotated = rotate_sealed(store.engine, SecretBox([NEW, OLD]), SEALED_FIELDS)
    assert [(r.field, r.resealed, r.unopenable) for r in rotated] == [
        ("installations.bot_token", 3, ()),
        ("connections.password_sealed", 2, ()),
        ("connections.session_token_sealed", 2, ()),
    ]
    counts = count_keys(store.engine, SecretBox([NEW]), SEALED_FIELDS)
    assert [(c.current, c.old, c.unknown) for c in counts] == [(3, 0, 0), (2, 0, 0), (2, 0, 0)]

    new_only = SecretBox([NEW])
    installs = TenantInstallationStore(Database(store.engine, clock), new_only)
    bot = installs.find_bot(enterprise_id="E1", team_id="T2")
    assert bot is not None
    assert bot.bot_token == "xoxb-T2"
    connections = ConnectionStore(store.engine, new_only, clock)
    connection = connections.for_workspace(Owner("", "T1"))
    assert connection is not None
    assert connections.password(connection) == "pw-T1"
    assert connections.session_token(connection) == "session-T1"
