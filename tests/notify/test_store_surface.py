"""The store's repositories hold what the bot uses; helpers only tests need live in support.py."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from bot.notify.store.digests import DigestRepository
from bot.notify.store.follows import FollowRepository
from bot.notify.store.leases import LeaseRepository
from bot.notify.store.outbox import OutboxRepository
from bot.notify.store.subscriptions import SubscriptionRepository

BOT = Path(__file__).parents[2] / "bot"
REPOSITORIES = (
    SubscriptionRepository,
    OutboxRepository,
    DigestRepository,
    LeaseRepository,
    FollowRepository,
)


def test_every_public_repository_method_is_called_by_the_bot() -> None:
    source = "\n".join(path.read_text() for path in BOT.rglob("*.py"))
    unused = [
        f"{repository.__name__}.{name}"
        for repository in REPOSITORIES
        for name, member in vars(repository).items()
        if not name.startswith("_")
        and inspect.isfunction(member)
        and not re.search(rf"\.{name}\(", source)
    ]
    assert unused == []
