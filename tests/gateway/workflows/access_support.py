"""The catalogue, callers and helpers of the access-request and agreement tests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from gateway.access.policy import hash_api_key
from gateway.app import Gateway
from gateway.audit import AuditLog
from gateway.store import Store, outbox
from tests.gateway.conftest import GatewayFactory
from tests.gateway.invariant_catalogue import SOURCES, gid

BY_LOCAL = {d.local_id: d for datasets in SOURCES.values() for d in datasets}


def ds_id(local_id: str) -> str:
    return gid(BY_LOCAL[local_id])


def _keyed(caller: str, **config: Any) -> dict[str, Any]:
    return {"id": caller, "api_keys": [hash_api_key(f"key-{caller}")], **config}


POLICY: dict[str, Any] = {
    "public": {"open_types": ["OPEN"], "max_sensitivity": "L1"},
    "callers": [
        _keyed("analyst", department="health", roles=["staff"]),
        _keyed("clerk", department="transport"),
        _keyed("bureau", department="bureau", roles=["data-bureau"]),
        _keyed("transport-reviewer", department="transport", roles=["data-reviewer"]),
        _keyed("health-reviewer", department="health", roles=["data-reviewer"]),
        _keyed("ops", operator="city-ops"),
        _keyed("other-ops", operator="other-operator"),
    ],
    "grants": [
        {
            "id": "staff-discover",
            "to": {"roles": ["staff"]},
            "allow": {"share_types": ["UNCONDITIONAL", "CONDITIONAL"], "max_sensitivity": "L3"},
            "privilege": "discover",
        }
    ],
    "workflows": {"bureau_roles": ["data-bureau"], "reviewer_roles": ["data-reviewer"]},
}


def headers(caller: str, purpose: str | None = None) -> dict[str, str]:
    found = {} if caller == "anonymous" else {"x-api-key": f"key-{caller}"}
    if purpose:
        found["x-purpose"] = purpose
    return found


async def gql(
    client: httpx.AsyncClient,
    caller: str,
    query: str,
    variables: Mapping[str, Any] | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": dict(variables or {})},
        headers=headers(caller, purpose),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_code(body: Mapping[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def workflow_gateway(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path, policy: Mapping[str, Any] = POLICY
) -> Gateway:
    gateway = make_gateway(SOURCES, policy=dict(policy))
    gateway.store = store
    gateway.audit = AuditLog(tmp_path / "audit.log")
    return gateway


def fixed_clock(gateway: Gateway, moment: datetime) -> None:
    gateway.clock = lambda: moment


async def outbox_events(store: Store) -> list[tuple[str, str]]:
    async with store.connect() as conn:
        rows = (
            await conn.execute(sa.select(outbox.c.event, outbox.c.subject).order_by(outbox.c.id))
        ).all()
    return [(str(e), str(s)) for e, s in rows]


def audit_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Thursday

REQUEST = """
mutation Request($input: AccessRequestInput!) {
  requestAccess(input: $input) {
    id state providerDepartment purpose dueAt overdue requester { id department }
    datasets { id } steps { stage actor decision reason }
  }
}
"""
REVIEW = """
mutation Review($id: ID!, $decision: ReviewDecision!, $reason: String,
                $conditions: AccessConditionsInput) {
  reviewAccessRequest(id: $id, decision: $decision, reason: $reason, conditions: $conditions) {
    id state dueAt fields mask validUntil steps { stage actor decision reason }
  }
}
"""
REVOKE = """
mutation Revoke($id: ID!, $reason: String!) { revokeAccess(id: $id, reason: $reason) { id state } }
"""
WITHDRAW = "mutation W($id: ID!) { withdrawAccessRequest(id: $id) { id state } }"
ONE = "query One($id: ID!) { accessRequest(id: $id) { id state } node(id: $id) { id } }"
DATASET = """
query D($id: ID!) {
  dataset(id: $id) { id distributions { accessUrl } fields { name } contactPoint { email } }
}
"""
ME = "{ me { grants { id origin scenarios validFrom validUntil inForce privilege } } }"


async def submit(
    client: httpx.AsyncClient,
    datasets: list[str],
    *,
    purpose: str = "traffic-study",
    valid_until: str = "2027-06-30",
    caller: str = "analyst",
    **extra: Any,
) -> list[dict[str, Any]]:
    body = await gql(
        client,
        caller,
        REQUEST,
        {
            "input": {
                "datasetIds": [ds_id(d) for d in datasets],
                "purpose": purpose,
                "legalBasis": "Regulation 12, art. 4",
                "validUntil": valid_until,
                **extra,
            }
        },
    )
    assert "errors" not in body, body
    requests: list[dict[str, Any]] = body["data"]["requestAccess"]
    return requests


async def review(
    client: httpx.AsyncClient, caller: str, request_id: str, decision: str, **extra: Any
) -> dict[str, Any]:
    return await gql(client, caller, REVIEW, {"id": request_id, "decision": decision, **extra})


async def approved(client: httpx.AsyncClient, datasets: list[str], **extra: Any) -> str:
    """A request by the analyst, passed by the bureau and approved by transport."""
    (request,) = await submit(client, datasets, **extra)
    passed = await review(client, "bureau", request["id"], "PASS")
    assert passed["data"]["reviewAccessRequest"]["state"] == "PROVIDER_REVIEW", passed
    answer = await review(client, "transport-reviewer", request["id"], "APPROVE")
    assert answer["data"]["reviewAccessRequest"]["state"] == "APPROVED", answer
    return str(request["id"])


def access_url(body: Mapping[str, Any]) -> str | None:
    dataset = body["data"]["dataset"]
    assert dataset is not None, body
    url: str | None = dataset["distributions"][0]["accessUrl"]
    return url
