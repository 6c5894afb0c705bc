"""The gateway over real HTTP against a simulated Socrata site (the Discovery API).

The simulator serves the demo's city open-data portal; the gateway reaches it through the
``socrata`` connector configured the way a deployment would (attributions mapped to
departments, domain categories to themes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from connectors.sdk._registry import _BUILTINS
from gateway.app import Gateway, create_app
from gateway.config import parse_config
from gateway.demo.run import demo_policy
from schema import vocab
from schema.ids import encode_id
from schema.model import OpenType, Sensitivity, ShareType
from simulators.catalogue import build_city_catalogue
from simulators.platforms import SIMULATORS, PlatformServer, PlatformSpec, PlatformThread
from simulators.socrata_records import asset_index
from simulators.socrata_sim import connector_options
from tests.integration.conftest import graphql

pytestmark = pytest.mark.integration

SOURCE = "city-socrata"
HUNG_DEADLINE = 0.8  # the tests that hang the platform wait this long
GENEROUS_DEADLINE = 10.0  # the others: a loaded CI machine can stall for seconds
CATALOGUE = build_city_catalogue().platforms["city-open-portal"]
DEFAULTS = {"share_type": "CONDITIONAL", "open_type": "CONDITIONAL", "sensitivity": "L2"}
OWN_DEPARTMENT = {"id": "big-data", "name": "河西市大数据发展管理局"}
OPTIONS = connector_options(CATALOGUE)

SEARCH = """
query Search($q: String, $first: Int, $after: String, $sort: DatasetSort, $filter: DatasetFilter) {
  datasets(search: $q, first: $first, after: $after, sort: $sort, filter: $filter) {
    totalCount totalCountIsExact
    sources { source { id } status matched message }
    edges { node { id title modified themes keywords department { id } source { id }
                   shareType openType sensitivity fields { name } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.fixture(scope="module")
def socrata_registered() -> Iterator[None]:
    """Register the simulator kind and the connector name, until the lead wires them."""
    added = []
    for table, target in (
        (SIMULATORS, "simulators.socrata_sim:SocrataSimulator"),
        (_BUILTINS, "connectors.socrata:SocrataConnector"),
    ):
        if "socrata" not in table:
            table["socrata"] = target
            added.append(table)
    yield
    for table in added:
        del table["socrata"]


@pytest.fixture(scope="module")
def servers(socrata_registered: None) -> Iterator[dict[str, PlatformServer]]:
    with PlatformThread([PlatformSpec(SOURCE, CATALOGUE, kind="socrata")]) as running:
        yield running


@pytest.fixture
def server(servers: dict[str, PlatformServer]) -> PlatformServer:
    return servers[SOURCE]


@pytest.fixture(autouse=True)
def healthy_platforms(servers: dict[str, PlatformServer]) -> Iterator[None]:
    """Overrides the package's fixture: this module runs its own platform, not the demo's."""
    for running in servers.values():
        running.fault.reset()
        running.stats.reset()
    yield
    for running in servers.values():
        running.fault.reset()


@pytest.fixture
async def client(
    server: PlatformServer, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    short = request.node.get_closest_marker("short_deadline") is not None
    config = parse_config(
        {
            "sources": [
                {
                    "id": SOURCE,
                    "connector": "socrata",
                    "url": server.url,
                    "timeout_seconds": HUNG_DEADLINE if short else GENEROUS_DEADLINE,
                    "defaults": DEFAULTS,
                    "department": OWN_DEPARTMENT,
                    "options": OPTIONS,
                }
            ]
        }
    )
    gateway = Gateway(
        config, transport="aiohttp", policy=demo_policy(), cursor_secret=b"socrata-tests"
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://gw.test"
        ) as c:
            yield c
    finally:
        await gateway.aclose()


def catalog_calls(server: PlatformServer) -> list[dict[str, Any]]:
    return [r["params"] for r in server.stats.as_dict()["recent"] if r["action"] == "catalog"]


def publicly_visible() -> dict[str, str]:
    """Asset id -> title of what an anonymous caller may see, from the raw packages."""
    assets = asset_index(CATALOGUE).assets
    assert len(assets) == len(CATALOGUE.packages)  # the demo's packages are all public
    visible = {}
    for package, asset in zip(CATALOGUE.packages, assets, strict=True):
        extras = {e["key"]: e["value"] for e in package["extras"]}
        share = vocab.parse_share_type(extras.get("share_type")) or ShareType.CONDITIONAL
        open_ = vocab.parse_open_type(extras.get("open_type")) or OpenType.CONDITIONAL
        level = vocab.parse_sensitivity(extras.get("sensitivity")) or Sensitivity.L2
        if open_ is OpenType.OPEN and level is Sensitivity.L1 and share is not ShareType.NOT_SHARED:
            visible[asset.uid] = package["title"]
    return visible


async def page_all(client: httpx.AsyncClient, **variables: Any) -> list[dict[str, Any]]:
    nodes, after = [], None
    for _ in range(100):
        body = await graphql(client, SEARCH, {**variables, "after": after})
        assert "errors" not in body, body
        connection = body["data"]["datasets"]
        assert [s["status"] for s in connection["sources"]] == ["OK"]
        nodes += [edge["node"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        after = connection["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


# -- through the gateway ----------------------------------------------------------------


async def test_anonymous_pages_through_every_public_dataset_exactly_once_in_order(
    client: httpx.AsyncClient, server: PlatformServer
) -> None:
    expected = publicly_visible()
    nodes: list[dict[str, Any]] = []
    sizes: list[int] = []
    starts: list[int] = []
    after = None
    for _ in range(100):
        server.stats.reset()
        body = await graphql(client, SEARCH, {"first": 50, "sort": "MODIFIED_DESC", "after": after})
        assert "errors" not in body, body
        connection = body["data"]["datasets"]
        nodes += [edge["node"] for edge in connection["edges"]]
        sizes.append(len(connection["edges"]))
        offsets = [int(p["offset"]) for p in catalog_calls(server)]
        assert offsets == sorted(set(offsets))  # within a page, reading moves forward
        assert all(p["order"] == "updatedAt DESC" for p in catalog_calls(server))
        starts.append(offsets[0])
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    seen = [n["id"] for n in nodes]
    assert len(seen) == len(set(seen))
    assert set(seen) == {encode_id("Dataset", SOURCE, uid) for uid in expected}
    stamps = [n["modified"] for n in nodes]
    assert stamps == sorted(stamps, reverse=True)
    assert all((n["openType"], n["sensitivity"]) == ("OPEN", "L1") for n in nodes)
    # Each page continues where the last one stopped (never from 0 again), and is full
    # whatever hidden records lie between the public ones.
    assert starts == sorted(set(starts)) and starts[0] == 0
    assert all(size == 50 for size in sizes[:-1])


async def test_free_text_search_is_sent_as_q_and_finds_bus_datasets(
    client: httpx.AsyncClient, server: PlatformServer
) -> None:
    body = await graphql(client, SEARCH, {"q": "公交", "first": 10}, key="demo-key-auditor")
    edges = body["data"]["datasets"]["edges"]
    assert edges and all("公交" in e["node"]["title"] for e in edges[:3])
    assert {p["q"] for p in catalog_calls(server)} == {"公交"}


async def test_theme_and_department_filters_reach_the_discovery_api(
    client: httpx.AsyncClient, server: PlatformServer
) -> None:
    wanted = {"themes": ["environment"], "departments": ["environment"]}
    body = await graphql(
        client, SEARCH, {"first": 20, "filter": wanted}, key="demo-key-transport-analyst"
    )
    nodes = [e["node"] for e in body["data"]["datasets"]["edges"]]
    assert nodes
    assert all(
        "environment" in n["themes"] and n["department"]["id"] == "environment" for n in nodes
    )
    assert all(n["fields"] for n in nodes)  # columns_* became data items
    for params in catalog_calls(server):
        # the mapped category and attribution, and the ids themselves (unmapped values)
        assert params["categories"] == ["生态环境", "environment"]
        assert params["attribution"] == ["生态环境局", "environment"]
        assert params["search_context"] == params["domains"] == "127.0.0.1"


async def test_dataset_by_id_answers_the_asset_and_null_for_an_unknown_one(
    client: httpx.AsyncClient,
) -> None:
    uid, title = next(iter(publicly_visible().items()))
    query = "query($id: ID!) { dataset(id: $id) { title source { id } } }"
    found = await graphql(client, query, {"id": encode_id("Dataset", SOURCE, uid)})
    assert found == {"data": {"dataset": {"title": title, "source": {"id": SOURCE}}}}
    missing = await graphql(client, query, {"id": encode_id("Dataset", SOURCE, "zzzz-9999")})
    assert missing == {"data": {"dataset": None}}


@pytest.mark.short_deadline
async def test_a_hung_platform_is_reported_as_a_timeout(
    client: httpx.AsyncClient, server: PlatformServer
) -> None:
    server.fault.mode = "hang"
    body = await graphql(client, SEARCH, {"first": 5})
    [source] = body["data"]["datasets"]["sources"]
    assert source["status"] == "TIMEOUT"
    assert body["data"]["datasets"]["edges"] == []
    [error] = body["errors"]
    assert error["extensions"] == {"code": "SOURCE_TIMEOUT", "source": SOURCE}


@pytest.mark.parametrize(
    ("mode", "reason"), [("garbage", "invalid JSON"), ("error", "HTTP 500"), ("huge", "cap")]
)
async def test_a_broken_platform_is_an_error_status_naming_why(
    client: httpx.AsyncClient, server: PlatformServer, mode: str, reason: str
) -> None:
    server.fault.update({"mode": mode, "huge_bytes": 20_000_000})
    body = await graphql(client, SEARCH, {"q": "公交", "first": 5})
    [source] = body["data"]["datasets"]["sources"]
    assert source["status"] == "ERROR" and reason in source["message"]
    assert body["errors"][0]["extensions"] == {"code": "SOURCE_ERROR", "source": SOURCE}


async def test_departments_sources_and_readiness_come_from_the_socrata_site(
    client: httpx.AsyncClient, server: PlatformServer
) -> None:
    body = await graphql(client, "{ departments { id name } sources { id connector } }")
    ids = {d["id"] for d in body["data"]["departments"]}
    assert {"environment", "market", "statistics", "transport", "big-data"} <= ids
    assert body["data"]["sources"] == [{"id": SOURCE, "connector": "socrata"}]
    assert (await client.get("/readyz")).json()["sources"][0]["status"] == "UP"
    server.fault.mode = "error"
    assert (await client.get("/readyz")).json()["sources"][0]["status"] == "DOWN"


# -- the simulated Discovery API itself -------------------------------------------------


@pytest.fixture
async def site(server: PlatformServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as c:
        yield c


async def catalog(site: httpx.AsyncClient, params: Any) -> dict[str, Any]:
    response = await site.get("/api/catalog/v1", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [r["resource"]["id"] for r in body["results"]]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"offset": 9_950, "limit": 100}, "offset + limit must be less than or equal to 10000"),
        ({"limit": 10_001}, "offset + limit"),
        ({"limit": "ten"}, "'limit'"),
        ({"offset": -1}, "'offset'"),
        ({"order": "popularity"}, "Invalid order"),
        ({"order": "name sideways"}, "Invalid order direction"),
        ({"only": "spreadsheets"}, "not a valid asset type"),
        ({"scroll_id": "", "order": "name"}, "scroll_id"),
        ({"published": "maybe"}, "Invalid boolean"),
        ({"q": "bus", "min_should_match": "most"}, "min_should_match"),
    ],
)
async def test_the_simulator_answers_bad_requests_with_400_and_an_error_body(
    site: httpx.AsyncClient, params: dict[str, Any], message: str
) -> None:
    response = await site.get("/api/catalog/v1", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert message in response.json()["error"]
    assert set(response.json()) == {"error"}


async def test_the_simulator_pages_100_by_default_and_counts_the_whole_result(
    site: httpx.AsyncClient,
) -> None:
    body = await catalog(site, {})
    assert set(body) == {"results", "resultSetSize", "timings", "warnings"}
    assert len(body["results"]) == 100 and body["resultSetSize"] == len(CATALOGUE.packages)
    whole = await catalog(site, {"limit": 10_000})
    assert len(ids(whole)) == len(set(ids(whole))) == len(CATALOGUE.packages)
    assert ids(await catalog(site, {"offset": 100, "limit": 7})) == ids(whole)[100:107]


async def test_repeated_parameters_are_a_union_and_distinct_ones_an_intersection(
    site: httpx.AsyncClient,
) -> None:
    scope = [("search_context", "127.0.0.1")]
    bus = await catalog(site, [*scope, ("tags", "公交"), ("limit", "500")])
    air = await catalog(site, [*scope, ("tags[]", "空气质量"), ("limit", "500")])
    either = await catalog(site, [*scope, ("tags", "公交"), ("tags", "空气质量"), ("limit", "500")])
    assert bus["resultSetSize"] and air["resultSetSize"]
    assert set(ids(either)) == set(ids(bus)) | set(ids(air))
    both = await catalog(site, [*scope, ("tags", "公交"), ("categories", "交通"), ("limit", "500")])
    transport = await catalog(site, [*scope, ("categories", "交通"), ("limit", "500")])
    assert set(ids(both)) == set(ids(bus)) & set(ids(transport))
    # Without search_context, categories are Socrata's own (lower-case English) ones.
    socrata_own = await catalog(site, {"categories": "transportation", "limit": 500})
    assert set(ids(transport)) <= set(ids(socrata_own))


async def test_unrecognised_parameters_filter_on_custom_metadata(site: httpx.AsyncClient) -> None:
    monthly = await catalog(site, {"Catalog_Update-Frequency": "每月", "limit": 500})
    assert monthly["resultSetSize"] > 0
    for record in monthly["results"]:
        metadata = {m["key"]: m["value"] for m in record["classification"]["domain_metadata"]}
        assert metadata["Catalog_Update-Frequency"] == "每月"
    assert (await catalog(site, {"domain": "127.0.0.1"}))["resultSetSize"] == 0  # misspelt
    assert (await catalog(site, {"domains": "data.elsewhere.gov"}))["resultSetSize"] == 0


async def test_scroll_id_pages_by_asset_id_without_duplicates(site: httpx.AsyncClient) -> None:
    seen: list[str] = []
    scroll = ""
    while True:
        page = ids(await catalog(site, {"scroll_id": scroll, "limit": 200}))
        if not page:
            break
        seen += page
        scroll = page[-1]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == len(CATALOGUE.packages)


async def test_orders_sort_and_reverse(site: httpx.AsyncClient) -> None:
    newest = await catalog(site, {"order": "updatedAt", "limit": 50})
    stamps = [r["resource"]["updatedAt"] for r in newest["results"]]
    assert stamps == sorted(stamps, reverse=True)  # updatedAt defaults to descending
    names = await catalog(site, {"order": "name ASC", "limit": 50})
    titles = [r["resource"]["name"].lower() for r in names["results"]]
    assert titles == sorted(titles)


async def test_the_admin_endpoints_change_the_fault_and_count_requests(
    site: httpx.AsyncClient, server: PlatformServer
) -> None:
    changed = await site.post("/__sim__/fault", json={"mode": "error", "latency_ms": 0})
    assert changed.json()["mode"] == "error" and server.fault.mode == "error"
    assert (await site.get("/api/catalog/v1")).status_code == 500
    assert (await site.post("/__sim__/fault", json={"mode": "melt"})).status_code == 400
    stats = (await site.get("/__sim__/stats")).json()
    assert stats["actions"] == {"catalog": 1}
    await site.post("/__sim__/stats/reset")
    assert (await site.get("/__sim__/stats")).json()["total"] == 0
