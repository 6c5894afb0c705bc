"""``Dataset.quality`` over GraphQL: computed from metadata, only when selected."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.app import Gateway
from gateway.quality import LinkResult, LinkState, QualityAssessor
from schema.model import ContactPoint, Distribution, ShareType, UpdateFrequency
from tests.gateway.conftest import GatewayFactory, asgi_client, make_dataset

QUALITY = """
{ datasets(first: 10, sort: TITLE_ASC) { edges { node { id
    quality { score findability accessibility interoperability reusability contextuality
              openness timeliness { status expectedBy daysOverdue }
              links { status checkedAt httpStatus } problems { code field message } } } } } }
"""
PLAIN = "{ datasets(first: 10) { edges { node { id title } } } }"


class CountingLinks:
    """The link checker's results as the gateway reads them, counting the reads."""

    def __init__(self, results: dict[str, LinkResult]) -> None:
        self.results = results
        self.reads: list[str] = []

    async def __call__(self, source_id: str, local_id: str) -> LinkResult | None:
        self.reads.append(local_id)
        return self.results.get(local_id)


async def ask(gateway: Gateway, query: str) -> dict[str, Any]:
    async with asgi_client(gateway) as client:
        response = await client.post("/graphql", json={"query": query})
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


def gateway_with_links(make_gateway: GatewayFactory, links: CountingLinks) -> Gateway:
    datasets = [
        make_dataset(
            "a",
            0,
            update_frequency=UpdateFrequency.MONTHLY,
            share_type=ShareType.CONDITIONAL,
            distributions=(Distribution(format="XLSX", download_url="http://x.example/0.xlsx"),),
        ),
        make_dataset(
            "a",
            1,
            description="Complete enough",
            contact_point=ContactPoint(email="desk@example.gov"),
            distributions=(Distribution(format="CSV", download_url="http://x.example/1.csv"),),
        ),
    ]
    gateway = make_gateway({"a": datasets})
    gateway.assessor = QualityAssessor(links=links)
    return gateway


async def test_quality_indicators_and_problems_come_back_per_dataset(
    make_gateway: GatewayFactory,
) -> None:
    checked = datetime(2026, 11, 1, tzinfo=UTC)
    links = CountingLinks({"a-0": LinkResult(LinkState.BROKEN, checked, 404)})
    body = await ask(gateway_with_links(make_gateway, links), QUALITY)
    first, second = (e["node"]["quality"] for e in body["data"]["datasets"]["edges"])
    assert first["openness"] == 2 and second["openness"] == 3
    assert first["links"] == {
        "status": "BROKEN",
        "checkedAt": "2026-11-01T00:00:00+00:00",
        "httpStatus": 404,
    }
    assert second["links"]["status"] == "UNCHECKED"
    # Modified in January 2024, monthly: long overdue by now.
    assert first["timeliness"]["status"] == "OVERDUE" and first["timeliness"]["daysOverdue"] > 300
    assert first["timeliness"]["expectedBy"].startswith("2024-02-0")
    assert second["timeliness"] == {"status": "UNKNOWN", "expectedBy": None, "daysOverdue": None}
    assert {p["code"] for p in first["problems"]} >= {
        "MISSING_SHARE_CONDITION",
        "MISSING_CONTACT",
        "MISSING_DESCRIPTION",
        "NO_MACHINE_READABLE_FORMAT",
        "OVERDUE",
        "BROKEN_LINK",
    }
    assert "MISSING_CONTACT" not in {p["code"] for p in second["problems"]}
    assert second["score"] > first["score"]
    assert all(0 <= first[d] <= 100 for d in ("findability", "reusability", "contextuality"))


async def test_quality_is_computed_only_when_selected(make_gateway: GatewayFactory) -> None:
    links = CountingLinks({})
    gateway = gateway_with_links(make_gateway, links)
    await ask(gateway, PLAIN)
    assert links.reads == []
    await ask(gateway, QUALITY)
    assert sorted(links.reads) == ["a-0", "a-1"]
