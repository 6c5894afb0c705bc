"""Assigning and answering data demands end to end over HTTP, on SQLite and PostgreSQL:
required fields per decision, who may act, deadlines in Chinese working days, late answers,
the ranking, and the figures the quality report takes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.store import DemandRepository
from simulators.platforms import PlatformServer
from tests.integration.demand_gateway import DemandGateway, demand_gateway
from tests.integration.test_data_demands import (
    ANSWER,
    ASSIGN,
    BY_ID,
    CLOSE,
    LIST,
    SUBMIT,
    SUPPORT,
    dataset_id,
    demand_input,
)

pytestmark = pytest.mark.integration

RANKING = """query R($first: Int) { demandRanking(first: $first) {
  themes { theme supportCount demands }
  departments { department { id name } supportCount demands }
  datasets { dataset { id } supportCount demands }
} }"""

# Tuesday 29 September 2026, 10:00 in Shanghai. National Day runs 1-7 October; 8, 9 and
# 10 (a Saturday made a working day) are working days.
TUESDAY = datetime(2026, 9, 29, 2, 0, tzinfo=UTC)
SHANGHAI_MIDNIGHT_10_OCT = datetime(2026, 10, 9, 16, 0, tzinfo=UTC)  # 2026-10-10T00:00+08:00
SHANGHAI_MIDNIGHT_9_OCT = datetime(2026, 10, 8, 16, 0, tzinfo=UTC)


@pytest.fixture
async def gw(platforms: dict[str, PlatformServer], store_url: str, tmp_path: Path) -> Any:
    async with demand_gateway(
        platforms,
        store_url,
        tmp_path,
        now=TUESDAY,
        deadlines={"demand_assignment": 2, "demand_answer": 3},
    ) as g:
        yield g


async def submit(gw: DemandGateway, key: str | None = None, **fields: Any) -> dict[str, Any]:
    data = await gw.data(SUBMIT, {"input": demand_input(**fields)}, key=key)
    demand: dict[str, Any] = data["submitDataDemand"]
    return demand


async def error_of(gw: DemandGateway, query: str, variables: dict[str, Any], key: str) -> Any:
    body = await gw.call(query, variables, key=key)
    assert body["data"] is None, body
    return body["errors"][0]


async def test_answers_need_the_fields_of_their_decision_and_come_from_the_assigned_reviewers(
    gw: DemandGateway,
) -> None:
    demand = await submit(gw, department="transport")
    assert demand["state"] == "ASSIGNED"
    demand_id = demand["id"]

    def answer(**fields: Any) -> dict[str, Any]:
        return {"id": demand_id, "input": fields}

    for fields, field in [
        ({"decision": "WILL_OPEN"}, "input.plannedDate"),
        ({"decision": "WILL_OPEN", "plannedDate": "2026-09-01"}, "input.plannedDate"),
        ({"decision": "DECLINED"}, "input.reason"),
        ({"decision": "DECLINED", "reason": "   "}, "input.reason"),
        ({"decision": "ALREADY_AVAILABLE"}, "input.datasetIds"),
        ({"decision": "CORRECTED"}, "input.decision"),  # for error reports only
        ({"decision": "DECLINED", "reason": "x", "plannedDate": "2027-01-01"}, "input.plannedDate"),
    ]:
        error = await error_of(gw, ANSWER, answer(**fields), "transport-reviewer")
        assert error["extensions"]["code"] == "BAD_USER_INPUT", fields
        assert field in {p["field"] for p in error["extensions"]["problems"]}, fields
    # Another department's reviewer, a same-department non-reviewer, the bureau, the public:
    # all refused the same way.
    messages = set()
    for key in ("health-reviewer", "transport-analyst", "bureau", "citizen-a"):
        error = await error_of(gw, ANSWER, answer(decision="DECLINED", reason="no"), key)
        assert error["extensions"]["code"] == "FORBIDDEN"
        messages.add(error["message"])
    assert len(messages) == 1
    assert (await gw.data(BY_ID, {"id": demand_id}))["dataDemand"]["state"] == "ASSIGNED"

    answered = (
        await gw.data(
            ANSWER, answer(decision="WILL_OPEN", plannedDate="2026-12-31"), key="transport-reviewer"
        )
    )["answerDataDemand"]
    assert answered["state"] == "ANSWERED"
    assert answered["answer"]["decision"] == "WILL_OPEN"
    assert answered["answer"]["plannedDate"] == "2026-12-31"
    assert answered["answer"]["late"] is False
    assert answered["overdue"] is False
    # Answered once: a second answer is refused like any other refusal.
    again = await error_of(
        gw, ANSWER, answer(decision="DECLINED", reason="x"), "transport-reviewer"
    )
    assert again["message"] in messages


async def test_already_available_names_visible_datasets_and_error_reports_get_corrected(
    gw: DemandGateway,
) -> None:
    open_id = await dataset_id(gw, None, departments=["transport"])
    demand = await submit(gw, department="transport")
    answered = (
        await gw.data(
            ANSWER,
            {
                "id": demand["id"],
                "input": {"decision": "ALREADY_AVAILABLE", "datasetIds": [open_id]},
            },
            key="transport-reviewer",
        )
    )["answerDataDemand"]
    assert [d["id"] for d in answered["answer"]["datasets"]] == [open_id]
    # An error report about a dataset: routed to its department, answered CORRECTED.
    report = await submit(gw, kind="ERROR_REPORT", datasetId=open_id, title="Wrong stop names")
    assert report["kind"] == "ERROR_REPORT" and report["state"] == "ASSIGNED"
    will_open = await error_of(
        gw,
        ANSWER,
        {"id": report["id"], "input": {"decision": "WILL_OPEN", "plannedDate": "2026-12-01"}},
        "transport-reviewer",
    )
    assert will_open["extensions"]["code"] == "BAD_USER_INPUT"
    corrected = (
        await gw.data(
            ANSWER,
            {"id": report["id"], "input": {"decision": "CORRECTED", "reason": "names fixed"}},
            key="transport-reviewer",
        )
    )["answerDataDemand"]
    assert corrected["answer"]["decision"] == "CORRECTED"
    # The submitter closes an answered demand with its receipt; a stranger may not.
    stranger = await error_of(gw, CLOSE, {"id": report["id"]}, "citizen-b")
    assert stranger["extensions"]["code"] == "FORBIDDEN"
    closed = await gw.data(CLOSE, {"id": report["id"]}, receipt=report["receipt"])
    assert closed["closeDataDemand"]["state"] == "CLOSED"
    kinds = await gw.data(LIST, {"filter": {"kind": "ERROR_REPORT"}})
    assert [e["node"]["id"] for e in kinds["dataDemands"]["edges"]] == [report["id"]]


async def test_unrouted_demands_wait_for_the_bureau_and_deadlines_count_chinese_working_days(
    gw: DemandGateway, store_url: str
) -> None:
    demand = await submit(gw)
    assert demand["state"] == "RECEIVED" and demand["department"] is None
    demand_id = demand["id"]
    # Assignment within 2 working days: 30 September, then 8 October (National Day between).
    assert datetime.fromisoformat(demand["dueAt"]) == SHANGHAI_MIDNIGHT_9_OCT
    gw.now = datetime(2026, 10, 7, 12, 0, tzinfo=UTC)  # Monday-to-Friday counting: overdue
    assert (await gw.data(BY_ID, {"id": demand_id}))["dataDemand"]["overdue"] is False
    gw.now = SHANGHAI_MIDNIGHT_9_OCT
    assert (await gw.data(BY_ID, {"id": demand_id}))["dataDemand"]["overdue"] is True

    gw.now = TUESDAY
    for key in ("transport-reviewer", "citizen-a"):
        error = await error_of(gw, ASSIGN, {"id": demand_id, "department": "transport"}, key)
        assert error["extensions"]["code"] == "FORBIDDEN"
    unknown = await error_of(gw, ASSIGN, {"id": demand_id, "department": "nowhere"}, "bureau")
    assert unknown["extensions"]["code"] == "BAD_USER_INPUT"
    assigned = (await gw.data(ASSIGN, {"id": demand_id, "department": "transport"}, key="bureau"))[
        "assignDataDemand"
    ]
    assert assigned["state"] == "ASSIGNED"
    assert assigned["department"]["id"] == "transport" and assigned["department"]["name"]
    # Answer within 3 working days: 30 September, 8 and 9 October.
    assert datetime.fromisoformat(assigned["dueAt"]) == SHANGHAI_MIDNIGHT_10_OCT

    gw.now = SHANGHAI_MIDNIGHT_10_OCT - timedelta(seconds=1)
    assert (await gw.data(BY_ID, {"id": demand_id}))["dataDemand"]["overdue"] is False
    gw.now = SHANGHAI_MIDNIGHT_10_OCT
    seen = (await gw.data(BY_ID, {"id": demand_id}))["dataDemand"]
    assert seen["overdue"] is True
    repository = DemandRepository(gw.gateway.store)  # type: ignore[arg-type]
    figures = await repository.open_and_overdue_by_department(gw.now)
    assert (figures["transport"].open, figures["transport"].overdue) == (1, 1)

    # Answering late is allowed, and shown.
    late = (
        await gw.data(
            ANSWER,
            {"id": demand_id, "input": {"decision": "DECLINED", "reason": "personal data"}},
            key="transport-reviewer",
        )
    )["answerDataDemand"]
    assert late["state"] == "ANSWERED"
    assert late["answer"]["late"] is True and late["answer"]["reason"] == "personal data"
    assert late["overdue"] is False
    figures = await repository.open_and_overdue_by_department(gw.now)
    assert (figures["transport"].open, figures["transport"].answered_late) == (0, 1)
    events = await gw.events(3)
    assert [e["event"] for e in events] == [
        "data_demand.submitted",
        "data_demand.assigned",
        "data_demand.answered",
    ]
    answered = events[-1]
    assert answered["event"] == "data_demand.answered"
    assert answered["data"] == {
        "id": demand_id,
        "state": "ANSWERED",
        "decision": "DECLINED",
        "late": True,
    }


async def test_the_ranking_sums_support_per_theme_department_and_visible_dataset(
    gw: DemandGateway,
) -> None:
    open_id = await dataset_id(gw, None, departments=["transport"])
    hidden_id = await dataset_id(
        gw, "transport-analyst", departments=["transport"], openTypes=["NOT_OPEN"]
    )
    bus = await submit(gw, datasetId=open_id, themes=["transport", "accessibility"])
    clinics = await submit(gw, department="health", themes=["health"])
    hidden = await submit(gw, "transport-analyst", datasetId=hidden_id, themes=["transport"])
    closed = await submit(gw, department="health", themes=["closed-theme"])
    for key in ("citizen-a", "citizen-b", "citizen-c"):
        await gw.data(SUPPORT, {"id": clinics["id"]}, key=key)  # health: 4
    await gw.data(SUPPORT, {"id": bus["id"]}, key="citizen-a")  # bus: 2
    for key in ("citizen-a", "citizen-b"):
        await gw.data(SUPPORT, {"id": hidden["id"]}, key=key)  # hidden: 3
    for key in ("citizen-a", "citizen-b", "citizen-c", "transport-reviewer"):
        await gw.data(SUPPORT, {"id": closed["id"]}, key=key)
    await gw.data(CLOSE, {"id": closed["id"], "reason": "duplicate"}, key="bureau")

    ranking = (await gw.data(RANKING, {"first": 10}))["demandRanking"]
    assert [(t["theme"], t["supportCount"], t["demands"]) for t in ranking["themes"]] == [
        ("transport", 5, 2),
        ("health", 4, 1),
        ("accessibility", 2, 1),
    ]
    assert [(d["department"]["id"], d["supportCount"]) for d in ranking["departments"]] == [
        ("transport", 5),
        ("health", 4),
    ]
    # The public sees only the dataset it may discover; its department's staff see both.
    assert [(d["dataset"]["id"], d["supportCount"]) for d in ranking["datasets"]] == [(open_id, 2)]
    staff = (await gw.data(RANKING, {"first": 10}, key="transport-analyst"))["demandRanking"]
    assert [d["dataset"]["id"] for d in staff["datasets"]] == [hidden_id, open_id]
    top = (await gw.data(RANKING, {"first": 1}))["demandRanking"]
    assert [t["theme"] for t in top["themes"]] == ["transport"]
    # The first dataset line is hidden from the public: the next visible one takes its place.
    assert [d["dataset"]["id"] for d in top["datasets"]] == [open_id]
    # Pages of the public list follow one another without repeats.
    first = (await gw.data(LIST, {"first": 2}))["dataDemands"]
    assert first["totalCount"] == 4 and first["pageInfo"]["hasNextPage"] is True
    rest = (await gw.data(LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]}))[
        "dataDemands"
    ]
    ids = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert ids == [closed["id"], hidden["id"], clinics["id"], bus["id"]]
    assert rest["pageInfo"]["hasNextPage"] is False
    bad = await gw.call(LIST, {"after": "not-a-cursor"})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_CURSOR"
