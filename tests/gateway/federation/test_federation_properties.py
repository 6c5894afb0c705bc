"""Property-based tests: the federation engine paging through random federations.

One to four in-memory sources (random sizes and orders, push-down on or off, page caps,
unmappable rows, copies sharing an identifier, one source maybe down) are paged through
to the end with a random ``first``; what comes back is checked against what
``reference_policy`` says the caller may see. Every source may republish the others'
records, so copies are looked up across pages (gateway/copies.py). The ``@example``s are
the minimal cases that failed before; ``PROPERTY_EXAMPLES=2000`` hunts with more.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from connectors.sdk import (
    DatasetFilter,
    SearchPage,
    SearchQuery,
    Sort,
    SourceSettings,
    SourceUnavailable,
)
from gateway.access.policy import GrantSet, Policy
from gateway.federation.cursor import CursorCodec
from gateway.federation.search import (
    MAX_SOURCE_CALLS,
    FederatedSearch,
    SearchRequest,
    SearchResult,
)
from schema.model import Dataset, OpenType, Sensitivity, ShareType
from tests.gateway.memory_connector import MemoryConnector
from tests.gateway.policy_strategies import (
    DEPARTMENTS,
    THEMES,
    Traits,
    as_caller,
    as_seen,
    callers,
    make_policy,
    policies,
    properties,
    purposes,
)
from tests.gateway.reference_policy import Seen, Who, reference_access

# -- the federation engine against the catalogue ---------------------------------------------


class PropertySource(MemoryConnector):
    """An in-memory source that may be down for the whole test."""

    down = False

    async def search(self, query: SearchQuery) -> SearchPage:
        if self.down:
            self.calls.searches.append(query)
            raise SourceUnavailable("the platform refused the connection")
        return await super().search(query)


@dataclass(frozen=True)
class SourceSpec:
    records: tuple[Traits, ...]
    push_down: bool
    page_cap: int | None
    unmappable: frozenset[int]
    authoritative_for: tuple[str, ...]
    # Every source may republish any other's records (gateway/copies.py looks them up).
    republishes: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class Federation:
    sources: tuple[SourceSpec, ...]
    down: int | None  # index of the source that fails every call
    raw_policy: dict[str, Any]
    who: Who
    purpose: str | None
    sort: Sort
    first: int
    filter: DatasetFilter


def _source_specs(
    identifiers: st.SearchStrategy[str | None], *, mappable: bool, regular: bool
) -> st.SearchStrategy[SourceSpec]:
    records = st.lists(
        st.builds(
            Traits,
            department=st.none() | st.sampled_from(DEPARTMENTS),
            themes=st.lists(st.sampled_from(THEMES), unique=True, max_size=2).map(tuple),
            share_type=st.sampled_from(ShareType),
            open_type=st.sampled_from(OpenType),
            sensitivity=st.sampled_from(Sensitivity),
            modified_day=st.none() | st.integers(0, 6),
            title=st.sampled_from("abcd"),
            identifier=identifiers,
        ),
        max_size=14,
    ).map(tuple)
    return st.builds(
        SourceSpec,
        records=records,
        push_down=st.just(True) if regular else st.booleans(),
        page_cap=st.none() if regular else st.none() | st.integers(1, 4),
        unmappable=st.just(frozenset())
        if regular or mappable
        else st.frozensets(st.integers(0, 13), max_size=3),
        authoritative_for=st.lists(st.sampled_from(DEPARTMENTS), unique=True).map(tuple),
    )


_request_filters = st.sampled_from(
    [
        DatasetFilter(),
        DatasetFilter(themes=("transport",)),
        DatasetFilter(max_sensitivity=Sensitivity.L2),
        DatasetFilter(share_types=(ShareType.UNCONDITIONAL, ShareType.CONDITIONAL)),
        DatasetFilter(departments=("d0", "d1")),
    ]
)


def federations(
    identifiers: st.SearchStrategy[str | None],
    sorts: Sequence[Sort] = tuple(Sort),
    *,
    mappable: bool = False,
    regular: bool = False,
) -> st.SearchStrategy[Federation]:
    """1-4 sources, one maybe down; ``regular``: every source answers whole pages."""
    specs = _source_specs(identifiers, mappable=mappable, regular=regular)
    return st.lists(specs, min_size=1, max_size=4).flatmap(
        lambda specs: st.builds(
            Federation,
            sources=st.just(tuple(specs)),
            down=st.none() | st.integers(0, len(specs) - 1),
            raw_policy=policies,
            who=callers,
            purpose=purposes,
            sort=st.sampled_from(sorts),
            first=st.integers(1, 7),
            filter=_request_filters,
        )
    )


unique_identifiers: st.SearchStrategy[str | None] = st.none()
shared_identifiers: st.SearchStrategy[str | None] = st.none() | st.sampled_from(["X0", "X1", "X2"])
ORDERED = (Sort.MODIFIED_DESC, Sort.MODIFIED_ASC, Sort.TITLE_ASC)


@dataclass
class Paged:
    """Everything one paging through a federation produced, and what it should have."""

    pages: list[SearchResult]
    calls: list[dict[str, list[SearchQuery]]]  # per page: each source's upstream queries
    visible: dict[tuple[str, str], Seen]  # every record the caller should get, and how
    rank: dict[tuple[str, str], int]  # a record's position in its source's own order
    rows: dict[str, int]  # how many upstream rows each source holds for the query
    live: tuple[str, ...]  # sources that answer
    grants: GrantSet

    @property
    def served(self) -> list[Dataset]:
        return [edge.dataset for page in self.pages for edge in page.edges]

    def listed(self) -> list[tuple[str, str]]:
        """Every record the caller got: served, or named as a copy of one served."""
        keys = []
        for dataset in self.served:
            keys.append((dataset.source_id, dataset.local_id))
            keys += [(ref.source_id, ref.local_id) for ref in dataset.also_published_by]
        return keys


NOW = datetime(2025, 1, 5, 12, tzinfo=UTC)


def property_sources(case: Federation, client: httpx.AsyncClient) -> list[PropertySource]:
    """The case's sources as connectors (source ``s<i>``; ``case.down`` fails)."""
    connectors = []
    for i, spec in enumerate(case.sources):
        sid = f"s{i}"
        connector = PropertySource(
            SourceSettings(
                id=sid,
                url="http://127.0.0.1:9",
                authoritative_for=spec.authoritative_for,
                republishes=spec.republishes,
            ),
            client,
            [t.dataset(sid, n) for n, t in enumerate(spec.records)],
            push_down=spec.push_down,
            page_cap=spec.page_cap,
            unmappable=spec.unmappable,
        )
        connector.down = i == case.down
        connectors.append(connector)
    return connectors


async def _page_through(case: Federation) -> Paged:
    policy = Policy.parse(case.raw_policy)
    grant_set = policy.grant_set(as_caller(case.who), case.purpose, NOW)
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_network)) as client:
        connectors = property_sources(case, client)
        engine = FederatedSearch(connectors, CursorCodec(b"k" * 32))
        request = SearchRequest(filter=case.filter, sort=case.sort, first=case.first)

        visible: dict[tuple[str, str], Seen] = {}
        rank: dict[tuple[str, str], int] = {}
        upstream: dict[str, int] = {}
        for connector in connectors:
            # The source's own order for this query, as every page will see it.
            rows = connector._ordered(
                SearchQuery(filter=case.filter, sort=case.sort, any_of=grant_set.visibility())
            )
            upstream[connector.source_id] = len(rows)
            stored = connector.datasets
            skipped = {id(stored[i]) for i in connector.unmappable if i < len(stored)}
            for position, dataset in enumerate(rows):
                rank[(dataset.source_id, dataset.local_id)] = position
            for dataset in connector.datasets:
                seen = reference_access(case.raw_policy, case.who, case.purpose, NOW, dataset)
                if (
                    seen is not None
                    and not connector.down
                    and case.filter.matches(dataset)
                    and id(dataset) not in skipped
                ):
                    visible[(dataset.source_id, dataset.local_id)] = seen

        pages: list[SearchResult] = []
        calls: list[dict[str, list[SearchQuery]]] = []
        # Every page consumes at least one upstream row or ends the paging.
        limit = sum(len(spec.records) for spec in case.sources) + 2
        after = None
        for _ in range(limit):
            before = {c.source_id: len(c.calls.searches) for c in connectors}
            result = await engine.search(replace(request, after=after), grant_set)
            pages.append(result)
            calls.append({c.source_id: c.calls.searches[before[c.source_id] :] for c in connectors})
            if not result.has_next_page:
                break
            after = result.end_cursor
        else:
            raise AssertionError(f"paging did not end within {limit} pages")
    live = tuple(c.source_id for c in connectors if not c.down)
    return Paged(pages, calls, visible, rank, upstream, live, grant_set)


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected network call: {request.url}")


def page_through(case: Federation) -> Paged:
    return asyncio.run(_page_through(case))


def order_key(sort: Sort, dataset: Dataset) -> tuple[Any, ...]:
    """The requested order on what the client sees (records without a date go last)."""
    if sort is Sort.TITLE_ASC:
        return (dataset.title,)
    if dataset.modified is None:
        return (1, 0.0)
    stamp = dataset.modified.timestamp()
    return (0, -stamp if sort is Sort.MODIFIED_DESC else stamp)


def _keys(datasets: Sequence[Dataset]) -> list[tuple[str, str]]:
    return [(d.source_id, d.local_id) for d in datasets]


@properties(60)
@given(federations(unique_identifiers))
def test_paging_lists_every_visible_record_exactly_once_and_never_a_hidden_one(
    case: Federation,
) -> None:
    paged = page_through(case)
    assert Counter(paged.listed()) == Counter(paged.visible.keys())
    for page in paged.pages:
        for edge in page.edges:
            key = (edge.dataset.source_id, edge.dataset.local_id)
            assert as_seen(edge.access) == paged.visible[key]  # privilege and masks per dataset
    first = paged.pages[0]
    assert first.total_count <= len(paged.visible) or (
        # A platform's count includes rows its connector cannot map (it cannot know them
        # before reading them), never a record the caller may not see.
        first.total_count_is_exact and any(spec.unmappable for spec in case.sources)
    )
    if first.total_count_is_exact and not any(spec.unmappable for spec in case.sources):
        assert first.total_count == len(paged.visible)


@properties(60)
@given(federations(unique_identifiers, ORDERED, mappable=True))
def test_paging_serves_records_in_the_requested_order(case: Federation) -> None:
    paged = page_through(case)
    keys = [order_key(case.sort, d) for d in paged.served]
    assert keys == sorted(keys)


def _case(*sources: SourceSpec, sort: Sort = Sort.TITLE_ASC, first: int = 1) -> Federation:
    return Federation(
        sources,
        None,
        make_policy({}, []),
        Who("anonymous", anonymous=True),
        None,
        sort,
        first,
        DatasetFilter(),
    )


_OPEN = Traits(None, (), ShareType.UNCONDITIONAL, OpenType.OPEN, Sensitivity.L1, None, "a")


def _source(*titles: str, unmappable: frozenset[int] = frozenset()) -> SourceSpec:
    records = tuple(replace(_OPEN, title=t) for t in titles)
    return SourceSpec(records, True, None, unmappable, ())


@example(_case(_source("b"), _source("a", "a", unmappable=frozenset({0}))))
@properties(60, shrink=False)
@given(federations(unique_identifiers, ORDERED))
def test_paging_keeps_the_order_when_a_source_skips_unmappable_rows(case: Federation) -> None:
    paged = page_through(case)
    keys = [order_key(case.sort, d) for d in paged.served]
    assert keys == sorted(keys)


@properties(60)
@given(federations(unique_identifiers))
def test_upstream_calls_per_page_are_bounded_and_no_page_rereads_what_earlier_pages_served(
    case: Federation,
) -> None:
    # Bound: per page, at most MAX_SOURCE_CALLS calls to each source (refills of a source
    # that blocks the merge, or reading ahead one that cannot apply the visibility upstream,
    # so that hidden records do not shape the page); a source that is down
    # is asked once and sits the page out. Across pages, each source resumes after the
    # last record it contributed (the cursor carries its position, never 0 again), and
    # after the first page no source is asked past the end of its rows.
    paged = page_through(case)
    contributed: dict[str, int] = {}  # source -> highest rank it contributed so far
    for number, (page, calls) in enumerate(zip(paged.pages, paged.calls, strict=True)):
        for sid, queries in calls.items():
            assert len(queries) <= (MAX_SOURCE_CALLS if sid in paged.live else 1)
            offsets = [q.offset for q in queries]
            assert offsets == sorted(set(offsets))  # refills move forward
            if queries and sid in contributed:
                assert offsets[0] > contributed[sid]
            if sid in paged.live and number > 0:
                assert all(offset < paged.rows[sid] for offset in offsets)
        for key in _keys([e.dataset for e in page.edges]):
            contributed[key[0]] = max(contributed.get(key[0], -1), paged.rank[key])


@properties(60)
@given(federations(unique_identifiers, regular=True))
def test_sources_that_answer_whole_pages_are_asked_once_per_page(case: Federation) -> None:
    # Sources that apply the visibility and filters and answer `first` rows need no
    # refill: each page asks each source still holding rows once, and the paging takes
    # ceil(visible / first) pages (one, when nothing is visible).
    paged = page_through(case)
    pages = max(1, math.ceil(len(paged.visible) / case.first))
    assert len(paged.pages) == pages
    for calls in paged.calls:
        assert all(len(queries) <= 1 for queries in calls.values())
    total = sum(len(queries) for calls in paged.calls for queries in calls.values())
    assert total <= len(case.sources) * pages


# -- copies: records that share an identifier ("one data, one source") ----------------------


def _record(title: str, identifier: str | None = None, department: str | None = None) -> Traits:
    return replace(_OPEN, title=title, identifier=identifier, department=department)


def _copies(*records: Traits, page_cap: int | None = None, authority: str = "") -> SourceSpec:
    return SourceSpec(records, True, page_cap, frozenset(), (authority,) if authority else ())


@example(
    _case(
        _copies(_record("a", "X")),
        _copies(_record("a", "X"), _record("b"), page_cap=1),
        sort=Sort.RELEVANCE,
        first=2,
    )
)
@properties(60, shrink=False)
@given(federations(shared_identifiers))
def test_every_visible_copy_is_listed_once_served_or_in_also_published_by(
    case: Federation,
) -> None:
    paged = page_through(case)
    assert Counter(paged.listed()) == Counter(paged.visible.keys())


@example(_case(_copies(_record("a", "X"), _record("a", "X")), sort=Sort.RELEVANCE, first=1))
@properties(60, shrink=False)
@given(federations(shared_identifiers))
def test_one_identifier_is_served_once_over_all_pages(case: Federation) -> None:
    paged = page_through(case)
    served = [d.identifier for d in paged.served if d.identifier is not None]
    assert len(served) == len(set(served))


@example(
    _case(
        _copies(_record("a", "X"), _record("b"), _record("c", "X", "d0"), authority="d0"),
        sort=Sort.TITLE_ASC,
        first=3,
    )
)
@properties(60, shrink=False)
@given(federations(shared_identifiers, ORDERED, mappable=True))
def test_merged_copies_keep_the_requested_order(case: Federation) -> None:
    paged = page_through(case)
    keys = [order_key(case.sort, d) for d in paged.served]
    assert keys == sorted(keys)


@properties(60)
@given(federations(shared_identifiers))
def test_a_copy_from_the_authoritative_source_is_the_one_served(case: Federation) -> None:
    paged = page_through(case)
    authority = {f"s{i}": spec.authoritative_for for i, spec in enumerate(case.sources)}

    def authoritative(source_id: str, department: str | None) -> bool:
        return department is not None and department in authority[source_id]

    records = {
        (d.source_id, d.local_id): d
        for i, spec in enumerate(case.sources)
        for d in (t.dataset(f"s{i}", n) for n, t in enumerate(spec.records))
    }
    for dataset in paged.served:
        for ref in dataset.also_published_by:
            copy = records[(ref.source_id, ref.local_id)]
            department = copy.department.id if copy.department else None
            if authoritative(ref.source_id, department):
                served_department = dataset.department.id if dataset.department else None
                assert authoritative(dataset.source_id, served_department)
