"""Per-caller token buckets: burst, refill, keys, per-caller and per-role limits, memory."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gateway.access.policy import ANONYMOUS, Caller
from gateway.access.ratelimit import (
    RateDecision,
    RateLimit,
    RateLimitConfig,
    RateLimiter,
    address_key,
    window_decision,
)

ANALYST = Caller(id="analyst", department="transport", roles=("government-staff",))


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: FakeClock, **config: Any) -> RateLimiter:
    return RateLimiter(RateLimitConfig.model_validate(config), clock=clock)


def burst_of(limiter: RateLimiter, caller: Caller, ip: str | None = "127.0.0.1") -> int:
    """How many requests in a row pass before the first refusal."""
    allowed = 0
    while limiter.check(caller, ip).allowed:
        allowed += 1
        assert allowed < 10_000
    return allowed


def test_a_caller_may_send_a_burst_then_is_refused_with_the_wait() -> None:
    clock = FakeClock()
    limits = limiter(clock, default={"rate_per_second": 2, "burst": 5})
    assert burst_of(limits, ANALYST) == 5
    decision = limits.check(ANALYST, "127.0.0.1")
    assert decision == RateDecision(False, 0.5)
    assert decision.retry_after_header == "1"


def test_tokens_come_back_at_the_configured_rate() -> None:
    clock = FakeClock()
    limits = limiter(clock, default={"rate_per_second": 2, "burst": 5})
    burst_of(limits, ANALYST)
    clock.now += 1.0
    assert burst_of(limits, ANALYST) == 2
    clock.now += 3600
    assert burst_of(limits, ANALYST) == 5  # never more than the burst


def test_retry_after_is_the_time_until_the_next_token() -> None:
    clock = FakeClock()
    limits = limiter(clock, default={"rate_per_second": 0.1, "burst": 1})
    assert limits.check(ANALYST, None).allowed
    clock.now += 2.5
    decision = limits.check(ANALYST, None)
    assert not decision.allowed
    assert decision.retry_after_seconds == pytest.approx(7.5)
    assert decision.retry_after_header == "8"


def test_anonymous_callers_are_limited_per_client_address() -> None:
    clock = FakeClock()
    limits = limiter(clock, anonymous={"rate_per_second": 1, "burst": 3})
    assert burst_of(limits, ANONYMOUS, "10.0.0.1") == 3
    assert burst_of(limits, ANONYMOUS, "10.0.0.2") == 3


def test_ipv6_clients_in_one_64_share_a_bucket() -> None:
    clock = FakeClock()
    limits = limiter(clock, anonymous={"rate_per_second": 1, "burst": 3})
    assert burst_of(limits, ANONYMOUS, "2001:db8:1:2::1") == 3
    assert not limits.check(ANONYMOUS, "2001:db8:1:2:ffff::9").allowed
    assert limits.check(ANONYMOUS, "2001:db8:1:3::1").allowed


def test_an_authenticated_caller_has_one_bucket_whatever_their_address() -> None:
    clock = FakeClock()
    limits = limiter(clock, default={"rate_per_second": 1, "burst": 3})
    assert burst_of(limits, ANALYST, "10.0.0.1") == 3
    assert not limits.check(ANALYST, "10.0.0.2").allowed


def test_a_callers_own_limit_beats_their_roles_and_the_most_generous_role_wins() -> None:
    config = {
        "default": {"rate_per_second": 1, "burst": 2},
        "roles": {
            "government-staff": {"rate_per_second": 5, "burst": 10},
            "auditor": {"rate_per_second": 20, "burst": 40},
        },
        "callers": {"city-operator": {"rate_per_second": 50, "burst": 100}},
    }
    limits = limiter(FakeClock(), **config)
    assert limits.limit_for(ANALYST) == RateLimit(rate_per_second=5, burst=10)
    both = Caller(id="x", roles=("government-staff", "auditor"))
    assert limits.limit_for(both).burst == 40
    operator = Caller(id="city-operator", roles=("auditor",))
    assert limits.limit_for(operator).burst == 100
    assert limits.limit_for(Caller(id="nobody")).burst == 2
    assert limits.limit_for(ANONYMOUS) == RateLimitConfig().anonymous


def test_buckets_are_bounded_in_number() -> None:
    limits = limiter(FakeClock(), max_tracked=100)
    for host in range(250):
        limits.check(ANONYMOUS, f"10.0.{host // 256}.{host % 256}")
    assert limits.tracked <= 100


def test_idle_buckets_are_forgotten_once_they_would_be_full_again() -> None:
    clock = FakeClock()
    limits = limiter(
        clock,
        anonymous={"rate_per_second": 1, "burst": 10},
        default={"rate_per_second": 1, "burst": 20},
    )
    for host in range(5):
        limits.check(ANONYMOUS, f"10.0.0.{host}")
    assert limits.tracked == 5
    clock.now += 21  # the slowest bucket refills in 20 s
    assert limits.tracked == 0


def test_rate_limit_config_reports_bad_values_and_unknown_keys() -> None:
    with pytest.raises(ValidationError) as caught:
        RateLimitConfig.model_validate(
            {"default": {"rate_per_second": 0, "burst": 0}, "per_ip": {}}
        )
    locations = sorted(tuple(map(str, error["loc"])) for error in caught.value.errors())
    assert locations == [
        ("default", "burst"),
        ("default", "rate_per_second"),
        ("per_ip",),
    ]


def test_a_window_allows_its_limit_then_says_when_the_oldest_leaves() -> None:
    assert window_decision([], 3, 3600, 1000.0).allowed
    assert window_decision([100.0, 200.0], 3, 3600, 1000.0).allowed
    refused = window_decision([100.0, 200.0, 900.0], 3, 3600, 1000.0)
    assert not refused.allowed
    assert refused.retry_after_seconds == 2700.0  # 100 + 3600 - 1000
    # Moments that left the window do not count.
    assert window_decision([-5000.0, 200.0, 900.0], 3, 3600, 1000.0).allowed
    # With more earlier moments than the limit (a lowered limit), wait until only
    # limit - 1 remain: the third oldest of four leaves at 300 + 3600.
    late = window_decision([100.0, 200.0, 300.0, 400.0], 2, 3600, 1000.0)
    assert late.retry_after_seconds == 2900.0
    assert not window_decision([], 0, 3600, 1000.0).allowed


def test_addresses_are_keyed_like_the_request_limiter_keys_them() -> None:
    assert address_key("203.0.113.7") == "203.0.113.7"
    assert address_key("2001:db8:1:2:3:4:5:6") == address_key("2001:db8:1:2:ffff::1")
    assert address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_key(None) == "unknown"
