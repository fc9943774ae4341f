"""Distributed mode: the token of the installation that answers a request, and only that one.

The shared Web API client has no token of its own there, so a call that names none fails with
`not_authed` instead of posting into another customer's workspace. A request's calls carry its
installation's token: `BindTenantToken` (a Bolt middleware, after authorize) binds it to the
request's context, the work queues carry that context to the thread that answers
(bot/slack/work.py), and the client adds it to a call that brings no token of its own
(bot/slack/webclient.py). Nothing outside a request (the worker) ever sees one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient

_TOKEN: ContextVar[str | None] = ContextVar("releases_bot_tenant_token", default=None)


def current_tenant_token() -> str | None:
    return _TOKEN.get()


def with_tenant_token(client_token: str | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A call's arguments with the answering installation's token, when the client has none
    of its own and the call names none; otherwise unchanged (and Slack refuses a tokenless one)."""
    if client_token is not None or names_token(kwargs):
        return kwargs
    token = current_tenant_token()
    if not token:
        return kwargs
    return {**kwargs, "headers": {**(kwargs.get("headers") or {}),
                                  "Authorization": f"Bearer {token}"}}


def names_token(kwargs: dict[str, Any]) -> bool:
    headers = kwargs.get("headers") or {}
    return "Authorization" in headers or any(
        isinstance(kwargs.get(part), dict) and "token" in kwargs[part]
        for part in ("params", "json", "data")
    )


class TenantWebClient(WebClient):
    """A plain WebClient (no kept-alive pool) that follows the same rule as the shared one."""

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        return super().api_call(api_method, **with_tenant_token(self.token, kwargs))


class BindTenantToken(Middleware):
    """Binds the authorized token (None when there is none) for the request's listeners.

    Bolt runs the rest of the chain after `process` returns, not inside `next()`, so the value
    stays set in the request's thread; every request that gets this far sets it anew, and one
    that fails authorize stops before any listener runs."""

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        _TOKEN.set(req.context.bot_token)
        return next()
