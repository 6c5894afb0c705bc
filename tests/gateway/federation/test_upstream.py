"""The guard in front of each source: cache, coalescing, limits, breaker, stale answers."""

from __future__ import annotations

import asyncio
import gc

import pytest

from connectors.sdk import NotSupported, QueryRejected, RetriableError
from gateway.access.policy import ANONYMOUS, Policy
from gateway.federation.search import SearchRequest, SourceStatus
from gateway.federation.upstream import CircuitOpen, GuardConfig, GuardState, SourceGuard
from tests.gateway.conftest import BASE, GatewayFactory, asgi_client, make_dataset


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def grants():  # type: ignore[no-untyped-def]
    return Policy.default().grant_set(ANONYMOUS, None, BASE)


async def test_identical_requests_are_answered_once_from_the_cache(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway({"a": [make_dataset("a", i) for i in range(5)]})
    for _ in range(3):
        await gateway.engine.search(SearchRequest(first=5), grants())
    assert len(gateway.connectors[0].calls.searches) == 1  # type: ignore[attr-defined]


async def test_identical_requests_in_flight_are_coalesced() -> None:
    guard = SourceGuard("s", GuardConfig(cache_ttl_seconds=0, stale_ttl_seconds=0))
    started = 0

    async def slow() -> str:
        nonlocal started
        started += 1
        await asyncio.sleep(0.05)
        return "page"

    answers = await asyncio.gather(*(guard.run("k", slow) for _ in range(20)))
    assert answers == ["page"] * 20
    assert started == 1


async def test_a_source_is_never_called_more_than_its_concurrency_limit() -> None:
    guard = SourceGuard("s", GuardConfig(max_concurrency=2, cache_ttl_seconds=0))
    running = peak = 0

    async def call() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    await asyncio.gather(*(guard.run(i, call) for i in range(8)))
    assert peak == 2


async def test_the_breaker_opens_after_consecutive_failures_then_probes_once() -> None:
    clock = Clock()
    guard = SourceGuard(
        "s",
        GuardConfig(breaker_failures=3, breaker_reset_seconds=30, cache_ttl_seconds=0),
        clock=clock,
    )
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise RetriableError("HTTP 503", source_id="s")

    for _ in range(3):
        with pytest.raises(RetriableError):
            await guard.run(None, failing)
    assert guard.report().state is GuardState.CIRCUIT_OPEN
    with pytest.raises(CircuitOpen):
        await guard.run(None, failing)
    assert calls == 3  # open: the platform is left alone
    clock.now += 31
    with pytest.raises(RetriableError):
        await guard.run(None, failing)  # half-open probe fails: open again
    assert calls == 4 and guard.report().state is GuardState.CIRCUIT_OPEN
    clock.now += 31

    async def working() -> str:
        return "ok"

    assert await guard.run(None, working) == "ok"
    assert guard.report().state is GuardState.UP


async def test_circuit_open_is_a_source_status_and_the_others_still_answer(
    make_gateway: GatewayFactory,
) -> None:
    from tests.gateway.memory_connector import MemoryConnector

    class Down(MemoryConnector):
        async def search(self, query):  # type: ignore[no-untyped-def]
            if self.source_id == "down":
                raise RetriableError("HTTP 503", source_id="down")
            return await super().search(query)

    gateway = make_gateway(
        {"ok": [make_dataset("ok", 1)], "down": [make_dataset("down", 1)]}, connector_class=Down
    )
    for _ in range(5):
        await gateway.engine.search(SearchRequest(), grants())
    result = await gateway.engine.search(SearchRequest(first=3), grants())
    statuses = {r.source_id: r.status for r in result.sources}
    assert statuses == {"ok": SourceStatus.OK, "down": SourceStatus.CIRCUIT_OPEN}
    async with asgi_client(gateway) as client:
        body = (
            await client.post("/graphql", json={"query": "{ sources { id state lastError } }"})
        ).json()
    by_id = {s["id"]: s for s in body["data"]["sources"]}
    assert by_id["down"]["state"] == "CIRCUIT_OPEN"
    assert "503" in by_id["down"]["lastError"]


async def test_a_failing_source_is_served_from_an_earlier_answer_and_says_so(
    make_gateway: GatewayFactory,
) -> None:
    from tests.gateway.memory_connector import MemoryConnector

    class Flaky(MemoryConnector):
        broken = False

        async def search(self, query):  # type: ignore[no-untyped-def]
            if self.broken:
                raise RetriableError("HTTP 502", source_id=self.source_id)
            return await super().search(query)

    gateway = make_gateway({"a": [make_dataset("a", i) for i in range(3)]}, connector_class=Flaky)
    clock = Clock()
    gateway.engine._guards["a"] = SourceGuard(
        "a", GuardConfig(cache_ttl_seconds=10, stale_ttl_seconds=300), clock=clock
    )
    first = await gateway.engine.search(SearchRequest(first=3), grants())
    gateway.connectors[0].broken = True  # type: ignore[attr-defined]
    clock.now += 60  # past fresh, within stale
    again = await gateway.engine.search(SearchRequest(first=3), grants())
    [report] = again.sources
    assert report.status is SourceStatus.OK and report.stale
    assert "earlier answer" in (report.message or "")
    assert [e.dataset.local_id for e in again.edges] == [e.dataset.local_id for e in first.edges]
    assert again.total_count_is_exact is False


async def test_every_source_call_is_bound_to_the_sources_origins(
    make_gateway: GatewayFactory,
) -> None:
    # A connector that follows a link elsewhere with its own header: the gateway declares
    # the source's origins around every call, so the SDK refuses it before sending.
    from connectors.sdk import get_json
    from tests.gateway.memory_connector import MemoryConnector

    sent: list[str] = []

    class Wanderer(MemoryConnector):
        async def search(self, query):  # type: ignore[no-untyped-def]
            await get_json(
                self.client,
                "https://elsewhere.example.net/x",
                source_id=self.source_id,
                headers={"X-Key": "k"},
            )
            sent.append("elsewhere")
            return await super().search(query)

    gateway = make_gateway({"a": [make_dataset("a", 1)]}, connector_class=Wanderer)
    result = await gateway.engine.search(SearchRequest(), grants())
    [report] = result.sources
    assert report.status is SourceStatus.ERROR
    assert (
        report.message == "the platform's answer could not be used (link to another origin refused)"
    )
    assert sent == []


async def test_rejected_queries_never_count_towards_the_breaker_nor_are_cached() -> None:
    guard = SourceGuard("s", GuardConfig(breaker_failures=2, cache_ttl_seconds=30))
    calls = 0

    async def rejected() -> None:
        nonlocal calls
        calls += 1
        raise QueryRejected("CKAN rejected the query: Invalid Date String", source_id="s")

    for _ in range(50):
        with pytest.raises(QueryRejected):
            await guard.run("same-bad-query", rejected)
    assert calls == 50  # a rejection is never cached: each call asks again
    report = guard.report()
    assert (report.state, report.consecutive_failures, report.last_error) == (
        GuardState.UP,
        0,
        None,
    )


async def test_a_rejected_query_does_not_reset_a_failing_count() -> None:
    guard = SourceGuard("s", GuardConfig(breaker_failures=3, cache_ttl_seconds=0))

    async def failing() -> None:
        raise RetriableError("HTTP 503", source_id="s")

    async def rejected() -> None:
        raise QueryRejected("bad query", source_id="s")

    for call in (failing, rejected, failing, rejected, failing):
        with pytest.raises((RetriableError, QueryRejected)):
            await guard.run(None, call)
    assert guard.report().state is GuardState.CIRCUIT_OPEN


@pytest.mark.parametrize("error", [QueryRejected, NotSupported])
async def test_a_half_open_probe_answered_as_the_callers_fault_frees_the_probe(
    error: type[Exception],
) -> None:
    clock = Clock()
    guard = SourceGuard(
        "s",
        GuardConfig(breaker_failures=1, breaker_reset_seconds=30, cache_ttl_seconds=0),
        clock=clock,
    )

    async def failing() -> None:
        raise RetriableError("HTTP 503", source_id="s")

    async def blamed() -> None:
        raise error("the request is at fault", source_id="s")

    async def working() -> str:
        return "ok"

    with pytest.raises(RetriableError):
        await guard.run(None, failing)
    clock.now += 31
    with pytest.raises(error):
        await guard.run(None, blamed)  # the probe: the platform answered, blaming the request
    assert await guard.run(None, working) == "ok"  # the next call may probe; it closes
    assert guard.report().state is GuardState.UP


async def test_a_rejected_query_is_the_callers_error_and_never_served_stale(
    make_gateway: GatewayFactory,
) -> None:
    from tests.gateway.memory_connector import MemoryConnector

    class Picky(MemoryConnector):
        rejecting = False

        async def search(self, query):  # type: ignore[no-untyped-def]
            if self.rejecting:
                raise QueryRejected("the platform says: bad date", source_id=self.source_id)
            return await super().search(query)

    gateway = make_gateway(
        {"a": [make_dataset("a", 1)], "b": [make_dataset("b", 1)]}, connector_class=Picky
    )
    clock = Clock()
    gateway.engine._guards["a"] = SourceGuard(
        "a", GuardConfig(cache_ttl_seconds=10, stale_ttl_seconds=300), clock=clock
    )
    await gateway.engine.search(SearchRequest(first=3), grants())
    gateway.connectors[0].rejecting = True  # type: ignore[attr-defined]
    clock.now += 60  # past fresh, within stale
    query = "{ datasets(first: 3) { edges { node { id } } sources { source { id } status } } }"
    async with asgi_client(gateway) as client:
        for _ in range(20):
            body = (await client.post("/graphql", json={"query": query})).json()
        health = (
            await client.post("/graphql", json={"query": "{ sources { id state lastError } }"})
        ).json()
        ready = (await client.get("/readyz")).json()
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "source": "a"}
    assert "bad date" not in error["message"]  # the platform's own text stays in the log
    statuses = {s["source"]["id"]: s["status"] for s in body["data"]["datasets"]["sources"]}
    assert statuses == {"a": "ERROR", "b": "OK"}  # no earlier answer stands in for it
    by_id = {s["id"]: s for s in health["data"]["sources"]}
    assert by_id["a"] == {"id": "a", "state": "UP", "lastError": None}
    [a_ready] = [s for s in ready["sources"] if s["id"] == "a"]
    assert (a_ready["state"], a_ready["consecutiveFailures"]) == ("UP", 0)


async def test_a_call_that_fails_after_every_caller_gave_up_is_counted_not_logged_as_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # CI once printed asyncio's "Task exception was never retrieved" with the upstream's
    # traceback: the caller's deadline passed, then the shared call failed, unobserved.
    guard = SourceGuard("s", GuardConfig(cache_ttl_seconds=0, stale_ttl_seconds=0))
    release = asyncio.Event()

    async def failing() -> int:
        await release.wait()
        raise RetriableError("timed out: ConnectTimeout")

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await guard.run("key", failing)
    release.set()
    for _ in range(3):
        await asyncio.sleep(0)
    gc.collect()
    assert guard.report().consecutive_failures == 1
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


class Colliding:
    """A key whose hash collides with every other one's: only equality may tell them apart."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __hash__(self) -> int:
        return 7

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Colliding) and other.name == self.name


async def test_the_cache_tells_keys_apart_by_equality_not_by_hash() -> None:
    clock = Clock()
    guard = SourceGuard("s", GuardConfig(cache_ttl_seconds=30), clock=clock)

    async def answer(value: str) -> str:
        return value

    assert await guard.run(Colliding("a"), lambda: answer("A")) == "A"
    assert await guard.run(Colliding("b"), lambda: answer("B")) == "B"
    assert await guard.run(Colliding("a"), lambda: answer("not cached")) == "A"
    assert guard.cached(Colliding("b")) == (True, "B")
    assert guard.cached(Colliding("c")) == (False, None)
    guard.store(Colliding("c"), "C")
    assert guard.cached(Colliding("c")) == (True, "C")
    assert guard.stale(Colliding("a")) == "A" and guard.stale(Colliding("d")) is None
    assert guard.upstream_calls == 2
    clock.now += 31  # past the TTL: asked again
    assert await guard.run(Colliding("a"), lambda: answer("A2")) == "A2"
