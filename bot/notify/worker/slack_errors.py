"""Reading Slack's errors: which ones pause a channel, stop a round, or are retried, and when."""

from __future__ import annotations

import math
from collections.abc import Mapping

from slack_sdk.errors import SlackApiError

from bot.i18n import ENGLISH, N_, Texts

DEFAULT_RETRY_AFTER = 30  # seconds, when a 429 names no Retry-After
# Seconds, when Retry-After cannot be read ("inf", a date, garbage): Slack wants a pause, so
# take a long one rather than dropping the post or hammering the channel.
UNREADABLE_RETRY_AFTER = 600

# Slack errors that mean "this channel cannot take posts": pause it, with the reason shown.
PAUSE_REASONS: Mapping[str, str] = {
    "not_in_channel": N_(
        "the app is not a member of this channel (not_in_channel). Invite it, then repeat "
        "the subscribe or digest command to resume"
    ),
    "channel_not_found": N_(
        "Slack cannot find this channel for the app (channel_not_found); it may be private "
        "or deleted"
    ),
    "is_archived": N_("this channel is archived (is_archived)"),
}
# The token itself is dead or refused: nothing will get through this round, in any channel,
# so no channel is paused for them (account_inactive: the app's user was deactivated).
TOKEN_ERRORS = frozenset(
    {
        "invalid_auth", "account_inactive", "not_authed", "token_revoked", "token_expired",
        "org_login_required", "not_allowed_token_type", "two_factor_setup_required",
    }
)
# One call was refused (a scope the installation lacks, a workspace's restriction): that
# delivery alone fails, and its channel or follow is paused with the reason; the others go on.
PERMISSION_ERRORS: Mapping[str, str] = {
    "missing_scope": N_(
        "the app's installation lacks a permission Slack asked for (missing_scope)"
    ),
    "no_permission": N_("Slack does not let the app do this here (no_permission)"),
    "access_denied": N_("Slack denied the app access (access_denied)"),
    "team_access_not_granted": N_(
        "the app is not granted access to this workspace (team_access_not_granted)"
    ),
    "ekm_access_denied": N_(
        "the workspace's key management refused the post (ekm_access_denied)"
    ),
}
# Slack's side failed: retry this row later.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
# The blocks were refused: post the plain text instead, so the news still arrives.
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"})
# The parent message is gone: start a new one.
THREAD_GONE = frozenset({"thread_not_found", "message_not_found"})


def error_of(exc: SlackApiError) -> str:
    try:
        error = exc.response.get("error")
    except Exception:
        error = None
    return str(error) if error else f"http_{status_of(exc)}"


def status_of(exc: SlackApiError) -> int:
    status = getattr(exc.response, "status_code", 0)
    return status if isinstance(status, int) else 0


def retry_after(exc: SlackApiError) -> int:
    headers = getattr(exc.response, "headers", None) or {}
    for key, value in dict(headers).items():
        if str(key).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                seconds = float(str(raw).strip())
            except ValueError:
                return UNREADABLE_RETRY_AFTER
            if not math.isfinite(seconds) or seconds < 0:
                return UNREADABLE_RETRY_AFTER
            return max(1, math.ceil(seconds))
    return DEFAULT_RETRY_AFTER



def permission_reason(exc: SlackApiError, t: Texts = ENGLISH) -> str:
    """PERMISSION_ERRORS' text for this refusal, with the scope Slack says it needs, if any;
    in `t` for a person told (English, the default, is what is stored and logged)."""
    error = error_of(exc)
    reason = t._(PERMISSION_ERRORS[error]) if error in PERMISSION_ERRORS else error
    try:
        needed = exc.response.get("needed")
    except Exception:
        needed = None
    if isinstance(needed, str) and needed and len(needed) <= 100:
        reason = t._("{reason}; it needs `{scope}`", reason=reason, scope=needed)
    return reason
