"""Which Slack errors stop the round (a dead token) and which fail one delivery (a permission
the installation lacks), and the reason a paused channel or follow shows."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.notify.worker.slack_errors import (
    PAUSE_REASONS,
    PERMISSION_ERRORS,
    TOKEN_ERRORS,
    TRANSIENT_ERRORS,
    permission_reason,
)


def _error(data: dict[str, object]) -> SlackApiError:
    response = SlackResponse(client=None, http_verb="POST", api_url="https://slack.test/api",
                             req_args={}, data=data, headers={}, status_code=200)
    return SlackApiError("refused", response)  # type: ignore[no-untyped-call]


def test_a_permission_error_is_never_counted_as_a_dead_token() -> None:
    assert set(PERMISSION_ERRORS).isdisjoint(TOKEN_ERRORS)
    assert set(PERMISSION_ERRORS) >= {"missing_scope", "no_permission", "access_denied",
                                      "team_access_not_granted", "ekm_access_denied"}
    assert {"invalid_auth", "token_revoked", "account_inactive", "not_authed",
            "token_expired"} <= TOKEN_ERRORS
    for other in (PAUSE_REASONS, TRANSIENT_ERRORS):
        assert set(PERMISSION_ERRORS).isdisjoint(other)


def test_the_reason_names_the_scope_slack_says_is_needed() -> None:
    reason = permission_reason(_error({"ok": False, "error": "missing_scope",
                                       "needed": "im:write", "provided": "chat:write"}))
    assert "missing_scope" in reason
    assert "`im:write`" in reason


@pytest.mark.parametrize("needed", [None, "", 42, "x" * 101])
def test_a_missing_or_odd_needed_field_is_left_out(needed: object) -> None:
    data: dict[str, object] = {"ok": False, "error": "missing_scope"}
    if needed is not None:
        data["needed"] = needed
    assert permission_reason(_error(data)) == PERMISSION_ERRORS["missing_scope"]
