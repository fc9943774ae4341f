"""A local stand-in for Slack's Web API and for response_url, recording what the bot sends.

It speaks real HTTP on loopback, so the bot's real WebClient and Bolt's real `respond()` are
exercised. Tests read `calls` and `responses`, and script failures per method or channel.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float


@dataclass(frozen=True)
class ResponseUrlPost:
    key: str
    body: dict[str, Any]
    at: float


@dataclass
class Script:
    """Failures to play back: error per channel, 429s before success."""

    channel_errors: dict[str, str] = field(default_factory=dict)
    rate_limit_next: int = 0
    retry_after: int | str = 1  # a str for values Slack should never send ("inf")
    # Web API methods that answer 429 (with `retry_after`) for as long as they are listed.
    rate_limited: set[str] = field(default_factory=set)
    users_tz: dict[str, str] = field(default_factory=dict)
    # users.info: every user is a member of T0001 (no tz unless in `users_tz`); these fields
    # are added per user ({"is_restricted": True}), these users answer this error.
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    users_errors: dict[str, str] = field(default_factory=dict)
    # users.info `locale` (asked for with include_locale), by user id: `de-DE`.
    users_locale: dict[str, str] = field(default_factory=dict)
    # conversations.info: the channels shared with other organisations (`is_ext_shared`).
    ext_shared: set[str] = field(default_factory=set)
    # Every chat.* call answers this error while set (e.g. "invalid_auth").
    chat_error: str | None = None
    # The next chat.* calls to a channel answer these errors, one each, then succeed.
    channel_errors_next: dict[str, list[str]] = field(default_factory=dict)
    # Deleted messages by ts, with the error a reply in their thread (chat.postMessage with
    # that thread_ts) or a chat.update of them answers: thread_not_found or message_not_found.
    gone_messages: dict[str, str] = field(default_factory=dict)
    # Bot tokens auth.test refuses with invalid_auth.
    rejected_tokens: set[str] = field(default_factory=set)
    # users.conversations: the channels each user is in; the error it answers while set.
    user_channels: dict[str, list[str]] = field(default_factory=dict)
    conversations_error: str | None = None
    # The error views.publish answers while set (e.g. "not_enabled").
    publish_error: str | None = None
    # conversations.open: the error it answers per user (e.g. "user_not_found").
    dm_errors: dict[str, str] = field(default_factory=dict)
    # An outage of chat.* (see FakeSlack.outage): until this monotonic time every call answers
    # `outage_status` or, with `outage_hang` seconds set, hangs that long and then drops the
    # connection unanswered; either way nothing is posted.
    outage_until: float = 0.0
    outage_status: int = 500
    outage_hang: float = 0.0
    # oauth.v2.access: what each code installs, {"team": ..., "token": ...} (and optionally
    # "enterprise" and "user"); a code works once, as Slack's do.
    oauth_codes: dict[str, dict[str, str]] = field(default_factory=dict)
    # Refuse a Web API call that carries no token (`not_authed`), as Slack does.
    require_token: bool = False


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.connections = 0  # TCP connections accepted: clients keep theirs alive
        self.responses: list[ResponseUrlPost] = []
        self.script = Script()
        # What apps.connections.open hands out (a FakeSocketMode's url); unset, it fails.
        self.socket_url: str | None = None
        self._lock = threading.Condition()
        self._ts = 1_700_000_000
        handler = _make_handler(self)
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, once per test using the fake.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        """The Web API base URL, as SLACK_API_URL expects it (with a trailing slash)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def response_url(self, key: str = "r1") -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/response/{key}"

    # -- recording -----------------------------------------------------------------------------
    def next_ts(self) -> str:
        with self._lock:
            self._ts += 1
            return f"{self._ts}.000100"

    def record_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def record_call(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()

    def record_response(self, post: ResponseUrlPost) -> None:
        with self._lock:
            self.responses.append(post)
            self._lock.notify_all()

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def responses_to(self, key: str) -> list[ResponseUrlPost]:
        with self._lock:
            return [r for r in self.responses if r.key == key]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Block until `predicate(self)` is true or the timeout passes."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True

    def wait_responses(self, key: str, count: int = 1, timeout: float = 10.0) -> list[
        ResponseUrlPost
    ]:
        self.wait_for(lambda s: len(s.responses_to(key)) >= count, timeout)
        return self.responses_to(key)

    def iter_messages(self) -> Iterator[dict[str, Any]]:
        for call in self.calls_to("chat.postMessage"):
            yield call.args

    # -- outages -------------------------------------------------------------------------------
    def outage(self, seconds: float, *, status: int = 500, hang: float = 0.0) -> None:
        """For the next `seconds`, chat.* calls fail: HTTP `status`, or with `hang` set, no
        answer for `hang` seconds (longer than the client waits) and then a dropped connection.
        Slack posts nothing meanwhile."""
        with self._lock:
            self.script.outage_status = status
            self.script.outage_hang = hang
            self.script.outage_until = time.monotonic() + seconds

    def in_outage(self) -> bool:
        return time.monotonic() < self.script.outage_until

    # -- Web API behaviour ---------------------------------------------------------------------
    def answer(
        self, method: str, args: dict[str, Any], token: str | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        script = self.script
        if method in script.rate_limited:
            return 429, {"ok": False, "error": "ratelimited"}, {
                "Retry-After": str(script.retry_after)
            }
        if script.require_token and not token and method != "oauth.v2.access":
            return 200, {"ok": False, "error": "not_authed"}, {}
        if method == "auth.test" and token in script.rejected_tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if method == "auth.test":
            return 200, {
                "ok": True, "url": "https://example.slack.com/", "team": "Example",
                "user": "releases", "team_id": "T0001", "user_id": "UBOT", "bot_id": "BBOT",
            }, {}
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            if self.in_outage():
                if script.outage_hang > 0:
                    time.sleep(script.outage_hang)
                    raise HungUp(method)
                return script.outage_status, {"ok": False, "error": "fatal_error"}, {}
            with self._lock:
                if script.rate_limit_next > 0:
                    script.rate_limit_next -= 1
                    return 429, {"ok": False, "error": "ratelimited"}, {
                        "Retry-After": str(script.retry_after)
                    }
            channel = str(args.get("channel", ""))
            if script.chat_error is not None:
                return 200, {"ok": False, "error": script.chat_error}, {}
            with self._lock:
                queued = script.channel_errors_next.get(channel)
                if queued:
                    return 200, {"ok": False, "error": queued.pop(0)}, {}
            if channel in script.channel_errors:
                return 200, {"ok": False, "error": script.channel_errors[channel]}, {}
            target = args.get("ts") if method == "chat.update" else args.get("thread_ts")
            if target is not None and str(target) in script.gone_messages:
                return 200, {"ok": False, "error": script.gone_messages[str(target)]}, {}
            ts = str(args.get("ts")) if method == "chat.update" else self.next_ts()
            return 200, {"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts}}, {}
        if method == "oauth.v2.access":
            with self._lock:
                grant = script.oauth_codes.pop(str(args.get("code", "")), None)
            if grant is None:
                return 200, {"ok": False, "error": "invalid_code"}, {}
            team = grant.get("team")
            return 200, {
                "ok": True, "app_id": "A0APP", "access_token": grant["token"],
                "token_type": "bot", "scope": "commands,chat:write,im:write",
                "bot_user_id": f"UB{team}", "team": {"id": team, "name": team} if team else None,
                "enterprise": {"id": grant["enterprise"], "name": "Org"}
                if grant.get("enterprise") else None,
                "is_enterprise_install": not team,
                "authed_user": {"id": grant.get("user", "U0INSTALLER")},
            }, {}
        if method == "users.info":
            user = str(args.get("user", ""))
            if user in script.users_errors or not user:
                error = script.users_errors.get(user, "user_not_found")
                return 200, {"ok": False, "error": error}, {}
            profile: dict[str, Any] = {"id": user, "team_id": "T0001", "is_restricted": False,
                                       "is_ultra_restricted": False, **script.users.get(user, {})}
            if user in script.users_tz:
                profile["tz"] = script.users_tz[user]
            locale = script.users_locale.get(user)
            if locale is not None and str(args.get("include_locale", "")).lower() in (
                "1", "true"
            ):  # Slack sends the locale only to those who ask for it
                profile["locale"] = locale
            return 200, {"ok": True, "user": profile}, {}
        if method == "conversations.info":
            channel = str(args.get("channel", ""))
            return 200, {"ok": True, "channel": {
                "id": channel, "is_shared": channel in script.ext_shared,
                "is_ext_shared": channel in script.ext_shared,
            }}, {}
        if method == "apps.connections.open":
            if self.socket_url is None:
                return 200, {"ok": False, "error": "not_allowed_token_type"}, {}
            return 200, {"ok": True, "url": self.socket_url}, {}
        if method in ("views.open", "views.update", "views.push", "views.publish"):
            if method == "views.publish" and script.publish_error is not None:
                return 200, {"ok": False, "error": script.publish_error}, {}
            view_id = str(args.get("view_id") or "V1")
            return 200, {"ok": True, "view": {"id": view_id, "hash": "1.abc"}}, {}
        if method in ("functions.completeSuccess", "functions.completeError"):
            if not args.get("function_execution_id"):
                return 200, {"ok": False, "error": "invalid_arguments"}, {}
            return 200, {"ok": True}, {}
        if method == "conversations.open":
            user = str(args.get("users", ""))
            if not user or "," in user:
                return 200, {"ok": False, "error": "invalid_arguments"}, {}
            if user in script.dm_errors:
                return 200, {"ok": False, "error": script.dm_errors[user]}, {}
            return 200, {"ok": True, "channel": {"id": f"D{user}"}}, {}
        if method == "users.conversations":
            if script.conversations_error is not None:
                return 200, {"ok": False, "error": script.conversations_error}, {}
            user = str(args.get("user", ""))
            channels = [{"id": c} for c in script.user_channels.get(user, [])]
            return 200, {"ok": True, "channels": channels, "response_metadata": {}}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}


class HungUp(Exception):
    """Raised by `answer` for a call that gets no answer: the handler drops the connection."""


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when a burst of answers arrives at once, and
    # each dropped connection costs the client a 1 s SYN retry: not what Slack would do.
    request_queue_size = 128
    daemon_threads = True


def _make_handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # kept alive, as Slack's servers keep connections
        disable_nagle_algorithm = True  # headers and body go out in two writes; don't delay the 2nd

        def setup(self) -> None:
            super().setup()
            fake.record_connection()

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            # slack_sdk sends some methods (users.info) as GET with query parameters.
            path, _, query = self.path.partition("?")
            method = path.rsplit("/", 1)[-1]
            args: dict[str, Any] = dict(parse_qsl(query))
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth else args.get("token")
            status, body, headers = fake.answer(method, args, token)
            fake.record_call(Call(method, args, token, time.time()))
            self._send(status, json.dumps(body).encode(), "application/json", headers)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8")
            if self.headers.get("Content-Type", "").startswith("application/json"):
                args: dict[str, Any] = json.loads(raw or "{}")
            else:
                args = dict(parse_qsl(raw))
                for key in ("blocks", "attachments", "view", "outputs"):
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
            if self.path.startswith("/response/"):
                fake.record_response(ResponseUrlPost(self.path.split("/")[-1], args, time.time()))
                self._send(200, b"ok", "text/plain", {})
                return
            method = self.path.rsplit("/", 1)[-1]
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth else args.get("token")
            try:
                status, body, headers = fake.answer(method, args, token)
            except HungUp:
                fake.record_call(Call(method, args, token, time.time()))
                self.close_connection = True
                return
            fake.record_call(Call(method, args, token, time.time()))
            self._send(status, json.dumps(body).encode(), "application/json", headers)

        def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler
