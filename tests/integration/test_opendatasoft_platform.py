"""The OpenDataSoft connector and the simulated OpenDataSoft portal, over real loopback HTTP.

The gateway federates a simulated OpenDataSoft portal (serving the transport platform's
records as Explore v2.1 datasets) with a simulated CKAN site. The first tests check the
simulator's Explore API itself (limits, error bodies, ODSQL, facets) in process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from connectors.sdk._registry import _BUILTINS
from gateway.app import Gateway, create_app
from gateway.config import parse_config
from gateway.demo.run import SOURCE_SETTINGS, demo_policy
from schema import vocab
from schema.ids import encode_id
from schema.model import OpenType, Sensitivity, ShareType
from simulators.catalogue import build_city_catalogue
from simulators.opendatasoft_sim import OpenDataSoftSimulator, ods_datasets
from simulators.platforms import SIMULATORS, PlatformServer, PlatformSpec, PlatformThread
from tests.integration.conftest import graphql

pytestmark = pytest.mark.integration

ODS, SMALL, CKAN = "ods", "ods-small-window", "livelihood-platform"
CATALOGUE = "transport-platform"
HUNG_DEADLINE = 0.8  # the tests that hang a platform wait this long
GENEROUS_DEADLINE = 10.0  # the others: a loaded CI machine can stall for seconds
DEFAULTS = SOURCE_SETTINGS[CATALOGUE]["defaults"]
API = "/api/explore/v2.1/catalog"
ODS_OPTIONS: dict[str, Any] = {
    "classes_queryable": True,
    "custom_keys": {
        "share_type": ["share_type"],
        "open_type": ["open_type"],
        "sensitivity": ["sensitivity"],
    },
    "publishers": {d.name_zh: d.id for d in build_city_catalogue().departments},
}

SEARCH = """
query Search($q: String, $first: Int, $after: String, $sort: DatasetSort, $filter: DatasetFilter) {
  datasets(search: $q, first: $first, after: $after, sort: $sort, filter: $filter) {
    totalCount totalCountIsExact
    facets { departments { value count } themes { value count } }
    sources { source { id } status matched message }
    edges { node { id title modified themes department { id } source { id }
                   shareType openType sensitivity distributions { format downloadUrl } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


class SmallWindowSimulator(OpenDataSoftSimulator):
    """A portal that pages through only the first 100 matches (the real one: 10,000)."""

    result_window = 100


@pytest.fixture(scope="module")
def platforms() -> Iterator[dict[str, PlatformServer]]:
    """Overrides the demo's platforms for this module (conftest resets their faults)."""
    city = build_city_catalogue()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(
            SIMULATORS, "opendatasoft", "simulators.opendatasoft_sim:OpenDataSoftSimulator"
        )
        patch.setitem(SIMULATORS, "opendatasoft-small", f"{__name__}:SmallWindowSimulator")
        patch.setitem(_BUILTINS, "opendatasoft", "connectors.opendatasoft:OpenDataSoftConnector")
        specs = [
            PlatformSpec(ODS, city.platforms[CATALOGUE], kind="opendatasoft"),
            PlatformSpec(SMALL, city.platforms[CATALOGUE], kind="opendatasoft-small"),
            PlatformSpec(CKAN, city.platforms[CKAN]),
        ]
        with PlatformThread(specs) as servers:
            yield servers


def ods_source(
    source_id: str, server: PlatformServer, *, deadline: float = GENEROUS_DEADLINE, **options: Any
) -> dict[str, Any]:
    return {
        "id": source_id,
        "connector": "opendatasoft",
        "url": server.url,
        "timeout_seconds": deadline,
        "defaults": DEFAULTS,
        "authoritative_for": ["transport", "housing", "planning"],
        "options": {**ODS_OPTIONS, **options},
    }


def make_gateway(sources: list[dict[str, Any]]) -> Gateway:
    return Gateway(
        parse_config({"sources": sources}),
        transport="aiohttp",
        policy=demo_policy(),
        cursor_secret=b"integration-tests",
    )


@pytest.fixture
async def gateway(
    platforms: dict[str, PlatformServer], request: pytest.FixtureRequest
) -> AsyncIterator[Gateway]:
    """The OpenDataSoft portal federated with a CKAN site (the conftest's ``client``)."""
    ckan = {
        "id": CKAN,
        "connector": "ckan",
        "url": platforms[CKAN].url,
        "timeout_seconds": GENEROUS_DEADLINE,
        **SOURCE_SETTINGS[CKAN],
    }
    short = request.node.get_closest_marker("short_deadline") is not None
    deadline = HUNG_DEADLINE if short else GENEROUS_DEADLINE
    gw = make_gateway([ods_source(ODS, platforms[ODS], deadline=deadline), ckan])
    try:
        yield gw
    finally:
        await gw.aclose()


@pytest.fixture
def sim() -> OpenDataSoftSimulator:
    return OpenDataSoftSimulator(build_city_catalogue().platforms[CATALOGUE])


@pytest.fixture
async def explore(sim: OpenDataSoftSimulator) -> AsyncIterator[httpx.AsyncClient]:
    """The simulator's Explore API in process."""
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ods.test") as client:
        yield client


def public(dataset: dict[str, Any]) -> bool:
    """Reference rule for the anonymous caller, from the simulator's raw records."""
    custom = dataset["metas"]["custom"]
    share = vocab.parse_share_type(custom["share_type"]) or ShareType(DEFAULTS["share_type"])
    open_ = vocab.parse_open_type(custom["open_type"]) or OpenType(DEFAULTS["open_type"])
    level = vocab.parse_sensitivity(custom["sensitivity"]) or Sensitivity(DEFAULTS["sensitivity"])
    return open_ is OpenType.OPEN and level is Sensitivity.L1 and share is not ShareType.NOT_SHARED


def node_id(dataset: dict[str, Any]) -> str:
    return encode_id("Dataset", ODS, dataset["dataset_id"])


async def page_all(client: httpx.AsyncClient, **variables: Any) -> list[dict[str, Any]]:
    nodes, after = [], None
    for _ in range(50):
        body = await graphql(client, SEARCH, {**variables, "after": after})
        assert "errors" not in body, body
        connection = body["data"]["datasets"]
        nodes += [edge["node"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        after = connection["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


# -- the simulated Explore API ----------------------------------------------------------


async def test_simulator_serves_explore_v21_datasets_converted_from_ckan(
    explore: httpx.AsyncClient,
) -> None:
    response = await explore.get(f"{API}/datasets", params={"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["total_count"] == 550 and len(body["results"]) == 2
    dataset = body["results"][0]
    assert set(dataset) == {
        "dataset_id", "dataset_uid", "attachments", "has_records", "data_visible", "fields",
        "metas", "features",
    }  # fmt: skip
    assert set(dataset["metas"]) == {"default", "dcat", "custom"}
    assert dataset["metas"]["default"]["modified"].endswith("+00:00")
    assert dataset["metas"]["default"]["description"].startswith("<p>")


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"limit": 101},
            "InvalidRESTParameterError",
            "Invalid value for limit API parameter: 101 was found but -1 <= limit <= 100 is "
            "expected.",
        ),
        (
            {"offset": 9_950, "limit": 100},
            "InvalidRESTParameterError",
            "Invalid value for sum of offset + limit API parameter: 10050 was found but "
            "<= 10000 is expected.",
        ),
        (
            {"where": 'departement="x"'},
            "ODSQLError",
            "ODSQL query is malformed: Unknown field: departement. Clause(s) containing the "
            "error(s): where.",
        ),
        (
            {"where": 'contains(title, "x")'},
            "ODSQLError",
            'ODSQL syntax exception: unexpected ( at position 8 in contains(title, "x"). '
            "Clause(s) containing the error(s): where.",
        ),
        (
            {"order_by": "theme desc"},
            "ODSQLError",
            "ODSQL query is malformed: Unknown field: theme. Clause(s) containing the "
            "error(s): order_by.",
        ),
    ],
)
async def test_simulator_refuses_what_the_platform_refuses_with_its_error_body(
    explore: httpx.AsyncClient, params: dict[str, Any], code: str, message: str
) -> None:
    response = await explore.get(f"{API}/datasets", params=params)
    assert response.status_code == 400
    assert response.json() == {"error_code": code, "message": message}


async def test_simulator_evaluates_odsql_where_and_order_by(explore: httpx.AsyncClient) -> None:
    where = (
        'search("公交") AND (theme="transport" OR keyword="bus") '
        "AND modified>=date'2024-01-01' AND NOT custom.share_type is null"
    )
    response = await explore.get(
        f"{API}/datasets", params={"where": where, "order_by": "modified desc", "limit": 100}
    )
    results = response.json()["results"]
    assert results and response.json()["total_count"] == len(results)
    stamps = [r["metas"]["default"]["modified"] for r in results]
    assert stamps == sorted(stamps, reverse=True) and min(stamps) >= "2024-01-01"
    for r in results:
        assert r["metas"]["custom"]["share_type"] is not None
        assert "transport" in (r["metas"]["default"]["theme"] or []) or "bus" in (
            r["metas"]["default"]["keyword"] or []
        )


async def test_simulator_answers_a_dataset_a_404_facets_and_exports(
    explore: httpx.AsyncClient, sim: OpenDataSoftSimulator
) -> None:
    first = sim.datasets[0]
    one = await explore.get(f"{API}/datasets/{first['dataset_id']}")
    assert one.json() == first
    missing = await explore.get(f"{API}/datasets/no-such-dataset")
    assert (missing.status_code, missing.json()) == (
        404,
        {
            "error_code": "NotFoundResource",
            "message": "The requested dataset no-such-dataset does not exist.",
        },
    )
    facets = await explore.get(
        f"{API}/facets", params=[("facet", "publisher"), ("refine", "theme:transport")]
    )
    [publisher] = facets.json()["facets"]
    assert publisher["name"] == "publisher"
    assert publisher["facets"][0] == {
        "count": 200,
        "state": "displayed",
        "name": "交通运输局",
        "value": "交通运输局",
    }
    csv = await explore.get(f"{API}/datasets/{first['dataset_id']}/exports/csv")
    assert csv.status_code == 200 and csv.text.startswith("\ufeff")


# -- the gateway over real HTTP ---------------------------------------------------------


async def test_search_federates_the_portal_with_ckan_and_counts_exactly(
    client: httpx.AsyncClient,
) -> None:
    body = await graphql(
        client, SEARCH, {"q": "公交", "first": 20}, key="demo-key-transport-analyst"
    )
    assert "errors" not in body, body
    connection = body["data"]["datasets"]
    statuses = {s["source"]["id"]: s for s in connection["sources"]}
    assert statuses[ODS]["status"] == statuses[CKAN]["status"] == "OK"
    assert {e["node"]["source"]["id"] for e in connection["edges"]} == {ODS, CKAN}
    assert connection["totalCountIsExact"] is True
    assert connection["totalCount"] == statuses[ODS]["matched"] + statuses[CKAN]["matched"]
    departments = {f["value"] for f in connection["facets"]["departments"]}
    assert "transport" in departments  # the 交通运输局 publisher, mapped to its id


async def test_anonymous_pages_through_every_public_dataset_once_in_order(
    client: httpx.AsyncClient,
) -> None:
    expected = {node_id(d) for d in ods_datasets(build_city_catalogue().platforms[CATALOGUE])
                if public(d)}  # fmt: skip
    variables = {"first": 100, "sort": "MODIFIED_DESC", "filter": {"sources": [ODS]}}
    nodes = await page_all(client, **variables)
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    stamps = [n["modified"] for n in nodes]
    assert stamps == sorted(stamps, reverse=True)
    first = await graphql(client, SEARCH, {"first": 1, "filter": {"sources": [ODS]}})
    assert first["data"]["datasets"]["totalCount"] == len(expected)
    assert first["data"]["datasets"]["totalCountIsExact"] is True


async def test_theme_and_department_filters_reach_where_and_stay_exact(
    client: httpx.AsyncClient, platforms: dict[str, PlatformServer]
) -> None:
    datasets = ods_datasets(build_city_catalogue().platforms[CATALOGUE])
    expected = {
        node_id(d)
        for d in datasets
        if public(d)
        and "transport" in (d["metas"]["default"]["theme"] or [])
        and d["metas"]["default"]["publisher"] == "交通运输局"
    }
    f = {"sources": [ODS], "themes": ["transport"], "departments": ["transport"]}
    nodes = await page_all(client, first=50, filter=f)
    assert {n["id"] for n in nodes} == expected
    body = await graphql(client, SEARCH, {"first": 5, "filter": f})
    assert body["data"]["datasets"]["totalCount"] == len(expected)
    assert body["data"]["datasets"]["totalCountIsExact"] is True
    wheres = [
        r["params"].get("where", "")
        for r in platforms[ODS].stats.as_dict()["recent"]
        if r["action"] == "datasets"
    ]
    assert wheres and all('theme="transport"' in w and "publisher=" in w for w in wheres)


async def test_dataset_by_id_answers_and_an_unknown_id_is_null(client: httpx.AsyncClient) -> None:
    datasets = ods_datasets(build_city_catalogue().platforms[CATALOGUE])
    bus = next(d for d in datasets if public(d) and "公交" in d["metas"]["default"]["title"])
    query = "query($id: ID!) { dataset(id: $id) { title source { id } distributions { format } } }"
    found = await graphql(client, query, {"id": node_id(bus)})
    assert "errors" not in found
    assert found["data"]["dataset"]["title"] == bus["metas"]["default"]["title"]
    assert {d["format"] for d in found["data"]["dataset"]["distributions"]} >= {"CSV", "JSON"}
    missing = await graphql(client, query, {"id": encode_id("Dataset", ODS, "no-such-dataset")})
    assert missing == {"data": {"dataset": None}}


@pytest.mark.short_deadline
async def test_a_hung_portal_times_out_at_its_deadline_while_ckan_answers(
    client: httpx.AsyncClient, platforms: dict[str, PlatformServer]
) -> None:
    platforms[ODS].fault.mode = "hang"
    body = await graphql(client, SEARCH, {"q": "公交", "first": 10})
    statuses = {s["source"]["id"]: s for s in body["data"]["datasets"]["sources"]}
    assert statuses[ODS]["status"] == "TIMEOUT"
    assert statuses[ODS]["message"] == "no answer within the 0.8s deadline"
    assert statuses[CKAN]["status"] == "OK"
    assert body["data"]["datasets"]["edges"]
    [error] = body["errors"]
    assert error["extensions"] == {"code": "SOURCE_TIMEOUT", "source": ODS}


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("garbage", "invalid JSON"),
        ("html", "invalid JSON"),
        ("error", "HTTP 500"),
        ("huge", "byte cap"),
    ],
)
async def test_a_broken_portal_is_a_source_error_while_ckan_answers(
    client: httpx.AsyncClient, platforms: dict[str, PlatformServer], mode: str, reason: str
) -> None:
    platforms[ODS].fault.update({"mode": mode})
    body = await graphql(client, SEARCH, {"q": "公交", "first": 10})
    statuses = {s["source"]["id"]: s for s in body["data"]["datasets"]["sources"]}
    assert statuses[ODS]["status"] == "ERROR" and reason in statuses[ODS]["message"]
    assert statuses[CKAN]["status"] == "OK"
    assert {e["node"]["source"]["id"] for e in body["data"]["datasets"]["edges"]} == {CKAN}
    [error] = body["errors"]
    assert error["extensions"] == {"code": "SOURCE_ERROR", "source": ODS}


async def test_the_result_window_ends_paging_with_an_explicit_error_not_silence(
    platforms: dict[str, PlatformServer],
) -> None:
    gw = make_gateway([ods_source(SMALL, platforms[SMALL], result_window=100)])
    app = httpx.ASGITransport(app=create_app(gw))
    try:
        async with httpx.AsyncClient(transport=app, base_url="http://gateway.test") as client:
            page1 = await graphql(client, SEARCH, {"first": 60}, key="demo-key-auditor")
            connection = page1["data"]["datasets"]
            assert connection["totalCount"] > 100 and len(connection["edges"]) == 60
            after = connection["pageInfo"]["endCursor"]
            page2 = await graphql(
                client, SEARCH, {"first": 60, "after": after}, key="demo-key-auditor"
            )
            assert len(page2["data"]["datasets"]["edges"]) == 40  # up to the window
            after = page2["data"]["datasets"]["pageInfo"]["endCursor"]
            page3 = await graphql(
                client, SEARCH, {"first": 60, "after": after}, key="demo-key-auditor"
            )
    finally:
        await gw.aclose()
    [status] = page3["data"]["datasets"]["sources"]
    assert status["status"] == "ERROR" and "first 100 matches" in status["message"]
    assert page3["errors"][0]["extensions"] == {"code": "SOURCE_ERROR", "source": SMALL}
    # The portal was never sent a page it would refuse.
    for request in platforms[SMALL].stats.as_dict()["recent"]:
        params = request["params"]
        assert int(params.get("offset", 0)) + int(params.get("limit", 10)) <= 100


async def test_admin_endpoints_change_the_fault_and_report_requests(
    platforms: dict[str, PlatformServer],
) -> None:
    url = platforms[ODS].url
    async with httpx.AsyncClient(base_url=url) as http:
        await http.get(f"{API}/datasets", params={"limit": 1})
        stats = (await http.get("/__sim__/stats")).json()
        assert stats["actions"] == {"datasets": 1}
        assert stats["recent"][-1]["params"] == {"limit": "1"}
        changed = await http.post("/__sim__/fault", json={"mode": "error", "latency_ms": 5})
        assert changed.json()["mode"] == "error"
        assert (await http.get(f"{API}/datasets")).status_code == 500
        refused = await http.post("/__sim__/fault", json={"mode": "sideways"})
        assert refused.status_code == 400
        await http.post("/__sim__/stats/reset")
        assert (await http.get("/__sim__/stats")).json()["total"] == 0
