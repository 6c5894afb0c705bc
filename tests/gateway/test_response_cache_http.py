"""The response cache through the app: what a hit answers, audits and refuses."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from connectors.sdk import SearchPage, SearchQuery, SourceUnavailable
from gateway.access.policy import Policy
from gateway.app import Gateway
from gateway.audit.log import AuditLog, verify
from gateway.config import parse_config
from gateway.http import RedisAnswers
from schema.model import OpenType, ShareType
from tests.gateway.conftest import GatewayFactory, asgi_client, make_dataset
from tests.gateway.memory_connector import MemoryConnector
from tests.store_support import redis_url, requires_redis


def _key(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


POLICY = {
    "callers": [
        {"id": "analyst", "department": "a", "api_keys": [_key("key-a")]},
        {"id": "colleague", "department": "a", "api_keys": [_key("key-c")]},
        {"id": "visitor", "department": "b", "api_keys": [_key("key-b")]},
    ],
}
QUERY = {"query": "{ datasets(first: 10) { totalCount edges { node { id title } } } }"}
SOURCES = {
    "a": [
        make_dataset("a", 1),
        make_dataset("a", 2, share_type=ShareType.NOT_SHARED, open_type=OpenType.NOT_OPEN),
    ]
}


def cached_gateway(make_gateway: GatewayFactory, **kwargs: Any) -> Gateway:
    gateway = make_gateway(SOURCES, policy=POLICY, **kwargs)
    assert gateway.response_cache is not None  # on by default (graphql.response_cache)
    return gateway


def searches(gateway: Gateway) -> int:
    return sum(len(c.calls.searches) for c in gateway.connectors if isinstance(c, MemoryConnector))


async def test_a_hit_answers_the_same_bytes_without_asking_the_sources(
    make_gateway: GatewayFactory,
) -> None:
    gateway = cached_gateway(make_gateway)
    async with asgi_client(gateway) as client:
        first = await client.post("/graphql", json=QUERY, headers={"x-api-key": "key-a"})
        asked = searches(gateway)
        second = await client.post("/graphql", json=QUERY, headers={"x-api-key": "key-a"})
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert searches(gateway) == asked
    assert gateway.response_cache is not None and gateway.response_cache.hits == 1


async def test_a_caller_with_the_same_grants_shares_the_entry_another_does_not(
    make_gateway: GatewayFactory,
) -> None:
    gateway = cached_gateway(make_gateway)
    async with asgi_client(gateway) as client:
        analyst = await client.post("/graphql", json=QUERY, headers={"x-api-key": "key-a"})
        colleague = await client.post("/graphql", json=QUERY, headers={"x-api-key": "key-c"})
        visitor = await client.post("/graphql", json=QUERY, headers={"x-api-key": "key-b"})
        anonymous = await client.post("/graphql", json=QUERY)
    assert analyst.json()["data"]["datasets"]["totalCount"] == 2
    assert colleague.content == analyst.content  # same department, same grant set
    assert visitor.json()["data"]["datasets"]["totalCount"] == 1
    assert anonymous.json()["data"]["datasets"]["totalCount"] == 1
    assert gateway.response_cache is not None and gateway.response_cache.hits == 1


async def test_a_hit_is_audited_like_the_request_that_filled_it(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    gateway = cached_gateway(make_gateway)
    gateway.audit = AuditLog(tmp_path / "audit.log")
    async with asgi_client(gateway) as client:
        for _ in range(2):
            response = await client.post(
                "/graphql", json=QUERY, headers={"x-api-key": "key-b", "x-purpose": "p"}
            )
            assert response.status_code == 200
    await gateway.aclose()
    miss, hit = (json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines())
    assert "cache" not in miss and hit["cache"] == "hit"
    for field in ("caller", "department", "purpose", "dataset_ids", "withheld", "sources"):
        assert hit[field] == miss[field], field
    assert hit["dataset_ids"] == ["a/a-1"] and hit["withheld"] == 0
    assert hit["outcome"] == "ok" and hit["http_status"] == 200
    assert hit["request_id"] != miss["request_id"]
    assert verify([tmp_path / "audit.log"]).ok


async def test_a_hit_is_still_rate_limited(http_client: httpx.AsyncClient) -> None:
    config = parse_config(
        {
            "sources": [{"id": "a", "connector": "ckan", "url": "http://127.0.0.1:9"}],
            "limits": {"rate": {"anonymous": {"rate_per_second": 0.01, "burst": 2}}},
        }
    )
    connector = MemoryConnector(config.sources[0].settings, http_client, SOURCES["a"])
    gateway = Gateway(config, client=http_client, connectors=[connector], policy=Policy.default())
    async with asgi_client(gateway) as client:
        statuses = [(await client.post("/graphql", json=QUERY)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert gateway.response_cache is not None and gateway.response_cache.hits == 1


async def test_a_mutation_is_never_cached(make_gateway: GatewayFactory) -> None:
    gateway = cached_gateway(make_gateway)
    mutation = {"query": 'mutation { withdrawAccessRequest(id: "x") { id } }'}
    async with asgi_client(gateway) as client:
        for _ in range(2):
            await client.post("/graphql", json=mutation, headers={"x-api-key": "key-a"})
    assert gateway.response_cache is not None
    assert (gateway.response_cache.hits, gateway.response_cache.stored) == (0, 0)


async def test_me_and_quality_are_never_cached(make_gateway: GatewayFactory) -> None:
    gateway = cached_gateway(make_gateway)
    documents = [
        "{ me { id } datasets { totalCount } }",
        "{ datasets { edges { node { id quality { score } } } } }",
    ]
    async with asgi_client(gateway) as client:
        for document in documents * 2:
            await client.post("/graphql", json={"query": document})
    assert gateway.response_cache is not None
    assert (gateway.response_cache.hits, gateway.response_cache.stored) == (0, 0)


class Failing(MemoryConnector):
    failing = True

    async def search(self, query: SearchQuery) -> SearchPage:
        if self.failing:
            raise SourceUnavailable("platform down")
        return await super().search(query)


async def test_an_answer_with_a_failed_source_is_not_kept(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(
        {"a": SOURCES["a"], "b": [make_dataset("b", 1)]}, connector_class=Failing
    )
    async with asgi_client(gateway) as client:
        partial = await client.post("/graphql", json=QUERY)
        for connector in gateway.connectors:
            assert isinstance(connector, Failing)
            connector.failing = False
        whole = await client.post("/graphql", json=QUERY)
    assert partial.json()["errors"] and "errors" not in whole.json()
    assert whole.json()["data"]["datasets"]["totalCount"] == 2
    assert gateway.response_cache is not None and gateway.response_cache.hits == 0


async def test_media_type_and_languages_get_their_own_entries(
    make_gateway: GatewayFactory,
) -> None:
    gateway = cached_gateway(make_gateway)
    variants = [
        {"accept": "application/json"},
        {"accept": "application/graphql-response+json"},
        {"accept": "application/json", "accept-language": "en"},
    ]
    async with asgi_client(gateway) as client:
        answers = [await client.post("/graphql", json=QUERY, headers=h) for h in variants]
    assert [a.headers["content-type"].split(";")[0] for a in answers] == [
        "application/json",
        "application/graphql-response+json",
        "application/json",
    ]
    assert gateway.response_cache is not None and gateway.response_cache.hits == 0


def test_the_ttl_is_bounded_by_the_upstream_cache(http_client: httpx.AsyncClient) -> None:
    def built(upstream_ttl: float, ttl: float) -> Gateway:
        config = parse_config(
            {
                "sources": [
                    {
                        "id": "a",
                        "connector": "ckan",
                        "url": "http://127.0.0.1:9",
                        "upstream": {"cache_ttl_seconds": upstream_ttl},
                    }
                ],
                "graphql": {"response_cache": {"ttl_seconds": ttl}},
            }
        )
        return Gateway(config, client=http_client)

    shorter = built(3, 10).response_cache
    assert shorter is not None and shorter.ttl_seconds == 3
    assert built(0, 10).response_cache is None  # no upstream cache: nothing to hold
    assert built(30, 0).response_cache is None  # switched off


def redis_gateway(client: httpx.AsyncClient, url: str) -> Gateway:
    config = parse_config(
        {
            "sources": [{"id": "a", "connector": "ckan", "url": "http://127.0.0.1:9"}],
            "shared": {"redis_url": url},
        }
    )
    connector = MemoryConnector(config.sources[0].settings, client, SOURCES["a"])
    return Gateway(
        config, client=client, connectors=[connector], policy=Policy.parse(POLICY),
        cursor_secret=b"k" * 32,
    )  # fmt: skip


@requires_redis
async def test_replicas_share_entries_through_redis_never_across_grant_sets(
    http_client: httpx.AsyncClient,
) -> None:
    url = redis_url()
    assert url is not None
    prefix = f"test:{uuid.uuid4().hex}:"
    one, other = redis_gateway(http_client, url), redis_gateway(http_client, url)
    for gateway in (one, other):
        await gateway.start()
        assert gateway.response_cache is not None
        assert isinstance(gateway.response_cache.answers, RedisAnswers)
        gateway.response_cache.answers.prefix = prefix
    try:
        async with asgi_client(one) as first, asgi_client(other) as second:
            filled = await first.post("/graphql", json=QUERY, headers={"x-api-key": "key-a"})
            shared = await second.post("/graphql", json=QUERY, headers={"x-api-key": "key-c"})
            visitor = await second.post("/graphql", json=QUERY, headers={"x-api-key": "key-b"})
        assert shared.content == filled.content
        assert visitor.json()["data"]["datasets"]["totalCount"] == 1
        assert other.response_cache is not None and other.response_cache.hits == 1
    finally:
        answers = one.response_cache.answers if one.response_cache else None
        if isinstance(answers, RedisAnswers):
            keys = [k async for k in answers.client.scan_iter(match=prefix + "*")]
            if keys:
                await answers.client.delete(*keys)
        for gateway in (one, other):
            await gateway.aclose()
