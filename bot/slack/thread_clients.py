"""One kept-alive connection per posting thread, instead of one pool shared by all of them.

httpcore's connection pool takes one lock per request, twice, and under it polls every idle
connection to see whether it expired: with 32 answer threads posting at once on 2 cores, the
threads spent most of their time queued on that lock (py-spy: 38% of the web process's samples
in `ThreadLock.__enter__`). A thread's own connection (bot/slack/keepalive.py) has nobody to
wait for, and stays kept alive between that thread's answers. The answer threads live as long
as the process; for threads that come and go, `keepalive.ConnectionShelf` lends connections.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class ThreadClients(Generic[C]):
    def __init__(self, factory: Callable[[], C]) -> None:
        self._factory = factory
        self._local = threading.local()
        self._clients: list[C] = []
        self._lock = threading.Lock()
        self._closed = False

    def get(self) -> C:
        """The calling thread's client, made on its first call."""
        if self._closed:
            raise RuntimeError("the response_url clients are closed")
        client: C | None = getattr(self._local, "client", None)
        if client is None:
            client = self._keep(self._factory())
            self._local.client = client
        return client

    def _keep(self, client: C) -> C:
        with self._lock:
            if not self._closed:
                self._clients.append(client)
                return client
        client.close()  # closed while it was being made
        raise RuntimeError("the response_url clients are closed")

    def close(self) -> None:
        """Close every thread's client; a later `get` raises instead of opening a new one."""
        with self._lock:
            self._closed = True
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
