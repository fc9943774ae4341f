"""The installation tables: one row per (enterprise, team), an append-only history, states."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from bot.notify.store import Store
from bot.notify.store.schema import installation_events, installations
from tests.notify.support import T0


def _row(team: str, enterprise: str = "") -> dict[str, object]:
    return {
        "enterprise_id": enterprise, "team_id": team, "is_enterprise_install": False,
        "bot_scopes": "commands", "installed_at": T0, "updated_at": T0,
    }


def test_one_installation_per_enterprise_and_team(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(installations).values(**_row("T1")))
        conn.execute(insert(installations).values(**_row("T1", "E1")))  # another tenant
        conn.execute(insert(installations).values(**_row("", "E1")))  # the org-wide install
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(installations).values(**_row("T1")))


def test_the_history_takes_only_known_kinds(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(installation_events).values(
            enterprise_id="", team_id="T1", kind="installed", user_id="U1", at=T0))
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(installation_events).values(
            enterprise_id="", team_id="T1", kind="deleted", user_id="U1", at=T0))
