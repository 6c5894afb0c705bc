"""Two `catalogue-gateway serve` processes against one PostgreSQL and one Redis, as a
multi-replica deployment runs them (docs/deployment.md): a cursor from one pages on the
other, a rate limit is shared, a revocation through one is enforced by the other on its
next request, no cached answer crosses grant sets, and `audit verify` passes over both
processes' chains."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from redis.asyncio import Redis

from gateway.demo.run import SOURCE_SETTINGS
from gateway.store import open_store
from simulators.platforms import PlatformServer
from tests.integration.test_demo_command import free_port
from tests.integration.test_replicas_share_workflows import (
    CONDITIONAL_TRANSPORT,
    DATASET,
    PURPOSE,
    REQUEST,
    REVOKE,
    access_urls,
    ask,
    ready,
    serving,
)
from tests.store_support import (
    fresh_postgres_database,
    redis_url,
    requires_postgres,
    requires_redis,
)

pytestmark = [pytest.mark.integration, requires_postgres, requires_redis]

POLICY = Path(__file__).parents[2] / "gateway" / "demo" / "policy.yaml"
LIMITED = "demo-key-health-analyst"  # caller health-analyst: a burst of 4, no refill to speak of
GENEROUS = {"rate_per_second": 1000, "burst": 10_000}
PAGE = """query P($after: String) { datasets(first: 3, after: $after) {
    edges { node { id } } pageInfo { hasNextPage endCursor } } }"""


def replica_config(
    n: int, port: int, store: str, redis: str, prefix: str, platforms: dict[str, PlatformServer]
) -> dict[str, Any]:
    return {
        "server": {"host": "127.0.0.1", "port": port},
        "sources": [
            {"id": pid, "connector": "ckan", "url": s.url, **SOURCE_SETTINGS[pid]}
            for pid, s in platforms.items()
        ],
        "policy": "policy.yaml",
        "store": {"url": store},
        "shared": {"redis_url": redis, "key_prefix": prefix},
        "graphql": {
            "cursor_secret": "shared-by-every-replica-0123456789",
            "response_cache": {"ttl_seconds": 60},
        },
        "limits": {
            "rate": {
                "anonymous": GENEROUS,
                "default": GENEROUS,
                "callers": {"health-analyst": {"rate_per_second": 0.01, "burst": 4}},
            }
        },
        "audit": {"path": f"audit-{n}.log"},
    }


async def page_ids(
    client: httpx.AsyncClient, base: str, after: str | None
) -> tuple[list[str], str]:
    data = await ask(client, base, "demo-key-auditor", PAGE, {"after": after})
    page = data["datasets"]
    return [e["node"]["id"] for e in page["edges"]], page["pageInfo"]["endCursor"]


async def test_two_replicas_share_cursors_limits_revocation_and_never_a_cached_answer(
    tmp_path: Path, platforms: dict[str, PlatformServer]
) -> None:
    shutil.copy(POLICY, tmp_path / "policy.yaml")
    redis, prefix = redis_url(), f"test-{uuid.uuid4().hex}:"
    assert redis is not None
    ports = free_port(), free_port()
    async with fresh_postgres_database() as url:
        migrated = await open_store(url, upgrade_schema=True)  # `db upgrade`, once
        await migrated.aclose()
        configs = []
        for n, port in enumerate(ports):
            path = tmp_path / f"gateway-{n}.yaml"
            config = replica_config(n, port, url, redis, prefix, platforms)
            path.write_text(yaml.safe_dump(config, allow_unicode=True))
            configs.append(path)
        a, b = (f"http://127.0.0.1:{port}" for port in ports)
        try:
            with serving(configs[0]), serving(configs[1]):
                async with httpx.AsyncClient(timeout=15) as client:
                    await asyncio.gather(ready(client, a), ready(client, b))
                    await cursors_page_across(client, a, b)
                    await rate_limit_is_shared(client, a, b)
                    await answers_stay_with_their_grant_set_and_revocation_applies(client, a, b)
        finally:
            shared = Redis.from_url(redis)
            keys = [key async for key in shared.scan_iter(match=prefix + "*")]
            if keys:
                await shared.delete(*keys)
            await shared.aclose()
    verified = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "audit", "verify", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "audit-0.log head: seq" in verified.stdout
    assert "audit-1.log head: seq" in verified.stdout


async def cursors_page_across(client: httpx.AsyncClient, a: str, b: str) -> None:
    first, cursor = await page_ids(client, a, None)
    on_b, _ = await page_ids(client, b, cursor)
    on_a, _ = await page_ids(client, a, cursor)
    assert on_b == on_a  # B pages on A's cursor exactly as A does
    assert len(on_b) == 3 and not set(on_b) & set(first)


async def rate_limit_is_shared(client: httpx.AsyncClient, a: str, b: str) -> None:
    body = {"query": "{ me { id } }"}
    headers = {"x-api-key": LIMITED}
    statuses = []
    for base in (a, b, a, b, a):
        response = await client.post(base + "/graphql", json=body, headers=headers)
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 200, 429]  # 4 between the two, not 4 on each
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    refused_on_b = await client.post(b + "/graphql", json=body, headers=headers)
    assert refused_on_b.status_code == 429
    # another caller is not limited by it
    assert (await client.post(b + "/graphql", json=body)).status_code == 200


async def answers_stay_with_their_grant_set_and_revocation_applies(
    client: httpx.AsyncClient, a: str, b: str
) -> None:
    analyst, auditor = "demo-key-transport-analyst", "demo-key-auditor"
    own = await ask(client, a, analyst, CONDITIONAL_TRANSPORT)
    dataset_id = next(
        e["node"]["id"]
        for e in own["datasets"]["edges"]
        if any(d["accessUrl"] for d in e["node"]["distributions"])
    )
    same = {"id": dataset_id}
    # The same document, twice each, on both replicas, in turn: each caller sees only what
    # its own grants allow, whatever the other asked just before (response cache on).
    for base in (a, b, a, b):
        assert any(access_urls(await ask(client, base, analyst, DATASET, same, PURPOSE)))
        assert not any(access_urls(await ask(client, base, auditor, DATASET, same, PURPOSE)))

    [request] = (
        await ask(
            client,
            a,
            auditor,
            REQUEST,
            {
                "input": {
                    "datasetIds": [dataset_id],
                    "purpose": PURPOSE,
                    "legalBasis": "audit plan 2027",
                    "validUntil": "2099-12-31",
                }
            },
        )
    )["requestAccess"]
    review = """mutation V($id: ID!, $d: ReviewDecision!) {
        reviewAccessRequest(id: $id, decision: $d) { state } }"""
    await ask(client, b, "demo-key-data-bureau", review, {"id": request["id"], "d": "PASS"})
    approved = await ask(
        client, a, "demo-key-transport-reviewer", review, {"id": request["id"], "d": "APPROVE"}
    )
    assert approved["reviewAccessRequest"]["state"] == "APPROVED"
    # the grant applies on B's next request, though B answered this document just before
    assert any(access_urls(await ask(client, b, auditor, DATASET, same, PURPOSE)))
    assert not any(access_urls(await ask(client, b, auditor, DATASET, same, "other")))

    revoked = await ask(
        client,
        a,
        "demo-key-transport-reviewer",
        REVOKE,
        {"id": request["id"], "r": "audit closed"},
    )
    assert revoked["revokeAccess"]["state"] == "REVOKED"
    # enforced by B on its very next request, the same document it answered with access
    assert not any(access_urls(await ask(client, b, auditor, DATASET, same, PURPOSE)))
    assert not any(access_urls(await ask(client, a, auditor, DATASET, same, PURPOSE)))
