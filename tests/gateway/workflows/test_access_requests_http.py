"""Access requests end to end over HTTP, on SQLite and PostgreSQL: request, compliance pass,
approval, access under the purpose only, revocation and expiry, refusals that reveal
nothing, deadlines in Chinese working days."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from gateway.http import Webhook, verify_signature
from gateway.store import Store, StoreError
from tests.gateway.conftest import GatewayFactory, asgi_client
from tests.gateway.http.webhook_receiver import webhook_receiver
from tests.gateway.workflows.access_support import (
    DATASET,
    ME,
    NOW,
    ONE,
    REVOKE,
    WITHDRAW,
    access_url,
    approved,
    audit_records,
    ds_id,
    error_code,
    fixed_clock,
    gql,
    outbox_events,
    review,
    submit,
    workflow_gateway,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE = """query P($after: String) {
  datasets(first: 1, after: $after) { pageInfo { hasNextPage endCursor } } }"""


async def test_request_pass_approve_use_under_the_purpose_only_then_revocation(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    fixed_clock(gateway, NOW)
    sensor = ds_id("sensorfeeds")
    async with asgi_client(gateway) as client:
        before = await gql(client, "analyst", DATASET, {"id": sensor}, purpose="traffic-study")
        assert access_url(before) is None  # discover only, so far
        (request,) = await submit(
            client, ["sensorfeeds", "roadworks"], fields=["sensorfeeds_column"]
        )
        assert request["state"] == "SUBMITTED"
        assert request["providerDepartment"] == "transport"
        assert request["requester"] == {"id": "analyst", "department": "health"}
        assert {d["id"] for d in request["datasets"]} == {sensor, ds_id("roadworks")}
        # 5 working days after Thursday 3 December: Thursday 10 December ends at midnight.
        assert request["dueAt"] == "2026-12-10T16:00:00+00:00"
        assert request["overdue"] is False
        rid = request["id"]

        early = await review(client, "transport-reviewer", rid, "APPROVE")
        assert error_code(early) == "NOT_ALLOWED"  # the bureau's compliance review first
        passed = await review(client, "bureau", rid, "PASS")
        assert passed["data"]["reviewAccessRequest"]["state"] == "PROVIDER_REVIEW"
        assert passed["data"]["reviewAccessRequest"]["dueAt"] == "2026-12-17T16:00:00+00:00"
        answer = await review(client, "transport-reviewer", rid, "APPROVE")
        assert answer["data"]["reviewAccessRequest"]["state"] == "APPROVED"

        under = await gql(client, "analyst", DATASET, {"id": sensor}, purpose="traffic-study")
        assert access_url(under) == "http://sensorfeeds.example/access"
        assert under["data"]["dataset"]["fields"] == [{"name": "sensorfeeds_column"}]
        for purpose in (None, "marketing"):
            other = await gql(client, "analyst", DATASET, {"id": sensor}, purpose=purpose)
            assert access_url(other) is None
        me = await gql(client, "analyst", ME, purpose="traffic-study")
        [grant] = [g for g in me["data"]["me"]["grants"] if g["origin"].startswith("access")]
        assert grant == {
            "id": f"access_request:{rid}",
            "origin": f"access_request:{rid}",
            "scenarios": ["traffic-study"],
            "validFrom": "2026-12-03",
            "validUntil": "2027-06-30",
            "inForce": True,
            "privilege": "use",
        }
        me_other = await gql(client, "analyst", ME, purpose="marketing")
        assert [
            g["inForce"] for g in me_other["data"]["me"]["grants"] if g["id"] == grant["id"]
        ] == [False]

        paged = await gql(client, "analyst", PAGE, purpose="traffic-study")
        cursor = paged["data"]["datasets"]["pageInfo"]["endCursor"]
        assert paged["data"]["datasets"]["pageInfo"]["hasNextPage"] is True
        blank = await gql(client, "transport-reviewer", REVOKE, {"id": rid, "reason": "  "})
        assert error_code(blank) == "BAD_USER_INPUT"
        revoked = await gql(
            client, "transport-reviewer", REVOKE, {"id": rid, "reason": "project ended"}
        )
        assert revoked["data"]["revokeAccess"]["state"] == "REVOKED"
        after = await gql(client, "analyst", DATASET, {"id": sensor}, purpose="traffic-study")
        assert access_url(after) is None
        # A cursor computed under the revoked grant is not served any more.
        stale = await gql(client, "analyst", PAGE, {"after": cursor}, purpose="traffic-study")
        assert error_code(stale) == "BAD_CURSOR" and stale["data"] is None
    await gateway.aclose()

    assert [e for e, s in await outbox_events(store) if s == rid] == [
        "access_request.submitted",
        "access_request.reviewed",
        "access_request.approved",
        "access_request.revoked",
    ]
    records = [r for r in audit_records(tmp_path / "audit.log") if r.get("kind") == "workflow"]
    assert [(r["event"], r["caller"], r["reason"]) for r in records] == [
        ("access_request.submitted", "analyst", None),
        ("access_request.reviewed", "bureau", None),
        ("access_request.approved", "transport-reviewer", None),
        ("access_request.revoked", "transport-reviewer", "project ended"),
    ]
    assert all(r["subject"] == rid for r in records)


async def test_a_request_is_split_per_providing_department(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    async with asgi_client(gateway) as client:
        requests = await submit(client, ["sensorfeeds", "clinics", "roadworks"])
    await gateway.aclose()
    by_provider = {r["providerDepartment"]: {d["id"] for d in r["datasets"]} for r in requests}
    assert by_provider == {
        "transport": {ds_id("sensorfeeds"), ds_id("roadworks")},
        "health": {ds_id("clinics")},
    }


async def test_rejection_needs_a_reason_and_ends_the_request(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    async with asgi_client(gateway) as client:
        (first,) = await submit(client, ["sensorfeeds"])
        (second,) = await submit(client, ["roadworks"])
        no_reason = await review(client, "bureau", first["id"], "REJECT")
        assert error_code(no_reason) == "BAD_USER_INPUT"
        rejected = await review(client, "bureau", first["id"], "REJECT", reason="no legal basis")
        assert rejected["data"]["reviewAccessRequest"]["state"] == "REJECTED"
        assert rejected["data"]["reviewAccessRequest"]["steps"][-1] == {
            "stage": "compliance_review",
            "actor": "bureau",
            "decision": "REJECT",
            "reason": "no legal basis",
        }
        await review(client, "bureau", second["id"], "PASS")
        blank = await review(client, "transport-reviewer", second["id"], "REJECT", reason=" ")
        assert error_code(blank) == "BAD_USER_INPUT"
        by_provider = await review(
            client, "transport-reviewer", second["id"], "REJECT", reason="personal data"
        )
        assert by_provider["data"]["reviewAccessRequest"]["state"] == "REJECTED"
        again = await review(client, "transport-reviewer", second["id"], "APPROVE")
        assert error_code(again) == "NOT_ALLOWED"
    await gateway.aclose()


async def test_approval_with_conditions_narrows_items_masks_and_period(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    fixed_clock(gateway, NOW)
    sensor = ds_id("sensorfeeds")
    async with asgi_client(gateway) as client:
        (request,) = await submit(client, ["sensorfeeds"])
        await review(client, "bureau", request["id"], "PASS")
        missing = await review(
            client, "transport-reviewer", request["id"], "APPROVE_WITH_CONDITIONS"
        )
        assert error_code(missing) == "BAD_USER_INPUT"
        longer = await review(
            client,
            "transport-reviewer",
            request["id"],
            "APPROVE_WITH_CONDITIONS",
            conditions={"validUntil": "2030-01-01"},
        )
        assert error_code(longer) == "BAD_USER_INPUT"
        done = await review(
            client,
            "transport-reviewer",
            request["id"],
            "APPROVE_WITH_CONDITIONS",
            conditions={
                "mask": ["contact_point"],
                "fields": ["nothing_else"],
                "validUntil": "2026-12-31",
            },
        )
        state = done["data"]["reviewAccessRequest"]
        assert (state["state"], state["mask"], state["fields"], state["validUntil"]) == (
            "APPROVED",
            ["contact_point"],
            ["nothing_else"],
            "2026-12-31",
        )
        seen = await gql(client, "analyst", DATASET, {"id": sensor}, purpose="traffic-study")
        dataset = seen["data"]["dataset"]
        assert dataset["distributions"][0]["accessUrl"] == "http://sensorfeeds.example/access"
        assert dataset["contactPoint"] is None  # masked by the condition
        assert dataset["fields"] == []  # only the named data item, which this one lacks
        # validUntil is inclusive: the 31st still works, the 1st of January does not.
        fixed_clock(gateway, datetime(2026, 12, 31, 15, 59, tzinfo=UTC))
        last_day = await gql(client, "analyst", DATASET, {"id": sensor}, purpose="traffic-study")
        assert access_url(last_day) is not None
        fixed_clock(gateway, datetime(2026, 12, 31, 16, 0, tzinfo=UTC))  # midnight in Shanghai
        expired = await gql(client, "analyst", DATASET, {"id": sensor}, purpose="traffic-study")
        assert access_url(expired) is None
        me = await gql(client, "analyst", ME, purpose="traffic-study")
        assert [g["inForce"] for g in me["data"]["me"]["grants"] if g["origin"] != "policy"][
            -1
        ] is False
        await gateway.sweep_workflows()
        swept = await gql(client, "analyst", ONE, {"id": request["id"]})
        assert swept["data"]["accessRequest"]["state"] == "EXPIRED"
    await gateway.aclose()
    events = [e for e, s in await outbox_events(store) if s == request["id"]]
    assert events[-1] == "access_request.expired"


async def test_the_requester_hears_of_an_expiring_grant_once(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    fixed_clock(gateway, NOW)
    async with asgi_client(gateway) as client:
        rid = await approved(client, ["sensorfeeds"], valid_until="2026-12-08")
        far = await approved(client, ["roadworks"], valid_until="2027-06-30")
    await gateway.sweep_workflows()
    await gateway.sweep_workflows()
    await gateway.aclose()
    expiring = [s for e, s in await outbox_events(store) if e == "access_request.expiring"]
    assert expiring == [rid]
    assert far not in expiring


async def test_deadlines_skip_the_national_day_holiday_and_count_the_make_up_saturday(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    # Tuesday 29 September 2026: 1-7 October are holidays, Saturday 10 October is worked.
    submitted = datetime(2026, 9, 29, 10, 0, tzinfo=SHANGHAI)
    fixed_clock(gateway, submitted)
    async with asgi_client(gateway) as client:
        (request,) = await submit(client, ["sensorfeeds"], valid_until="2027-01-31")
        # 30 Sep, 8, 9, 10 (Sat, worked), 12 Oct: due when 12 October ends.
        assert request["dueAt"] == "2026-10-12T16:00:00+00:00"
        fixed_clock(gateway, datetime(2026, 10, 12, 23, 59, tzinfo=SHANGHAI))
        on_time = await gql(
            client, "bureau", ONE.replace("state", "state overdue"), {"id": request["id"]}
        )
        assert on_time["data"]["accessRequest"]["overdue"] is False
        fixed_clock(gateway, datetime(2026, 10, 13, 0, 0, tzinfo=SHANGHAI))
        late = await gql(
            client, "bureau", ONE.replace("state", "state overdue"), {"id": request["id"]}
        )
        assert late["data"]["accessRequest"]["overdue"] is True
    await gateway.aclose()


async def test_who_sees_a_request_and_refusals_that_reveal_nothing(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    async with asgi_client(gateway) as client:
        (request,) = await submit(client, ["sensorfeeds"])
        rid = request["id"]
        for caller in ("analyst", "bureau", "transport-reviewer"):
            seen = await gql(client, caller, ONE, {"id": rid})
            assert seen["data"]["accessRequest"]["id"] == rid
            assert seen["data"]["node"]["id"] == rid
        nonexistent = rid[:-2] + ("A" if rid[-2] != "A" else "B") + rid[-1]
        for caller in ("clerk", "health-reviewer", "ops", "anonymous"):
            hidden = await gql(client, caller, ONE, {"id": rid})
            assert hidden["data"] == {"accessRequest": None, "node": None}
            attempts = [
                await review(client, caller, rid, "PASS"),
                await gql(client, caller, WITHDRAW, {"id": rid}),
                await gql(client, caller, REVOKE, {"id": rid, "reason": "x"}),
            ]
            for bogus in (nonexistent, "not-an-id"):
                unknown = await review(client, caller, bogus, "PASS")
                assert unknown["errors"][0]["message"] == attempts[0]["errors"][0]["message"]
            assert {error_code(a) for a in attempts} == {"NOT_FOUND"}
            assert all(a["data"] is None for a in attempts)
        # The requester may withdraw but not review its own request.
        assert error_code(await review(client, "analyst", rid, "PASS")) == "NOT_ALLOWED"
        withdrawn = await gql(client, "analyst", WITHDRAW, {"id": rid})
        assert withdrawn["data"]["withdrawAccessRequest"]["state"] == "WITHDRAWN"
    await gateway.aclose()


async def test_only_discoverable_datasets_can_be_requested(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    mutation = "mutation R($input: AccessRequestInput!) { requestAccess(input: $input) { id } }"

    def ask(dataset_id: str) -> dict[str, object]:
        return {
            "input": {
                "datasetIds": [dataset_id],
                "purpose": "p",
                "legalBasis": "b",
                "validUntil": "2027-01-01",
            }
        }

    async with asgi_client(gateway) as client:
        hidden = ds_id("payroll")  # NOT_SHARED, another department's
        made_up = ds_id("sensorfeeds").replace("c2Vuc29y", "c2Vuc29z")
        answers = [await gql(client, "analyst", mutation, ask(i)) for i in (hidden, made_up)]
        anonymous = await gql(client, "anonymous", mutation, ask(ds_id("busstops")))
        past = await gql(
            client,
            "analyst",
            mutation,
            {"input": {**ask(ds_id("busstops"))["input"], "validUntil": "2001-01-01"}},  # type: ignore[dict-item]
        )
    await gateway.aclose()
    messages = [a["errors"][0]["message"] for a in answers]
    assert [
        m.replace(i[:100], "<id>") for m, i in zip(messages, (hidden, made_up), strict=True)
    ] == ["no dataset with id '<id>'"] * 2
    assert "payroll" not in str(answers[0])
    assert all(error_code(a) == "BAD_USER_INPUT" for a in answers)
    assert error_code(anonymous) == "UNAUTHENTICATED"
    assert error_code(past) == "BAD_USER_INPUT"
    assert await outbox_events(store) == []


async def test_lists_are_relay_connections_of_what_the_viewer_may_see(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    listing = """
    query L($first: Int, $after: String, $mine: Boolean, $toReview: Boolean,
            $state: AccessRequestState) {
      accessRequests(first: $first, after: $after, mine: $mine, toReview: $toReview,
                     state: $state) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id state } }
      }
    }"""
    async with asgi_client(gateway) as client:
        transport = [r["id"] for r in await submit(client, ["sensorfeeds", "clinics"])]
        await review(client, "bureau", transport[0], "PASS")
        await submit(client, ["busstops"], caller="clerk")  # transport's own clerk asks too

        async def ids(caller: str, **variables: object) -> tuple[int, list[str]]:
            body = await gql(client, caller, listing, variables)
            found = body["data"]["accessRequests"]
            return found["totalCount"], [e["node"]["id"] for e in found["edges"]]

        assert (await ids("analyst", mine=True))[0] == 2
        assert (await ids("bureau"))[0] == 3
        assert (await ids("bureau", toReview=True))[0] == 2  # the two still SUBMITTED
        assert await ids("transport-reviewer", toReview=True) == (1, [transport[0]])
        assert (await ids("transport-reviewer"))[0] == 2  # transport's two
        assert (await ids("health-reviewer"))[0] == 1
        assert await ids("ops") == (0, [])
        assert (await ids("bureau", state="PROVIDER_REVIEW")) == (1, [transport[0]])
        total, page_one = await ids("bureau", first=2)
        first_page = await gql(client, "bureau", listing, {"first": 2})
        cursor = first_page["data"]["accessRequests"]["pageInfo"]["endCursor"]
        assert first_page["data"]["accessRequests"]["pageInfo"]["hasNextPage"] is True
        _, page_two = await ids("bureau", first=2, after=cursor)
        assert total == 3 and len(page_one) == 2 and len(page_two) == 1
        assert not set(page_one) & set(page_two)
        bad = await gql(client, "bureau", listing, {"after": "bogus"})
        assert error_code(bad) == "BAD_CURSOR"
    await gateway.aclose()


async def test_a_revocation_on_one_replica_applies_to_the_next_request_on_another(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    one = workflow_gateway(make_gateway, store, tmp_path)
    two = workflow_gateway(make_gateway, store, tmp_path / "..")
    sensor = ds_id("sensorfeeds")
    async with asgi_client(one) as first, asgi_client(two) as second:
        rid = await approved(first, ["sensorfeeds"])
        warm = await gql(second, "analyst", DATASET, {"id": sensor}, purpose="traffic-study")
        assert access_url(warm) is not None  # the grant reached the other replica
        seen = await gql(second, "bureau", ONE, {"id": rid})
        assert seen["data"]["accessRequest"]["state"] == "APPROVED"
        await gql(first, "bureau", REVOKE, {"id": rid, "reason": "breach"})
        cold = await gql(second, "analyst", DATASET, {"id": sensor}, purpose="traffic-study")
        assert access_url(cold) is None
    await one.aclose()
    await two.aclose()


async def test_a_submission_reaches_a_configured_webhook_signed(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    secret = b"a-webhook-secret-of-some-length"
    async with webhook_receiver() as receiver, httpx.AsyncClient() as sender:
        gateway = workflow_gateway(make_gateway, store, tmp_path)
        gateway.webhooks = (Webhook(f"{receiver.url}/hooks", secret),)
        gateway.client = sender  # the memory sources never use it; the dispatcher does
        await gateway.start()
        try:
            async with asgi_client(gateway) as client:
                (request,) = await submit(client, ["sensorfeeds"])
            async with asyncio.timeout(30):
                await receiver.arrived.wait()
        finally:
            await gateway.aclose()
    (got,) = receiver.received
    body = json.loads(got.body)
    assert (body["event"], body["subject"]) == ("access_request.submitted", request["id"])
    assert body["data"] == {"state": "SUBMITTED", "provider": "transport"}
    assert verify_signature(
        secret,
        got.headers["X-Catalogue-Timestamp"],
        got.body,
        got.headers["X-Catalogue-Signature"],
        now=float(got.headers["X-Catalogue-Timestamp"]),
    )


class _UnreadableGrants:
    """An issued-grants loader whose store cannot be read; counts the attempts."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reads = 0

    async def current(self) -> object:
        self.reads += 1
        raise StoreError("the store cannot be read")


async def test_an_unreadable_store_refuses_a_caller_who_may_hold_grants_but_not_the_public(
    make_gateway: GatewayFactory, store: Store, tmp_path: Path
) -> None:
    # Issued grants belong to a caller id or an operator, so none can apply to the anonymous
    # caller: its requests never read them (most of a public portal's traffic), and an
    # unreadable store neither widens nor narrows what it sees.
    gateway = workflow_gateway(make_gateway, store, tmp_path)
    async with asgi_client(gateway) as client:
        anonymous_before = await gql(client, "anonymous", PAGE)
        loader = _UnreadableGrants(store)
        gateway.issued = loader  # type: ignore[assignment]
        refused = await client.post(
            "/graphql", json={"query": PAGE}, headers={"x-api-key": "key-analyst"}
        )
        assert refused.status_code == 503
        assert refused.json()["errors"][0]["extensions"]["code"] == "STORE_UNAVAILABLE"
        assert loader.reads == 1
        assert await gql(client, "anonymous", PAGE) == anonymous_before
        assert loader.reads == 1
