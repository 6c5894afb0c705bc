"""Request rate limits: one token bucket per caller.

Each caller has a bucket of ``burst`` tokens that refills at ``rate_per_second``; a
request takes one token, and a request that finds the bucket empty is refused with the
time until the next token (HTTP 429 with ``Retry-After``). Authenticated callers are keyed
by their id, anonymous ones by client address (IPv6 by its /64, which one host usually
holds whole). The limit is the caller's own (``callers``), else the most generous of their
roles' (``roles``), else ``default``; anonymous callers get ``anonymous``::

    limits:
      rate:
        anonymous: {rate_per_second: 2, burst: 20}
        default:   {rate_per_second: 10, burst: 40}
        roles:     {government-staff: {rate_per_second: 20, burst: 80}}
        callers:   {city-operator: {rate_per_second: 50, burst: 200}}

Memory is bounded: at most ``max_tracked`` buckets, and a bucket left idle long enough to
be full again is dropped (a new one starts full, so dropping it changes nothing).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol

from cachetools import TTLCache
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from gateway.access.policy import Caller


class RateLimit(BaseModel):
    """A sustained rate and the burst allowed on top of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_per_second: float = Field(gt=0, le=100_000)
    burst: int = Field(ge=1, le=1_000_000)


class RateLimitConfig(BaseModel):
    """The ``limits.rate`` section of gateway.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    anonymous: RateLimit = RateLimit(rate_per_second=2, burst=20)
    default: RateLimit = RateLimit(rate_per_second=10, burst=40)
    roles: dict[str, RateLimit] = Field(default_factory=dict)
    callers: dict[str, RateLimit] = Field(default_factory=dict)
    max_tracked: int = Field(default=100_000, ge=100, le=10_000_000)


class RateDecision(NamedTuple):
    """Whether the request may go on; if not, how long until it may."""

    allowed: bool
    retry_after_seconds: float = 0.0

    @property
    def retry_after_header(self) -> str:
        """``Retry-After`` in whole seconds, rounded up (never 0 for a refusal)."""
        return str(max(1, math.ceil(self.retry_after_seconds)))


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Decides, per request, whether the caller is within their rate.

    >>> limiter = RateLimiter(RateLimitConfig())
    >>> limiter.check(caller, client_ip="127.0.0.1")
    RateDecision(allowed=True, retry_after_seconds=0.0)
    """

    def __init__(
        self, config: RateLimitConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self._clock = clock
        limits = [config.anonymous, config.default, *config.roles.values()]
        limits += config.callers.values()
        # A bucket idle this long is full again: forgetting it is the same as keeping it.
        refill = max(limit.burst / limit.rate_per_second for limit in limits)
        self._buckets: TTLCache[tuple[str, str], _Bucket] = TTLCache(
            maxsize=config.max_tracked, ttl=max(1.0, refill), timer=clock
        )

    def limit_for(self, caller: Caller) -> RateLimit:
        config = self.config
        if caller.anonymous:
            return config.anonymous
        own = config.callers.get(caller.id)
        if own is not None:
            return own
        by_role = [config.roles[role] for role in caller.roles if role in config.roles]
        if by_role:
            return max(by_role, key=lambda limit: (limit.rate_per_second, limit.burst))
        return config.default

    def check(self, caller: Caller, client_ip: str | None) -> RateDecision:
        """Take one token from the caller's bucket, or say how long until there is one."""
        limit = self.limit_for(caller)
        key = ("ip", address_key(client_ip)) if caller.anonymous else ("caller", caller.id)
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(limit.burst), now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.rate_per_second)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            decision = RateDecision(True)
        else:
            decision = RateDecision(False, (1.0 - bucket.tokens) / limit.rate_per_second)
        self._buckets[key] = bucket  # re-inserting restarts the idle clock
        return decision

    async def decide(self, caller: Caller, client_ip: str | None) -> RateDecision:
        """``check``, awaitable like ``SharedRateLimiter.decide`` (the app calls either)."""
        return self.check(caller, client_ip)

    @property
    def tracked(self) -> int:
        """How many buckets are held now."""
        self._buckets.expire()
        return len(self._buckets)


class RateLimits(Protocol):
    """What the app asks per request: the local ``RateLimiter`` or the shared one."""

    async def decide(self, caller: Caller, client_ip: str | None) -> RateDecision: ...


def window_decision(
    earlier: Sequence[float], limit: int, window_seconds: float, now: float
) -> RateDecision:
    """At most ``limit`` events in any ``window_seconds``: may one more happen at ``now``,
    given the moments (seconds) of the ``earlier`` ones? If not, when the oldest leaves the
    window. For counts kept elsewhere (the store keeps anonymous demand submissions, so
    every replica sees the same count)."""
    recent = sorted(moment for moment in earlier if now - moment < window_seconds)
    if len(recent) < limit:
        return RateDecision(True)
    if limit <= 0:
        return RateDecision(False, window_seconds)
    oldest_to_leave = recent[len(recent) - limit]
    return RateDecision(False, max(0.0, oldest_to_leave + window_seconds - now))


def address_key(client_ip: str | None) -> str:
    """The key a client address is limited by: IPv4 as is, IPv6 by its /64."""
    if not client_ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
