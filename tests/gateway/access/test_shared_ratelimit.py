"""Rate-limit buckets shared through Redis: one bucket for every replica, the local
bucket's decisions and Retry-After, hashed keys, and failing open when Redis is down."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from gateway.access import Caller, RateLimitConfig, RateLimiter, SharedRateLimiter
from gateway.access.policy import ANONYMOUS
from tests.store_support import redis_url, requires_redis

pytestmark = requires_redis

ANALYST = Caller(id="analyst-7f3", department="transport", roles=("government-staff",))


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    url = redis_url()
    assert url is not None
    client: Redis = Redis.from_url(url)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    own = f"test-{uuid.uuid4().hex}:"
    yield own
    keys = [key async for key in redis.scan_iter(match=own + "*")]
    if keys:
        await redis.delete(*keys)


def config(rate: float, burst: int) -> RateLimitConfig:
    limit = {"rate_per_second": rate, "burst": burst}
    return RateLimitConfig.model_validate({"default": limit, "anonymous": limit})


async def test_two_replicas_take_from_one_bucket(redis: Redis, prefix: str) -> None:
    limits = config(rate=0.5, burst=5)
    replica_a = SharedRateLimiter(limits, redis, prefix=prefix)
    replica_b = SharedRateLimiter(limits, redis, prefix=prefix)
    decisions = [
        await (replica_a if i % 2 else replica_b).decide(ANALYST, "127.0.0.1") for i in range(6)
    ]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    refused = decisions[-1]
    # one token at 0.5/s: about 2 s, as the local bucket would say
    assert 1.5 < refused.retry_after_seconds <= 2.0
    assert refused.retry_after_header == "2"


async def test_concurrent_requests_never_take_more_than_the_burst(
    redis: Redis, prefix: str
) -> None:
    limiters = [SharedRateLimiter(config(0.01, 10), redis, prefix=prefix) for _ in range(3)]
    decisions = await asyncio.gather(*(limiters[i % 3].decide(ANALYST, None) for i in range(40)))
    assert sum(d.allowed for d in decisions) == 10


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(burst=st.integers(1, 12), requests=st.integers(1, 20))
async def test_decisions_match_the_local_bucket(redis: Redis, burst: int, requests: int) -> None:
    """The local RateLimiter is the oracle: the same run of requests (refill too slow to
    matter) is allowed and refused at the same places, with about the same Retry-After."""
    own = f"test-{uuid.uuid4().hex}:"
    limits = config(rate=0.001, burst=burst)
    local = RateLimiter(limits)
    shared = SharedRateLimiter(limits, redis, prefix=own)
    try:
        for _ in range(requests):
            expected = local.check(ANALYST, None)
            got = await shared.decide(ANALYST, None)
            assert got.allowed == expected.allowed
            assert got.retry_after_header == expected.retry_after_header
    finally:
        await redis.delete(shared.bucket_key(ANALYST, None))


async def test_a_bucket_refills_at_its_rate(redis: Redis, prefix: str) -> None:
    limiter = SharedRateLimiter(config(rate=50, burst=1), redis, prefix=prefix)
    assert (await limiter.decide(ANALYST, None)).allowed
    refused = await limiter.decide(ANALYST, None)
    assert not refused.allowed
    assert 0 < refused.retry_after_seconds <= 0.02
    await asyncio.sleep(0.05)  # more than one token's worth at 50/s
    assert (await limiter.decide(ANALYST, None)).allowed


async def test_callers_and_addresses_have_their_own_buckets_under_hashed_keys(
    redis: Redis, prefix: str
) -> None:
    limiter = SharedRateLimiter(config(rate=0.01, burst=1), redis, prefix=prefix)
    other = Caller(id="someone-else", department="health")
    assert (await limiter.decide(ANALYST, "198.51.100.1")).allowed
    assert (await limiter.decide(other, "198.51.100.1")).allowed
    assert (await limiter.decide(ANONYMOUS, "2001:db8::1")).allowed
    # the same /64 is the same client; another address is another
    assert not (await limiter.decide(ANONYMOUS, "2001:db8::2")).allowed
    assert (await limiter.decide(ANONYMOUS, "203.0.113.9")).allowed
    keys = [key.decode() async for key in redis.scan_iter(match=prefix + "*")]
    assert len(keys) == 4
    for secret in ("analyst", "someone-else", "2001", "203.0.113.9"):
        assert not any(secret in key for key in keys)
    for key in keys:  # each bucket goes away once it would be full again
        assert 0 < await redis.pttl(key) <= 101_000


async def test_unreachable_redis_falls_back_to_the_local_bucket(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead: Redis = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    limiter = SharedRateLimiter(config(rate=0.01, burst=2), dead, prefix="unused:")
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.ratelimit"):
            decisions = [await limiter.decide(ANALYST, None) for _ in range(3)]
    finally:
        await dead.aclose()
    assert [d.allowed for d in decisions] == [True, True, False]
    assert limiter.degraded
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1  # logged once, not per request
    assert "each process limits on its own" in warnings[0]


async def test_redis_is_tried_again_after_the_pause(redis: Redis, prefix: str) -> None:
    now = [1000.0]
    limiter = SharedRateLimiter(config(0.01, 3), redis, prefix=prefix, clock=lambda: now[0])
    limiter._down_until = now[0] + 5  # as after a failure
    assert (await limiter.decide(ANALYST, None)).allowed
    assert await redis.exists(limiter.bucket_key(ANALYST, None)) == 0  # decided locally
    now[0] += 6
    assert (await limiter.decide(ANALYST, None)).allowed
    assert not limiter.degraded
    assert await redis.exists(limiter.bucket_key(ANALYST, None)) == 1
