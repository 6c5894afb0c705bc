"""The Redis that replicas share (``shared.redis_url``, DESIGN.md "Scale-out").

The store (SQL) keeps what must survive; Redis keeps what replicas must agree on at request
speed: rate-limit buckets, the response cache, revocation notices. One client per process,
opened by the composition root and handed to whoever needs it.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.store.engine import StoreError

__all__ = ["Redis", "RedisError", "open_shared_redis"]


async def open_shared_redis(url: str, *, timeout_seconds: float = 2.0) -> Redis:
    """A client for ``url``, checked with a PING; ``StoreError`` (no password in it) if not."""
    client: Redis = Redis.from_url(
        url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
    )
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise StoreError(
            f"the shared Redis at {_safe(url)} is unreachable ({type(exc).__name__})"
        ) from None
    return client


def _safe(url: str) -> str:
    """``url`` without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"
