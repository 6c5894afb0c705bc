"""Every connector maps the national directory fields its simulated platform publishes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.sdk import SearchQuery
from gateway.app import Gateway
from schema import vocab
from schema.model import Dataset, Grade
from simulators.catalogue import build_city_catalogue, credit_code
from simulators.platforms import PlatformServer
from tests.integration.conftest import graphql

pytestmark = pytest.mark.integration

DIRECTORY_TEXT = (
    "resource_code",
    "resource_class",
    "format_class",
    "share_method",
    "open_condition",
    "not_shared_basis",
)
# Platforms whose publisher carries no code of its own (Socrata attribution, ODS publisher).
NO_DEPARTMENT_CODE = {"culture-socrata", "water-ods"}


def extras(package: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in package["extras"]}


async def every_dataset(gateway: Gateway, source_id: str) -> list[Dataset]:
    connector = next(c for c in gateway.connectors if c.source_id == source_id)
    found: list[Dataset] = []
    limit = min(connector.capabilities.max_page_size, 200)
    while True:
        page = await connector.search(SearchQuery(offset=len(found), limit=limit))
        found += page.datasets
        if not page.datasets or (page.total is not None and len(found) >= page.total):
            return found


@pytest.mark.parametrize(
    "platform_id",
    [
        "transport-platform",
        "culture-socrata",
        "water-ods",
        "agriculture-dcat",
        "finance-datajson",
        "hr-rest",
    ],
)
async def test_connector_maps_the_directory_fields_the_platform_publishes(
    demo_gateway: Gateway, demo_servers: dict[str, PlatformServer], platform_id: str
) -> None:
    city = build_city_catalogue()
    packages = {extras(p)["identifier"]: p for p in city.platforms[platform_id].packages}
    datasets = await every_dataset(demo_gateway, platform_id)
    assert len(datasets) == len(packages)
    grades: set[Grade | None] = set()
    for dataset in datasets:
        assert dataset.identifier is not None
        package = packages[dataset.identifier]
        ex = extras(package)
        for name in DIRECTORY_TEXT:
            assert getattr(dataset, name) == ex.get(name), (name, dataset.identifier)
        related = ex.get("related_resources")
        assert dataset.related_resources == ((related,) if related else ())
        assert dataset.grade is vocab.parse_grade(ex.get("grade"))
        grades.add(dataset.grade)
        if "temporal" in ex:
            assert dataset.temporal is not None and dataset.temporal.start is not None
            assert dataset.temporal.start.year == int(ex["temporal"][:4])
        if platform_id not in NO_DEPARTMENT_CODE:
            assert dataset.department is not None
            dept = city.department(package["organization"]["name"])
            assert dataset.department.code == credit_code(dept)
    # The demo states every grade somewhere, in English and in Chinese.
    assert {Grade.GENERAL, None} <= grades


DIRECTORY_QUERY = """
{ datasets(first: 50, filter: {departments: ["transport"]}) { edges { node {
    identifier resourceCode resourceClass formatClass shareMethod openCondition
    notSharedBasis relatedResources grade temporal { start end }
    department { id code } } } } }
"""


async def test_graphql_serves_the_directory_fields(demo_client: httpx.AsyncClient) -> None:
    body = await graphql(demo_client, DIRECTORY_QUERY, key="demo-key-transport-analyst")
    nodes = [e["node"] for e in body["data"]["datasets"]["edges"]]
    assert nodes
    city = build_city_catalogue()
    code = credit_code(city.department("transport"))
    assert all(n["department"]["code"] == code for n in nodes)
    assert any(n["resourceCode"] == n["identifier"] for n in nodes)
    assert any(n["formatClass"] for n in nodes) and any(n["resourceClass"] for n in nodes)
    assert any(n["grade"] in ("CORE", "IMPORTANT", "GENERAL") for n in nodes)


async def exported(client: httpx.AsyncClient, key: str | None) -> list[dict[str, Any]]:
    headers = {"x-api-key": key} if key else {}
    response = await client.get("/data.json", headers=headers)
    assert response.status_code == 200
    entries: list[dict[str, Any]] = response.json()["dataset"]
    return entries


async def test_over_http_core_data_stays_with_its_department_and_important_is_never_public(
    demo_client: httpx.AsyncClient,
) -> None:
    public = await exported(demo_client, None)
    assert public and not {e.get("grade") for e in public} & {"CORE", "IMPORTANT"}
    analyst = await exported(demo_client, "demo-key-transport-analyst")
    core = [e for e in analyst if e.get("grade") == "CORE"]
    assert core, "the transport analyst sees its own department's core data"
    transport = build_city_catalogue().department("transport").name_zh
    assert {e["publisher"]["name"] for e in core} == {transport}
