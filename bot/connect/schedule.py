"""When to renew a connection's session token: well before its 20 h expiry, spread out.

Every connection logged in at once after a deploy would also renew at once; a random share of
the lifetime spreads the renewals over hours instead, so MetaKraftwerk never sees a login storm.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

RENEW_AT_SHARE = 0.75  # of the token's lifetime, before jitter
JITTER_SHARE = 0.10  # plus or minus this share of the lifetime
MIN_LEFT = timedelta(minutes=30)  # never later than this before expiry


def renew_at(issued_at: datetime, expires_at: datetime, rng: random.Random) -> datetime:
    """When to renew a token valid from `issued_at` to `expires_at` (65 % to 85 % of it)."""
    lifetime = expires_at - issued_at
    if lifetime <= MIN_LEFT:
        return issued_at
    share = RENEW_AT_SHARE + rng.uniform(-JITTER_SHARE, JITTER_SHARE)
    return min(issued_at + lifetime * share, expires_at - MIN_LEFT)


def is_due(expires_at: datetime | None, now: datetime, horizon: timedelta) -> bool:
    """True when a token expiring at `expires_at` should be renewed now (no token: at once)."""
    return expires_at is None or expires_at - now <= horizon
