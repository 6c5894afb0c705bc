"""The federation engine over in-memory connectors: order, paging, partial answers."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest

from connectors.sdk import SearchPage, SearchQuery, Sort
from gateway.federation import SearchRequest, SourceStatus
from gateway.policy import ANONYMOUS, Caller, Policy
from schema.model import OpenType, Sensitivity, ShareType
from tests.gateway.conftest import BASE, GatewayFactory, asgi_client, make_dataset
from tests.gateway.memory_connector import MemoryConnector

NOW = BASE + timedelta(days=700)


def grants(policy: Policy | None = None, caller: Caller = ANONYMOUS, purpose: str | None = None):  # type: ignore[no-untyped-def]
    return (policy or Policy.default()).grant_set(caller, purpose, NOW)


async def page_through(engine: Any, request: SearchRequest, grant_set: Any) -> list[Any]:
    seen, after = [], None
    for _ in range(1000):
        result = await engine.search(
            SearchRequest(
                request.text, request.filter, request.sources, request.sort, request.first, after
            ),
            grant_set,
        )
        seen.extend(result.edges)
        if not result.has_next_page:
            return seen
        after = result.end_cursor
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("sort", list(Sort), ids=lambda s: s.value)
@pytest.mark.parametrize("first", [1, 7, 20])
async def test_paging_yields_every_dataset_once_in_order(
    make_gateway: GatewayFactory, sort: Sort, first: int
) -> None:
    sources = {
        "a": [make_dataset("a", i, title=f"t{(i * 7) % 23:02d}a{i}") for i in range(23)],
        "b": [make_dataset("b", i * 3, title=f"t{i:02d}b") for i in range(11)],
        "c": [],
    }
    gateway = make_gateway(sources)
    edges = await page_through(gateway.engine, SearchRequest(sort=sort, first=first), grants())
    ids = [e.dataset.local_id for e in edges]
    assert sorted(ids) == sorted(d.local_id for ds in sources.values() for d in ds)
    assert len(ids) == len(set(ids))
    if sort is Sort.MODIFIED_DESC:
        stamps = [e.dataset.modified for e in edges]
        assert stamps == sorted(stamps, reverse=True)
    elif sort is Sort.MODIFIED_ASC:
        stamps = [e.dataset.modified for e in edges]
        assert stamps == sorted(stamps)
    elif sort is Sort.TITLE_ASC:
        titles = [e.dataset.title for e in edges]
        assert titles == sorted(titles)


async def test_next_page_continues_each_source_where_it_stopped(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway({s: [make_dataset(s, i) for i in range(100)] for s in ("a", "b")})
    first = await gateway.engine.search(SearchRequest(first=10), grants())
    a: MemoryConnector = gateway.connectors[0]  # type: ignore[assignment]
    a.calls.searches.clear()
    await gateway.engine.search(SearchRequest(first=10, after=first.end_cursor), grants())
    # Relevance interleaves by rank: 5 from each source on page 1, so page 2 starts at 5.
    assert [q.offset for q in a.calls.searches] == [5]
    assert all(q.limit == 10 for q in a.calls.searches)


async def test_gateway_filters_what_a_source_did_not_apply(make_gateway: GatewayFactory) -> None:
    data = [
        make_dataset("a", i, themes=("transport",) if i % 2 else ("health",)) for i in range(10)
    ]
    gateway = make_gateway({"a": data}, push_down=False)
    from connectors.sdk import DatasetFilter

    result = await gateway.engine.search(
        SearchRequest(filter=DatasetFilter(themes=("transport",)), first=20), grants()
    )
    assert {e.dataset.themes for e in result.edges} == {("transport",)}
    assert result.total_count == 5
    assert result.total_count_is_exact is False


async def test_invisible_datasets_are_filtered_and_not_counted(
    make_gateway: GatewayFactory,
) -> None:
    data = [
        make_dataset("a", i, open_type=OpenType.OPEN if i < 4 else OpenType.NOT_OPEN)
        for i in range(10)
    ]
    gateway = make_gateway({"a": data}, push_down=False)
    result = await gateway.engine.search(SearchRequest(first=20), grants())
    assert len(result.edges) == 4
    assert result.total_count == 4
    counts = dict(result.facets[next(iter(result.facets))])
    assert sum(counts.values()) == 4


class HangingConnector(MemoryConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        if self.source_id == "hung":
            await asyncio.sleep(3600)
        return await super().search(query)


async def test_hung_source_yields_partial_data_within_its_deadline(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway(
        {"ok": [make_dataset("ok", i) for i in range(5)], "hung": [make_dataset("hung", 1)]},
        timeouts={"hung": 0.2},
        connector_class=HangingConnector,
    )
    started = time.perf_counter()
    async with asgi_client(gateway) as client:
        response = await client.post(
            "/graphql",
            json={
                "query": "{ datasets { totalCount edges { node { source { id } } } "
                "sources { source { id } status message } } }"
            },
        )
    elapsed = time.perf_counter() - started
    body = response.json()
    assert response.status_code == 200
    assert elapsed < 2.0
    assert {e["node"]["source"]["id"] for e in body["data"]["datasets"]["edges"]} == {"ok"}
    statuses = {s["source"]["id"]: s["status"] for s in body["data"]["datasets"]["sources"]}
    assert statuses == {"ok": "OK", "hung": "TIMEOUT"}
    [error] = body["errors"]
    assert error["extensions"] == {"code": "SOURCE_TIMEOUT", "source": "hung"}
    assert error["path"] == ["datasets"]


class CrashingConnector(MemoryConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        if self.source_id == "bad":
            raise RuntimeError("secret internal detail")
        return await super().search(query)


async def test_crashing_connector_is_an_error_status_without_internals(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway(
        {"ok": [make_dataset("ok", 1)], "bad": [make_dataset("bad", 1)]},
        connector_class=CrashingConnector,
    )
    result = await gateway.engine.search(SearchRequest(), grants())
    reports = {r.source_id: r for r in result.sources}
    assert reports["bad"].status is SourceStatus.ERROR
    assert "secret" not in (reports["bad"].message or "")
    assert [e.dataset.source_id for e in result.edges] == ["ok"]


async def test_tampered_cursor_is_a_clear_error(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway({"a": [make_dataset("a", i) for i in range(5)]})
    async with asgi_client(gateway) as client:
        first = await client.post(
            "/graphql", json={"query": "{ datasets(first: 2) { pageInfo { endCursor } } }"}
        )
        cursor = first.json()["data"]["datasets"]["pageInfo"]["endCursor"]
        forged = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
        bad = await client.post(
            "/graphql",
            json={"query": f'{{ datasets(first: 2, after: "{forged}") {{ totalCount }} }}'},
        )
        other_query = await client.post(
            "/graphql",
            json={
                "query": 'query($c: String) { datasets(search: "x", after: $c) { totalCount } }',
                "variables": {"c": cursor},
            },
        )
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_CURSOR"
    assert "different query" in other_query.json()["errors"][0]["message"]


POLICY = {
    "public": {"open_types": ["OPEN"], "max_sensitivity": "L1"},
    "callers": [
        {
            "id": "analyst",
            "department": "a",
            "roles": ["staff"],
            "api_keys": ["sha256:" + "0" * 64],
        },
    ],
    "grants": [
        {
            "id": "staff",
            "to": {"roles": ["staff"]},
            "allow": {"share_types": ["UNCONDITIONAL"], "max_sensitivity": "L2"},
            "privilege": "discover",
        },
    ],
}


async def test_dataset_by_id_answers_invisible_exactly_like_missing(
    make_gateway: GatewayFactory,
) -> None:
    secret = make_dataset(
        "a",
        1,
        open_type=OpenType.NOT_OPEN,
        sensitivity=Sensitivity.L4,
        share_type=ShareType.NOT_SHARED,
    )
    gateway = make_gateway({"a": [secret]}, policy=POLICY)
    from schema.ids import encode_id

    query = "query Q($id: ID!) { dataset(id: $id) { title } node(id: $id) { id } }"
    async with asgi_client(gateway) as client:
        hidden = await client.post(
            "/graphql", json={"query": query, "variables": {"id": encode_id("Dataset", "a", "a-1")}}
        )
        missing = await client.post(
            "/graphql",
            json={"query": query, "variables": {"id": encode_id("Dataset", "a", "a-999")}},
        )
        garbage = await client.post("/graphql", json={"query": query, "variables": {"id": "%%%"}})
    assert hidden.content == missing.content == garbage.content
    assert hidden.json() == {"data": {"dataset": None, "node": None}}


async def test_grants_decide_privilege_and_own_department(make_gateway: GatewayFactory) -> None:
    from schema.model import Distribution

    dist = (
        Distribution(
            title="f", format="CSV", access_url="http://x/a.csv", download_url="http://x/a.csv"
        ),
    )
    data = {
        "a": [
            make_dataset(
                "a",
                1,
                open_type=OpenType.NOT_OPEN,
                share_type=ShareType.NOT_SHARED,
                sensitivity=Sensitivity.L4,
                distributions=dist,
            )
        ],
        "b": [
            make_dataset(
                "b", 2, open_type=OpenType.NOT_OPEN, sensitivity=Sensitivity.L2, distributions=dist
            ),
            make_dataset(
                "b",
                3,
                open_type=OpenType.NOT_OPEN,
                share_type=ShareType.NOT_SHARED,
                sensitivity=Sensitivity.L1,
            ),
        ],
    }
    policy = Policy.parse(POLICY)
    analyst = Caller("analyst", department="a", roles=("staff",))
    gateway = make_gateway(data, policy=POLICY)
    result = await gateway.engine.search(SearchRequest(first=20), grants(policy, analyst))
    by_id = {e.dataset.local_id: e.access for e in result.edges}
    assert set(by_id) == {"a-1", "b-2"}  # own NOT_SHARED yes; another's NOT_SHARED no
    assert by_id["a-1"].privilege.value == "use"
    assert by_id["b-2"].privilege.value == "discover"
    anonymous = await gateway.engine.search(SearchRequest(first=20), grants(policy))
    assert anonymous.edges == () and anonymous.total_count == 0


def test_scenario_and_validity_gate_grants() -> None:
    policy = Policy.parse(
        {
            "callers": [{"id": "op"}],
            "grants": [
                {
                    "id": "g",
                    "to": {"callers": ["op"]},
                    "allow": {"max_sensitivity": "L3"},
                    "scenarios": ["traffic"],
                    "valid_from": "2026-01-01",
                    "valid_until": "2027-01-01",
                }
            ],
        }
    )
    op = Caller("op")
    from datetime import UTC, datetime

    inside = datetime(2026, 6, 1, tzinfo=UTC)
    assert [c.grant_id for c in policy.grant_set(op, "traffic", inside).clauses] == ["public", "g"]
    assert [c.grant_id for c in policy.grant_set(op, None, inside).clauses] == ["public"]
    assert [c.grant_id for c in policy.grant_set(op, "other", inside).clauses] == ["public"]
    expired = datetime(2027, 1, 1, tzinfo=UTC)
    assert [c.grant_id for c in policy.grant_set(op, "traffic", expired).clauses] == ["public"]
