"""Relevance shares: each source is asked for its share of a fused page, not a whole page.

The unit tests pin what is asked of each source (``fused_share``, a refill when a source runs
out, copy groups and ordered merges keeping the whole page). The differential property test
pages random federations through the sized engine and through the plain one
(``sized_fetch=False``, every first call a whole page: the oracle) and requires the same pages
in the same order with the same access, counts, facets and ``hasNextPage``, and that either
engine continues the other's cursors to the same next page.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from connectors.sdk import SearchPage, SearchQuery, Sort, SourceSettings
from gateway.access.policy import ANONYMOUS, GrantSet, Policy
from gateway.federation.batch import fused_share
from gateway.federation.cursor import CursorCodec
from gateway.federation.search import (
    FederatedSearch,
    SearchRequest,
    SearchResult,
    SourceStatus,
)
from schema.model import OpenType, Sensitivity, ShareType
from tests.gateway.conftest import make_dataset
from tests.gateway.federation.test_federation_properties import (
    NOW,
    Federation,
    _case,
    _source,
    federations,
    property_sources,
    shared_identifiers,
    unique_identifiers,
)
from tests.gateway.memory_connector import MemoryConnector
from tests.gateway.policy_strategies import as_caller, as_seen, properties

# -- what each source is asked ------------------------------------------------------------


def grants() -> GrantSet:
    return Policy.default().grant_set(ANONYMOUS, None, NOW)


def test_a_share_covers_the_page_with_one_row_to_spare_and_never_exceeds_it() -> None:
    assert fused_share(20, 8) == 4  # ceil(20 / 8) + 1
    assert fused_share(20, 1) == 20
    assert fused_share(3, 2) == 3  # ceil(3 / 2) + 1 = 3
    assert fused_share(1, 8) == 1
    for first in range(1, 60):
        for sources in range(1, 12):
            share = fused_share(first, sources)
            assert 1 <= share <= first
            assert share * sources >= first


def _engine(
    client: httpx.AsyncClient,
    rows: dict[str, int],
    *,
    republishes: tuple[str, ...] = (),
    sized: bool = True,  # the engine's default is the whole page
) -> tuple[FederatedSearch, list[MemoryConnector]]:
    connectors = [
        MemoryConnector(
            SourceSettings(id=sid, url="http://127.0.0.1:9", republishes=republishes),
            client,
            [make_dataset(sid, i) for i in range(count)],
        )
        for sid, count in rows.items()
    ]
    return FederatedSearch(connectors, CursorCodec(b"k" * 32), sized_fetch=sized), connectors


def _limits(connectors: list[MemoryConnector]) -> dict[str, list[int]]:
    return {c.source_id: [q.limit for q in c.calls.searches] for c in connectors}


async def test_relevance_asks_each_of_eight_sources_for_four_rows_for_a_page_of_twenty() -> None:
    async with httpx.AsyncClient() as client:
        engine, connectors = _engine(client, {f"s{i}": 50 for i in range(8)})
        result = await engine.search(SearchRequest(first=20), grants())
    assert len(result.edges) == 20
    assert result.has_next_page
    assert _limits(connectors) == {f"s{i}": [4] for i in range(8)}


async def test_the_plain_engine_asks_every_source_for_a_whole_page() -> None:
    async with httpx.AsyncClient() as client:
        engine, connectors = _engine(client, {f"s{i}": 50 for i in range(8)}, sized=False)
        await engine.search(SearchRequest(first=20), grants())
    assert _limits(connectors) == {f"s{i}": [20] for i in range(8)}


async def test_a_source_that_runs_out_leaves_the_others_asked_again_for_the_rest() -> None:
    # "b" holds one row: "a" must give 9 of the 10, more than its share of 6. Its second
    # call asks for what the page still needs (3) and one row to spare, not a whole page.
    async with httpx.AsyncClient() as client:
        engine, connectors = _engine(client, {"a": 30, "b": 1})
        result = await engine.search(SearchRequest(first=10), grants())
    assert [e.dataset.local_id for e in result.edges][:3] == ["a-0", "b-0", "a-1"]
    assert len(result.edges) == 10
    a, b = connectors
    assert [(q.offset, q.limit) for q in a.calls.searches] == [(0, 6), (6, 4)]
    assert [(q.offset, q.limit) for q in b.calls.searches] == [(0, 6)]
    assert result.total_count == 31


async def test_ordered_merges_and_copy_groups_still_ask_for_a_whole_page() -> None:
    # A merge on values may draw the whole page from one source; a copy group's count is
    # bounded by the rows read, so both keep asking for `first`.
    async with httpx.AsyncClient() as client:
        engine, connectors = _engine(client, {"a": 30, "b": 30})
        await engine.search(SearchRequest(first=10, sort=Sort.MODIFIED_DESC), grants())
        assert _limits(connectors) == {"a": [10], "b": [10]}
        engine, connectors = _engine(client, {"a": 30, "b": 30}, republishes=("*",))
        await engine.search(SearchRequest(first=10), grants())
        assert _limits(connectors) == {"a": [10], "b": [10]}


async def test_a_source_found_not_exact_is_read_as_far_as_a_whole_first_page_would_be() -> None:
    # "a" cannot apply filters or visibility: after its share it is topped up to `first`
    # rows and then read ahead exactly as the plain engine reads it, so its count holds.
    async with httpx.AsyncClient() as client:
        engine, (a, b) = _engine(client, {"a": 300, "b": 300})
        a.push_down = False
        sized = await engine.search(SearchRequest(first=10), grants())
        plain, (pa, pb) = _engine(client, {"a": 300, "b": 300}, sized=False)
        pa.push_down = False
        expected = await plain.search(SearchRequest(first=10), grants())
    assert [(q.offset, q.limit) for q in a.calls.searches][:2] == [(0, 6), (6, 4)]
    assert a.calls.searches[-1].offset + a.calls.searches[-1].limit == (
        pa.calls.searches[-1].offset + pa.calls.searches[-1].limit
    )
    assert sized.total_count == expected.total_count
    assert [e.dataset.local_id for e in sized.edges] == [e.dataset.local_id for e in expected.edges]


# -- the differential property: sized engine == plain engine ------------------------------


def _summary(result: SearchResult) -> tuple[object, ...]:
    return (
        [
            (
                e.dataset.source_id,
                e.dataset.local_id,
                as_seen(e.access),
                tuple((r.source_id, r.local_id) for r in e.dataset.also_published_by),
            )
            for e in result.edges
        ],
        result.has_next_page,
        result.end_cursor is None,
        result.total_count,
        result.total_count_is_exact,
        {name: tuple(values) for name, values in result.facets.items()},
        [(s.source_id, s.status) for s in result.sources],
        result.withheld,
    )


async def _compare(case: Federation) -> None:
    policy = Policy.parse(case.raw_policy)
    grant_set: GrantSet = policy.grant_set(as_caller(case.who), case.purpose, NOW)
    codec = CursorCodec(b"k" * 32)  # one key: either engine reads the other's cursors
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_network)) as client:
        sized = FederatedSearch(property_sources(case, client), codec, sized_fetch=True)
        plain = FederatedSearch(property_sources(case, client), codec, sized_fetch=False)
        request = SearchRequest(filter=case.filter, sort=case.sort, first=case.first)
        after_sized: str | None = None
        after_plain: str | None = None
        for _ in range(sum(len(s.records) for s in case.sources) + 2):
            got = await sized.search(replace(request, after=after_sized), grant_set)
            want = await plain.search(replace(request, after=after_plain), grant_set)
            assert _summary(got) == _summary(want)
            if after_sized is not None:  # the plain engine continues the sized cursor alike
                crossed = await plain.search(replace(request, after=after_sized), grant_set)
                assert _summary(crossed)[:5] == _summary(want)[:5]
            if not got.has_next_page:
                return
            after_sized, after_plain = got.end_cursor, want.end_cursor
        raise AssertionError("paging did not end")


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected network call: {request.url}")


def _alone(case: Federation) -> Federation:
    """Sources that republish nothing, so no copy group keeps them from sharing."""
    return replace(case, sources=tuple(replace(s, republishes=()) for s in case.sources))


def _open(case: Federation) -> Federation:
    """Every record open to anyone: sources run out of rows, not of grants."""
    return replace(
        case,
        sources=tuple(
            replace(s, records=tuple(replace(r, **_OPEN_CLASSES) for r in s.records))
            for s in case.sources
        ),
    )


_OPEN_CLASSES: dict[str, Any] = {
    "share_type": ShareType.UNCONDITIONAL,
    "open_type": OpenType.OPEN,
    "sensitivity": Sensitivity.L1,
}


# "s0" must give more than its share of the page (once ended short of `first`).
@example(_case(_source(*"abcdefg"), _source("h"), sort=Sort.RELEVANCE, first=7))
@properties(60)
@given(
    st.one_of(
        federations(unique_identifiers, (Sort.RELEVANCE,)),
        federations(unique_identifiers, (Sort.RELEVANCE,)).map(_open),
        federations(shared_identifiers, (Sort.RELEVANCE,)).map(_open),
        federations(shared_identifiers),
    ).map(_alone)
)
def test_sized_fetches_page_exactly_like_whole_page_fetches(case: Federation) -> None:
    asyncio.run(_compare(case))


def test_sized_first_calls_are_smaller_than_whole_pages_on_the_property_federations() -> None:
    # The property above is not vacuous: its sources do get shares, not whole pages.
    async def run() -> list[SearchQuery]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(_no_network)) as client:
            engine, connectors = _engine(client, {"s0": 9, "s1": 9, "s2": 9})
            await engine.search(SearchRequest(first=7), grants())
            return [q for c in connectors for q in c.calls.searches]

    assert {q.limit for q in asyncio.run(run())} == {fused_share(7, 3)}


class _Hung(MemoryConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        await asyncio.sleep(10)
        raise AssertionError("the deadline should have ended this call")


async def test_a_hung_source_ends_the_page_short_instead_of_a_refill_past_the_deadline() -> None:
    # The healthy source gave its share; by the time the hung one timed out its deadline
    # had passed too: no refill (it would time out and count against its breaker), a short
    # page, and the next page resumes it.
    async with httpx.AsyncClient() as client:
        settings = SourceSettings(id="ok", url="http://127.0.0.1:9", timeout_seconds=0.05)
        healthy = MemoryConnector(settings, client, [make_dataset("ok", i) for i in range(30)])
        hung = _Hung(replace(settings, id="hung"), client)
        engine = FederatedSearch([healthy, hung], CursorCodec(b"k" * 32), sized_fetch=True)
        result = await engine.search(SearchRequest(first=10), grants())
    statuses = {r.source_id: r.status for r in result.sources}
    assert statuses == {"ok": SourceStatus.OK, "hung": SourceStatus.TIMEOUT}
    assert [q.limit for q in healthy.calls.searches] == [fused_share(10, 2)]
    assert len(result.edges) == fused_share(10, 2)
    assert result.has_next_page


async def test_copies_across_sources_are_refilled_in_one_round_for_what_the_page_needs() -> None:
    # Four sources, two by two the same catalogue (same identifiers): the shares give 16
    # rows but 8 records. When the first source runs out (7 served from 16 rows read),
    # every source still on its share is asked again at once, for its part of the 3
    # records still needed scaled by the rows each took: ceil(ceil(3 * 16 / 7) / 4) + 1.
    async with httpx.AsyncClient() as client:
        connectors = [
            MemoryConnector(
                SourceSettings(id=f"s{i}", url="http://127.0.0.1:9"),
                client,
                [make_dataset(f"s{i}", n, identifier=f"X{i % 2}-{n}") for n in range(40)],
            )
            for i in range(4)
        ]
        engine = FederatedSearch(connectors, CursorCodec(b"k" * 32), sized_fetch=True)
        result = await engine.search(SearchRequest(first=10), grants())
    assert len(result.edges) == 10
    assert len({e.dataset.identifier for e in result.edges}) == 10
    calls = [[(q.offset, q.limit) for q in c.calls.searches] for c in connectors]
    share = fused_share(10, 4)
    assert calls == [[(0, share), (share, 3)]] * 4
