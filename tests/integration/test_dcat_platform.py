"""The DCAT connector over real HTTP against the simulated DCAT-AP catalogue.

The city open portal's CKAN packages are served as a ckanext-dcat style catalogue
(``simulators.dcat_sim``), paged with hydra; the gateway reaches it through
``connector: dcat`` and, for "one data, one source", the transport platform through CKAN.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from connectors.dcat import DcatConnector
from connectors.sdk import SearchQuery, _registry
from gateway.app import Gateway, create_app
from gateway.config import parse_config
from gateway.demo.run import SOURCE_SETTINGS, demo_policy
from schema import vocab
from schema.ids import encode_id
from schema.model import Dataset, OpenType, Sensitivity, ShareType
from simulators import platforms as demo_platforms
from simulators.catalogue import PlatformCatalogue, build_city_catalogue
from simulators.dcat_sim import DATASETS_PER_PAGE
from simulators.platforms import PlatformServer, PlatformSpec, PlatformThread
from tests.integration.conftest import graphql

pytestmark = pytest.mark.integration

SOURCE = "city-portal-dcat"
_FULL = build_city_catalogue().platforms["city-open-portal"]
# Every third package (two hydra pages) keeps the suite fast; it includes copies of the
# transport platform's open datasets, as the full portal does.
PORTAL = PlatformCatalogue(
    id=_FULL.id,
    title=_FULL.title,
    title_en=_FULL.title_en,
    packages=_FULL.packages[::3],
    organizations=_FULL.organizations,
    groups=_FULL.groups,
)
DEFAULTS = SOURCE_SETTINGS["city-open-portal"]["defaults"]

SEARCH = """
query Search($q: String, $first: Int, $after: String, $filter: DatasetFilter) {
  datasets(search: $q, first: $first, after: $after, filter: $filter) {
    totalCount totalCountIsExact
    sources { source { id } status message }
    edges { node { id identifier title themes source { id } alsoPublishedBy { source { id } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.fixture(scope="module")
def dcat_server() -> Iterator[PlatformServer]:
    """The city open portal as a DCAT-AP catalogue, on its own loopback port."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(demo_platforms.SIMULATORS, "dcat", "simulators.dcat_sim:DcatSimulator")
        with PlatformThread([PlatformSpec(SOURCE, PORTAL, kind="dcat")]) as servers:
            yield servers[SOURCE]


@pytest.fixture(autouse=True)
def healthy_catalogue(dcat_server: PlatformServer) -> Iterator[None]:
    dcat_server.fault.reset()
    dcat_server.stats.reset()
    yield
    dcat_server.fault.reset()


@pytest.fixture(autouse=True)
def dcat_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_registry._BUILTINS, "dcat", "connectors.dcat:DcatConnector")


def dcat_source(server: PlatformServer, timeout: float) -> dict[str, Any]:
    return {
        "id": SOURCE,
        "connector": "dcat",
        "url": server.url,
        "timeout_seconds": timeout,
        "defaults": DEFAULTS,
        "department": SOURCE_SETTINGS["city-open-portal"]["department"],
        "authoritative_for": ["environment", "market", "statistics", "big-data"],
        "options": {"catalogue_path": "/catalog.ttl"},
    }


async def start_gateway(sources: list[dict[str, Any]]) -> Gateway:
    return Gateway(
        parse_config({"sources": sources}),
        transport="aiohttp",
        policy=demo_policy(),
        cursor_secret=b"integration-tests",
    )


async def stop_gateway(gateway: Gateway) -> None:
    for connector in gateway.connectors:
        if isinstance(connector, DcatConnector):
            await connector.aclose()
    await gateway.aclose()


@pytest.fixture
async def client(dcat_server: PlatformServer) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway over the DCAT catalogue alone, its copy loaded before the test."""
    gateway = await start_gateway([dcat_source(dcat_server, timeout=10.0)])
    await gateway.connectors[0].refresh()  # type: ignore[attr-defined]
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://gw.test"
        ) as c:
            yield c
    finally:
        await stop_gateway(gateway)


def extras(package: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in package["extras"]}


def public_identifiers(group: str | None = None) -> set[str]:
    """What an anonymous caller may see, straight from the raw packages and the defaults."""
    out = set()
    for package in PORTAL.packages:
        ex = extras(package)
        share = vocab.parse_share_type(ex.get("share_type")) or ShareType(DEFAULTS["share_type"])
        open_ = vocab.parse_open_type(ex.get("open_type")) or OpenType(DEFAULTS["open_type"])
        level = vocab.parse_sensitivity(ex.get("sensitivity")) or Sensitivity(
            DEFAULTS["sensitivity"]
        )
        in_group = group is None or group in {g["name"] for g in package["groups"]}
        visible = open_ is OpenType.OPEN and level is Sensitivity.L1
        if visible and share is not ShareType.NOT_SHARED and in_group:
            out.add(ex["identifier"])
    return out


async def page_all(client: httpx.AsyncClient, **variables: Any) -> list[dict[str, Any]]:
    nodes, after = [], None
    for _ in range(100):
        body = await graphql(client, SEARCH, {**variables, "after": after})
        assert "errors" not in body, body
        connection = body["data"]["datasets"]
        nodes += [edge["node"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        after = connection["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


# -- the simulated catalogue ---------------------------------------------------------------


def test_the_catalogue_is_served_in_each_syntax_paged_with_hydra(
    dcat_server: PlatformServer,
) -> None:
    with httpx.Client(base_url=dcat_server.url) as http:
        kinds = {
            ext: http.get(f"/catalog.{ext}").headers["content-type"]
            for ext in ("ttl", "jsonld", "rdf")
        }
        negotiated = http.get("/catalog", headers={"Accept": "application/ld+json"})
        browser = http.get("/catalog", headers={"Accept": "text/html,*/*;q=0.8"})
        last_page = -(-len(PORTAL.packages) // DATASETS_PER_PAGE)
        last = http.get(f"/catalog.ttl?page={last_page}")
        bad = http.get("/catalog.ttl?page=0")
    assert kinds == {
        "ttl": "text/turtle; charset=utf-8",
        "jsonld": "application/ld+json; charset=utf-8",
        "rdf": "application/rdf+xml; charset=utf-8",
    }
    assert negotiated.headers["content-type"].startswith("application/ld+json")
    assert f"{dcat_server.url}/catalog?page=2" in negotiated.text
    assert browser.headers["content-type"].startswith("text/html")
    assert "hydra:previousPage" in last.text and "hydra:nextPage" not in last.text
    assert bad.status_code == 409 and "positive integer" in bad.text


def test_the_catalogue_answers_conditional_requests_with_304(dcat_server: PlatformServer) -> None:
    with httpx.Client(base_url=dcat_server.url) as http:
        first = http.get("/catalog.ttl")
        by_etag = http.get("/catalog.ttl", headers={"If-None-Match": first.headers["etag"]})
        by_date = http.get(
            "/catalog.ttl", headers={"If-Modified-Since": first.headers["last-modified"]}
        )
        other_page = http.get(
            "/catalog.ttl?page=2", headers={"If-None-Match": first.headers["etag"]}
        )
    assert (by_etag.status_code, by_date.status_code, other_page.status_code) == (304, 304, 200)
    assert by_etag.content == b""


# -- through the gateway ------------------------------------------------------------------


async def test_anonymous_pages_through_exactly_the_public_datasets_once(
    client: httpx.AsyncClient,
) -> None:
    nodes = await page_all(client, first=40)

    identifiers = [node["identifier"] for node in nodes]
    assert len(identifiers) == len(set(identifiers))
    assert set(identifiers) == public_identifiers()
    assert {node["source"]["id"] for node in nodes} == {SOURCE}


async def test_a_theme_filter_is_exact_and_counted_exactly(client: httpx.AsyncClient) -> None:
    body = await graphql(client, SEARCH, {"first": 5, "filter": {"themes": ["environment"]}})

    connection = body["data"]["datasets"]
    assert connection["totalCount"] == len(public_identifiers("environment")) > 0
    assert connection["totalCountIsExact"] is True
    assert all("environment" in edge["node"]["themes"] for edge in connection["edges"])


async def test_free_text_search_finds_chinese_titles(client: httpx.AsyncClient) -> None:
    body = await graphql(client, SEARCH, {"q": "空气质量", "first": 5})

    edges = body["data"]["datasets"]["edges"]
    assert edges and all("空气质量" in edge["node"]["title"] for edge in edges)


async def test_dataset_by_id_and_hidden_records_answer_like_missing_ones(
    client: httpx.AsyncClient,
) -> None:
    public = next(p for p in PORTAL.packages if extras(p)["identifier"] in public_identifiers())
    secret = next(p for p in PORTAL.packages if extras(p).get("open_type") == "不予开放")
    query = "query($id: ID!) { dataset(id: $id) { title identifier } }"

    def node_id(package: dict[str, Any]) -> str:
        return encode_id("Dataset", SOURCE, extras(package)["identifier"])

    shown = await graphql(client, query, {"id": node_id(public)})
    hidden = await client.post(
        "/graphql", json={"query": query, "variables": {"id": node_id(secret)}}
    )
    missing = await client.post(
        "/graphql",
        json={"query": query, "variables": {"id": encode_id("Dataset", SOURCE, "no/such")}},
    )
    assert shown["data"]["dataset"] == {
        "title": public["title"],
        "identifier": extras(public)["identifier"],
    }
    assert hidden.content == missing.content


async def test_refresh_revalidates_every_page_with_conditional_gets(
    dcat_server: PlatformServer,
) -> None:
    gateway = await start_gateway([dcat_source(dcat_server, timeout=10.0)])
    connector = gateway.connectors[0]
    assert isinstance(connector, DcatConnector)
    try:
        first = await connector.refresh()
        dcat_server.stats.reset()
        again = await connector.refresh()
    finally:
        await stop_gateway(gateway)
    requests = [r["params"] for r in dcat_server.stats.as_dict()["recent"]]
    assert again is first
    assert len(requests) == -(-len(PORTAL.packages) // DATASETS_PER_PAGE)
    assert all("if-none-match" in params for params in requests)


async def test_a_hung_catalogue_answers_within_its_deadline(dcat_server: PlatformServer) -> None:
    dcat_server.fault.mode = "hang"
    gateway = await start_gateway([dcat_source(dcat_server, timeout=0.5)])
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://gw.test"
        ) as c:
            # The catalogue never answers: an answer at all means the deadline cut it off.
            async with asyncio.timeout(10):
                body = await graphql(c, SEARCH, {"first": 5})
    finally:
        await stop_gateway(gateway)
    # Its first load is still running: the answer says so, not "timed out".
    [status] = body["data"]["datasets"]["sources"]
    assert status["status"] == "ERROR"
    assert "still loading its catalogue" in status["message"]
    assert body["errors"][0]["extensions"] == {"code": "SOURCE_ERROR", "source": SOURCE}


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("garbage", "malformed Turtle"),
        ("html", "not RDF"),
        ("error", "HTTP 500"),
        ("huge", "cap"),
    ],
)
async def test_a_broken_catalogue_is_an_error_naming_why(
    dcat_server: PlatformServer, mode: str, reason: str
) -> None:
    dcat_server.fault.update({"mode": mode, "huge_bytes": 20_000_000})
    gateway = await start_gateway([dcat_source(dcat_server, timeout=3.0)])
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://gw.test"
        ) as c:
            body = await graphql(c, SEARCH, {"first": 5})
    finally:
        await stop_gateway(gateway)
    [status] = body["data"]["datasets"]["sources"]
    assert status["status"] == "ERROR"
    assert reason in status["message"]
    assert body["data"]["datasets"]["edges"] == []


async def test_a_dataset_read_through_dcat_says_what_it_says_through_ckan(
    dcat_server: PlatformServer, platforms: dict[str, PlatformServer]
) -> None:
    ckan = {
        "id": "city-open-portal",
        "connector": "ckan",
        "url": platforms["city-open-portal"].url,
        **SOURCE_SETTINGS["city-open-portal"],
        "republishes": [],  # the platforms it harvests are not configured here
    }
    gateway = await start_gateway([ckan, dcat_source(dcat_server, timeout=10.0)])
    ckan_connector, dcat_connector = gateway.connectors
    assert isinstance(dcat_connector, DcatConnector)
    try:
        via_ckan = (await ckan_connector.search(SearchQuery(limit=1000))).datasets
        via_dcat = (await dcat_connector.refresh()).datasets
    finally:
        await stop_gateway(gateway)

    def comparable(ds: Dataset) -> tuple[Any, ...]:
        return (
            ds.identifier,
            ds.title,
            ds.department,
            frozenset(ds.themes),
            frozenset(ds.keywords),
            ds.modified,
            ds.update_frequency,
            ds.share_type,
            ds.share_condition,
            ds.open_type,
            ds.sensitivity,
            ds.contact_point,
            ds.spatial,
            frozenset(ds.formats),
        )

    ckan_by_identifier = {ds.identifier: comparable(ds) for ds in via_ckan}
    assert len(via_dcat) == len(PORTAL.packages)
    for dataset in via_dcat:
        assert comparable(dataset) == ckan_by_identifier[dataset.identifier]
