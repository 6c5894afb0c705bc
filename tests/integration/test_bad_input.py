"""Issue 16 over real HTTP: a caller's bad input never counts against a platform.

Against all eight of the demo's simulated platforms: the fuzzer's query answers
BAD_USER_INPUT without a request to any platform, and queries the platforms themselves
reject (sent past the API's checks, straight to the engine) leave every breaker closed
and every source healthy in ``sources`` and ``/readyz``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.sdk import DatasetFilter
from gateway.access.policy import ANONYMOUS
from gateway.app import Gateway, create_app
from gateway.federation import GuardState, SearchRequest, SourceStatus
from simulators.platforms import PlatformServer
from tests.integration.conftest import fresh_demo_gateway

pytestmark = pytest.mark.integration

# The query of issue 16, as the fuzzer sent it.
ISSUE_QUERY = (
    '{ datasets(filter: {modifiedBefore: "0006-03-13T23:33:41Z", keywords: [""], '
    'identifiers: ["\\u0000x"]}) { totalCount sources { source { id } status } } }'
)
# Five of the eight platforms reject the issue's filter when it reaches them.
REJECTING = {
    "transport-platform",
    "livelihood-platform",
    "city-open-portal",
    "water-ods",
    "hr-rest",
}
HEALTH = "{ sources { id state lastError } }"


@pytest.fixture
async def gateway(demo_platforms: dict[str, PlatformServer]) -> AsyncIterator[Gateway]:
    for server in demo_platforms.values():
        server.fault.reset()
        server.stats.reset()
    gw = fresh_demo_gateway(demo_platforms)
    try:
        yield gw
    finally:
        await gw.aclose()


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://gateway.test"
    ) as c:
        yield c


async def post(client: httpx.AsyncClient, query: str) -> Any:
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()


def requests_seen(platforms: dict[str, PlatformServer]) -> dict[str, int]:
    return {pid: server.stats.total for pid, server in platforms.items()}


def assert_every_source_healthy(gateway: Gateway, health: Any, ready: Any) -> None:
    for source in health["data"]["sources"]:
        assert (source["state"], source["lastError"]) == ("UP", None), source
    for source in ready["sources"]:
        assert (source["state"], source["consecutiveFailures"]) == ("UP", 0), source
    for connector in gateway.connectors:
        assert gateway.engine.guard(connector.source_id).report().state is GuardState.UP


async def test_the_issue_query_answers_bad_user_input_and_calls_no_platform(
    client: httpx.AsyncClient, demo_platforms: dict[str, PlatformServer]
) -> None:
    body = await post(client, ISSUE_QUERY)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert {p["argument"] for p in error["extensions"]["problems"]} == {
        "filter.modifiedBefore",
        "filter.keywords[0]",
        "filter.identifiers[0]",
    }
    assert set(requests_seen(demo_platforms).values()) == {0}


async def test_any_number_of_bad_input_requests_leaves_every_breaker_closed(
    gateway: Gateway, client: httpx.AsyncClient, demo_platforms: dict[str, PlatformServer]
) -> None:
    for _ in range(30):  # the issue needed twelve to open five breakers
        body = await post(client, ISSUE_QUERY)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert set(requests_seen(demo_platforms).values()) == {0}
    health = await post(client, HEALTH)
    ready = (await client.get("/readyz")).json()
    assert_every_source_healthy(gateway, health, ready)
    answer = await post(client, "{ datasets(first: 3) { sources { source { id } status } } }")
    assert "errors" not in answer, answer
    assert {s["status"] for s in answer["data"]["datasets"]["sources"]} == {"OK"}


async def test_queries_the_platforms_reject_never_count_against_them(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """Past the API's checks (as a platform stricter than the gateway would): the five
    platforms reject the query for real, each time, and stay healthy."""
    grants = gateway.policies.current.grant_set(ANONYMOUS, None, datetime.now(UTC))
    rejected_filter = DatasetFilter(
        modified_before=datetime(6, 3, 13, 23, 33, 41, tzinfo=UTC),
        keywords=("",),
        identifiers=("\x00x",),
    )
    failures = max(entry.upstream.breaker_failures for entry in gateway.config.sources)
    for _ in range(failures * 3):
        result = await gateway.engine.search(SearchRequest(filter=rejected_filter), grants)
        rejected = {r.source_id for r in result.sources if r.rejected}
        assert rejected == REJECTING
        assert all(r.status is SourceStatus.ERROR for r in result.sources if r.rejected)
    health = await post(client, HEALTH)
    ready = (await client.get("/readyz")).json()
    assert_every_source_healthy(gateway, health, ready)
    result = await gateway.engine.search(SearchRequest(first=3), grants)
    assert {r.status for r in result.sources} == {SourceStatus.OK}
