"""Cold start: sources served from a local index load in the background from the start;
``/readyz`` says "loading" until they have, and a query meanwhile hears "still loading"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.access.policy import Policy
from gateway.app import Gateway
from gateway.config import parse_config
from tests.gateway.conftest import asgi_client

CATALOGUE = {
    "dataset": [
        {
            "identifier": f"bus-{i}",
            "title": f"Bus routes {i}",
            "accessLevel": "public",
            "modified": "2026-01-0{i}",
        }
        for i in range(1, 4)
    ]
}
SEARCH = "{ datasets(first: 5) { totalCount sources { source { id } status message } } }"


class SlowPlatform:
    """A data.json platform that answers only once ``release`` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.requests = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        await self.release.wait()
        return httpx.Response(200, content=json.dumps(CATALOGUE).encode())


@pytest.fixture
async def platform() -> SlowPlatform:
    return SlowPlatform()


@pytest.fixture
async def gateway(platform: SlowPlatform) -> AsyncIterator[Gateway]:
    config = parse_config(
        {
            "sources": [
                {
                    "id": "agency",
                    "connector": "datajson",
                    "url": "http://agency.test/data.json",
                    "timeout_seconds": 0.3,
                    "defaults": {
                        "share_type": "UNCONDITIONAL",
                        "open_type": "OPEN",
                        "sensitivity": "L1",
                    },
                }
            ]
        }
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(platform))
    gw = Gateway(config, client=client, policy=Policy.default())
    try:
        yield gw
    finally:
        platform.release.set()
        await gw.aclose()
        await client.aclose()


async def test_start_begins_loading_without_waiting_and_readyz_says_loading(
    gateway: Gateway, platform: SlowPlatform
) -> None:
    [connector] = gateway.connectors
    assert not connector.loading
    await gateway.start()  # returns while the platform has not answered
    for _ in range(100):  # let the background load send its request
        if platform.requests:
            break
        await asyncio.sleep(0)
    assert connector.loading
    assert platform.requests == 1  # no query needed to begin the load
    async with asgi_client(gateway) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "loading"
    [source] = body["sources"]
    assert source["loading"] is True and source["status"] == "DOWN"
    assert "still loading the catalogue" in source["message"]


async def test_a_query_while_loading_says_so_and_does_not_trip_the_breaker(
    gateway: Gateway, platform: SlowPlatform
) -> None:
    await gateway.start()
    async with asgi_client(gateway) as client:
        body = (await client.post("/graphql", json={"query": SEARCH})).json()
        [report] = body["data"]["datasets"]["sources"]
        assert report["status"] == "ERROR"
        assert "still loading its catalogue" in report["message"]
        assert "deadline" not in report["message"]
        [error] = body["errors"]
        assert error["extensions"] == {"code": "SOURCE_ERROR", "source": "agency"}
        assert "still loading" in error["message"]
        assert gateway.engine.guard("agency").report().consecutive_failures == 0

        platform.release.set()
        [connector] = gateway.connectors
        await connector.refresh()  # joins the load under way
        assert not connector.loading
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"
        answered = (await client.post("/graphql", json={"query": SEARCH})).json()
    assert answered["data"]["datasets"]["totalCount"] == 3
    assert platform.requests == 2  # the load, then /readyz's conditional revalidation


async def test_a_slow_first_load_by_a_query_is_reported_as_loading_too(
    gateway: Gateway, platform: SlowPlatform
) -> None:
    # Without start() (a connector used on its own), the first query begins the load.
    async with asgi_client(gateway) as client:
        body = (await client.post("/graphql", json={"query": SEARCH})).json()
    [report] = body["data"]["datasets"]["sources"]
    assert report["status"] == "ERROR" and "still loading" in report["message"]
    assert platform.requests == 1
