"""Requests signed exactly as Slack signs them, for the web process's /slack/events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret"


def signed_headers(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None, content_type: str
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


def signed_bytes_headers(
    body: bytes, *, secret: str = SIGNING_SECRET, content_type: str
) -> dict[str, str]:
    """Headers for a body that is not text: Slack signs the raw bytes."""
    ts = str(int(time.time()))
    base = b"v0:" + ts.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


def slash_command_body(
    text: str,
    *,
    response_url: str,
    user_id: str = "U0USER",
    channel_id: str = "C0CHAN",
    team_id: str = "T0001",
    command: str = "/releases",
) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "team_domain": "example",
            "channel_id": channel_id,
            "channel_name": "data-team",
            "user_id": user_id,
            "user_name": "ada",
            "command": command,
            "text": text,
            "api_app_id": "A0APP",
            "response_url": response_url,
            "trigger_id": "1234.5678.abcd",
        }
    )


def interactive_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def block_action_payload(
    action_id: str,
    value: str,
    *,
    response_url: str,
    user_id: str = "U0USER",
    channel_id: str = "C0CHAN",
    team_id: str = "T0001",
    block_id: str = "b1",
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "example"},
        "user": {"id": user_id, "username": "ada", "team_id": team_id},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1.2", "channel_id": channel_id,
                      "is_ephemeral": True},
        "trigger_id": "1234.5678.abcd",
        "channel": {"id": channel_id, "name": "data-team"},
        "response_url": response_url,
        "actions": [
            {"action_id": action_id, "block_id": block_id, "value": value, "type": "button",
             "action_ts": "1.3", "text": {"type": "plain_text", "text": "x"}}
        ],
    }


def message_shortcut_payload(
    text: str,
    *,
    response_url: str,
    callback_id: str = "find_releases",
    user_id: str = "U0USER",
    channel_id: str = "C0CHAN",
    team_id: str = "T0001",
) -> dict[str, Any]:
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": "1234.5678.abcd",
        "response_url": response_url,
        "team": {"id": team_id, "domain": "example"},
        "channel": {"id": channel_id, "name": "data-team"},
        "user": {"id": user_id, "name": "ada"},
        "message_ts": "1.1",
        "message": {"type": "message", "text": text, "ts": "1.1", "user": "U0OTHER"},
        "token": "legacy-verification-token",
    }


def post_signed(
    client: httpx.Client, url: str, body: str, *, form: bool = True, **kwargs: Any
) -> httpx.Response:
    ctype = "application/x-www-form-urlencoded" if form else "application/json"
    headers = signed_headers(body, content_type=ctype, **kwargs)
    return client.post(url, content=body, headers=headers)


def view_submission_payload(
    view: dict[str, Any],
    values: dict[str, Any],
    *,
    user_id: str = "U0USER",
    team_id: str = "T0001",
    trigger_id: str = "1234.5678.efgh",
) -> dict[str, Any]:
    """A modal's submission: `view` as the app opened it, with the user's input in `values`."""
    submitted = {
        "id": "V1",
        "team_id": team_id,
        "type": view.get("type", "modal"),
        "callback_id": view.get("callback_id", ""),
        "private_metadata": view.get("private_metadata", ""),
        "blocks": view.get("blocks", []),
        "title": view.get("title"),
        "state": {"values": values},
        "hash": "1.abc",
        "app_id": "A0APP",
        "bot_id": "BBOT",
    }
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "example"},
        "user": {"id": user_id, "username": "ada", "name": "ada", "team_id": team_id},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "trigger_id": trigger_id,
        "view": submitted,
        "response_urls": [],
    }


def event_body(
    event: dict[str, Any], *, event_id: str, team_id: str = "T0001", api_app_id: str = "A0APP"
) -> str:
    """An Events API delivery (`event_callback`), JSON as Slack posts it."""
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "api_app_id": api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": team_id, "user_id": "UBOT", "is_bot": True, "enterprise_id": None}
            ],
        }
    )


def post_event(
    client: httpx.Client, url: str, body: str, *, retry_num: int | None = None
) -> httpx.Response:
    """POST a signed event; `retry_num` sends it as Slack's retry of an earlier delivery."""
    headers = signed_headers(body, content_type="application/json")
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return client.post(url, content=body, headers=headers)


def function_executed_event(
    inputs: dict[str, Any],
    *,
    execution_id: str,
    bot_access_token: str,
    callback_id: str = "find_releases",
) -> dict[str, Any]:
    """The `function_executed` event of a custom step, as a workflow run sends it."""
    return {
        "type": "function_executed",
        "function": {
            "id": "Fn0STEP",
            "callback_id": callback_id,
            "title": "Find releases",
            "type": "app",
            "app_id": "A0APP",
            "date_created": 1_700_000_000,
            "date_updated": 1_700_000_000,
        },
        "inputs": inputs,
        "function_execution_id": execution_id,
        "workflow_execution_id": "Wx0WORKFLOW",
        "event_ts": "1700000000.000100",
        "bot_access_token": bot_access_token,
    }
