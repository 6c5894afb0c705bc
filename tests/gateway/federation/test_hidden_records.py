"""Hidden records never shape an answer: page sizes, hasNextPage, cursors and counts depend
only on what the caller may see (issue 10, failure 2), and a failed source leaves the best
sound lower bound, not what happened to be fetched."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from connectors.sdk import DatasetFilter, FilterName, SearchPage, SearchQuery
from gateway.access.policy import ANONYMOUS, Policy
from gateway.federation.search import READ_AHEAD_ROWS, SearchRequest, SearchResult
from schema.model import OpenType, ShareType
from tests.gateway.conftest import BASE, GatewayFactory, make_dataset
from tests.gateway.memory_connector import MemoryConnector


class FilterOnlyConnector(MemoryConnector):
    """Like a REST, data.json, DCAT or file source: it applies the filters the request
    names, but not the caller's visibility (``any_of``)."""

    async def search(self, query: SearchQuery) -> SearchPage:
        self.calls.searches.append(query)
        rows = [d for d in self.datasets if query.filter.matches(d)]
        page = rows[query.offset : query.offset + query.limit]
        return SearchPage(
            datasets=tuple(page),
            total=len(rows),
            applied=query.filter.active() - {FilterName.IDENTIFIERS},
            any_of_applied=False,
        )


def anonymous() -> Any:
    return Policy.default().grant_set(ANONYMOUS, None, BASE)


def department_records(department: str, hidden: int, visible: int = 0) -> list[Any]:
    """``hidden`` NOT_SHARED records of ``department``, then ``visible`` open ones."""
    from schema.model import Department

    owner = Department(department, department)
    rows = [
        make_dataset(
            "rest", i, department=owner, share_type=ShareType.NOT_SHARED, open_type=OpenType.OPEN
        )
        for i in range(hidden)
    ]
    return rows + [make_dataset("rest", hidden + i, department=owner) for i in range(visible)]


def shape(result: SearchResult) -> tuple[Any, ...]:
    """Everything a client reads of a connection, but the opaque cursor's bytes."""
    return (
        [e.dataset.local_id for e in result.edges],
        result.has_next_page,
        result.end_cursor is None,
        result.total_count,
        result.total_count_is_exact,
        {k: v for k, v in result.facets.items()},
        [(r.source_id, r.status, r.matched, r.message) for r in result.sources],
    )


async def test_anonymous_cannot_tell_a_department_with_hidden_records_from_a_missing_one(
    make_gateway: GatewayFactory,
) -> None:
    # The attack: datasets(first: 1, filter: {departments: [X], shareTypes: [NOT_SHARED]})
    # answered hasNextPage: true and an endCursor when X had hidden datasets, false/null when
    # X did not exist; raising `first` until hasNextPage turned false counted them exactly.
    gateway = make_gateway(
        {"rest": department_records("hr", hidden=37) + department_records("water", hidden=0)},
        connector_class=FilterOnlyConnector,
    )
    answers = {}
    for department in ("hr", "no-such-department"):
        for first in (1, 5, 36, 37, 38):
            request = SearchRequest(
                filter=DatasetFilter(
                    departments=(department,), share_types=(ShareType.NOT_SHARED,)
                ),
                first=first,
            )
            result = await gateway.engine.search(request, anonymous())
            answers[department, first] = shape(result)
            assert result.has_next_page is False and result.end_cursor is None
            assert result.edges == () and result.total_count == 0
    for first in (1, 5, 36, 37, 38):
        assert answers["hr", first] == answers["no-such-department", first]


async def test_pages_are_full_and_the_count_does_not_depend_on_the_page_size(
    make_gateway: GatewayFactory,
) -> None:
    # Visible records scattered among hidden ones, as on the demo's hr-rest platform, where
    # `first: 10` gave pages of 1, 3, 4, 3, 2 ... 0 records and totalCount 25 / 36 / 59 for
    # `first` 5 / 10 / 40.
    rows = [
        make_dataset("rest", i, open_type=OpenType.OPEN if i % 3 == 0 else OpenType.NOT_OPEN)
        for i in range(150)
    ]
    visible = [d.local_id for d in rows if d.open_type is OpenType.OPEN]
    gateway = make_gateway({"rest": rows}, connector_class=FilterOnlyConnector)
    counts = set()
    for first in (5, 10, 40):
        result = await gateway.engine.search(SearchRequest(first=first), anonymous())
        counts.add((result.total_count, result.total_count_is_exact))
    assert counts == {(len(visible), False)}  # the whole source fits in the read-ahead
    # A source larger than the read-ahead: a lower bound, the same for every page size.
    large = make_gateway(
        {"rest": [replace(d, local_id=f"big-{i}") for i, d in enumerate(rows * 3)]},
        connector_class=FilterOnlyConnector,
    )
    bounds = set()
    for first in (5, 10, 40):
        result = await large.engine.search(SearchRequest(first=first), anonymous())
        bounds.add((result.total_count, result.total_count_is_exact))
    assert bounds == {(len(range(0, READ_AHEAD_ROWS, 3)), False)}

    sizes, seen, totals, after = [], [], [], None
    while True:
        result = await gateway.engine.search(SearchRequest(first=10, after=after), anonymous())
        sizes.append(len(result.edges))
        seen += [e.dataset.local_id for e in result.edges]
        totals.append(result.total_count)
        if not result.has_next_page:
            break
        after = result.end_cursor
    assert sizes == [10, 10, 10, 10, 10]
    assert seen == visible
    assert set(totals) == {len(visible)}


async def test_a_lower_bound_grows_as_pages_are_read_and_never_shrinks(
    make_gateway: GatewayFactory,
) -> None:
    size = 3 * READ_AHEAD_ROWS  # more than one read-ahead: the first count is a bound
    rows = [
        make_dataset("rest", i, open_type=OpenType.OPEN if i % 2 else OpenType.NOT_OPEN)
        for i in range(size)
    ]
    gateway = make_gateway({"rest": rows}, connector_class=FilterOnlyConnector)
    totals, served, after = [], 0, None
    while True:
        result = await gateway.engine.search(SearchRequest(first=40, after=after), anonymous())
        served += len(result.edges)
        totals.append(result.total_count)
        assert result.total_count >= served  # sound: never below what was served
        assert result.total_count <= size // 2  # never more than there are
        if not result.has_next_page:
            break
        after = result.end_cursor
    assert totals == sorted(totals)
    assert totals[0] < size // 2 == totals[-1]
    assert served == size // 2


class HungConnector(MemoryConnector):
    async def search(self, query: SearchQuery) -> SearchPage:
        if self.source_id == "hung":
            await asyncio.sleep(3600)
        return await super().search(query)


async def test_a_hung_source_leaves_the_answering_sources_exact_counts_as_a_lower_bound(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway(
        {
            "a": [make_dataset("a", i) for i in range(30)],
            "b": [make_dataset("b", i) for i in range(30)],
            "hung": [make_dataset("hung", i) for i in range(30)],
        },
        timeouts={"hung": 0.2},
        connector_class=HungConnector,
    )
    result = await gateway.engine.search(SearchRequest(first=20), anonymous())
    assert len(result.edges) == 20
    assert (result.total_count, result.total_count_is_exact) == (60, False)  # not the 20 fetched
    second = await gateway.engine.search(
        SearchRequest(first=20, after=result.end_cursor), anonymous()
    )
    assert second.total_count >= 60


async def test_a_source_that_claims_to_apply_visibility_but_does_not_is_not_trusted_to_count(
    make_gateway: GatewayFactory,
) -> None:
    class Liar(MemoryConnector):
        async def search(self, query: SearchQuery) -> SearchPage:
            page = await super().search(query)
            return SearchPage(
                datasets=page.datasets,
                total=page.total,
                applied=query.filter.active(),
                any_of_applied=True,  # but it did not: push_down is off
            )

    rows = [
        make_dataset("a", i, open_type=OpenType.OPEN if i < 3 else OpenType.NOT_OPEN)
        for i in range(40)
    ]
    gateway = make_gateway({"a": rows}, connector_class=Liar, push_down=False)
    result = await gateway.engine.search(SearchRequest(first=5), anonymous())
    assert [e.dataset.local_id for e in result.edges] == ["a-0", "a-1", "a-2"]
    assert result.has_next_page is False
    assert (result.total_count, result.total_count_is_exact) == (3, False)  # not 40
    assert result.sources[0].matched is None


async def test_a_hung_copy_group_member_leaves_the_largest_member_count_as_the_bound(
    http_client: Any,
) -> None:
    # Sources of one copy group may hold the same datasets: their counts are not summed;
    # the largest one is still a sound lower bound (30 here, not the 10 fetched).
    from connectors.sdk import SourceSettings
    from gateway.federation.cursor import CursorCodec
    from gateway.federation.search import FederatedSearch

    def source(sid: str, **settings: Any) -> HungConnector:
        rows = [make_dataset(sid, i, identifier=f"{sid}-{i}") for i in range(30)]
        config = SourceSettings(id=sid, url="http://127.0.0.1:9", timeout_seconds=0.2, **settings)
        return HungConnector(config, http_client, rows)

    engine = FederatedSearch(
        [source("a"), source("b"), source("hung", republishes=("*",))], CursorCodec(b"k" * 32)
    )
    result = await engine.search(SearchRequest(first=5), anonymous())
    assert len(result.edges) == 5
    assert (result.total_count, result.total_count_is_exact) == (30, False)
