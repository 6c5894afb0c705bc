"""Open-data demands end to end over HTTP, on SQLite and PostgreSQL: anonymous submission,
routing by dataset, who sees the contact details (every path), undiscoverable datasets,
the anonymous rate limit, outbox and audit."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from schema.ids import encode_id
from simulators.platforms import PlatformServer
from tests.integration.demand_gateway import DemandGateway, demand_gateway

pytestmark = pytest.mark.integration

FIELDS = """
  id kind state title description themes supportCount dueAt overdue createdAt updatedAt
  department { id name } dataset { id title } contact { name email phone } purpose receipt
  answer { decision reason plannedDate answeredAt late datasets { id } }
"""
SUBMIT = f"""mutation Submit($input: DataDemandInput!) {{
  submitDataDemand(input: $input) {{ {FIELDS} }}
}}"""
LIST = f"""query List($filter: DataDemandFilter, $first: Int, $after: String) {{
  dataDemands(filter: $filter, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {FIELDS} }} }}
  }}
}}"""
BY_ID = f"query One($id: ID!) {{ dataDemand(id: $id) {{ {FIELDS} }} }}"
NODE = f"query Node($id: ID!) {{ node(id: $id) {{ ... on DataDemand {{ {FIELDS} }} }} }}"
SUPPORT = f"mutation S($id: ID!) {{ supportDataDemand(id: $id) {{ {FIELDS} }} }}"
ASSIGN = f"""mutation A($id: ID!, $department: ID!) {{
  assignDataDemand(id: $id, department: $department) {{ {FIELDS} }}
}}"""
ANSWER = f"""mutation Answer($id: ID!, $input: DemandAnswerInput!) {{
  answerDataDemand(id: $id, input: $input) {{ {FIELDS} }}
}}"""
CLOSE = f"""mutation C($id: ID!, $reason: String) {{
  closeDataDemand(id: $id, reason: $reason) {{ {FIELDS} }}
}}"""
FIRST_DATASET = """query D($filter: DatasetFilter) {
  datasets(first: 1, filter: $filter) { edges { node { id title department { id } } } }
}"""

EMAIL = "wang.fang@example.cn"
PHONE = "+86 571 8888 0000"


def demand_input(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": "Bus stop accessibility",
        "description": "Which bus stops have step-free access?",
        "themes": ["transport"],
        "purpose": "a wheelchair route planner",
        "contact": {"name": "Wang Fang", "email": EMAIL, "phone": PHONE},
    }
    values.update(overrides)
    return values


async def dataset_id(gw: DemandGateway, key: str | None, **filter: Any) -> str:
    data = await gw.data(FIRST_DATASET, {"filter": filter}, key=key)
    (edge,) = data["datasets"]["edges"]
    return str(edge["node"]["id"])


@pytest.fixture
async def gw(platforms: dict[str, PlatformServer], store_url: str, tmp_path: Path) -> Any:
    async with demand_gateway(
        platforms, store_url, tmp_path, demands={"anonymous_per_hour": 3}
    ) as g:
        yield g


async def test_an_anonymous_demand_goes_to_its_datasets_department_and_its_contact_stays_private(
    gw: DemandGateway,
) -> None:
    open_id = await dataset_id(gw, None, departments=["transport"])
    submitted = (await gw.data(SUBMIT, {"input": demand_input(datasetId=open_id)}))[
        "submitDataDemand"
    ]
    # Routed at once to the dataset's department; the submitter gets its contact and receipt.
    assert submitted["state"] == "ASSIGNED"
    assert submitted["department"]["id"] == "transport"
    assert submitted["dataset"]["id"] == open_id
    assert submitted["supportCount"] == 1
    assert submitted["contact"] == {"name": "Wang Fang", "email": EMAIL, "phone": PHONE}
    receipt = submitted["receipt"]
    assert receipt and receipt.startswith("ddr_")
    demand_id = submitted["id"]

    # Everyone else: every path answers the demand with contact and purpose null, and the
    # address appears nowhere in the response.
    outsiders = [None, "citizen-b", "health-reviewer", "transport-analyst"]
    for key in outsiders:
        for query, variables in [
            (LIST, {}),
            (LIST, {"filter": {"department": "transport", "state": "ASSIGNED"}}),
            (BY_ID, {"id": demand_id}),
            (NODE, {"id": demand_id}),
        ]:
            response = await gw.post(query, variables, key=key)
            assert response.status_code == 200
            assert EMAIL not in response.text and "8888" not in response.text, (key, query)
            assert "a wheelchair route planner" not in response.text
            body = response.json()
            assert "errors" not in body, body
    listed = (await gw.data(LIST, {}))["dataDemands"]
    assert listed["totalCount"] == 1
    (edge,) = listed["edges"]
    assert edge["node"]["title"] == "Bus stop accessibility"
    assert edge["node"]["contact"] is None and edge["node"]["receipt"] is None

    # A mutation's answer and a refusal to someone else carry no contact either.
    supported = await gw.post(SUPPORT, {"id": demand_id}, key="citizen-b")
    assert EMAIL not in supported.text
    assert supported.json()["data"]["supportDataDemand"]["supportCount"] == 2
    refused = await gw.post(
        ANSWER,
        {"id": demand_id, "input": {"decision": "DECLINED", "reason": "no"}},
        key="health-reviewer",
    )
    assert EMAIL not in refused.text
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # The submitter (by receipt), the assigned department's reviewers and the bureau see it.
    for key, receipt_header in [(None, receipt), ("transport-reviewer", None), ("bureau", None)]:
        for query, field in [(BY_ID, "dataDemand"), (NODE, "node")]:
            seen = (await gw.data(query, {"id": demand_id}, key=key, receipt=receipt_header))[field]
            assert seen["contact"]["email"] == EMAIL, key
            assert seen["purpose"] == "a wheelchair route planner"
        listed = (await gw.data(LIST, {}, key=key, receipt=receipt_header))["dataDemands"]
        assert listed["edges"][0]["node"]["contact"]["email"] == EMAIL
    # A wrong receipt proves nothing.
    wrong = await gw.data(BY_ID, {"id": demand_id}, receipt="ddr_not-the-receipt")
    assert wrong["dataDemand"]["contact"] is None

    # The outbox delivered the events; neither they nor the audit chain hold the contact.
    events = await gw.events(3)
    assert [e["event"] for e in events] == [
        "data_demand.submitted",
        "data_demand.assigned",
        "data_demand.supported",
    ]
    assert all(e["subject"] == demand_id for e in events)
    assert events[1]["data"]["department"] == "transport"
    assert EMAIL not in json.dumps(events)
    records = [json.loads(line) for line in gw.audit_path.read_text().splitlines()]
    workflow = [r for r in records if r.get("kind") == "workflow"]
    assert [r["event"] for r in workflow] == [e["event"] for e in events]
    assert workflow[2]["caller"] == "citizen-b"
    assert EMAIL not in gw.audit_path.read_text()


async def test_a_dataset_the_caller_cannot_see_is_refused_exactly_like_a_missing_one(
    gw: DemandGateway,
) -> None:
    hidden_id = await dataset_id(
        gw, "transport-analyst", departments=["transport"], openTypes=["NOT_OPEN"]
    )
    assert (await gw.data("query($id: ID!) { dataset(id: $id) { id } }", {"id": hidden_id}))[
        "dataset"
    ] is None
    missing_id = encode_id("Dataset", "transport-platform", "no-such-dataset")
    answers = []
    for target in (hidden_id, missing_id):
        body = await gw.call(SUBMIT, {"input": demand_input(datasetId=target)})
        assert body["data"] is None
        answers.append(body["errors"][0])
    hidden, missing = answers
    assert hidden["message"] == missing["message"] == "no dataset has this id"
    assert hidden["extensions"] == missing["extensions"]
    assert hidden["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await gw.data(LIST, {}))["dataDemands"]["totalCount"] == 0
    # Whoever may see it may name it.
    own = await gw.data(
        SUBMIT, {"input": demand_input(datasetId=hidden_id)}, key="transport-analyst"
    )
    assert own["submitDataDemand"]["department"]["id"] == "transport"
    assert own["submitDataDemand"]["dataset"]["id"] == hidden_id
    # ... and the public, listing it, sees the demand but not the dataset.
    (edge,) = (await gw.data(LIST, {}))["dataDemands"]["edges"]
    assert edge["node"]["dataset"] is None


async def test_submissions_are_checked_whole_and_answered_with_every_problem(
    gw: DemandGateway,
) -> None:
    body = await gw.call(
        SUBMIT,
        {
            "input": demand_input(
                title=" ",
                description="x" * 5001,
                themes=[f"t{i}" for i in range(11)],
                contact={"email": "not-an-address"},
            )
        },
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    fields = {p["field"] for p in error["extensions"]["problems"]}
    assert fields == {"input.title", "input.description", "input.themes", "input.contact.email"}
    assert "not-an-address" not in json.dumps(body)
    missing_department = await gw.call(SUBMIT, {"input": demand_input(department="no-such")})
    assert missing_department["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await gw.data(LIST, {}))["dataDemands"]["totalCount"] == 0


async def test_anonymous_submissions_are_limited_per_address_with_retry_after(
    gw: DemandGateway,
) -> None:
    for _ in range(3):
        await gw.data(SUBMIT, {"input": demand_input()})
    gw.now += timedelta(minutes=20)
    refused = await gw.post(SUBMIT, {"input": demand_input()})
    assert refused.status_code == 429
    # The oldest of the three leaves the hour 40 minutes from now.
    assert refused.headers["retry-after"] == str(40 * 60)
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == 40 * 60
    # Authenticated callers are not limited by it; the refused one was not stored.
    await gw.data(SUBMIT, {"input": demand_input()}, key="citizen-a")
    assert (await gw.data(LIST, {}))["dataDemands"]["totalCount"] == 4
    # Once the hour has passed, the address may submit again.
    gw.now += timedelta(minutes=40)
    await gw.data(SUBMIT, {"input": demand_input()})


async def test_anonymous_callers_may_not_support_and_support_counts_once_per_caller(
    gw: DemandGateway,
) -> None:
    demand_id = (await gw.data(SUBMIT, {"input": demand_input()}, key="citizen-a"))[
        "submitDataDemand"
    ]["id"]
    anonymous = await gw.call(SUPPORT, {"id": demand_id})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    counts = []
    for key in ("citizen-a", "citizen-b", "citizen-b", "citizen-c"):
        counts.append(
            (await gw.data(SUPPORT, {"id": demand_id}, key=key))["supportDataDemand"][
                "supportCount"
            ]
        )
    assert counts == [1, 2, 2, 3]  # the submitter already counts; twice counts once
    missing = await gw.call(SUPPORT, {"id": "bm90LWEtZGVtYW5k"}, key="citizen-b")
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
