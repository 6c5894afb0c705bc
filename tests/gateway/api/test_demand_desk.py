"""The demand desk beyond one request: replicas sharing the anonymous limit under
concurrent submissions from one address, and a gateway without a store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from gateway.access import Caller, WorkflowSettings
from gateway.api.demand_desk import DemandDesk, SubmissionLimited
from gateway.store import DemandFilter, DemandRepository, open_store
from gateway.workflows import WorkingCalendar
from gateway.workflows.demands import Contact, DemandDraft, DemandKind
from tests.gateway.conftest import GatewayFactory, asgi_client, make_dataset

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
ANONYMOUS = Caller(id="anonymous", anonymous=True)
DRAFT = DemandDraft.of(
    kind=DemandKind.OPEN_DATA,
    title="Parking",
    description="free spaces",
    themes=None,
    purpose=None,
    contact=Contact(None, "a@example.cn", None),
)


async def test_replicas_share_the_anonymous_limit_even_at_the_same_moment(
    store_url: str,
) -> None:
    settings = WorkflowSettings.model_validate({"demands": {"anonymous_per_hour": 3}})
    upgrade = store_url.startswith("sqlite")
    replicas = [await open_store(store_url, upgrade_schema=upgrade) for _ in range(2)]
    try:
        desks = [
            DemandDesk(store, audit=None, calendar=WorkingCalendar(), settings=settings)
            for store in replicas
        ]

        async def submit(i: int) -> bool:
            try:
                await desks[i % 2].submit(
                    ANONYMOUS,
                    DRAFT,
                    dataset_id=None,
                    department=None,
                    client_address="203.0.113.7",
                    now=NOW,
                )
            except SubmissionLimited as limited:
                assert limited.decision.retry_after_header == "3600"
                return False
            return True

        outcomes = await asyncio.gather(*(submit(i) for i in range(7)))
        assert sorted(outcomes) == [False] * 4 + [True] * 3
        # Another address has its own quota.
        await desks[0].submit(
            ANONYMOUS, DRAFT, dataset_id=None, department=None, client_address="::1", now=NOW
        )
        page = await DemandRepository(replicas[1]).page(DemandFilter(), 10, None)
        assert page.total == 4
    finally:
        for store in replicas:
            await store.aclose()


async def test_a_gateway_without_a_store_says_it_takes_no_demands(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway({"a": [make_dataset("a", 1)]})
    async with asgi_client(gateway) as client:
        answer = await client.post(
            "/graphql",
            json={
                "query": 'mutation { submitDataDemand(input: {title: "t", description: "d", '
                'contact: {email: "a@example.cn"}}) { id } }'
            },
        )
        listed = await client.post("/graphql", json={"query": "{ dataDemands { totalCount } }"})
        node = await client.post(
            "/graphql", json={"query": '{ node(id: "RGF0YURlbWFuZDpkZW1hbmQ6MQ") { id } }'}
        )
    await gateway.aclose()
    assert answer.json()["errors"][0]["extensions"]["code"] == "STORE_UNAVAILABLE"
    assert listed.json()["errors"][0]["extensions"]["code"] == "STORE_UNAVAILABLE"
    assert node.json() == {"data": {"node": None}}
