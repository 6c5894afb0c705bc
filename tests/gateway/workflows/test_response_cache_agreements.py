"""A response-cache hit under an operation agreement counts in the agreement's usage and
names it in the audit record, like the request that filled the entry."""

from __future__ import annotations

from pathlib import Path

from gateway.store import Store
from tests.gateway.conftest import GatewayFactory, asgi_client
from tests.gateway.workflows.access_support import (
    NOW,
    audit_records,
    fixed_clock,
    gql,
    workflow_gateway,
)
from tests.gateway.workflows.test_agreements_http import CREATE, ONE, SEARCH, agreement


async def test_a_hit_under_an_agreement_is_counted_and_audited_with_it(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    fixed_clock(gateway, NOW)
    async with asgi_client(gateway) as client:
        created = await gql(client, "bureau", CREATE, agreement())
        aid = created["data"]["createOperationAgreement"]["id"]
        first = await gql(client, "ops", SEARCH, purpose="route-planning")
        second = await gql(client, "ops", SEARCH, purpose="route-planning")
        seen = await gql(client, "ops", ONE, {"id": aid})
    await gateway.aclose()
    assert second == first
    assert gateway.response_cache is not None and gateway.response_cache.hits == 1
    assert seen["data"]["operationAgreement"]["usage"] == {
        "requests": 2,
        "datasetsReturned": 4,
        "byScenario": [{"scenario": "route-planning", "requests": 2}],
    }
    searches = [r for r in audit_records(tmp_path / "audit.log") if r.get("agreement")]
    assert [r.get("cache") for r in searches] == [None, "hit"]
    assert all(r["agreement"] == aid and r["caller"] == "ops" for r in searches)
    assert searches[0]["dataset_ids"] == searches[1]["dataset_ids"]
