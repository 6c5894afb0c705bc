"""Retries of idempotent upstream requests (connectors.sdk._retry, through get_json)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sdk import FatalError, RetriableError, SourceUnavailable, get_json
from connectors.sdk._retry import (
    RetryPolicy,
    _retrying,
    parse_retry_after,
    send_with_retry,
    source_deadline,
)

URL = "https://data.example.gov.cn/api/v1/resources"


class Sleeps(list[float]):
    """Records the waits a policy plans instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(float(seconds))


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def policy(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(attempts=3, base_delay=0.1, max_delay=2.0, sleep=sleeps)


async def test_a_503_then_200_is_retried_once_and_succeeds(
    router: respx.MockRouter, client: httpx.AsyncClient, policy: RetryPolicy, sleeps: Sleeps
) -> None:
    route = router.get(URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"code": 0})]
    )
    status, body = await get_json(client, URL, source_id="s", retry=policy)
    assert (status, body) == (200, {"code": 0})
    assert route.call_count == 2
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.1


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_each_transient_status_is_retried(
    router: respx.MockRouter, client: httpx.AsyncClient, policy: RetryPolicy, status: int
) -> None:
    route = router.get(URL).mock(side_effect=[httpx.Response(status), httpx.Response(200, json=1)])
    assert await get_json(client, URL, source_id="s", retry=policy) == (200, 1)
    assert route.call_count == 2


async def test_retry_after_in_seconds_is_the_wait(
    router: respx.MockRouter, client: httpx.AsyncClient, policy: RetryPolicy, sleeps: Sleeps
) -> None:
    router.get(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "1"}),
            httpx.Response(200, json=[]),
        ]
    )
    await get_json(client, URL, source_id="s", retry=policy)
    assert sleeps == [1.0]


def test_retry_after_as_an_http_date_is_the_time_until_then() -> None:
    now = datetime(2015, 10, 21, 7, 27, 58, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 2.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:20:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


async def test_a_retry_after_longer_than_max_delay_gives_up_with_that_answer(
    router: respx.MockRouter, client: httpx.AsyncClient, policy: RetryPolicy, sleeps: Sleeps
) -> None:
    route = router.get(URL).mock(return_value=httpx.Response(503, headers={"Retry-After": "30"}))
    with pytest.raises(RetriableError, match="HTTP 503"):
        await get_json(client, URL, source_id="s", retry=policy)
    assert route.call_count == 1 and sleeps == []


async def test_no_sleep_is_planned_past_the_deadline(
    router: respx.MockRouter, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    slow = RetryPolicy(base_delay=1.0, jitter="none", sleep=sleeps)
    route = router.get(URL).mock(return_value=httpx.Response(503))
    deadline = asyncio.get_running_loop().time() + 0.5
    with pytest.raises(RetriableError, match="HTTP 503"):
        await get_json(client, URL, source_id="s", retry=slow, deadline=deadline)
    assert route.call_count == 1 and sleeps == []


async def test_the_deadline_declared_by_the_caller_bounds_retries_too(
    router: respx.MockRouter, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    slow = RetryPolicy(base_delay=1.0, jitter="none", sleep=sleeps)
    route = router.get(URL).mock(return_value=httpx.Response(503))
    with source_deadline(asyncio.get_running_loop().time() + 0.5), pytest.raises(RetriableError):
        await get_json(client, URL, source_id="s", retry=slow)
    assert route.call_count == 1 and sleeps == []


async def test_retries_within_the_deadline_still_happen(
    router: respx.MockRouter, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    quick = RetryPolicy(base_delay=0.01, jitter="none", sleep=sleeps)
    router.get(URL).mock(side_effect=[httpx.Response(503), httpx.Response(200, json=0)])
    deadline = asyncio.get_running_loop().time() + 60
    assert await get_json(client, URL, source_id="s", retry=quick, deadline=deadline) == (200, 0)
    assert sleeps == [0.01]


@pytest.mark.parametrize("status", [400, 401, 404, 500])
async def test_client_errors_and_other_server_errors_are_not_retried(
    router: respx.MockRouter, client: httpx.AsyncClient, policy: RetryPolicy, status: int
) -> None:
    route = router.get(URL).mock(return_value=httpx.Response(status))
    with pytest.raises((FatalError, RetriableError), match=f"HTTP {status}"):
        await get_json(client, URL, source_id="s", retry=policy)
    assert route.call_count == 1


async def test_a_post_is_sent_once_even_when_it_fails_transiently(
    router: respx.MockRouter, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    route = router.post(URL).mock(return_value=httpx.Response(503))
    request = client.build_request("POST", URL, json={"q": 1})
    response = await send_with_retry(client, request, retry=policy)
    await response.aclose()
    assert response.status_code == 503 and route.call_count == 1


async def test_a_refused_connection_is_retried(
    router: respx.MockRouter, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    route = router.get(URL).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=True)]
    )
    assert await get_json(client, URL, source_id="s", retry=policy) == (200, True)
    assert route.call_count == 2


async def test_a_timeout_is_not_retried(
    router: respx.MockRouter, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    route = router.get(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(SourceUnavailable, match="timed out"):
        await get_json(client, URL, source_id="s", retry=policy)
    assert route.call_count == 1


async def test_after_the_last_attempt_the_last_error_is_reported(
    router: respx.MockRouter, client: httpx.AsyncClient, policy: RetryPolicy, sleeps: Sleeps
) -> None:
    route = router.get(URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(504)]
    )
    with pytest.raises(RetriableError, match="HTTP 504"):
        await get_json(client, URL, source_id="s", retry=policy)
    assert route.call_count == 3 and len(sleeps) == 2


async def test_retry_none_sends_once(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.get(URL).mock(return_value=httpx.Response(503))
    with pytest.raises(RetriableError):
        await get_json(client, URL, source_id="s", retry=None)
    assert route.call_count == 1


def test_full_jitter_waits_within_the_exponential_window() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=0.3)
    for retry, ceiling in [(1, 0.1), (2, 0.2), (3, 0.3), (8, 0.3)]:
        waits = [policy.backoff(retry) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1  # random, not fixed
    exact = RetryPolicy(base_delay=0.1, max_delay=0.3, jitter="none")
    assert [exact.backoff(n) for n in (1, 2, 3, 4)] == pytest.approx([0.1, 0.2, 0.3, 0.3])


def test_a_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=-1)


# -- the first attempt outside tenacity's loop, against the loop alone -------------------

OUTCOMES = st.sampled_from(
    ["200", "404", "500", "503", "429-wait", "429-long", "connect", "timeout"]
)
Send = Callable[[httpx.AsyncClient, httpx.Request, RetryPolicy], Awaitable[httpx.Response]]


def _answer(outcome: str) -> httpx.Response:
    if outcome == "connect":
        raise httpx.ConnectError("refused")
    if outcome == "timeout":
        raise httpx.ReadTimeout("slow")
    status, _, after = outcome.partition("-")
    headers = {"retry-after": {"wait": "1", "long": "60"}[after]} if after else {}
    return httpx.Response(int(status), headers=headers)


async def _run(send: Send, script: list[str], attempts: int) -> tuple[object, int, list[float]]:
    """What the caller gets (a status or an error type), the attempts sent, the sleeps."""
    sleeps, sent = Sleeps(), []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        return _answer(script[min(len(sent) - 1, len(script) - 1)])

    policy = RetryPolicy(attempts=attempts, base_delay=0.1, jitter="none", sleep=sleeps)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        request = client.build_request("GET", URL)
        try:
            response = await send(client, request, policy)
            outcome: object = response.status_code
            await response.aclose()
        except httpx.HTTPError as exc:
            outcome = type(exc)
    return outcome, len(sent), list(sleeps)


@settings(max_examples=200)
@given(script=st.lists(OUTCOMES, min_size=1, max_size=4), attempts=st.integers(1, 4))
def test_sending_the_first_attempt_first_retries_exactly_as_the_loop_alone(
    script: list[str], attempts: int
) -> None:
    async def fast(
        client: httpx.AsyncClient, request: httpx.Request, policy: RetryPolicy
    ) -> httpx.Response:
        return await send_with_retry(client, request, retry=policy)

    async def plain(
        client: httpx.AsyncClient, request: httpx.Request, policy: RetryPolicy
    ) -> httpx.Response:
        if attempts <= 1:
            return await send_with_retry(client, request, retry=policy)
        return await _retrying(client, request, policy, None, None, None)

    assert asyncio.run(_run(fast, script, attempts)) == asyncio.run(_run(plain, script, attempts))


async def test_a_retried_first_attempt_counts_toward_the_time_an_attempt_takes(
    router: respx.MockRouter, client: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    # The first attempt (sent before the loop) took 0.3 s; 0.1 s of backoff plus another
    # 0.3 s attempt would end past a deadline 0.35 s away: no retry.
    clock = asyncio.get_running_loop()

    async def slow_503(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        return httpx.Response(503)

    route = router.get(URL).mock(side_effect=slow_503)
    policy = RetryPolicy(attempts=3, base_delay=0.1, jitter="none", sleep=sleeps)
    deadline = clock.time() + 0.65
    with pytest.raises(RetriableError):
        await get_json(client, URL, source_id="s", retry=policy, deadline=deadline)
    assert route.call_count == 1 and sleeps == []
