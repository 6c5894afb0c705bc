"""A department's open, overdue and late-answered data demands appear in its quality report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from gateway.access import Caller, WorkflowSettings
from gateway.api.demand_desk import DemandDesk, Viewer, demand_global_id
from gateway.store import Store
from gateway.workflows import WorkingCalendar
from gateway.workflows.demands import (
    Contact,
    DemandAnswer,
    DemandDecision,
    DemandDraft,
    DemandKind,
)
from tests.gateway.conftest import GatewayFactory
from tests.gateway.invariant_catalogue import SOURCES
from tests.gateway.quality.test_sweep_reports import REPORT_POLICY, ask, link_router, make_sweep

ANONYMOUS = Caller(id="anonymous", anonymous=True)
REVIEWER = Caller(id="transport-reviewer", department="transport", roles=("data-reviewer",))
DRAFT = DemandDraft.of(
    kind=DemandKind.OPEN_DATA,
    title="Bus punctuality",
    description="per route",
    themes=("transport",),
    purpose=None,
    contact=Contact(None, "a@example.cn", None),
)
REPORT = "{ qualityReport { departments { department demands { open overdue answeredLate } } } }"


async def test_the_report_counts_each_departments_open_overdue_and_late_demands(
    make_gateway: GatewayFactory, store: Store
) -> None:
    gateway = make_gateway(SOURCES, policy=REPORT_POLICY)
    async with httpx.AsyncClient(transport=httpx.MockTransport(link_router().async_handler)) as c:
        await make_sweep(gateway, store, c).run_once()
    gateway.use_quality_store(store)
    gateway.store = store
    settings = WorkflowSettings(reviewer_roles=("data-reviewer",))
    desk = DemandDesk(store, audit=None, calendar=WorkingCalendar(), settings=settings)
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=60)
    for department, at, answer in [
        ("transport", long_ago, False),  # overdue
        ("transport", long_ago, True),  # answered late
        ("transport", now, False),  # open, on time
        ("health", now, False),
    ]:
        record, _ = await desk.submit(
            ANONYMOUS,
            DRAFT,
            dataset_id=None,
            department=(department, department),
            client_address=None,
            now=at,
        )
        if answer:
            await desk.answer(
                Viewer(REVIEWER, settings),
                demand_global_id(record.id),
                DemandAnswer(DemandDecision.DECLINED, "personal data", None, ()),
                now,
            )
    body: dict[str, Any] = await ask(gateway, REPORT, "key-bureau")
    assert "errors" not in body, body
    by_id = {d["department"]: d["demands"] for d in body["data"]["qualityReport"]["departments"]}
    assert by_id["transport"] == {"open": 2, "overdue": 1, "answeredLate": 1}
    assert by_id["health"] == {"open": 1, "overdue": 0, "answeredLate": 0}
    await gateway.aclose()
