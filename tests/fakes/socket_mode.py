"""A loopback stand-in for Slack's Socket Mode WebSocket endpoint.

Enough of RFC 6455 for slack_sdk's built-in client: the HTTP upgrade, unfragmented or
fragmented text frames, ping/pong and close. On each connection it sends Slack's `hello`;
tests then push envelopes with `send()` and read what the client answered in `received`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import time
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class FakeSocketMode:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._connections: list[_Connection] = []
        self._lock = threading.Condition()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="fake-socket-mode", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        """What apps.connections.open hands out."""
        port = self._listener.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket=test-ticket&app_id=A0APP"

    # -- what tests use ------------------------------------------------------------------------
    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> bool:
        return self._wait(lambda: len(self._open()) >= count, timeout)

    def send(self, message: dict[str, Any]) -> None:
        """Send a text frame to the newest open connection, as Slack sends envelopes."""
        with self._lock:
            open_ = self._open()
        assert open_, "no Socket Mode client is connected"
        open_[-1].send_frame(OP_TEXT, json.dumps(message).encode())

    def wait_received(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any] | None:
        """The first message the client sent back for `envelope_id` (its ack)."""
        found: list[dict[str, Any]] = []

        def acked() -> bool:
            found[:] = [m for m in self.received if m.get("envelope_id") == envelope_id]
            return bool(found)

        return found[0] if self._wait(acked, timeout) else None

    # -- internals -----------------------------------------------------------------------------
    def _open(self) -> list[_Connection]:
        return [c for c in self._connections if not c.closed]

    def _wait(self, predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True

    def _changed(self) -> None:
        with self._lock:
            self._lock.notify_all()

    def _record(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.received.append(message)
            self._lock.notify_all()

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(
                target=self._serve, args=(sock,), name="fake-socket-mode-conn", daemon=True
            ).start()

    def _serve(self, sock: socket.socket) -> None:
        connection = _Connection(sock)
        try:
            path = connection.handshake()
            if path is None:
                return
            with self._lock:
                self.paths.append(path)
                self._connections.append(connection)
                self._lock.notify_all()
            connection.send_frame(OP_TEXT, json.dumps(_hello()).encode())
            connection.read_loop(self._record)
        except OSError:
            pass
        finally:
            connection.close()
            self._changed()


def _hello() -> dict[str, Any]:
    return {
        "type": "hello",
        "num_connections": 1,
        "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 18060},
        "connection_info": {"app_id": "A0APP"},
    }


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False
        self._send_lock = threading.Lock()
        self._buffer = b""

    def handshake(self) -> str | None:
        """Answer the HTTP upgrade; the request path, or None if it was not a WebSocket one."""
        while b"\r\n\r\n" not in self._buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key")
        parts = lines[0].split(" ")
        if key is None or len(parts) < 2:
            self.sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return None
        # RFC 6455 fixes SHA-1 for the accept key; it is no security measure.
        digest = hashlib.sha1((key + _GUID).encode(), usedforsecurity=False).digest()
        accept = base64.b64encode(digest).decode()
        with self._send_lock:
            self.sock.sendall(
                (
                    "HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\n"
                    "Connection: Upgrade\r\n"
                    f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
                ).encode()
            )
        return parts[1]

    def send_frame(self, opcode: int, payload: bytes) -> None:
        """A final, unmasked frame (servers never mask)."""
        length = len(payload)
        if length <= 125:
            header = struct.pack("!BB", 0x80 | opcode, length)
        elif length <= 0xFFFF:
            header = struct.pack("!BBH", 0x80 | opcode, 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
        with self._send_lock:
            self.sock.sendall(header + payload)

    def read_loop(self, record: Any) -> None:
        """Read client frames until close: record text messages, answer pings."""
        fragments: list[bytes] = []
        while True:
            first, second = self._read(2)
            fin, opcode = first & 0x80, first & 0x0F
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            mask = self._read(4) if second & 0x80 else b""
            data = self._read(length)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == OP_PING:
                self.send_frame(OP_PONG, data)
            elif opcode == OP_CLOSE:
                with contextlib.suppress(OSError):
                    self.send_frame(OP_CLOSE, data[:2])
                return
            elif opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                fragments.append(data)
                if fin:
                    text = b"".join(fragments).decode("utf-8", errors="replace")
                    fragments.clear()
                    try:
                        record(json.loads(text))
                    except ValueError:
                        record({"unparsed": text})

    def _read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the client closed the connection")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
