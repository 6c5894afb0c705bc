"""Operation agreements end to end over HTTP, on SQLite and PostgreSQL: only the bureau
manages them; an ACTIVE agreement opens its scope to the operator's callers, capped and
never past the built-in rules; suspension and termination cut access at once; accesses
are audited with the agreement and reported by ``usage``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.store import Store
from tests.gateway.conftest import GatewayFactory, asgi_client
from tests.gateway.workflows.access_support import (
    NOW,
    audit_records,
    ds_id,
    error_code,
    fixed_clock,
    gql,
    outbox_events,
    workflow_gateway,
)

CREATE = """
mutation C($input: OperationAgreementInput!) {
  createOperationAgreement(input: $input) { id status operator mode themes maxSensitivity }
}
"""
STATUS = """
mutation S($id: ID!, $status: AgreementStatus!, $reason: String!) {
  setOperationAgreementStatus(id: $id, status: $status, reason: $reason) { id status statusReason }
}
"""
ONE = """
query A($id: ID!, $from: Date, $to: Date) {
  operationAgreement(id: $id) {
    id status
    usage(from: $from, to: $to) { requests datasetsReturned byScenario { scenario requests } }
  }
}
"""
SEARCH = "{ datasets(first: 50) { totalCount edges { node { id distributions { accessUrl } } } } }"


def agreement(**overrides: Any) -> dict[str, Any]:
    return {
        "input": {
            "operator": "city-ops",
            "mode": "SECTOR",
            "themes": ["transport", "roads"],
            "maxSensitivity": "L3",
            "validFrom": "2026-01-01",
            "validUntil": "2027-12-31",
            "obligations": "publish a quarterly report; no resale",
            **overrides,
        }
    }


async def visible_ids(client: Any, caller: str, purpose: str | None = None) -> set[str]:
    body = await gql(client, caller, SEARCH, purpose=purpose)
    return {
        e["node"]["id"]
        for e in body["data"]["datasets"]["edges"]
        if e["node"]["distributions"][0]["accessUrl"] is not None
    }


async def test_a_sector_agreement_opens_its_scope_until_suspended(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    fixed_clock(gateway, NOW)
    async with asgi_client(gateway) as client:
        before = await visible_ids(client, "ops")
        for caller in ("ops", "transport-reviewer", "analyst", "anonymous"):
            refused = await gql(client, caller, CREATE, agreement())
            assert error_code(refused) in ("NOT_ALLOWED", "UNAUTHENTICATED")
        created = await gql(client, "bureau", CREATE, agreement())
        made = created["data"]["createOperationAgreement"]
        assert (made["status"], made["operator"], made["mode"]) == ("ACTIVE", "city-ops", "SECTOR")
        aid = made["id"]
        opened = await visible_ids(client, "ops", purpose="route-planning")
        # transport-themed sensorfeeds (L3, conditional) and roadworks; never payroll
        # (NOT_SHARED) nor anything of other themes.
        assert opened - before == {ds_id("sensorfeeds"), ds_id("roadworks")}
        assert await visible_ids(client, "other-ops") == before
        seen = await gql(client, "ops", ONE, {"id": aid})
        assert seen["data"]["operationAgreement"]["usage"] == {
            "requests": 1,
            "datasetsReturned": 2,
            "byScenario": [{"scenario": "route-planning", "requests": 1}],
        }
        hidden = await gql(client, "other-ops", ONE, {"id": aid})
        assert hidden["data"] == {"operationAgreement": None}
        by_operator = await gql(
            client, "ops", STATUS, {"id": aid, "status": "SUSPENDED", "reason": "x"}
        )
        assert error_code(by_operator) == "NOT_ALLOWED"
        by_other = await gql(
            client, "other-ops", STATUS, {"id": aid, "status": "SUSPENDED", "reason": "x"}
        )
        assert error_code(by_other) == "NOT_FOUND"
        blank = await gql(
            client, "bureau", STATUS, {"id": aid, "status": "SUSPENDED", "reason": ""}
        )
        assert error_code(blank) == "BAD_USER_INPUT"
        suspended = await gql(
            client, "bureau", STATUS, {"id": aid, "status": "SUSPENDED", "reason": "audit pending"}
        )
        assert suspended["data"]["setOperationAgreementStatus"]["status"] == "SUSPENDED"
        assert await visible_ids(client, "ops") == before
        resumed = await gql(
            client, "bureau", STATUS, {"id": aid, "status": "ACTIVE", "reason": "ok"}
        )
        assert resumed["data"]["setOperationAgreementStatus"]["status"] == "ACTIVE"
        assert await visible_ids(client, "ops") > before
        ended = await gql(
            client, "bureau", STATUS, {"id": aid, "status": "TERMINATED", "reason": "exit"}
        )
        assert ended["data"]["setOperationAgreementStatus"]["status"] == "TERMINATED"
        assert await visible_ids(client, "ops") == before
        back = await gql(
            client, "bureau", STATUS, {"id": aid, "status": "ACTIVE", "reason": "again"}
        )
        assert error_code(back) == "NOT_ALLOWED"  # the exit is final
        listed = await gql(
            client, "bureau", "{ operationAgreements { totalCount edges { node { id } } } }"
        )
        assert listed["data"]["operationAgreements"]["totalCount"] == 1
        none = await gql(client, "analyst", "{ operationAgreements { totalCount } }")
        assert none["data"]["operationAgreements"]["totalCount"] == 0
    await gateway.aclose()
    under = [r for r in audit_records(tmp_path / "audit.log") if r.get("agreement")]
    assert under and all(r["agreement"] == aid and r["caller"] == "ops" for r in under)
    assert [e for e, s in await outbox_events(store) if s == aid] == [
        "operation_agreement.created",
        "operation_agreement.suspended",
        "operation_agreement.resumed",
        "operation_agreement.terminated",
    ]


async def test_a_scenario_agreement_applies_only_under_its_scenarios_and_its_cap(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    fixed_clock(gateway, NOW)
    async with asgi_client(gateway) as client:
        missing = await gql(client, "bureau", CREATE, agreement(mode="SCENARIO", themes=None))
        assert error_code(missing) == "BAD_USER_INPUT"
        await gql(
            client,
            "bureau",
            CREATE,
            agreement(
                mode="SCENARIO", themes=None, scenarios=["flood-warning"], maxSensitivity="L2"
            ),
        )
        outside = await visible_ids(client, "ops", purpose="marketing")
        inside = await visible_ids(client, "ops", purpose="flood-warning")
    await gateway.aclose()
    # L2 and shareable, any department: roadworks and vaccines, never sensorfeeds (L3),
    # payroll or patients (NOT_SHARED).
    assert inside - outside == {ds_id("roadworks"), ds_id("vaccines")}


async def test_an_agreement_past_its_last_day_gives_nothing_and_is_swept_to_expired(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    fixed_clock(gateway, NOW)
    async with asgi_client(gateway) as client:
        before = await visible_ids(client, "ops")
        made = await gql(
            client,
            "bureau",
            CREATE,
            agreement(mode="OVERALL", themes=None, validUntil="2026-12-03"),
        )
        aid = made["data"]["createOperationAgreement"]["id"]
        assert await visible_ids(client, "ops") > before
        from datetime import timedelta

        fixed_clock(gateway, NOW + timedelta(days=1))
        assert await visible_ids(client, "ops") == before
        await gateway.sweep_workflows()
        swept = await gql(client, "bureau", ONE, {"id": aid})
        assert swept["data"]["operationAgreement"]["status"] == "EXPIRED"
    await gateway.aclose()
