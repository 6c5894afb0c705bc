"""Integration fixtures: the demo's simulated CKAN platforms on real loopback sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from connectors.sdk import SearchQuery
from gateway.app import Gateway, create_app
from gateway.config import parse_config
from gateway.demo.run import SOURCE_SETTINGS, demo_config, demo_policy, source_entry
from simulators.platforms import PlatformServer, PlatformThread, demo_specs

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def platforms() -> Iterator[dict[str, PlatformServer]]:
    """The demo's three CKAN platforms (other kinds have their own integration tests)."""
    with PlatformThread([s for s in demo_specs() if s.kind == "ckan"]) as servers:
        yield servers


@pytest.fixture(scope="session")
def demo_platforms() -> Iterator[dict[str, PlatformServer]]:
    """All eight of the demo's platforms, one of each kind and the CKAN trio."""
    with PlatformThread(demo_specs()) as servers:
        yield servers


def fresh_demo_gateway(servers: dict[str, PlatformServer], timeout: float = 10.0) -> Gateway:
    """A fresh gateway (fresh guards and caches) over the demo's platforms, configured as
    the demo configures it but with a deadline that a loaded test machine cannot miss."""
    config = parse_config(
        {
            "sources": [
                source_entry(pid, s.spec.kind, s.url, s.spec.catalogue)
                | {"timeout_seconds": timeout}
                for pid, s in servers.items()
            ]
        }
    )
    return Gateway(
        config, transport="aiohttp", policy=demo_policy(), cursor_secret=b"integration-tests"
    )


@pytest.fixture(autouse=True)
def healthy_platforms(platforms: dict[str, PlatformServer]) -> Iterator[None]:
    """Every test starts with healthy platforms and fresh request counts."""
    for server in platforms.values():
        server.fault.reset()
        server.stats.reset()
    yield
    for server in platforms.values():
        server.fault.reset()


DEADLINE = 2.0  # seconds: the source deadline of the tests that hang a platform
# The others' deadline: a loaded 2-core CI machine has stalled for 2 s, and a missed
# deadline on a healthy platform is a flaky test, not a finding.
GENEROUS_DEADLINE = 10.0


def gateway_config(platforms: dict[str, PlatformServer], timeout: float = 2.0) -> Any:
    return parse_config(
        {
            "sources": [
                {
                    "id": pid,
                    "connector": "ckan",
                    "url": server.url,
                    "timeout_seconds": timeout,
                    **SOURCE_SETTINGS[pid],
                }
                for pid, server in platforms.items()
            ]
        }
    )


@pytest.fixture
async def gateway(
    platforms: dict[str, PlatformServer], request: pytest.FixtureRequest
) -> AsyncIterator[Gateway]:
    """The gateway as deployed: real config, production (aiohttp) transport, demo policy.
    Tests marked ``short_deadline`` (they hang a platform) get ``DEADLINE``."""
    short = request.node.get_closest_marker("short_deadline") is not None
    gw = Gateway(
        gateway_config(platforms, timeout=DEADLINE if short else GENEROUS_DEADLINE),
        transport="aiohttp",
        policy=demo_policy(),
        cursor_secret=b"integration-tests",
    )
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


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    headers = {}
    if key:
        headers["x-api-key"] = key
    if purpose:
        headers["x-purpose"] = purpose
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- the whole demo: all eight simulated platforms, every connector kind ------------------
@pytest.fixture(scope="session")
def demo_servers(demo_platforms: dict[str, PlatformServer]) -> dict[str, PlatformServer]:
    return demo_platforms  # one set of the eight platforms per session


@pytest.fixture
async def demo_gateway(demo_servers: dict[str, PlatformServer]) -> AsyncIterator[Gateway]:
    gw = Gateway(
        demo_config(demo_servers, host="127.0.0.1", port=0, source_timeout=GENEROUS_DEADLINE),
        transport="httpx",
        policy=demo_policy(),
        cursor_secret=b"full-demo-tests",
    )
    # The file-like catalogues (DCAT, data.json) load whole on first use: load them now,
    # outside the source deadline, so a busy test machine does not time them out.
    await asyncio.gather(*(c.search(SearchQuery(limit=1)) for c in gw.connectors))
    try:
        yield gw
    finally:
        await gw.aclose()


@pytest.fixture
async def demo_client(demo_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(demo_gateway)),
        base_url="http://gateway.test",
        timeout=30,
    ) as c:
        yield c
