"""The gateway over real HTTP against a simulated data.json catalogue (searched locally)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from connectors.datajson import DataJsonConnector
from connectors.sdk import ConnectorError, _registry
from gateway.app import Gateway, create_app
from gateway.config import parse_config
from gateway.demo.run import demo_policy
from schema import vocab
from schema.ids import encode_id
from schema.model import OpenType, Sensitivity, ShareType
from simulators import platforms as demo_platforms
from simulators.catalogue import PlatformCatalogue, build_city_catalogue
from simulators.datajson_sim import datajson_department_ids
from simulators.platforms import PlatformServer, PlatformSpec, PlatformThread
from tests.integration.conftest import graphql

pytestmark = pytest.mark.integration

SOURCE = "transport-json"
DEADLINE = 2.0  # a busy machine never misses it on a healthy platform
DEFAULTS = {"share_type": "CONDITIONAL", "open_type": "NOT_OPEN", "sensitivity": "L2"}

SEARCH = """
query Search($q: String, $first: Int, $after: String, $sort: DatasetSort, $filter: DatasetFilter) {
  datasets(search: $q, first: $first, after: $after, sort: $sort, filter: $filter) {
    totalCount totalCountIsExact
    facets { departments { value count } }
    sources { source { id } status latencyMs matched message }
    edges { node { id identifier title description keywords modified department { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def catalogue() -> PlatformCatalogue:
    return build_city_catalogue().platforms["transport-platform"]


@pytest.fixture(scope="module")
def datajson_platform() -> Iterator[PlatformServer]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(
            demo_platforms.SIMULATORS, "datajson", "simulators.datajson_sim:DataJsonSimulator"
        )
        spec = PlatformSpec(SOURCE, catalogue(), kind="datajson")
        with PlatformThread([spec]) as servers:
            yield servers[SOURCE]


@pytest.fixture(autouse=True)
def healthy(datajson_platform: PlatformServer) -> Iterator[None]:
    datajson_platform.fault.reset()
    datajson_platform.stats.reset()
    yield
    datajson_platform.fault.reset()


GatewayFactory = Callable[..., Awaitable[tuple[Gateway, httpx.AsyncClient]]]


@pytest.fixture
async def make_gateway(
    datajson_platform: PlatformServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[GatewayFactory]:
    monkeypatch.setitem(_registry._BUILTINS, "datajson", "connectors.datajson:DataJsonConnector")
    made: list[tuple[Gateway, httpx.AsyncClient]] = []

    async def make(
        refresh_seconds: float = 300, loaded: bool = True
    ) -> tuple[Gateway, httpx.AsyncClient]:
        """A gateway over the platform; `loaded` waits for its first catalogue load.

        A query's own wait is the source's deadline, which a loaded CI machine can
        miss while the catalogue is still loading; tests of the cold start say so.
        """
        config = parse_config(
            {
                "sources": [
                    {
                        "id": SOURCE,
                        "connector": "datajson",
                        "url": datajson_platform.url,
                        "timeout_seconds": DEADLINE,
                        "defaults": DEFAULTS,
                        "authoritative_for": ["transport", "housing", "planning"],
                        "options": {
                            "refresh_seconds": refresh_seconds,
                            "department_ids": datajson_department_ids(catalogue()),
                        },
                    }
                ]
            }
        )
        gateway = Gateway(
            config, transport="aiohttp", policy=demo_policy(), cursor_secret=b"datajson-tests"
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://gateway.test"
        )
        made.append((gateway, client))
        if loaded:
            for connector in gateway.connectors:
                if isinstance(connector, DataJsonConnector):
                    await connector.index()
        return gateway, client

    yield make
    for gateway, client in made:
        await client.aclose()
        for connector in gateway.connectors:
            if isinstance(connector, DataJsonConnector):
                await connector.aclose()
        await gateway.aclose()


def extras(package: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in package["extras"]}


def classes(package: dict[str, Any]) -> tuple[ShareType, OpenType, Sensitivity]:
    ex = extras(package)
    return (
        vocab.parse_share_type(ex.get("share_type")) or ShareType(DEFAULTS["share_type"]),
        vocab.parse_open_type(ex.get("open_type")) or OpenType(DEFAULTS["open_type"]),
        vocab.parse_sensitivity(ex.get("sensitivity")) or Sensitivity(DEFAULTS["sensitivity"]),
    )


def public(package: dict[str, Any]) -> bool:
    share, open_, level = classes(package)
    return open_ is OpenType.OPEN and level is Sensitivity.L1 and share is not ShareType.NOT_SHARED


def global_id(package: dict[str, Any]) -> str:
    return encode_id("Dataset", SOURCE, extras(package)["identifier"])


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


async def test_anonymous_pages_through_exactly_the_public_datasets(
    make_gateway: GatewayFactory, datajson_platform: PlatformServer
) -> None:
    _, client = await make_gateway()
    expected = {global_id(p) for p in catalogue().packages if public(p)}
    nodes = await page_all(client, first=50, sort="MODIFIED_DESC")
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    stamps = [n["modified"] for n in nodes]
    assert stamps == sorted(stamps, reverse=True)
    first = await graphql(client, SEARCH, {"first": 1})
    assert first["data"]["datasets"]["totalCount"] == len(expected)
    assert first["data"]["datasets"]["totalCountIsExact"] is True
    # The whole catalogue was fetched once; every page came from the local index.
    assert datajson_platform.stats.count("data.json") == 1


async def test_chinese_search_counts_exactly_what_mentions_the_word(
    make_gateway: GatewayFactory,
) -> None:
    _, client = await make_gateway()

    def mentions_bus(package: dict[str, Any]) -> bool:
        text = " ".join(
            [package["title"], package["notes"] or "", package["organization"]["title"]]
            + [t["display_name"] for t in package["tags"]]
            + [g["name"] for g in package["groups"]]
        )
        share, _, level = classes(package)
        visible = package["organization"]["name"] == "transport" or (
            share is ShareType.UNCONDITIONAL and level <= Sensitivity.L2
        )
        return "公交" in text and visible

    expected = [p for p in catalogue().packages if mentions_bus(p)]
    body = await graphql(
        client, SEARCH, {"q": "公交", "first": 100}, key="demo-key-transport-analyst"
    )
    connection = body["data"]["datasets"]
    assert connection["totalCountIsExact"] is True
    assert connection["totalCount"] == len(expected) > 0
    assert {e["node"]["id"] for e in connection["edges"]} == {global_id(p) for p in expected}
    english = await graphql(client, SEARCH, {"q": "bus", "first": 100})
    edges = english["data"]["datasets"]["edges"]
    assert edges
    for edge in edges:
        node = edge["node"]
        assert "bus" in (node["description"] or "").lower() or "bus" in node["keywords"]


async def test_filters_are_applied_exactly_by_the_local_index(
    make_gateway: GatewayFactory,
) -> None:
    _, client = await make_gateway()
    expected = {
        global_id(p)
        for p in catalogue().packages
        if public(p)
        and "transport" in [g["name"] for g in p["groups"]]
        and "CSV" in [r["format"].upper() for r in p["resources"]]
    }
    nodes = await page_all(client, first=100, filter={"themes": ["transport"], "formats": ["csv"]})
    assert {n["id"] for n in nodes} == expected
    body = await graphql(
        client, SEARCH, {"first": 1, "filter": {"themes": ["transport"], "formats": ["csv"]}}
    )
    assert body["data"]["datasets"]["totalCountIsExact"] is True
    assert body["data"]["datasets"]["totalCount"] == len(expected)


async def test_dataset_by_id_and_hidden_ones_like_missing_ones(
    make_gateway: GatewayFactory,
) -> None:
    _, client = await make_gateway()
    packages = catalogue().packages
    shown = next(p for p in packages if public(p))
    hidden = next(p for p in packages if classes(p)[2] is Sensitivity.L4)
    query = "query($id: ID!) { dataset(id: $id) { title identifier } }"
    body = await graphql(client, query, {"id": global_id(shown)})
    assert body["data"]["dataset"] == {
        "title": shown["title"],
        "identifier": extras(shown)["identifier"],
    }
    secret = await client.post(
        "/graphql", json={"query": query, "variables": {"id": global_id(hidden)}}
    )
    missing_id = encode_id("Dataset", SOURCE, "330100/JTJ-99999")
    missing = await client.post("/graphql", json={"query": query, "variables": {"id": missing_id}})
    assert secret.content == missing.content == b'{"data":{"dataset":null}}'


async def test_a_cold_hung_platform_answers_still_loading_within_its_deadline(
    make_gateway: GatewayFactory, datajson_platform: PlatformServer
) -> None:
    _, client = await make_gateway(loaded=False)
    datajson_platform.fault.mode = "hang"
    async with asyncio.timeout(DEADLINE * 10):  # does not wait for the hung platform
        body = await graphql(client, SEARCH, {"q": "公交", "first": 5})
    # The first load of the catalogue is still running: that is what the caller hears,
    # not a timeout (and the breaker does not count it against the platform).
    [status] = body["data"]["datasets"]["sources"]
    assert status["status"] == "ERROR"
    assert "still loading its catalogue" in status["message"]
    assert body["errors"][0]["extensions"] == {"code": "SOURCE_ERROR", "source": SOURCE}


async def test_a_warm_catalogue_keeps_answering_while_the_platform_hangs(
    make_gateway: GatewayFactory, datajson_platform: PlatformServer
) -> None:
    gateway, client = await make_gateway(refresh_seconds=0)
    before = await graphql(client, SEARCH, {"q": "公交", "first": 5})
    [connector] = gateway.connectors
    assert isinstance(connector, DataJsonConnector)
    await connector.refresh()  # the healthy refresh that query started is over
    datajson_platform.fault.mode = "hang"
    after = await graphql(client, SEARCH, {"q": "公交", "first": 5})
    assert "errors" not in after
    assert after["data"]["datasets"]["sources"][0]["status"] == "OK"
    assert after["data"]["datasets"]["totalCount"] == before["data"]["datasets"]["totalCount"]
    ready = (await client.get("/readyz")).json()
    assert ready["sources"][0]["status"] == "DOWN"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("garbage", "invalid JSON"), ("html", "invalid JSON"), ("error", "HTTP 500"), ("huge", "cap")],
)
async def test_a_broken_platform_is_an_error_cold_and_a_logged_stale_copy_warm(
    make_gateway: GatewayFactory,
    datajson_platform: PlatformServer,
    caplog: pytest.LogCaptureFixture,
    mode: str,
    reason: str,
) -> None:
    _, cold = await make_gateway(loaded=False)
    datajson_platform.fault.mode = mode
    body = await graphql(cold, SEARCH, {"first": 5})
    [status] = body["data"]["datasets"]["sources"]
    assert status["status"] == "ERROR" and reason in status["message"]
    assert body["errors"][0]["extensions"] == {"code": "SOURCE_ERROR", "source": SOURCE}

    datajson_platform.fault.reset()
    gateway, warm = await make_gateway(refresh_seconds=0)
    assert "errors" not in await graphql(warm, SEARCH, {"first": 5})
    [connector] = gateway.connectors
    assert isinstance(connector, DataJsonConnector)
    await connector.refresh()  # the healthy refresh that query started is over
    datajson_platform.fault.mode = mode
    with caplog.at_level("WARNING", logger="connectors.sdk._static"):
        body = await graphql(warm, SEARCH, {"first": 5})
        with pytest.raises(ConnectorError, match=reason):
            await connector.refresh()
    assert "errors" not in body and body["data"]["datasets"]["edges"]
    assert any(reason in r.getMessage() for r in caplog.records)


async def test_an_unchanged_catalogue_is_revalidated_with_a_304(
    make_gateway: GatewayFactory, datajson_platform: PlatformServer
) -> None:
    gateway, client = await make_gateway()
    await graphql(client, SEARCH, {"first": 1})
    [connector] = gateway.connectors
    assert isinstance(connector, DataJsonConnector)
    loaded = await connector.index()
    assert await connector.refresh() is loaded
    last = datajson_platform.stats.as_dict()["recent"][-1]["params"]
    assert last["if-none-match"].startswith('"') and "gzip" in last["accept-encoding"]
    async with httpx.AsyncClient() as plain:
        touched = (await plain.post(f"{datajson_platform.url}/__sim__/touch")).json()
    # A new revision with the same records: fetched in full, the index kept as it is...
    assert await connector.refresh() is loaded
    # ...and the new ETag is what the next conditional request sends.
    await connector.refresh()
    last = datajson_platform.stats.as_dict()["recent"][-1]["params"]
    assert last["if-none-match"] == touched["etag"]
