"""An API stand-in for the cache's tests: answers and failures set by the test, calls counted.

Thread-safe, since the cache's tests call it from many threads (and, over Redis, from several
caches standing in for several processes).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from bot.clock import Deadline
from bot.metakraftwerk.errors import ReleaseNotFound
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release
from tests.fakes.clock import FakeClock

R1 = Release(id=1, name="R1", group_id=1)
R2 = Release(id=2, name="R2", group_id=1)


@dataclass
class FakeSource:
    clock: FakeClock
    releases: tuple[Release, ...] = (R1, R2)
    groups: dict[int, str] = field(default_factory=lambda: {1: "DWH_GROUP"})
    error: Exception | None = None
    gate: threading.Event | None = None  # calls wait here (at most 10 s) while it is clear
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_deadline(self) -> Deadline:
        return Deadline.start(self.clock, 8)

    def _call(self, what: str) -> None:
        with self.lock:
            self.calls.append(what)
        if self.gate is not None:
            self.gate.wait(10)
        if self.error is not None:
            raise self.error

    def list_releases(
        self, f: ApiFilter | None = None, *, deadline: Deadline | None = None
    ) -> tuple[Release, ...]:
        self._call("list")
        return self.releases

    def get_release(self, release_id: int, *, deadline: Deadline | None = None) -> Release:
        self._call(f"get {release_id}")
        for release in self.releases:
            if release.id == release_id:
                return release
        raise ReleaseNotFound(release_id)

    def fetch_groups(self, *, deadline: Deadline | None = None) -> dict[int, str]:
        self._call("groups")
        return dict(self.groups)
