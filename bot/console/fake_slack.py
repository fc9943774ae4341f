"""A loopback Web API for the console: what the worker posts to "Slack" is printed instead.

The worker keeps using its real WebClient (same code path as in production); only the host it
talks to is this small server, which renders chat.postMessage / chat.update as console text,
and opens a direct-message "channel" for followers (conversations.open) so theirs print too.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from bot.render.message import Message
from bot.render.text import render_text

Printer = Callable[[str], None]
_DM_PREFIX = "D-"  # the channel ids this fake gives direct messages


class ConsoleSlack:
    def __init__(
        self, printer: Printer, *, user_timezone: str | None = None, ansi: bool = False
    ) -> None:
        self._printer = printer
        self._ansi = ansi
        self._user_timezone = user_timezone
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="console-slack", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def start(self) -> ConsoleSlack:
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "team_id": "TCONSOLE", "user_id": "UBOT", "bot_id": "BBOT"}
        if method == "users.info":
            if self._user_timezone:
                return {"ok": True, "user": {"id": args.get("user"), "tz": self._user_timezone}}
            return {"ok": False, "error": "user_not_found"}
        if method == "conversations.open":
            # The follower's direct messages: one "DM channel" per user, named after them.
            return {"ok": True, "channel": {"id": f"{_DM_PREFIX}{args.get('users', '?')}"}}
        if method in ("chat.postMessage", "chat.update"):
            with self._lock:
                ts = str(args.get("ts") or f"{next(self._ts)}.000000")
            blocks = args.get("blocks") or []
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            message = Message(text=str(args.get("text", "")), blocks=tuple(blocks))
            text = render_text(message, ansi=self._ansi).text
            channel = str(args.get("channel", "?"))
            where = f"#{channel}"
            if channel.startswith(_DM_PREFIX):
                title = "(the bot sent you a direct message)"
            elif method == "chat.update":
                number = ts.split(".", 1)[0]  # our own ts are "N.000000": show N
                title = f"(the bot updated its message {number} in {where})"
            elif args.get("thread_ts"):
                title = f"(the bot replied in a thread in {where})"
            else:
                title = f"(the bot posted in {where})"
            self._printer(f"{title}\n{text}")
            return {"ok": True, "channel": args.get("channel"), "ts": ts}
        return {"ok": True}


def _handler(slack: ConsoleSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                args = json.loads(raw or "{}")
            else:
                args = dict(parse_qsl(raw))
            body = json.dumps(slack.answer(self.path.rsplit("/", 1)[-1], args)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
