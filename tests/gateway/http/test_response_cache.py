"""The response cache's parts: which documents it keeps, its key, its two backends."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.http.response_cache import (
    MAX_ANSWER_BYTES,
    CachedAnswer,
    LocalAnswers,
    RedisAnswers,
    ResponseCache,
    plan_of,
)
from gateway.store.shared import Redis, open_shared_redis
from schema.ids import encode_id
from tests.store_support import redis_url, requires_redis

DATASET_ID = encode_id("Dataset", "a", "a-1")
DEMAND_ID = encode_id("DataDemand", "x", "1")


def key_of(cache: ResponseCache, query: str, **overrides: Any) -> str | None:
    plan = cache.plan(query, overrides.get("operation_name"))
    assert plan is not None
    parts: dict[str, Any] = {
        "operation_name": None,
        "variables": None,
        "media_type": "application/graphql-response+json",
        "languages": (),
        "grant_fingerprint": "f" * 64,
        "policy_generation": 0,
        "grant_revision": 0,
        **overrides,
    }
    return cache.key(plan, **parts)


def cache() -> ResponseCache:
    return ResponseCache(10, LocalAnswers(10, 100))


@pytest.mark.parametrize(
    "query",
    [
        '{ datasets(search: "x") { edges { node { id title } } } }',
        "query Q($id: ID!) { dataset(id: $id) { id copies { dataset { id } } } }",
        "{ departments { id name } __typename }",
        "query { ...Root } fragment Root on Query { datasets { totalCount } }",
        f'{{ node(id: "{DATASET_ID}") {{ id }} }}',
    ],
)
def test_catalogue_reads_are_cacheable(query: str) -> None:
    assert plan_of(query, None) is not None


@pytest.mark.parametrize(
    "query",
    [
        "{ me { id } }",
        "{ datasets { totalCount } me { id } }",
        "{ sources { id state } }",
        "{ accessRequests { edges { node { id } } } }",
        "query { ...Root } fragment Root on Query { me { id } }",
        "{ datasets { edges { node { id quality { score } } } } }",
        "{ datasets { edges { node { ...Q } } } } fragment Q on Dataset { quality { score } }",
        'mutation { withdrawAccessRequest(id: "x") { id } }',
        "subscription { datasets { totalCount } }",
        f'{{ node(id: "{DEMAND_ID}") {{ id }} }}',
        "{ datasets { ",  # not parseable
        "query A { datasets { totalCount } } query B { me { id } }",  # which one?
        "query { ...Missing }",
    ],
)
def test_anything_reading_the_store_the_clock_or_writing_is_not(query: str) -> None:
    plan = plan_of(query, None)
    assert plan is None or not plan.nodes_are_datasets(None)


def test_node_is_cacheable_only_for_a_dataset_id_in_the_variables() -> None:
    query = "query N($id: ID!) { node(id: $id) { id } }"
    c = cache()
    assert key_of(c, query, variables={"id": DATASET_ID}) is not None
    assert key_of(c, query, variables={"id": DEMAND_ID}) is None
    assert key_of(c, query, variables={}) is None


def test_the_key_ignores_layout_but_not_meaning() -> None:
    c = cache()
    compact = "{datasets(first:5){edges{node{id}}}}"
    spaced = "query {\n  datasets(first: 5) {\n    edges { node { id } }\n  }\n}\n"
    assert key_of(c, compact) == key_of(c, spaced)
    assert key_of(c, compact) != key_of(c, "{datasets(first:6){edges{node{id}}}}")


@pytest.mark.parametrize(
    ("part", "other"),
    [
        ("variables", {"search": "y"}),
        ("media_type", "application/json"),
        ("languages", ("en",)),
        ("grant_fingerprint", "e" * 64),
        ("policy_generation", 1),
        ("grant_revision", 7),
    ],
)
def test_each_part_of_the_key_changes_it(part: str, other: Any) -> None:
    c = cache()
    query = "query S($search: String) { datasets(search: $search) { totalCount } }"
    base = key_of(c, query, variables={"search": "x"})
    assert key_of(c, query, **{"variables": {"search": "x"}, part: other}) != base


def test_variables_are_keyed_canonically() -> None:
    c = cache()
    query = "query S($a: String, $b: String) { datasets(search: $a) { totalCount } }"
    one = key_of(c, query, variables={"a": "1", "b": "2"})
    assert one == key_of(c, query, variables={"b": "2", "a": "1"})
    assert one is not None and len(one) == 64  # a sha256, nothing of the query readable


def answer(body: bytes = b'{"data":{}}', **fields: Any) -> CachedAnswer:
    return CachedAnswer(body, 200, "application/json", **fields)


def test_an_entry_round_trips_through_its_encoding() -> None:
    entry = answer(
        b'{"data":{"x":"\n"}}',
        dataset_ids=("a/1", "b/2"),
        withheld=3,
        sources=(("a", "OK"),),
        agreement_hits=(("agr", 2),),
        outcome="ok",
    )
    assert CachedAnswer.decode(entry.encode()) == entry
    assert CachedAnswer.decode(b"not ours") is None


async def test_local_entries_expire_after_the_ttl() -> None:
    now = [0.0]
    local = LocalAnswers(10, 100, timer=lambda: now[0])
    await local.put("k", answer(), 10)
    assert await local.get("k") == answer()
    now[0] = 10.5
    assert await local.get("k") is None


async def test_local_entries_are_bounded_by_count_and_bytes() -> None:
    by_count = LocalAnswers(10, 3)
    for i in range(10):
        await by_count.put(f"k{i}", answer(), 10)
    assert len(by_count) == 3
    assert await by_count.get("k9") is not None and await by_count.get("k0") is None

    by_bytes = LocalAnswers(10, 1000, max_bytes=10_000)
    for i in range(100):
        await by_bytes.put(f"k{i}", answer(b"x" * 1000), 10)
    assert by_bytes.bytes <= 10_000 and len(by_bytes) < 10


async def test_an_answer_over_the_size_limit_is_not_kept() -> None:
    local = LocalAnswers(10, 100, max_bytes=10 * MAX_ANSWER_BYTES)
    await local.put("big", answer(b"x" * MAX_ANSWER_BYTES), 10)
    assert await local.get("big") is None


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    url = redis_url()
    assert url is not None
    client = await open_shared_redis(url)
    yield client
    await client.aclose()


@requires_redis
async def test_redis_keeps_entries_under_a_prefix_with_a_ttl(redis: Redis) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    shared = RedisAnswers(redis, prefix=prefix)
    try:
        entry = answer(dataset_ids=("a/1",), sources=(("a", "OK"),))
        await shared.put("k", entry, 5)
        assert await shared.get("k") == entry
        assert 0 < await redis.pttl(prefix + "k") <= 5000
        assert await shared.get("other") is None
    finally:
        await redis.delete(prefix + "k")


async def test_a_failing_redis_answers_like_a_miss_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing listens on port 9: every command fails (quickly) with a connection error.
    client = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)
    shared = RedisAnswers(client, prefix="test:down:")
    try:
        with caplog.at_level(logging.WARNING, "gateway.response_cache"):
            await shared.put("k", answer(), 5)
            assert await shared.get("k") is None
            assert await shared.get("k") is None
    finally:
        await client.aclose()
    assert len([r for r in caplog.records if "failed" in r.getMessage()]) == 1


def test_a_long_lived_cache_keys_every_request_as_a_fresh_one_does() -> None:
    # The key's encoded parts are remembered per (operation, media type, languages), and
    # forgotten when many: neither may make two requests share a key or change a key.
    query = "query A { datasets { totalCount } } query B { departments { id } }"
    combinations = [
        (name, media, languages)
        for name in ("A", "B")
        for media in ("application/json", "application/graphql-response+json")
        for languages in [(), ("zh",), ("en", "zh"), *((f"x-{i}",) for i in range(140))]
    ]

    def key(cache: ResponseCache, name: str, media: str, languages: tuple[str, ...]) -> Any:
        plan = cache.plan(query, name)
        assert plan is not None
        return cache.key(
            plan,
            operation_name=name,
            variables=None,
            media_type=media,
            languages=languages,
            grant_fingerprint="f" * 64,
            policy_generation=0,
            grant_revision=0,
        )

    long_lived = cache()
    keys = [key(long_lived, *parts) for parts in combinations * 2]
    assert keys == [key(cache(), *parts) for parts in combinations * 2]
    assert len(set(keys)) == len(combinations)
