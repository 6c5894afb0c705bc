"""The demo's data demands: a few in each state, written through the desk like real ones
(audited, with their outbox events), so GraphiQL has something to list, rank and answer."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from gateway.access import Caller, WorkflowSettings
from gateway.api.demand_desk import DemandDesk, Viewer, demand_global_id
from gateway.audit import AuditLog
from gateway.store import DemandFilter, DemandRecord, Store
from gateway.workflows import WorkingCalendar
from gateway.workflows.demands import Contact, DemandAnswer, DemandDecision, DemandDraft, DemandKind

PUBLIC = Caller(id="anonymous", anonymous=True)
# As in gateway/demo/policy.yaml.
BUREAU = Caller(id="data-bureau", department="big-data", roles=("data-bureau",))
TRANSPORT_REVIEWER = Caller(
    id="transport-reviewer", department="transport", roles=("data-reviewer",)
)
HEALTH_REVIEWER = Caller(id="health-reviewer", department="health", roles=("data-reviewer",))
SUPPORTERS = ("transport-analyst", "health-analyst", "city-operator", "auditor")


def _draft(kind: DemandKind, title: str, description: str, themes: tuple[str, ...]) -> DemandDraft:
    return DemandDraft.of(
        kind=kind,
        title=title,
        description=description,
        themes=themes,
        purpose="demo",
        contact=Contact("Demo Citizen", "citizen@example.cn", None),
    )


async def seed_demands(
    store: Store,
    *,
    audit: AuditLog | None,
    calendar: WorkingCalendar,
    settings: WorkflowSettings,
    now: datetime,
    department_names: Mapping[str, str],
) -> list[DemandRecord]:
    """Seed demands in every state (one of them overdue); the seeded records. Runs only on
    an empty demands table (a demo restarted on the same store keeps its own).
    ``department_names``: the names of ``transport`` and ``health``."""
    desk = DemandDesk(store, audit=audit, calendar=calendar, settings=settings)
    if (await desk.repository.page(DemandFilter(), 1, None)).total:
        return []
    month_ago = now - timedelta(days=45)  # past any answer deadline, holidays included

    async def submit(
        draft: DemandDraft, department: str | None, at: datetime, supporters: int
    ) -> DemandRecord:
        routed = (department, department_names[department]) if department else None
        record, _ = await desk.submit(
            PUBLIC, draft, dataset_id=None, department=routed, client_address=None, now=at
        )
        for supporter in SUPPORTERS[:supporters]:
            record = await desk.support(Caller(id=supporter), demand_global_id(record.id), at)
        return record

    received = await submit(
        _draft(
            DemandKind.OPEN_DATA,
            "实时停车泊位数据 Real-time parking availability",
            "Free spaces per car park, updated every minute, for navigation apps.",
            ("transport", "parking"),
        ),
        None,
        now,
        3,
    )
    overdue = await submit(
        _draft(
            DemandKind.OPEN_DATA,
            "公交准点率 Bus punctuality by route",
            "Monthly on-time share per bus route.",
            ("transport",),
        ),
        "transport",
        month_ago,
        2,
    )
    will_open = await submit(
        _draft(
            DemandKind.OPEN_DATA,
            "社区医院门诊量 Outpatient visits per community clinic",
            "Weekly visit counts, to plan opening hours.",
            ("health",),
        ),
        "health",
        month_ago,
        4,
    )
    error = await submit(
        _draft(
            DemandKind.ERROR_REPORT,
            "站点名称错误 Wrong stop names in the bus stop list",
            "Several stops still carry names changed last year.",
            ("transport",),
        ),
        "transport",
        month_ago,
        0,
    )
    declined = await submit(
        _draft(
            DemandKind.OPEN_DATA,
            "个人就诊记录 Individual patient records",
            "Every visit with the patient's details.",
            ("health",),
        ),
        "health",
        month_ago,
        1,
    )
    answered_at = month_ago + timedelta(days=5)
    will_open = await desk.answer(
        Viewer(HEALTH_REVIEWER, settings),
        demand_global_id(will_open.id),
        DemandAnswer(DemandDecision.WILL_OPEN, None, (now + timedelta(days=60)).date(), ()),
        answered_at,
    )
    error = await desk.answer(
        Viewer(TRANSPORT_REVIEWER, settings),
        demand_global_id(error.id),
        DemandAnswer(DemandDecision.CORRECTED, "Stop names updated.", None, ()),
        answered_at,
    )
    declined = await desk.answer(
        Viewer(HEALTH_REVIEWER, settings),
        demand_global_id(declined.id),
        DemandAnswer(DemandDecision.DECLINED, "Personal health data is never opened.", None, ()),
        answered_at,
    )
    declined = await desk.close(
        Viewer(BUREAU, settings), demand_global_id(declined.id), "answered", answered_at
    )
    return [received, overdue, will_open, error, declined]
