"""Two `catalogue-gateway serve` processes on one PostgreSQL store: both see the same
access requests, and a revocation made through one applies to the very next request on
the other."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.demo.run import SOURCE_SETTINGS
from gateway.store import open_store
from simulators.platforms import PlatformServer
from tests.integration.test_demo_command import free_port
from tests.store_support import fresh_postgres_database, requires_postgres

pytestmark = [pytest.mark.integration, requires_postgres]

POLICY = Path(__file__).parents[2] / "gateway" / "demo" / "policy.yaml"
PURPOSE = "congestion-study"


@contextmanager
def serving(config: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
        assert "Traceback" not in stderr, stderr


async def ready(client: httpx.AsyncClient, base: str) -> None:
    for _ in range(200):
        try:
            if (await client.get(base + "/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{base} did not start")


async def ask(
    client: httpx.AsyncClient,
    base: str,
    key: str,
    query: str,
    variables: dict[str, Any] | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    headers = {"x-api-key": key}
    if purpose:
        headers["x-purpose"] = purpose
    response = await client.post(
        base + "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


CONDITIONAL_TRANSPORT = """
{ datasets(first: 20, filter: {departments: ["transport"], shareTypes: [CONDITIONAL]}) {
    edges { node { id distributions { accessUrl } } } } }
"""
REQUEST = "mutation R($input: AccessRequestInput!) { requestAccess(input: $input) { id } }"
REVOKE = "mutation X($id: ID!, $r: String!) { revokeAccess(id: $id, reason: $r) { state } }"
DATASET = "query D($id: ID!) { dataset(id: $id) { id distributions { accessUrl } } }"


def access_urls(data: dict[str, Any]) -> list[str | None]:
    return [d["accessUrl"] for d in data["dataset"]["distributions"]]


async def test_two_serve_processes_share_requests_and_revocation(
    tmp_path: Path, platforms: dict[str, PlatformServer]
) -> None:
    shutil.copy(POLICY, tmp_path / "policy.yaml")
    ports = free_port(), free_port()
    async with fresh_postgres_database() as url:
        migrated = await open_store(url, upgrade_schema=True)
        await migrated.aclose()
        configs = []
        for n, port in enumerate(ports):
            config = {
                "server": {"host": "127.0.0.1", "port": port},
                "sources": [
                    {"id": pid, "connector": "ckan", "url": s.url, **SOURCE_SETTINGS[pid]}
                    for pid, s in platforms.items()
                ],
                "policy": "policy.yaml",
                "store": {"url": url},
                "graphql": {"cursor_secret": "shared-by-every-replica-0123456789"},
                "audit": {"path": f"audit-{n}.log"},
            }
            path = tmp_path / f"gateway-{n}.yaml"
            path.write_text(yaml.safe_dump(config, allow_unicode=True))
            configs.append(path)
        a, b = (f"http://127.0.0.1:{port}" for port in ports)
        with serving(configs[0]), serving(configs[1]):
            async with httpx.AsyncClient(timeout=15) as client:
                await asyncio.gather(ready(client, a), ready(client, b))
                own = await ask(client, a, "demo-key-transport-analyst", CONDITIONAL_TRANSPORT)
                dataset_id = next(
                    e["node"]["id"]
                    for e in own["datasets"]["edges"]
                    if any(d["accessUrl"] for d in e["node"]["distributions"])
                )
                auditor = "demo-key-auditor"  # discovers every shared dataset, uses none
                before = await ask(client, b, auditor, DATASET, {"id": dataset_id}, PURPOSE)
                assert not any(access_urls(before))

                submitted = await ask(
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
                [request] = submitted["requestAccess"]
                listed = await ask(
                    client,
                    b,
                    "demo-key-data-bureau",
                    "{ accessRequests(toReview: true) { totalCount edges { node { id } } } }",
                )
                assert listed["accessRequests"]["edges"] == [{"node": request}]
                review = """mutation V($id: ID!, $d: ReviewDecision!) {
                    reviewAccessRequest(id: $id, decision: $d) { state } }"""
                passed = await ask(
                    client, b, "demo-key-data-bureau", review, {"id": request["id"], "d": "PASS"}
                )
                assert passed["reviewAccessRequest"]["state"] == "PROVIDER_REVIEW"
                approved = await ask(
                    client,
                    a,
                    "demo-key-transport-reviewer",
                    review,
                    {"id": request["id"], "d": "APPROVE"},
                )
                assert approved["reviewAccessRequest"]["state"] == "APPROVED"

                granted = await ask(client, b, auditor, DATASET, {"id": dataset_id}, PURPOSE)
                assert any(access_urls(granted))
                other_purpose = await ask(client, b, auditor, DATASET, {"id": dataset_id}, "other")
                assert not any(access_urls(other_purpose))

                revoked = await ask(
                    client,
                    a,
                    "demo-key-transport-reviewer",
                    REVOKE,
                    {"id": request["id"], "r": "audit closed"},
                )
                assert revoked["revokeAccess"]["state"] == "REVOKED"
                after = await ask(client, b, auditor, DATASET, {"id": dataset_id}, PURPOSE)
                assert not any(access_urls(after))
                state = await ask(
                    client,
                    b,
                    auditor,
                    "query S($id: ID!) { accessRequest(id: $id) { state } }",
                    {"id": request["id"]},
                )
                assert state["accessRequest"]["state"] == "REVOKED"
