"""Which finder answers a request: the one of the workspace's MetaKraftwerk connection.

Release ids and names are unique only inside one MetaKraftwerk customer, so every use case asks
for the finder of the request's tenant, explicitly, where it reads releases. Single-workspace
mode has one connection from the environment (`OneFinder`); distributed mode one finder per
connection (bot/connect/finders.py), which raises `NotConnected` for a workspace without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.app.caller import Caller
from bot.app.finder import ReleaseFinder


class Finders(Protocol):
    """The finder over the caller's connection; raises NotConnected or ConnectionFailing
    (bot/metakraftwerk/errors.py), which every answer turns into a clear message."""

    def for_caller(self, caller: Caller) -> ReleaseFinder: ...


@dataclass(frozen=True, slots=True)
class OneFinder:
    """Single-workspace mode: every request reads the one connection from the environment."""

    finder: ReleaseFinder

    def for_caller(self, caller: Caller) -> ReleaseFinder:
        return self.finder


def finders_of(finder: ReleaseFinder | Finders) -> Finders:
    """A finder stands for every caller; Finders choose per caller."""
    return OneFinder(finder) if isinstance(finder, ReleaseFinder) else finder
