"""The gateway over real HTTP against the demo's simulated CKAN platforms."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from gateway.demo.run import SOURCE_SETTINGS
from schema import vocab
from schema.ids import decode_id, encode_id
from schema.model import OpenType, Sensitivity, ShareType
from simulators.catalogue import build_city_catalogue
from simulators.platforms import DEMO_PLATFORMS, PlatformServer
from tests.integration.conftest import DEADLINE, graphql

pytestmark = pytest.mark.integration

SEARCH = """
query Search($q: String, $first: Int, $after: String, $sort: DatasetSort, $filter: DatasetFilter) {
  datasets(search: $q, first: $first, after: $after, sort: $sort, filter: $filter) {
    totalCount totalCountIsExact
    facets { departments { value count } formats { value count } }
    sources { source { id } status latencyMs matched message }
    edges { cursor node { id title modified department { id } source { id }
                          shareType openType sensitivity
                          distributions { downloadUrl } contactPoint { name }
                          identifier alsoPublishedBy { id source { id } stale } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def extras(package: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in package["extras"]}


def publicly_visible() -> set[tuple[str, str]]:
    """Reference rule for the anonymous caller, straight from the raw catalogue."""
    visible = set()
    city = build_city_catalogue()
    for platform_id in DEMO_PLATFORMS:
        platform = city.platforms[platform_id]
        defaults = SOURCE_SETTINGS[platform_id]["defaults"]
        for package in platform.packages:
            ex = extras(package)
            share = vocab.parse_share_type(ex.get("share_type")) or ShareType(
                defaults["share_type"]
            )
            open_ = vocab.parse_open_type(ex.get("open_type")) or OpenType(defaults["open_type"])
            level = vocab.parse_sensitivity(ex.get("sensitivity")) or Sensitivity(
                defaults["sensitivity"]
            )
            if (
                open_ is OpenType.OPEN
                and level is Sensitivity.L1
                and share is not ShareType.NOT_SHARED
            ):
                visible.add((platform_id, package["id"]))
    return visible


async def page_all(client: httpx.AsyncClient, **variables: Any) -> list[dict[str, Any]]:
    nodes, after = [], None
    for _ in range(200):
        body = await graphql(client, SEARCH, {**variables, "after": after})
        assert "errors" not in body, body
        connection = body["data"]["datasets"]
        nodes += [edge["node"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        after = connection["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


async def test_bus_search_merges_several_platforms_and_departments(
    client: httpx.AsyncClient,
) -> None:
    body = await graphql(
        client, SEARCH, {"q": "公交", "first": 20}, key="demo-key-transport-analyst"
    )
    assert "errors" not in body
    connection = body["data"]["datasets"]
    assert {s["status"] for s in connection["sources"]} == {"OK"}
    assert len({e["node"]["source"]["id"] for e in connection["edges"]}) >= 2
    departments = {f["value"] for f in connection["facets"]["departments"]}
    assert {"transport", "education", "civil-affairs"} <= departments
    merged = sum(len(e["node"]["alsoPublishedBy"]) for e in connection["edges"])
    # exact unless copies were merged on the page (upstream totals count every copy)
    assert connection["totalCountIsExact"] is (merged == 0)
    facet_total = sum(f["count"] for f in connection["facets"]["departments"])
    if not merged:
        assert connection["totalCount"] == sum(s["matched"] for s in connection["sources"])
        assert facet_total >= connection["totalCount"]
    else:
        # A lower bound may come from the sources' own counts (the largest of a copy
        # group's); facets then cover the records the gateway verified: the page and more.
        assert connection["totalCount"] >= max(s["matched"] or 0 for s in connection["sources"])
        assert facet_total >= len(connection["edges"])


async def test_anonymous_sees_exactly_the_public_datasets_counted_exactly(
    client: httpx.AsyncClient,
) -> None:
    expected = publicly_visible()
    nodes = await page_all(client, first=100, sort="MODIFIED_DESC")
    served = [(n["source"]["id"], n["id"]) for n in nodes]
    copies = [(c["source"]["id"], c["id"]) for n in nodes for c in n["alsoPublishedBy"]]
    seen = served + copies
    assert len(seen) == len(set(seen))
    assert {(s, encode_id("Dataset", s, local)) for s, local in expected} == set(seen)
    assert copies, "the city portal republishes some departments' open datasets"
    stamps = [n["modified"] for n in nodes]
    assert stamps == sorted(stamps, reverse=True)
    first = await graphql(client, SEARCH, {"first": 1})
    assert first["data"]["datasets"]["totalCount"] == len(expected)
    assert first["data"]["datasets"]["totalCountIsExact"] is True
    for node in nodes:
        assert node["openType"] == "OPEN" and node["sensitivity"] == "L1"


async def test_copies_of_one_dataset_are_served_once_from_the_authoritative_source(
    client: httpx.AsyncClient,
) -> None:
    body = await graphql(client, SEARCH, {"q": "公交", "first": 60, "sort": "TITLE_ASC"})
    nodes = [e["node"] for e in body["data"]["datasets"]["edges"]]
    with_copies = [n for n in nodes if n["alsoPublishedBy"]]
    assert with_copies
    identifiers = [n["identifier"] for n in nodes if n["identifier"]]
    assert len(identifiers) == len(set(identifiers))  # one entry per identifier on a page
    for node in with_copies:
        # the department's own platform is the authority; the city portal holds the copy
        assert node["source"]["id"] in ("transport-platform", "livelihood-platform")
        assert {c["source"]["id"] for c in node["alsoPublishedBy"]} == {"city-open-portal"}


async def test_next_page_continues_upstream_instead_of_refetching(
    client: httpx.AsyncClient, platforms: dict[str, PlatformServer]
) -> None:
    page1 = await graphql(client, SEARCH, {"first": 30}, key="demo-key-auditor")
    after = page1["data"]["datasets"]["pageInfo"]["endCursor"]
    for server in platforms.values():
        server.stats.reset()
    page2 = await graphql(client, SEARCH, {"first": 30, "after": after}, key="demo-key-auditor")
    searches = [
        r["params"]
        for server in platforms.values()
        for r in server.stats.as_dict()["recent"]
        if r["action"] == "package_search"
    ]
    # The city portal republishes the other two: as each of the three answers, its page's
    # identifiers are looked up on all three (one batched search each, from 0); every
    # other search resumes where page 1 stopped.
    lookups = [p for p in searches if "extras_identifier:" in p.get("fq", "")]
    starts = [int(p["start"]) for p in searches if p not in lookups]
    assert starts and all(start > 0 for start in starts)
    assert 0 < len(lookups) <= 3 * 3
    ids1 = {e["node"]["id"] for e in page1["data"]["datasets"]["edges"]}
    ids2 = {e["node"]["id"] for e in page2["data"]["datasets"]["edges"]}
    assert len(ids2) == 30 and not ids1 & ids2


async def test_filters_are_pushed_down_to_ckan(
    client: httpx.AsyncClient, platforms: dict[str, PlatformServer]
) -> None:
    body = await graphql(
        client,
        SEARCH,
        {"first": 10, "filter": {"themes": ["environment"], "formats": ["CSV"]}},
        key="demo-key-auditor",
    )
    assert body["data"]["datasets"]["totalCountIsExact"] is True
    fqs = [
        r["params"].get("fq", "")
        for r in platforms["city-open-portal"].stats.as_dict()["recent"]
        if r["action"] == "package_search"
    ]
    assert fqs and all("groups:" in fq and "res_format:" in fq for fq in fqs)


async def test_privilege_and_masks_apply_to_returned_fields(client: httpx.AsyncClient) -> None:
    auditor = await graphql(client, SEARCH, {"first": 50}, key="demo-key-auditor")
    restricted = [
        e["node"]
        for e in auditor["data"]["datasets"]["edges"]
        if (e["node"]["openType"], e["node"]["sensitivity"]) != ("OPEN", "L1")
    ]
    assert restricted
    for node in restricted:
        # discover privilege: metadata, never download URLs (public data stays usable)
        assert all(d["downloadUrl"] is None for d in node["distributions"])
    operator = await graphql(
        client,
        SEARCH,
        {"first": 20, "filter": {"themes": ["transport"], "maxSensitivity": "L3"}},
        key="demo-key-city-operator",
        purpose="traffic-forecasting",
    )
    sensitive = [
        e["node"]
        for e in operator["data"]["datasets"]["edges"]
        if e["node"]["sensitivity"] in ("L2", "L3")
    ]
    assert sensitive, "the scenario grant should reveal L2/L3 transport data"
    assert all(n["contactPoint"] is None for n in sensitive)
    without_purpose = await graphql(
        client,
        SEARCH,
        {"first": 20, "filter": {"themes": ["transport"], "maxSensitivity": "L3"}},
        key="demo-key-city-operator",
    )
    assert all(
        e["node"]["sensitivity"] == "L1" for e in without_purpose["data"]["datasets"]["edges"]
    )


async def test_lookups_by_id_in_one_request_are_one_package_search_per_platform(
    client: httpx.AsyncClient, platforms: dict[str, PlatformServer]
) -> None:
    packages = build_city_catalogue().platforms["transport-platform"].packages[:4]
    wanted = [encode_id("Dataset", "transport-platform", p["id"]) for p in packages]
    fields = " ".join(f'd{i}: dataset(id: "{gid}") {{ id title }}' for i, gid in enumerate(wanted))
    platforms["transport-platform"].stats.reset()
    body = await graphql(client, f"{{ {fields} }}", key="demo-key-auditor")
    assert "errors" not in body, body
    answered = {node["id"]: node["title"] for node in body["data"].values() if node}
    assert answered and set(answered) <= set(wanted)
    recent = platforms["transport-platform"].stats.as_dict()["recent"]
    assert [r["action"] for r in recent] == ["package_search"]
    assert "id:(" in recent[0]["params"]["fq"]


async def test_dataset_by_id_hides_invisible_datasets_like_missing_ones(
    client: httpx.AsyncClient,
) -> None:
    platform = build_city_catalogue().platforms["livelihood-platform"]
    secret = next(
        p
        for p in platform.packages
        if extras(p).get("share_type") == "不予共享" and extras(p).get("sensitivity") == "L4"
    )
    visible_to_auditor = next(
        p
        for p in platform.packages
        if extras(p).get("share_type") == "有条件共享" and extras(p).get("open_type") == "不予开放"
    )
    query = "query($id: ID!) { dataset(id: $id) { title } node(id: $id) { id } }"
    hidden_id = encode_id("Dataset", "livelihood-platform", secret["id"])
    missing_id = encode_id("Dataset", "livelihood-platform", "00000000-no-such-dataset")
    hidden = await client.post("/graphql", json={"query": query, "variables": {"id": hidden_id}})
    missing = await client.post("/graphql", json={"query": query, "variables": {"id": missing_id}})
    assert hidden.content == missing.content
    assert hidden.json() == {"data": {"dataset": None, "node": None}}
    shown = await graphql(
        client,
        query,
        {"id": encode_id("Dataset", "livelihood-platform", visible_to_auditor["id"])},
        key="demo-key-auditor",
    )
    assert shown["data"]["dataset"]["title"] == visible_to_auditor["title"]


@pytest.mark.short_deadline
async def test_hung_source_answers_within_its_deadline_with_partial_data(
    client: httpx.AsyncClient, platforms: dict[str, PlatformServer]
) -> None:
    platforms["livelihood-platform"].fault.mode = "hang"
    # Not a timing assertion: only "the hung source does not hold the answer hostage";
    # the bound is many deadlines, so a loaded machine cannot fail it.
    async with asyncio.timeout(DEADLINE * 10):
        body = await graphql(
            client, SEARCH, {"q": "公交", "first": 10}, key="demo-key-transport-analyst"
        )
    statuses = {s["source"]["id"]: s["status"] for s in body["data"]["datasets"]["sources"]}
    assert statuses["livelihood-platform"] == "TIMEOUT"
    assert statuses["transport-platform"] == statuses["city-open-portal"] == "OK"
    assert body["data"]["datasets"]["edges"]
    assert body["data"]["datasets"]["totalCountIsExact"] is False
    [error] = body["errors"]
    assert error["extensions"] == {"code": "SOURCE_TIMEOUT", "source": "livelihood-platform"}


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("garbage", "invalid JSON"),
        ("html", "invalid JSON"),
        ("error", "HTTP 500"),
        ("huge", "cap"),
    ],
)
async def test_broken_source_is_an_error_status_while_others_answer(
    client: httpx.AsyncClient,
    platforms: dict[str, PlatformServer],
    caplog: pytest.LogCaptureFixture,
    mode: str,
    reason: str,
) -> None:
    if mode == "huge":
        platforms["city-open-portal"].fault.huge_bytes = 40_000_000
    platforms["city-open-portal"].fault.mode = mode
    with caplog.at_level("WARNING", logger="gateway.federation"):
        body = await graphql(
            client, SEARCH, {"q": "公交", "first": 10}, key="demo-key-transport-analyst"
        )
    statuses = {s["source"]["id"]: s for s in body["data"]["datasets"]["sources"]}
    assert statuses["city-open-portal"]["status"] == "ERROR"
    assert reason in statuses["city-open-portal"]["message"]
    assert statuses["transport-platform"]["status"] == "OK"
    assert {e["node"]["source"]["id"] for e in body["data"]["datasets"]["edges"]} <= {
        "transport-platform",
        "livelihood-platform",
    }
    assert body["errors"][0]["extensions"] == {"code": "SOURCE_ERROR", "source": "city-open-portal"}
    assert any(reason in record.getMessage() for record in caplog.records)


async def test_departments_and_sources_and_readiness(
    client: httpx.AsyncClient, platforms: dict[str, PlatformServer]
) -> None:
    body = await graphql(client, "{ departments { id name } sources { id connector } }")
    ids = {d["id"] for d in body["data"]["departments"]}
    assert {"transport", "health", "environment", "statistics"} <= ids
    assert len(ids) >= 8
    assert [s["connector"] for s in body["data"]["sources"]] == ["ckan"] * 3
    platforms["city-open-portal"].fault.mode = "error"
    ready = (await client.get("/readyz")).json()
    by_id = {s["id"]: s["status"] for s in ready["sources"]}
    assert by_id == {
        "transport-platform": "UP",
        "livelihood-platform": "UP",
        "city-open-portal": "DOWN",
    }


async def test_english_titles_of_the_demo_come_with_accept_language_or_lang(
    client: httpx.AsyncClient,
) -> None:
    """The demo's CKAN packages carry `title_en`: clients ask for it, in two ways."""
    query = """{ datasets(first: 20) { edges { node { id title zh: title(lang: "zh")
                 language languages } } } }"""
    english = await client.post(
        "/graphql", json={"query": query}, headers={"Accept-Language": "en-US,en;q=0.9"}
    )
    plain = await client.post("/graphql", json={"query": query})
    english_nodes = [e["node"] for e in english.json()["data"]["datasets"]["edges"]]
    plain_nodes = [e["node"] for e in plain.json()["data"]["datasets"]["edges"]]
    city = build_city_catalogue()
    title_en = {
        package["id"]: extras(package)["title_en"]
        for platform in city.platforms.values()
        for package in platform.packages
        if "title_en" in extras(package)
    }
    assert english_nodes and [n["id"] for n in english_nodes] == [n["id"] for n in plain_nodes]
    for en, zh in zip(english_nodes, plain_nodes, strict=True):
        local_id = decode_id(en["id"])[2]  # type: ignore[index]
        assert en["title"] == title_en[local_id]
        assert en["language"] == "en" and "en" in en["languages"]
        assert en["zh"] == zh["title"] != en["title"]  # no zh translation: the original
        assert zh["language"] is None  # these sources do not say what they write in
