"""Rate-limit buckets every replica shares, kept in Redis (``shared.redis_url``).

The same token bucket as ``RateLimiter`` (same limits, same key per caller or client
address, same ``Retry-After``), but held in Redis and updated by one Lua script, so the
read-refill-take step is atomic across every replica and worker: two replicas together
never let a caller through more often than one would. The script reads the time from Redis
(``TIME``), so replicas with skewed clocks still agree.

Keys are ``<shared.key_prefix>rl:<sha256 of the bucket key>`` (no caller id or address in
Redis), and expire once the bucket would be full again.

When Redis cannot be reached the limiter **fails open to the local bucket**: each process
limits on its own (a caller may get up to N times the limit over N processes) and logs it,
at most once per ``RETRY_SECONDS``; Redis is tried again after that pause. A client never
sees a Redis error. Failing closed would turn a Redis outage into refusing every request.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from gateway.access.ratelimit import RateDecision, RateLimitConfig, RateLimiter, address_key

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from gateway.access.policy import Caller

log = logging.getLogger("gateway.ratelimit")

RETRY_SECONDS = 5.0
"""After Redis failed, how long the local buckets decide before Redis is tried again."""

# KEYS[1] the bucket; ARGV rate per second, burst. Returns {allowed (0/1), retry-after}
# (a string: Lua numbers come back as integers otherwise).
TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local held = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(held[1])
local updated = tonumber(held[2])
if tokens == nil or updated == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
end
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
           'updated', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst / rate) * 1000) + 1000)
return {allowed, string.format('%.17g', retry)}
"""


class SharedRateLimiter:
    """``RateLimiter``'s decisions, with the buckets in Redis.

    >>> limiter = SharedRateLimiter(config, redis, prefix="catalogue-gateway:")
    >>> await limiter.decide(caller, "203.0.113.7")
    RateDecision(allowed=True, retry_after_seconds=0.0)
    """

    def __init__(
        self,
        config: RateLimitConfig,
        redis: Redis,
        *,
        prefix: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.local = RateLimiter(config, clock=clock)  # the fallback while Redis is down
        self._redis = redis
        self._script = redis.register_script(TOKEN_BUCKET)
        self._prefix = prefix
        self._clock = clock
        self._down_until: float | None = None

    def bucket_key(self, caller: Caller, client_ip: str | None) -> str:
        """The Redis key of the caller's bucket: hashed, so Redis holds no ids."""
        plain = f"ip\0{address_key(client_ip)}" if caller.anonymous else f"caller\0{caller.id}"
        return f"{self._prefix}rl:{hashlib.sha256(plain.encode()).hexdigest()}"

    @property
    def degraded(self) -> bool:
        """True while the local buckets decide because Redis failed."""
        return self._down_until is not None and self._clock() < self._down_until

    async def decide(self, caller: Caller, client_ip: str | None) -> RateDecision:
        """Take one token from the caller's shared bucket, or say how long until there is
        one; the local bucket decides while Redis is unreachable."""
        if self.degraded:
            return self.local.check(caller, client_ip)
        limit = self.local.limit_for(caller)
        try:
            answer: Any = await self._script(
                keys=[self.bucket_key(caller, client_ip)],
                args=[repr(limit.rate_per_second), limit.burst],
            )
            allowed, retry = int(answer[0]), float(answer[1])
        except (RedisError, OSError, ValueError, IndexError, TypeError) as exc:
            self._down_until = self._clock() + RETRY_SECONDS
            log.warning(
                "rate limits: the shared Redis failed (%s); each process limits on its own "
                "for the next %.0f s, then Redis is tried again",
                type(exc).__name__,
                RETRY_SECONDS,
            )
            return self.local.check(caller, client_ip)
        if self._down_until is not None:
            log.warning("rate limits: the shared Redis answers again; buckets are shared")
            self._down_until = None
        return RateDecision(True) if allowed else RateDecision(False, retry)
