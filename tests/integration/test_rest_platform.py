"""The gateway over real HTTP against the simulated home-grown REST platform (``rest``)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from connectors.sdk import _registry
from gateway.app import Gateway, create_app
from gateway.config import parse_config
from gateway.demo.run import demo_policy
from schema import vocab
from schema.ids import encode_id
from schema.model import OpenType, Sensitivity, ShareType
from simulators import platforms as demo_platforms
from simulators.catalogue import PlatformCatalogue, build_city_catalogue
from simulators.platforms import PlatformServer, PlatformSpec, PlatformThread
from simulators.rest_sim import native_record, rest_source_options
from tests.integration.conftest import graphql

pytestmark = pytest.mark.integration

SOURCE = "hexi-rest"
HUNG_DEADLINE = 0.8  # the tests that hang the platform wait this long
GENEROUS_DEADLINE = 10.0  # the others: a loaded CI machine can stall for seconds
SEARCH = """
query Search($q: String, $first: Int, $after: String, $filter: DatasetFilter) {
  datasets(search: $q, first: $first, after: $after, filter: $filter) {
    totalCount totalCountIsExact
    sources { source { id } status matched message }
    edges { node { id title department { id } updateFrequency shareType openType
                   sensitivity distributions { format } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def catalogue() -> PlatformCatalogue:
    return build_city_catalogue().platforms["livelihood-platform"]


@pytest.fixture(scope="module")
def rest_platform() -> Iterator[PlatformServer]:
    with pytest.MonkeyPatch.context() as patch:
        # Until the lead registers the kind in simulators.platforms.SIMULATORS.
        patch.setitem(demo_platforms.SIMULATORS, "rest", "simulators.rest_sim:RestSimulator")
        with PlatformThread([PlatformSpec(SOURCE, catalogue(), kind="rest")]) as servers:
            yield servers[SOURCE]


@pytest.fixture(autouse=True)
def healthy_rest_platform(rest_platform: PlatformServer) -> Iterator[None]:
    rest_platform.fault.reset()
    rest_platform.stats.reset()
    yield
    rest_platform.fault.reset()


@contextlib.asynccontextmanager
async def gateway_client(
    url: str, defaults: dict[str, str] | None = None, *, deadline: float = GENEROUS_DEADLINE
) -> AsyncIterator[httpx.AsyncClient]:
    config = parse_config(
        {
            "sources": [
                {
                    "id": SOURCE,
                    "connector": "rest",
                    "url": url,
                    "timeout_seconds": deadline,
                    "defaults": defaults
                    or {"share_type": "NOT_SHARED", "open_type": "NOT_OPEN", "sensitivity": "L4"},
                    "options": rest_source_options(),
                }
            ]
        }
    )
    gateway = Gateway(
        config, transport="aiohttp", policy=demo_policy(), cursor_secret=b"rest-integration"
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://gateway.test"
        ) as c:
            yield c
    finally:
        await gateway.aclose()


@pytest.fixture
async def client(
    rest_platform: PlatformServer, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setitem(_registry._BUILTINS, "rest", "connectors.rest:RestConnector")
    short = request.node.get_closest_marker("short_deadline") is not None
    async with gateway_client(
        rest_platform.url, deadline=HUNG_DEADLINE if short else GENEROUS_DEADLINE
    ) as c:
        yield c


def public_ids() -> set[str]:
    """Reference rule for anonymous callers, from the raw catalogue and the defaults."""
    ids = set()
    for package in catalogue().packages:
        extras = {e["key"]: e["value"] for e in package["extras"]}
        share = vocab.parse_share_type(extras.get("share_type")) or ShareType.NOT_SHARED
        open_ = vocab.parse_open_type(extras.get("open_type")) or OpenType.NOT_OPEN
        level = vocab.parse_sensitivity(extras.get("sensitivity")) or Sensitivity.L4
        if share is not ShareType.NOT_SHARED and open_ is OpenType.OPEN and level is Sensitivity.L1:
            ids.add(encode_id("Dataset", SOURCE, package["id"].replace("-", "")))
    return ids


def calls(server: PlatformServer, action: str = "resources") -> list[dict[str, Any]]:
    return [r["params"] for r in server.stats.as_dict()["recent"] if r["action"] == action]


async def test_a_search_reads_the_platform_through_the_mapping(
    client: httpx.AsyncClient, rest_platform: PlatformServer
) -> None:
    body = await graphql(client, SEARCH, {"q": "医院", "first": 5}, key="demo-key-auditor")
    assert "errors" not in body, body
    connection = body["data"]["datasets"]
    [source] = connection["sources"]
    assert source["status"] == "OK"
    matching = {
        encode_id("Dataset", SOURCE, r["resourceId"])
        for r in map(native_record, catalogue().packages)
        if any("医院" in str(r[k] or "") for k in ("resourceName", "resourceDesc", "keywords"))
    }
    assert connection["edges"]
    assert {e["node"]["id"] for e in connection["edges"]} <= matching
    assert {e["node"]["updateFrequency"] for e in connection["edges"]} - {"UNKNOWN"}
    assert all(params.get("keyword") == "医院" for params in calls(rest_platform))


async def test_anonymous_pages_through_every_public_dataset_once_counted_exactly(
    client: httpx.AsyncClient, rest_platform: PlatformServer
) -> None:
    expected = public_ids()
    seen: list[str] = []
    after = None
    for _ in range(100):
        body = await graphql(client, SEARCH, {"first": 25, "after": after})
        assert "errors" not in body, body
        connection = body["data"]["datasets"]
        assert connection["totalCount"] == len(expected)
        assert connection["totalCountIsExact"] is True
        seen += [e["node"]["id"] for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
    pages = [int(p["pageNo"]) for p in calls(rest_platform)]
    assert pages == sorted(set(pages))  # every page asked once: never back to page 1
    visibility = calls(rest_platform)[0]
    assert visibility["openType"] == "无条件开放" and visibility["securityLevel"] == "一级"


async def test_a_department_filter_is_pushed_down_and_counts_stay_exact(
    client: httpx.AsyncClient, rest_platform: PlatformServer
) -> None:
    body = await graphql(
        client,
        SEARCH,
        {"first": 50, "filter": {"departments": ["education"]}},
        key="demo-key-auditor",
    )
    connection = body["data"]["datasets"]
    assert connection["edges"]
    assert {e["node"]["department"]["id"] for e in connection["edges"]} == {"education"}
    assert all(params.get("deptCode") == "education" for params in calls(rest_platform))


async def test_dataset_by_id_reads_one_record_and_null_for_a_missing_one(
    client: httpx.AsyncClient,
) -> None:
    query = "query($id: ID!) { dataset(id: $id) { title identifier } }"
    package = next(
        p
        for p in catalogue().packages
        if {"key": "open_type", "value": "无条件开放"} in p["extras"]
        and {"key": "sensitivity", "value": "L1"} in p["extras"]
        and {"key": "share_type", "value": "无条件共享"} in p["extras"]
    )
    found = await graphql(
        client, query, {"id": encode_id("Dataset", SOURCE, package["id"].replace("-", ""))}
    )
    assert found["data"]["dataset"]["title"] == package["title"]
    missing = await graphql(client, query, {"id": encode_id("Dataset", SOURCE, "0" * 32)})
    assert missing == {"data": {"dataset": None}}


@pytest.mark.short_deadline
async def test_a_hung_platform_is_a_timeout_at_its_deadline(
    client: httpx.AsyncClient, rest_platform: PlatformServer
) -> None:
    rest_platform.fault.mode = "hang"
    body = await graphql(client, SEARCH, {"first": 5})
    [source] = body["data"]["datasets"]["sources"]
    assert source["status"] == "TIMEOUT"
    [error] = body["errors"]
    assert error["extensions"] == {"code": "SOURCE_TIMEOUT", "source": SOURCE}


@pytest.mark.parametrize(
    ("mode", "reason"), [("garbage", "invalid JSON"), ("html", "invalid JSON"), ("error", "500")]
)
async def test_a_broken_platform_is_an_error_with_the_reason(
    client: httpx.AsyncClient, rest_platform: PlatformServer, mode: str, reason: str
) -> None:
    rest_platform.fault.mode = mode  # type: ignore[assignment]
    body = await graphql(client, SEARCH, {"first": 5})
    [source] = body["data"]["datasets"]["sources"]
    assert source["status"] == "ERROR" and reason in source["message"]
    assert body["errors"][0]["extensions"] == {"code": "SOURCE_ERROR", "source": SOURCE}


class _Draws:
    """Fault dice that fail the first call and pass the next, over and over."""

    def __init__(self) -> None:
        self._values = itertools.cycle([0.0, 0.99])

    def random(self) -> float:
        return next(self._values)


async def test_a_503_from_a_flaky_platform_is_retried(
    client: httpx.AsyncClient, rest_platform: PlatformServer
) -> None:
    rest_platform.fault.rng = _Draws()  # type: ignore[assignment]
    rest_platform.fault.fail_rate = 0.5
    body = await graphql(client, SEARCH, {"first": 5})
    assert "errors" not in body, body
    assert body["data"]["datasets"]["sources"][0]["status"] == "OK"
    assert len(calls(rest_platform)) == 2  # the 503, then the answer


async def test_the_simulator_answers_like_a_home_grown_api(rest_platform: PlatformServer) -> None:
    key = {"AppKey": "hexi-demo-app-key"}
    async with httpx.AsyncClient(base_url=rest_platform.url, headers=key) as api:
        page = (await api.get("/api/v1/resources", params={"pageNo": 2, "pageSize": 3})).json()
        assert (page["code"], page["msg"]) == (0, "success")
        data = page["data"]
        assert data["total"] == len(catalogue().packages) and data["pageNo"] == 2
        assert len(data["list"]) == 3 and len(data["list"][0]["resourceId"]) == 32
        too_big = (await api.get("/api/v1/resources", params={"pageSize": 101})).json()
        assert too_big["code"] == 4001 and too_big["msg"].startswith("参数错误")
        missing = (await api.get("/api/v1/resources/" + "0" * 32)).json()
        assert missing == {"code": 4004, "msg": "资源不存在", "data": None}
        refused = await api.get("/api/v1/health", headers={"AppKey": "wrong"})
        assert refused.status_code == 401 and refused.json()["code"] == 4010
        fault = await api.post("/__sim__/fault", json={"latency_ms": 5})
        assert fault.json()["latency_ms"] == 5
        stats = (await api.get("/__sim__/stats")).json()
        assert stats["actions"]["resources"] == 2


async def test_hidden_records_do_not_show_through_paging(
    rest_platform: PlatformServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 10, failure 2: anonymous `first: 1` on a department's NOT_SHARED datasets said
    # hasNextPage: true (with an endCursor) when the department had hidden datasets and
    # false (null) when it did not exist; raising `first` counted them exactly. With the
    # demo's defaults (CONDITIONAL), the share-type filter wants the default, so the
    # platform cannot apply the caller's visibility: the gateway filters.
    monkeypatch.setitem(_registry._BUILTINS, "rest", "connectors.rest:RestConnector")
    defaults = {"share_type": "CONDITIONAL", "open_type": "NOT_OPEN", "sensitivity": "L3"}
    hidden: dict[str, int] = {}
    for record in map(native_record, catalogue().packages):
        if record["shareType"] == "不予共享":
            hidden[record["deptCode"]] = hidden.get(record["deptCode"], 0) + 1
    department, count = max(hidden.items(), key=lambda item: item[1])
    assert count > 1

    async def ask(departments: list[str], first: int) -> dict[str, Any]:
        variables = {
            "first": first,
            "filter": {"departments": departments, "shareTypes": ["NOT_SHARED"]},
        }
        async with gateway_client(rest_platform.url, defaults) as client:
            body = await graphql(client, SEARCH, variables)
        assert "errors" not in body, body
        connection: dict[str, Any] = body["data"]["datasets"]
        for source in connection["sources"]:
            source.pop("latencyMs", None)
        return connection

    for first in (1, count - 1, count, count + 1):
        with_hidden = await ask([department], first)
        missing = await ask(["no-such-department"], first)
        assert with_hidden == missing
        assert with_hidden["edges"] == [] and with_hidden["totalCount"] == 0
        assert with_hidden["pageInfo"] == {"hasNextPage": False, "endCursor": None}


async def test_pages_are_full_and_the_count_is_stable_when_the_platform_cannot_filter(
    rest_platform: PlatformServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 10, failure 2: on the demo's REST platform `first: 10` gave pages of 1, 3, 4,
    # 3, 2 ... 0 records, and totalCount was 25 / 36 / 59 for `first` 5 / 10 / 40.
    monkeypatch.setitem(_registry._BUILTINS, "rest", "connectors.rest:RestConnector")
    defaults = {"share_type": "CONDITIONAL", "open_type": "OPEN", "sensitivity": "L1"}
    async with gateway_client(rest_platform.url, defaults) as client:
        counts = set()
        for first in (5, 10, 40):
            body = await graphql(client, SEARCH, {"first": first})
            connection = body["data"]["datasets"]
            counts.add((connection["totalCount"], connection["totalCountIsExact"]))
        assert len(counts) == 1
        sizes, totals, seen, after = [], [], [], None
        for _ in range(100):
            body = await graphql(client, SEARCH, {"first": 10, "after": after})
            assert "errors" not in body, body
            connection = body["data"]["datasets"]
            sizes.append(len(connection["edges"]))
            totals.append(connection["totalCount"])
            seen += [e["node"]["id"] for e in connection["edges"]]
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) and len(seen) > 20
    assert all(size == 10 for size in sizes[:-1]) and 0 < sizes[-1] <= 10
    assert totals == sorted(totals)  # a lower bound grows, never shrinks
    assert totals[-1] == len(seen)
