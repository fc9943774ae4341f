"""Redis helpers for the benchmark: empty its own database number, and say whether Redis is there.

The proxy that takes Redis away mid-burst is the tests' loopback `TcpProxy`: closing it looks
like Redis going down to the web processes, while the real Redis (shared with other work) keeps
running.
"""

from __future__ import annotations

import redis

from tests.fakes.tcp_proxy import TcpProxy

__all__ = ["TcpProxy", "flush_db", "redis_reachable"]


def flush_db(host: str, port: int, db: int) -> None:
    """FLUSHDB on one database number only."""
    with redis.Redis(host=host, port=port, db=db, socket_timeout=3) as client:
        client.flushdb()


def redis_reachable(host: str, port: int) -> bool:
    try:
        with redis.Redis(host=host, port=port, socket_timeout=1) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False
