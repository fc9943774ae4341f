"""The production web server: gunicorn, embedded so that settings are checked before it starts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """Runs a ready WSGI app under gunicorn's threaded worker, one process by default.

    Each process keeps its own API cache; scale out with more processes (`WEB_CONCURRENCY`)
    only when one process with many threads is not enough.
    """

    def __init__(self, load: Callable[[], Any], options: dict[str, Any]) -> None:
        self._load = load
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key.lower(), value)

    def load(self) -> Any:
        return self._load()


def serve(load: Callable[[], Any], *, port: int, workers: int, threads: int) -> None:
    GunicornServer(
        load,
        {
            "bind": f"0.0.0.0:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 20,
            "accesslog": None,
            "errorlog": "-",
            "proc_name": "releases-bot-web",
        },
    ).run()
