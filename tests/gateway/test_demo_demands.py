"""The demo's seeded data demands: every state, one overdue, audited, seeded once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gateway.access import WorkflowSettings
from gateway.api.demand_desk import overdue
from gateway.audit import AuditLog
from gateway.demo.demands import seed_demands
from gateway.store import Store
from gateway.workflows import WorkingCalendar

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
NAMES = {"transport": "交通运输局", "health": "卫生健康委员会"}


async def test_the_demo_seeds_every_state_once(store: Store, tmp_path: Path) -> None:
    settings = WorkflowSettings(bureau_roles=("data-bureau",), reviewer_roles=("data-reviewer",))
    async with AuditLog(tmp_path / "audit.log") as audit:
        seeded = await seed_demands(
            store,
            audit=audit,
            calendar=WorkingCalendar(),
            settings=settings,
            now=NOW,
            department_names=NAMES,
        )
        again = await seed_demands(
            store,
            audit=audit,
            calendar=WorkingCalendar(),
            settings=settings,
            now=NOW,
            department_names=NAMES,
        )
    assert {r.state for r in seeded} == {"RECEIVED", "ASSIGNED", "ANSWERED", "CLOSED"}
    assert [r.state for r in seeded if overdue(r, NOW)] == ["ASSIGNED"]
    assert again == []
    text = (tmp_path / "audit.log").read_text()
    assert text.count('"data_demand.answered"') == 3 and "citizen@example.cn" not in text
