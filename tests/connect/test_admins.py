"""Who may administer the connection: owners, admins and the installer of this organisation."""

from __future__ import annotations

from typing import Any

import pytest

from bot.connect.admins import may_administer
from bot.tenant import Tenant

WORKSPACE = Tenant("E1", "T1")


def _user(**fields: Any) -> dict[str, Any]:
    return {"id": "U1", "team_id": "T1", **fields}


@pytest.mark.parametrize(("user", "allowed"), [
    (_user(is_admin=True), True),
    (_user(is_owner=True), True),
    (_user(is_primary_owner=True), True),
    (_user(), False),  # a member
    (_user(is_admin=True, is_restricted=True), False),  # a guest flagged admin anyway
    (_user(is_owner=True, is_ultra_restricted=True), False),
    (_user(is_admin=True, team_id="T9"), False),  # an admin of another organisation
    (_user(is_admin=True, deleted=True), False),
    (_user(is_admin=True, is_bot=True), False),
    (_user(team_id="T2", enterprise_user={"enterprise_id": "E1", "is_admin": True}), True),
    (_user(team_id="T2", enterprise_user={"enterprise_id": "E9", "is_admin": True}), False),
])
def test_who_may_administer(user: dict[str, Any], allowed: bool) -> None:
    assert may_administer(user, WORKSPACE) is allowed


def test_the_installer_may_but_not_as_a_guest_or_from_elsewhere() -> None:
    assert may_administer(_user(), WORKSPACE, installer="U1")
    assert not may_administer(_user(is_restricted=True), WORKSPACE, installer="U1")
    assert not may_administer(_user(team_id="T9"), WORKSPACE, installer="U1")
    assert not may_administer(_user(), Tenant("", "T1"), installer="U2")
