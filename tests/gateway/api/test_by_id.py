"""By-id lookups: batched per source within a request (DataLoader), cached across requests."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.app import Gateway
from schema.ids import encode_id
from tests.gateway.conftest import GatewayFactory, asgi_client, make_dataset
from tests.gateway.memory_connector import MemoryConnector

QUERY = """
query {
  a0: dataset(id: "%s") { title }
  a1: node(id: "%s") { id }
  a2: dataset(id: "%s") { title }
  gone: dataset(id: "%s") { title }
  b0: dataset(id: "%s") { title }
}
"""


def ids() -> tuple[str, ...]:
    return (
        encode_id("Dataset", "a", "a-0"),
        encode_id("Dataset", "a", "a-1"),
        encode_id("Dataset", "a", "a-2"),
        encode_id("Dataset", "a", "a-404"),
        encode_id("Dataset", "b", "b-0"),
    )


async def ask(gateway: Gateway) -> dict[str, Any]:
    async with asgi_client(gateway) as client:
        response = await client.post("/graphql", json={"query": QUERY % ids()})
    body: dict[str, Any] = response.json()
    return body


def memory(gateway: Gateway, index: int) -> MemoryConnector:
    connector = gateway.connectors[index]
    assert isinstance(connector, MemoryConnector)
    return connector


async def test_lookups_in_one_request_are_one_call_per_source(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway(
        {
            "a": [make_dataset("a", i) for i in range(3)],
            "b": [make_dataset("b", 0)],
        }
    )
    body = await ask(gateway)
    data = body["data"]
    assert data["a0"]["title"] and data["a2"]["title"] and data["b0"]["title"]
    assert data["a1"] == {"id": ids()[1]} and data["gone"] is None
    a, b = memory(gateway, 0), memory(gateway, 1)
    assert [sorted(batch) for batch in a.calls.batches] == [["a-0", "a-1", "a-2", "a-404"]]
    assert a.calls.gets == []
    # a single id left for a source goes through get() (and joins a call in flight)
    assert b.calls.batches == [] and b.calls.gets == ["b-0"]


async def test_batched_answers_are_cached_per_id_and_reused(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway({"a": [make_dataset("a", i) for i in range(3)], "b": []})
    first = await ask(gateway)
    again = await ask(gateway)
    assert first == again
    a = memory(gateway, 0)
    assert len(a.calls.batches) == 1  # the second request was answered from the cache


async def test_copies_read_through_also_published_by_are_one_call_per_source(
    http_client: httpx.AsyncClient,
) -> None:
    from gateway.access.policy import Policy
    from gateway.config import parse_config
    from schema.model import Department

    transport = Department("transport", "Transport Bureau")
    config = parse_config(
        {
            "sources": [
                {
                    "id": "dept",
                    "connector": "ckan",
                    "url": "http://127.0.0.1:9",
                    "authoritative_for": ["transport"],
                },
                {
                    "id": "portal",
                    "connector": "ckan",
                    "url": "http://127.0.0.1:9",
                    "republishes": ["dept"],
                },
            ]
        }
    )
    originals = [
        make_dataset("dept", i, identifier=f"X{i}", department=transport) for i in range(3)
    ]
    copies = [
        make_dataset("portal", i, identifier=f"X{i}", department=transport, title=f"副本 {i}")
        for i in range(3)
    ]
    dept, portal = (
        MemoryConnector(entry.settings, http_client, data)
        for entry, data in zip(config.sources, (originals, copies), strict=True)
    )
    gateway = Gateway(
        config, client=http_client, connectors=[dept, portal], policy=Policy.default()
    )
    query = """{ datasets(first: 10) { edges { node { source { id }
                 alsoPublishedBy { id dataset { id title source { id } } } } } } }"""
    async with asgi_client(gateway) as client:
        body = (await client.post("/graphql", json={"query": query})).json()
    nodes = [edge["node"] for edge in body["data"]["datasets"]["edges"]]
    assert [n["source"]["id"] for n in nodes] == ["dept"] * 3
    read = [c["dataset"] for n in nodes for c in n["alsoPublishedBy"]]
    assert sorted(d["title"] for d in read) == ["副本 0", "副本 1", "副本 2"]
    assert all(d["source"]["id"] == "portal" for d in read)
    assert [sorted(batch) for batch in portal.calls.batches] == [
        ["portal-0", "portal-1", "portal-2"]
    ]
