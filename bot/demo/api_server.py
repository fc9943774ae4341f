"""A small, real HTTP server that speaks the documented MetaKraftwerk Releases API.

It backs the console mode when no credentials are configured, `releases-bot check` without
credentials, and every test that needs the network: the bot talks to it over loopback exactly as
it talks to MetaKraftwerk. `Switches` inject latency, failures, hangs, bad JSON and dropped
connections; `counts` records what the server was asked.

It can stand in for several MetaKraftwerk customers at once (`add_customer`): each account sees
only its own releases, whose ids may well be the same as another customer's, and `counts` tells
how many release lists one account was answered at the same time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from bot.clock import Clock, SystemClock
from bot.demo.data import DemoData
from bot.demo.faults import RequestCounts, Switches
from bot.demo.tokens import TokenSigner

log = logging.getLogger(__name__)

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo"  # noqa: S105 - the public demo login, documented in the README
DEMO_TOKEN = "demo-token"  # noqa: S105 - a fixed token the demo always accepts
DEMO_USER_ID = 1

_RELEASES = "/api/v1/releases"
_GROUPS = "/api/v1/release_groups"
_AUTH = "/authentication"


@dataclass(frozen=True, slots=True)
class Customer:
    """Another MetaKraftwerk customer on the same server: its own account and releases."""

    email: str
    password: str
    data: DemoData


class DemoApiServer:
    """`with DemoApiServer() as api: api.url, api.data, api.switches, api.counts`."""

    def __init__(
        self,
        data: DemoData | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        email: str = DEMO_EMAIL,
        password: str = DEMO_PASSWORD,
        static_token: str | None = DEMO_TOKEN,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.data = data if data is not None else DemoData.sample(self.clock.now())
        self.switches = Switches()
        self.counts = RequestCounts()
        self.email = email
        self.password = password
        self.static_token = static_token
        self.signer = TokenSigner()
        self.customers: dict[str, Customer] = {}  # by the token subject the login issues
        self._httpd = _Server((host, port), _Handler)
        self._httpd.api = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._httpd.server_address[0])
        return f"http://{'localhost' if host in ('0.0.0.0', '') else host}:{self.port}"  # noqa: S104

    def start(self) -> DemoApiServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.01},
                name=f"demo-api:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        self.switches.release_hang()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def handle_client_error(self, client_address: object) -> None:
        """A client hanging up mid-request is normal at exit: no traceback on the terminal."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            log.debug("demo API: %s hung up: %s", client_address, error)
            return
        log.error("demo API: error while serving %s", client_address, exc_info=error)

    def serve_forever(self) -> None:
        """Serve in the calling thread (the CLI), until interrupted."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self.switches.release_hang()
            self._httpd.server_close()

    def __enter__(self) -> DemoApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def add_customer(self, email: str, password: str, data: DemoData | None = None) -> Customer:
        """Another customer, logging in with its own account; by default the sample releases
        (the same ids and names as the first customer's)."""
        customer = Customer(email, password, data or DemoData.sample(self.clock.now()))
        self.customers[str(DEMO_USER_ID + 1 + len(self.customers))] = customer
        return customer

    def issue_token(self, user_id: int = DEMO_USER_ID) -> str:
        """A fresh access token, as POST /authentication would return."""
        return self.signer.issue(
            user_id,
            self.clock.now(),
            self.switches.token_lifetime,
            self.switches.token_generation,
        )

    def token_is_valid(self, token: str) -> bool:
        return self.account_of(token) is not None

    def account_of(self, token: str) -> str | None:
        """The email of the account a valid token belongs to; None for an invalid token."""
        if self.static_token is not None and token == self.static_token:
            return self.email
        subject = self.signer.subject(token, self.clock.now(), self.switches.token_generation)
        if subject is None:
            return None
        customer = self.customers.get(subject)
        return customer.email if customer is not None else self.email

    def data_of(self, email: str) -> DemoData:
        for customer in self.customers.values():
            if customer.email == email:
                return customer.data
        return self.data


def _user_of(api: DemoApiServer, email: str, password: str) -> int | None:
    if email == api.email and password == api.password:
        return DEMO_USER_ID
    for subject, customer in api.customers.items():
        if email == customer.email and password == customer.password:
            return int(subject)
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops bursts of connections (tests use 50 threads)
    allow_reuse_address = True
    api: DemoApiServer

    def handle_error(self, request: object, client_address: object) -> None:
        self.api.handle_client_error(client_address)


class _Answer(Exception):
    """An error answer in the server framework's JSON shape."""

    _NAMES: ClassVar[dict[int, tuple[str, str]]] = {
        400: ("BadRequest", "bad-request"),
        401: ("NotAuthenticated", "not-authenticated"),
        403: ("Forbidden", "forbidden"),
        404: ("NotFound", "not-found"),
        405: ("MethodNotAllowed", "method-not-allowed"),
        429: ("TooManyRequests", "too-many-requests"),
        500: ("GeneralError", "general-error"),
        502: ("BadGateway", "bad-gateway"),
        503: ("Unavailable", "unavailable"),
    }

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        name, class_name = self._NAMES.get(self.status, ("GeneralError", "general-error"))
        return {"name": name, "message": self.message, "code": self.status, "className": class_name}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't delay the 2nd
    server: _Server
    server_version = "MetaKraftwerkDemo/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("demo api: " + format, *args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # ---- dispatch -----------------------------------------------------------------------

    def _serve(self, method: str) -> None:
        api = self.server.api
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        body = self._read_body()
        api.counts.record(method, path, params)
        listing = self._account() if (method, path) == ("GET", _RELEASES) else None
        if listing is not None:  # the whole answer, latency included, is one poll in flight
            api.counts.enter(listing)
        try:
            self._answer(method, path, params, body)
        finally:
            if listing is not None:
                api.counts.leave(listing)

    def _answer(self, method: str, path: str, params: dict[str, str], body: bytes) -> None:
        api = self.server.api
        switches = api.switches
        switches._wait_if_hung(path)
        if switches.latency > 0:
            threading.Event().wait(switches.latency)
        fault = switches._take_fault(path)
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.kind == "status":
            headers = {} if fault.retry_after is None else {"Retry-After": fault.retry_after}
            message = fault.message or {429: "Too many requests"}.get(
                fault.status, "Service unavailable"
            )
            self._send_json(fault.status, _Answer(fault.status, message).body(), headers)
            return
        try:
            status, answer = self._route(method, path, params, body)
        except _Answer as exc:
            status, answer = exc.status, exc.body()
        if fault is not None and fault.kind == "invalid_json":
            self._send_raw(status, b'{"id": 1, "name": "R1", <not json', "application/json")
            return
        self._send_json(status, answer)

    def _route(
        self, method: str, path: str, params: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        api = self.server.api
        if path == _AUTH:
            if method != "POST":
                raise _Answer(405, f"Method `{method}` is not supported by this endpoint.")
            return 201, self._authenticate(body)
        if path in (_RELEASES, _GROUPS) or path.startswith(_RELEASES + "/"):
            if method != "GET":
                verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, "remove")
                raise _Answer(405, f"Method `{verb}` is not supported by this endpoint.")
            account = self._require_token()
            data = api.data_of(account)
            if path == _RELEASES:
                return 200, self._list(data, params)
            if path == _GROUPS:
                return 200, [
                    {"id": gid, "name": name} for gid, name in sorted(data.groups().items())
                ]
            return 200, self._one(data, path[len(_RELEASES) + 1 :])
        raise _Answer(404, "Page not found")

    # ---- endpoints ----------------------------------------------------------------------

    def _authenticate(self, body: bytes) -> dict[str, Any]:
        api = self.server.api
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            raise _Answer(400, "Unexpected token in JSON") from None
        if not isinstance(payload, dict):
            raise _Answer(400, "Invalid authentication payload")
        if payload.get("strategy") not in (None, "local"):
            raise _Answer(401, "Invalid authentication information (no `strategy` set)")
        email, password = payload.get("email"), payload.get("password")
        if not email:
            raise _Answer(400, "'email' is required")
        if not password:
            raise _Answer(400, "'password' is required")
        user_id = _user_of(api, str(email), str(password))
        if user_id is None:
            raise _Answer(401, "Invalid login")
        token = api.issue_token(user_id)
        return {
            "accessToken": token,
            "authentication": {"strategy": "local", "accessToken": token},
            "user": {"id": user_id, "email": email},
        }

    def _account(self) -> str | None:
        """The account the request's bearer token belongs to, if it is valid."""
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return self.server.api.account_of(token.strip()) if scheme.lower() == "bearer" else None

    def _require_token(self) -> str:
        """The account the request's token belongs to; 401 without a valid one."""
        account = self._account()
        if account is None:
            raise _Answer(401, "Not authenticated")
        return account

    def _list(self, data: DemoData, params: dict[str, str]) -> list[dict[str, Any]]:
        releases = data.releases()
        if "group" in params:
            group_id = data.group_id(params["group"])
            if group_id is None:
                raise _Answer(
                    404, f"A release group with the name '{params['group']}' does not exist!"
                )
            releases = [r for r in releases if r.group_id == group_id]
        if "group_id" in params:
            try:
                wanted = int(params["group_id"])
            except ValueError:
                raise _Answer(400, f"Invalid value for 'group_id': {params['group_id']}") from None
            releases = [r for r in releases if r.group_id == wanted]
        if "name" in params:
            releases = [r for r in releases if r.name == params["name"]]
        if "closed" in params:
            closed = {"true": True, "1": True, "false": False, "0": False}.get(
                params["closed"].lower()
            )
            if closed is None:
                raise _Answer(400, f"Invalid value for 'closed': {params['closed']}")
            releases = [r for r in releases if r.closed == closed]
        return [r.to_api() for r in releases]

    def _one(self, data: DemoData, raw_id: str) -> dict[str, Any]:
        release = data.by_id(int(raw_id)) if raw_id.isdigit() else None
        if release is None:
            raise _Answer(404, f"No record found for id '{raw_id}'")
        return release.to_api()

    # ---- wire ---------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def _send_json(
        self, status: int, payload: object, headers: Mapping[str, str] | None = None
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send_raw(status, body, "application/json; charset=utf-8", headers)

    def _send_raw(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (a test's timeout, a hang released late)
            self.close_connection = True
