"""The quality sweep (resumable, rate-limited, links checked) and the reports it feeds:
``qualityReport`` with its history and ``Dataset.quality.links`` from the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from gateway.access import Caller, Policy
from gateway.quality import LinkChecker, LinkCheckSettings, QualityRepository, QualitySettings
from gateway.quality import sweep as sweep_module
from gateway.quality.sweep import QualitySweep
from gateway.store import Store
from tests.gateway.conftest import GatewayFactory, asgi_client
from tests.gateway.invariant_catalogue import POLICY, SOURCES, _keyed
from tests.gateway.memory_connector import MemoryConnector

REPORT_POLICY: dict[str, Any] = {
    **POLICY,
    "callers": [*POLICY["callers"], _keyed("bureau", roles=["data-bureau"])],
    "workflows": {"bureau_roles": ["data-bureau"]},
}
REPORT = """
{ qualityReport { generatedAt departments { department name datasets overdue brokenLinks
    machineReadableShare averageScore byShareType { value count } byOpenType { value count }
    problems { code count } }
  history(days: 30) { day department datasets averageScore } } }
"""


async def resolver(host: str) -> list[str]:
    return ["8.8.8.8"]  # every test host "resolves" to a public address; nothing is asked


def link_router() -> respx.MockRouter:
    router = respx.MockRouter(assert_all_mocked=True, assert_all_called=False)
    router.head(url__regex=r"http://clinics\.example/.*").respond(404)
    router.head(url__regex=r"http://[a-z]+\.example/.*").respond(200)
    return router


def make_sweep(
    gateway: Any, store: Store, client: httpx.AsyncClient, **settings: Any
) -> QualitySweep:
    quality = QualitySettings.model_validate(
        {"links": {"per_host_interval_seconds": 0}, **settings}
    )
    public = Policy.parse(REPORT_POLICY).grant_set(
        Caller("anonymous", anonymous=True), None, datetime.now(UTC)
    )
    checker = LinkChecker(client, LinkCheckSettings(per_host_interval_seconds=0), resolver=resolver)
    return QualitySweep(gateway.connectors, QualityRepository(store), quality, public, checker)


async def ask(gateway: Any, query: str, key: str | None = None) -> dict[str, Any]:
    headers = {"x-api-key": key} if key else {}
    async with asgi_client(gateway) as client:
        response = await client.post("/graphql", json={"query": query}, headers=headers)
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def swept(make_gateway: GatewayFactory, store: Store) -> Any:
    gateway = make_gateway(SOURCES, policy=REPORT_POLICY)
    router = link_router()
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as client:
        await make_sweep(gateway, store, client).run_once()
    gateway.use_quality_store(store)
    yield gateway


async def test_the_bureau_sees_every_departments_figures(swept: Any) -> None:
    body = await ask(swept, REPORT, "key-bureau")
    assert "errors" not in body, body
    report = body["data"]["qualityReport"]
    by_id = {d["department"]: d for d in report["departments"]}
    assert set(by_id) == {"transport", "health"}
    transport, health = by_id["transport"], by_id["health"]
    assert transport["datasets"] == len(SOURCES["transport"])
    assert {c["value"]: c["count"] for c in transport["byShareType"]} == {
        "UNCONDITIONAL": 3,
        "CONDITIONAL": 1,
        "NOT_SHARED": 1,
    }
    # Every clinics.example URL answers 404: exactly health's "clinics" is broken.
    assert health["brokenLinks"] == 1 and transport["brokenLinks"] == 0
    assert {p["code"]: p["count"] for p in health["problems"]}["BROKEN_LINK"] == 1
    assert 0 < transport["averageScore"] <= 100
    assert report["generatedAt"] is not None
    assert {(p["department"], p["datasets"]) for p in report["history"]} == {
        ("transport", 5),
        ("health", 4),
    }


async def test_a_department_member_sees_only_its_own_department(swept: Any) -> None:
    body = await ask(swept, REPORT, "key-clerk")  # the transport clerk
    departments = body["data"]["qualityReport"]["departments"]
    assert [d["department"] for d in departments] == ["transport"]
    assert {p["department"] for p in body["data"]["qualityReport"]["history"]} == {"transport"}


@pytest.mark.parametrize("key", [None, "key-operator"])
async def test_anyone_else_is_refused_the_report(swept: Any, key: str | None) -> None:
    body = await ask(swept, REPORT, key)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "transport" not in str(body)


async def test_dataset_quality_reads_the_stored_link_results(swept: Any) -> None:
    query = """
    { datasets(first: 20) { edges { node { title quality { links { status httpStatus } } } } } }
    """
    body = await ask(swept, query)
    links = {
        e["node"]["title"]: e["node"]["quality"]["links"] for e in body["data"]["datasets"]["edges"]
    }
    assert links["clinics title"] == {"status": "BROKEN", "httpStatus": 404}
    assert links["busstops title"] == {"status": "OK", "httpStatus": 200}


async def test_a_sweep_cut_short_resumes_with_the_sources_left(
    make_gateway: GatewayFactory, store: Store
) -> None:
    gateway = make_gateway(SOURCES, policy=REPORT_POLICY)
    repository = QualityRepository(store)
    sweep_id, done = await repository.resume_or_start(datetime.now(UTC))
    assert done == set()
    counted = {"transport": {"all": {"datasets": 5}, "open": {"datasets": 1}}}
    await repository.source_done(sweep_id, "transport", counted, datetime.now(UTC))
    router = link_router()
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as client:
        assert await make_sweep(gateway, store, client).run_once() == sweep_id
    transport, health = gateway.connectors
    assert isinstance(transport, MemoryConnector) and isinstance(health, MemoryConnector)
    assert transport.calls.searches == []  # already done before the restart
    assert health.calls.searches
    rows = {r.department: r for r in await repository.latest()}
    assert rows["transport"].figures["all"]["datasets"] == 5
    assert rows["health"].figures["all"]["datasets"] == 4


async def test_the_sweep_asks_a_source_no_faster_than_its_rate(
    make_gateway: GatewayFactory, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    clock = [1000.0]

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(sweep_module.asyncio, "sleep", fake_sleep)
    monkeypatch.setattr(sweep_module.time, "monotonic", lambda: clock[0])
    gateway = make_gateway({"transport": SOURCES["transport"]}, policy=REPORT_POLICY)
    router = link_router()
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as client:
        sweep = make_sweep(gateway, store, client, sweep_requests_per_second=0.5, sweep_page_size=2)
        await sweep.run_once()
    # Five records, two a page: three page requests, two seconds apart.
    assert waits == [2.0, 2.0]


async def test_history_keeps_one_point_per_department_and_day(
    make_gateway: GatewayFactory, store: Store
) -> None:
    gateway = make_gateway(SOURCES, policy=REPORT_POLICY)
    router = link_router()
    days = [
        datetime(2026, 11, 1, 9, tzinfo=UTC),
        datetime(2026, 11, 1, 18, tzinfo=UTC),
        datetime(2026, 11, 3, 9, tzinfo=UTC),
    ]
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as client:
        for moment in days:
            sweep = make_sweep(gateway, store, client)
            sweep.clock = lambda moment=moment: moment
            await sweep.run_once()
    gateway.use_quality_store(store)
    assert gateway.quality_reports is not None
    points = await gateway.quality_reports.history({"*": "all"}, 30, days[-1] + timedelta(hours=1))
    assert [(p.day.isoformat(), p.department) for p in points] == [
        ("2026-11-01", "health"),
        ("2026-11-01", "transport"),
        ("2026-11-03", "health"),
        ("2026-11-03", "transport"),
    ]
