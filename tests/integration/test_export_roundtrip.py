"""Exporting the demo's open directory and importing it back through the project's own
dcat and datajson connectors gives back the same datasets (as GraphQL serves them)."""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Any

import httpx
import pytest

from connectors.datajson import DataJsonMapper, DataJsonOptions
from connectors.dcat import parse_dcat_document
from connectors.sdk import SourceSettings, html_to_text
from schema.model import Dataset
from tests.integration.conftest import graphql

pytestmark = pytest.mark.integration

PAGE = """
query Page($after: String) { datasets(first: 100, after: $after, sort: MODIFIED_DESC) {
  pageInfo { hasNextPage endCursor }
  edges { node {
    identifier title description keywords themes department { id name code }
    issued modified updateFrequency shareType shareCondition openType sensitivity grade
    license landingPage spatial temporal { start end }
    resourceCode resourceClass formatClass shareMethod openCondition notSharedBasis
    relatedResources contactPoint { name email phone }
    distributions { title format mediaType accessUrl downloadUrl byteSize } } } } }
"""


async def open_directory(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """The anonymous caller's catalogue through GraphQL, by identifier (the oracle)."""
    found: dict[str, dict[str, Any]] = {}
    after = None
    while True:
        body = await graphql(client, PAGE, {"after": after})
        assert "errors" not in body, body["errors"]
        page = body["data"]["datasets"]
        for edge in page["edges"]:
            found[edge["node"]["identifier"]] = edge["node"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def common(ds: Dataset, node: dict[str, Any]) -> None:
    """What both formats carry back unchanged."""
    assert ds.title == node["title"]
    assert sorted(ds.keywords) == sorted(node["keywords"])
    assert sorted(ds.themes) == sorted(node["themes"])
    assert ds.department is not None
    assert (ds.department.id, ds.department.name, ds.department.code) == (
        node["department"]["id"],
        node["department"]["name"],
        node["department"]["code"],
    )
    assert ds.modified == moment(node["modified"])
    assert (ds.share_type.value, ds.open_type.value, ds.sensitivity.value) == (
        node["shareType"],
        node["openType"],
        node["sensitivity"],
    )
    assert (ds.grade.value if ds.grade else None) == node["grade"]
    for name, key in (
        ("resource_code", "resourceCode"),
        ("resource_class", "resourceClass"),
        ("format_class", "formatClass"),
        ("share_method", "shareMethod"),
        ("not_shared_basis", "notSharedBasis"),
        ("share_condition", "shareCondition"),
        ("license", "license"),
        ("landing_page", "landingPage"),
        ("spatial", "spatial"),
    ):
        assert getattr(ds, name) == node[key], name
    assert list(ds.related_resources) == node["relatedResources"]
    if node["temporal"] and node["temporal"]["start"] and node["temporal"]["end"]:
        assert ds.temporal is not None
        assert ds.temporal.start == moment(node["temporal"]["start"])
    # POD gives a downloadURL only with its media type, else the URL as accessURL.
    urls = sorted(d["downloadUrl"] or d["accessUrl"] for d in node["distributions"])
    assert sorted(d.download_url or d.access_url or "" for d in ds.distributions) == urls


def settings(options: Any = None) -> SourceSettings:
    return SourceSettings(
        id="reimport", url="http://gateway.test", **({"options": options} if options else {})
    )


async def test_dcat_ap_export_imports_back_to_the_same_datasets(
    demo_client: httpx.AsyncClient,
) -> None:
    oracle = await open_directory(demo_client)
    response = await demo_client.get("/catalog.ttl")
    assert response.status_code == 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        datasets = parse_dcat_document(response.content, "text/turtle", settings=settings())
    assert len(oracle) > 100
    assert {d.identifier for d in datasets} == set(oracle)
    for ds in datasets:
        node = oracle[ds.identifier or ""]
        common(ds, node)
        assert ds.description == node["description"]
        assert ds.issued == moment(node["issued"])
        assert ds.update_frequency.value == node["updateFrequency"]
        assert ds.open_condition == node["openCondition"]
        contact = node["contactPoint"]
        if contact:
            assert ds.contact_point is not None
            assert (ds.contact_point.email, ds.contact_point.phone) == (
                contact["email"],
                contact["phone"],
            )
        formats = sorted((d["format"] or "").upper() for d in node["distributions"] if d["format"])
        assert sorted(d.format or "" for d in ds.distributions if d.format) == formats


async def test_data_json_export_imports_back_to_the_same_datasets(
    demo_client: httpx.AsyncClient,
) -> None:
    oracle = await open_directory(demo_client)
    response = await demo_client.get("/data.json")
    assert response.status_code == 200
    names = {n["department"]["name"]: n["department"]["id"] for n in oracle.values()}
    options = DataJsonOptions(department_ids=names)
    datasets = DataJsonMapper(settings(options), options).parse(response.content)
    assert {d.identifier for d in datasets} == set(oracle)
    for ds in datasets:
        node = oracle[ds.identifier or ""]
        common(ds, node)
        # POD requires a description: a record without one carries its title. (The
        # datajson connector reads HTML descriptions as text, as it does any data.json.)
        assert ds.description == html_to_text(node["description"] or node["title"])
        if node["issued"]:
            assert ds.issued is not None
            assert ds.issued.date() == moment(node["issued"]).date()  # type: ignore[union-attr]
