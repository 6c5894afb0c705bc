"""The federation engine over in-memory connectors: order, paging, partial answers."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from connectors.sdk import SearchPage, SearchQuery, Sort
from gateway.access.policy import ANONYMOUS, Caller, Policy
from gateway.federation.search import SearchRequest, SourceStatus, sort_key
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


async def test_skipped_records_and_small_platform_pages_do_not_end_a_source_early(
    make_gateway: GatewayFactory,
) -> None:
    data = [make_dataset("a", i) for i in range(10)]
    gateway = make_gateway({"a": data})
    connector: MemoryConnector = gateway.connectors[0]  # type: ignore[assignment]
    connector.page_cap = 3
    connector.unmappable = frozenset({2, 7})
    edges = await page_through(gateway.engine, SearchRequest(first=5), grants())
    assert [e.dataset.local_id for e in edges] == [f"a-{i}" for i in range(10) if i not in (2, 7)]


class SortlessConnector(MemoryConnector):
    capabilities = replace(MemoryConnector.capabilities, sorts=frozenset({Sort.RELEVANCE}))


@pytest.mark.parametrize("sort", [Sort.MODIFIED_ASC, Sort.MODIFIED_DESC, Sort.TITLE_ASC])
async def test_a_source_that_cannot_sort_is_sorted_by_the_gateway_without_duplicates(
    make_gateway: GatewayFactory, sort: Sort
) -> None:
    shuffled = [
        make_dataset("a", i, title=f"t{(i * 7) % 10}") for i in (5, 1, 9, 3, 7, 0, 8, 2, 6, 4)
    ]
    gateway = make_gateway(
        {"a": shuffled, "b": [make_dataset("b", i) for i in range(4)]},
        connector_class=SortlessConnector,
    )
    edges = await page_through(gateway.engine, SearchRequest(sort=sort, first=3), grants())
    ids = [e.dataset.local_id for e in edges]
    assert sorted(ids) == sorted([d.local_id for d in shuffled] + [f"b-{i}" for i in range(4)])
    keys = [sort_key(sort, e.dataset, 0, 0)[:-2] for e in edges]
    assert keys == sorted(keys)
    first = await gateway.engine.search(SearchRequest(sort=sort, first=3), grants())
    report = {r.source_id: r for r in first.sources}["a"]
    assert "sorted by the gateway" in (report.message or "")
    assert first.total_count_is_exact is False


class FlakyConnector(MemoryConnector):
    """Answers the first search, then times out on every later one."""

    async def search(self, query: SearchQuery) -> SearchPage:
        if self.source_id == "a" and self.calls.searches:
            self.calls.searches.append(query)
            await asyncio.sleep(3600)
        return await super().search(query)


async def test_a_source_failing_mid_page_ends_the_page_without_duplicates_or_disorder(
    make_gateway: GatewayFactory,
) -> None:
    # a's first batch is all invisible, so the merge must refill it before going on.
    a = [make_dataset("a", i, open_type=OpenType.NOT_OPEN) for i in range(3)]
    a += [make_dataset("a", 3 + i) for i in range(3)]
    b = [make_dataset("b", 10 + i) for i in range(5)]
    gateway = make_gateway(
        {"a": a, "b": b}, connector_class=FlakyConnector, timeouts={"a": 0.2}, push_down=False
    )
    result = await gateway.engine.search(SearchRequest(sort=Sort.MODIFIED_ASC, first=3), grants())
    # b's rows sort after a's unseen rows, so nothing may be emitted past a's bound.
    assert result.edges == ()
    assert result.has_next_page
    assert {r.source_id: r.status for r in result.sources}["a"] is SourceStatus.TIMEOUT
    assert result.total_count_is_exact is False


async def test_one_deadline_per_source_per_request_even_across_refills(
    make_gateway: GatewayFactory,
) -> None:
    data = {
        s: [make_dataset(s, i, open_type=OpenType.NOT_OPEN) for i in range(3)]
        + [make_dataset(s, 3 + i) for i in range(3)]
        for s in ("a", "b", "c")
    }

    class SlowRefills(MemoryConnector):
        async def search(self, query: SearchQuery) -> SearchPage:
            if query.offset:
                await asyncio.sleep(0.25)
            return await super().search(query)

    gateway = make_gateway(
        data, connector_class=SlowRefills, timeouts=dict.fromkeys(data, 0.4), push_down=False
    )
    started = time.perf_counter()
    await gateway.engine.search(SearchRequest(sort=Sort.MODIFIED_ASC, first=6), grants())
    assert time.perf_counter() - started < 0.4 + 0.3


async def test_matched_is_null_unless_the_source_applied_the_visibility(
    make_gateway: GatewayFactory,
) -> None:
    data = [make_dataset("a", 0)] + [
        make_dataset("a", i, open_type=OpenType.NOT_OPEN, sensitivity=Sensitivity.L4)
        for i in range(1, 39)
    ]
    gateway = make_gateway({"a": data}, push_down=False)
    result = await gateway.engine.search(SearchRequest(first=1), grants())
    assert result.total_count == 1
    assert [r.matched for r in result.sources] == [None]
    exact = make_gateway({"a": data})
    result = await exact.engine.search(SearchRequest(first=1), grants())
    assert [r.matched for r in result.sources] == [1]


class HugeCount(MemoryConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        page = await super().search(query)
        return replace(page, total=2**40)


async def test_an_absurd_upstream_count_is_clamped_not_fatal(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway({"a": [make_dataset("a", 1)]}, connector_class=HugeCount)
    async with asgi_client(gateway) as client:
        response = await client.post(
            "/graphql", json={"query": "{ datasets { totalCount totalCountIsExact } }"}
        )
    assert response.json()["data"]["datasets"]["totalCountIsExact"] is False


async def test_a_cursor_is_bound_to_the_grants_it_was_issued_under(
    make_gateway: GatewayFactory,
) -> None:
    policy = Policy.parse(POLICY)
    gateway = make_gateway({"a": [make_dataset("a", i) for i in range(5)]}, policy=POLICY)
    anonymous = await gateway.engine.search(SearchRequest(first=2), grants(policy))
    from gateway.federation.cursor import CursorError

    with pytest.raises(CursorError):
        await gateway.engine.search(
            SearchRequest(first=2, after=anonymous.end_cursor),
            grants(policy, Caller("analyst", department="a", roles=("staff",))),
        )


async def test_facets_are_asked_of_sources_only_when_selected(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway({"a": [make_dataset("a", i) for i in range(3)]})
    connector: MemoryConnector = gateway.connectors[0]  # type: ignore[assignment]
    async with asgi_client(gateway) as client:
        await client.post("/graphql", json={"query": "{ datasets { totalCount } }"})
        await client.post(
            "/graphql",
            json={
                "query": "{ datasets { ...F } } fragment F on DatasetConnection "
                "{ facets { themes { value } } }"
            },
        )
    assert [bool(q.facets) for q in connector.calls.searches] == [False, True]


async def test_copies_on_a_page_are_one_dataset_served_from_the_authority(
    make_gateway: GatewayFactory,
) -> None:
    from schema.model import Department

    dept = Department("transport", "Transport")
    portal_copy = make_dataset(
        "portal", 1, identifier="X-1", department=dept, modified=BASE + timedelta(days=1)
    )
    original = make_dataset(
        "transport", 1, identifier="X-1", department=dept, modified=BASE + timedelta(days=5)
    )
    gateway = make_gateway({"portal": [portal_copy], "transport": [original]})
    gateway.engine.connector("transport").settings = replace(  # type: ignore[union-attr]
        gateway.engine.connector("transport").settings,  # type: ignore[union-attr]
        authoritative_for=("transport",),
    )
    result = await gateway.engine.search(SearchRequest(first=10), grants())
    [edge] = result.edges
    assert edge.dataset.source_id == "transport"
    [copy] = edge.dataset.also_published_by
    assert (copy.source_id, copy.local_id, copy.stale) == ("portal", "portal-1", True)
    assert result.total_count_is_exact is False


@pytest.mark.parametrize("key", ["departments", "themes", "share_types", "open_types"])
def test_an_empty_allow_list_is_a_policy_error_not_everything(key: str) -> None:
    from gateway.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        Policy.parse(
            {
                "callers": [{"id": "x"}],
                "grants": [{"id": "g", "to": {"callers": ["x"]}, "allow": {key: []}}],
            }
        )
    assert any(p.path == f"grants[0].allow.{key}" for p in caught.value.problems)


async def test_no_source_call_outlives_the_whole_request_deadline(
    make_gateway: GatewayFactory,
) -> None:
    from gateway.federation.search import request_deadline

    gateway = make_gateway(
        {"ok": [make_dataset("ok", 1)], "hung": [make_dataset("hung", 1)]},
        timeouts={"hung": 30.0},
        connector_class=HangingConnector,
    )
    started = time.perf_counter()
    with request_deadline(0.3):
        result = await gateway.engine.search(SearchRequest(), grants())
    assert time.perf_counter() - started < 2.0
    assert {r.source_id: r.status for r in result.sources}["hung"] is SourceStatus.TIMEOUT


class ForwardOnly(MemoryConnector):
    """A platform that pages by token: without one it walks again from its first row."""

    rows_read: list[int]

    async def search(self, query: SearchQuery) -> SearchPage:
        start = 0
        if query.resume is not None and query.resume[1] == f"t{query.resume[0]}":
            start = min(query.resume[0], query.offset)
        self.rows_read.append(query.offset - start + query.limit)
        page = await super().search(query)
        end = query.offset + page.upstream_rows()
        return replace(page, resume_points=((query.offset, f"t{query.offset}"), (end, f"t{end}")))


async def test_a_page_token_in_the_cursor_resumes_a_forward_only_platform_anywhere(
    http_client: Any,
) -> None:
    # Every page is served by a new engine (a restart, another replica): what lets the
    # platform continue is the token sealed in the cursor, not anything kept in memory.
    from connectors.sdk import SourceSettings
    from gateway.federation.cursor import CursorCodec
    from gateway.federation.search import FederatedSearch

    data = [make_dataset("a", i) for i in range(12)]
    codec_secret = b"s" * 32
    connector = ForwardOnly(SourceSettings(id="a", url="http://127.0.0.1:9"), http_client, data)
    connector.rows_read = []
    served, after = [], None
    for _ in range(10):
        engine = FederatedSearch([connector], CursorCodec(codec_secret))
        page = await engine.search(SearchRequest(first=3, after=after), grants())
        served += [e.dataset.local_id for e in page.edges]
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert served == [f"a-{i}" for i in range(12)]
    assert connector.rows_read == [3] * len(connector.rows_read)  # never a walk from row 0
