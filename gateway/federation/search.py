"""The federation engine: one search over many live sources.

``FederatedSearch.search`` fans a page request out to every selected source concurrently,
each call through the source's guard and under its deadline (``gateway/sources.py``),
post-filters what a source could not apply (and always the caller's grants), merges the
per-source lists in the requested order and cuts one page. The cursor records each
source's own upstream position (and page token), so the next page continues every source
where this one stopped instead of refetching from 0. Copies of one dataset on several
sources are served once (``gateway/copies.py``).

Merge order: MODIFIED_* and TITLE_ASC are exact k-way merges on the sort value; RELEVANCE
interleaves sources by their own rank (reciprocal rank fusion with one list per source
reduces to ordering by rank, ties broken by source order). A record from one source is
only emitted when no other source could still produce a record that sorts before it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import heapq
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import (
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field, replace
from typing import Any

from connectors.sdk import (
    Connector,
    DatasetFilter,
    FacetName,
    SearchPage,
    SearchQuery,
    Sort,
)
from gateway.access import Access, GrantSet
from gateway.federation.copies import (
    LOOKUP_CHUNK,
    MAX_LOOKUP_ROUNDS,
    CopyIndex,
    Found,
    canonical,
    copy_groups,
    with_copies,
)
from gateway.federation.cursor import CursorCodec, CursorState
from gateway.federation.facets import count_facets, merge_upstream_facets
from gateway.federation.sources import (
    REQUEST_DEADLINE,
    SourceAccess,
    SourceReport,
    SourceStatus,
    request_deadline,
)
from gateway.federation.upstream import SourceGuard
from schema.model import Dataset

__all__ = [
    "MAX_FETCH_ROUNDS",
    "REQUEST_DEADLINE",
    "Edge",
    "FederatedSearch",
    "SearchRequest",
    "SearchResult",
    "SourceReport",
    "SourceStatus",
    "request_deadline",
    "sort_key",
]

log = logging.getLogger("gateway.federation")

# Rounds of refills when post-filtering empties a source's batch before the page is full.
MAX_FETCH_ROUNDS = 4
# A source that cannot sort as asked is read up to this many records and sorted here.
MAX_SORTED_HERE = 1000
# GraphQL Int is 32-bit; larger upstream counts are clamped (and not exact).
MAX_COUNT = 2**31 - 1


def _count(value: object) -> int | None:
    """An upstream count as the gateway can use it: a non-negative int, clamped."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return min(value, MAX_COUNT)


@dataclass(frozen=True, slots=True)
class SearchRequest:
    text: str | None = None
    filter: DatasetFilter = field(default_factory=DatasetFilter)
    sources: tuple[str, ...] = ()
    sort: Sort = Sort.RELEVANCE
    first: int = 20
    after: str | None = None
    want_facets: bool = True

    def key(self) -> str:
        """Identity of the query a cursor belongs to (everything but the page)."""
        spec = {
            "t": self.text or "",
            "f": repr(self.filter),
            "s": sorted(self.sources),
            "o": self.sort.value,
        }
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Edge:
    dataset: Dataset
    access: Access
    locate: Callable[[], CursorState]  # where every source stands after this edge
    encode: Callable[[CursorState], str]

    @property
    def position(self) -> CursorState:
        return self.locate()

    @property
    def cursor(self) -> str:
        """Built and sealed on demand: most queries never ask for edge cursors."""
        return self.encode(self.locate())


@dataclass(frozen=True, slots=True)
class SearchResult:
    edges: tuple[Edge, ...]
    has_next_page: bool
    end_cursor: str | None
    total_count: int
    total_count_is_exact: bool
    facets: Mapping[FacetName, tuple[tuple[str, int], ...]]
    sources: tuple[SourceReport, ...]
    withheld: int = 0  # fetched records matching the request that the grants hid


# A fetched, visible row: (merge sort key, upstream position, record, the caller's access).
_Row = tuple[tuple[Any, ...], int, Dataset, Access]


@dataclass(slots=True)
class _Batch:
    """One source's fetched, visible, not yet emitted records for this request."""

    index: int
    connector: Connector
    report: SourceReport
    offset: int  # upstream position of the next row to fetch
    deadline: float  # loop time by which this source must have answered, this request
    rows: deque[_Row] = field(default_factory=deque)
    bound: tuple[Any, ...] | None = None  # sort key of the last row fetched
    exhausted: bool = False
    fetched: bool = False
    failed: bool = False  # the first fetch failed: the source sits this page out
    stalled: bool = False  # a later fetch failed: the page must end before its bound
    exact: bool = True
    page_total: int | None = None
    # Page starts and the platform's tokens for them (SearchPage.resume_points).
    points: dict[int, str] = field(default_factory=dict)
    facets: Mapping[FacetName, Mapping[str, int]] = field(default_factory=dict)
    withheld: int = 0
    source_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.source_id = self.connector.source_id

    def resume_position(self) -> int:
        """Where the next page should start reading this source."""
        return self.rows[0][1] if self.rows else self.offset

    def point(self, offset: int) -> tuple[int, str] | None:
        """The latest page start at or before ``offset`` with a token, if any."""
        start = max((p for p in self.points if p <= offset), default=None)
        return None if start is None else (start, self.points[start])


def sort_key(sort: Sort, dataset: Dataset, source_index: int, position: int) -> tuple[Any, ...]:
    match sort:
        case Sort.RELEVANCE:
            return (position, source_index)
        case Sort.MODIFIED_DESC | Sort.MODIFIED_ASC:
            stamp = dataset.modified.timestamp() if dataset.modified else None
            missing = stamp is None  # records without a date sort last either way
            value = 0.0 if stamp is None else (-stamp if sort is Sort.MODIFIED_DESC else stamp)
            return (missing, value, source_index, position)
        case Sort.TITLE_ASC:
            return (dataset.title, source_index, position)


class FederatedSearch(SourceAccess):
    """Fan-out, post-filter, merge and paginate over the configured connectors."""

    def __init__(
        self,
        connectors: Sequence[Connector],
        cursor_codec: CursorCodec,
        *,
        clock: Callable[[], float] = time.perf_counter,
        guards: Mapping[str, SourceGuard] | None = None,
    ) -> None:
        super().__init__(connectors, clock=clock, guards=guards)
        self._codec = cursor_codec
        # One data, one source across pages (gateway/copies.py).
        self._groups = copy_groups(self.connectors)
        self._order = {c.source_id: i for i, c in enumerate(self.connectors)}
        self._authority = {
            c.source_id: frozenset(c.settings.authoritative_for) for c in self.connectors
        }

    async def search(self, request: SearchRequest, grants: GrantSet) -> SearchResult:
        # A cursor is bound to the query and to the grants it was computed under.
        query_key = f"{request.key()}.{grants.key}"
        state = self._codec.decode(query_key, request.after) if request.after else CursorState()

        def encode(position: CursorState) -> str:
            return self._codec.encode(query_key, position)

        visibility = grants.visibility()
        if not visibility:  # the caller may see nothing at all: ask no source
            return SearchResult(
                edges=(),
                has_next_page=False,
                end_cursor=None,
                total_count=0,
                total_count_is_exact=True,
                facets={},
                sources=(),
            )
        selected = [
            c for c in self.connectors if not request.sources or c.source_id in request.sources
        ]
        batches = [
            _Batch(
                index=i,
                connector=c,
                report=SourceReport(c.source_id),
                offset=state.positions.get(c.source_id, 0),
                deadline=self._deadline(c),
                exhausted=c.source_id in state.exhausted,
                points=dict([state.resume[c.source_id]]) if c.source_id in state.resume else {},
            )
            for i, c in enumerate(selected)
        ]
        first_round = [b for b in batches if not b.exhausted]
        copies = CopyIndex()

        async def first_fill(batch: _Batch) -> None:
            await self._fill(batch, request, visibility, grants, facets=request.want_facets)
            group = self._group(batch, batches)
            if group and batch.rows:
                # Look its page's identifiers up at once, while slower sources answer.
                upcoming = itertools.islice(batch.rows, request.first)
                await self._look_up(group, upcoming, copies, request, visibility, grants)

        await asyncio.gather(*(first_fill(b) for b in first_round))

        edges: list[Edge] = []
        emitted: list[tuple[_Batch, Dataset, Access]] = []
        by_identifier: dict[str, int] = {}
        page_copies: dict[int, list[tuple[Dataset, Access]]] = {}  # merged at the end
        merged = 0
        rounds = 1
        while len(emitted) < request.first:
            live = [b for b in batches if not b.failed]
            candidates = [b for b in live if b.rows]
            if not candidates:
                break
            best = min(candidates, key=lambda b: b.rows[0][0])
            # A source whose fetched rows are used up may still hold rows that sort first.
            blocking = [
                b
                for b in live
                if not b.rows
                and not b.exhausted
                # no key seen yet (only skipped rows so far): it may hold anything
                and (b.bound is None or b.bound < best.rows[0][0])
            ]
            if blocking:
                if rounds >= MAX_FETCH_ROUNDS or any(b.stalled for b in blocking):
                    break  # end the page here; the cursor resumes every source in order
                rounds += 1
                await asyncio.gather(
                    *(self._fill(b, request, visibility, grants, facets=False) for b in blocking)
                )
                continue
            identifier = best.rows[0][2].identifier
            group = self._group(best, batches) if identifier else ()
            if identifier and any(not copies.asked(b.source_id, identifier) for b in group):
                # Look up the rows this page is about to serve, not everything fetched.
                upcoming = heapq.nsmallest(
                    request.first - len(emitted),
                    (row for b in group for row in b.rows),
                    key=lambda row: row[0],
                )
                await self._look_up(group, upcoming, copies, request, visibility, grants)
            _, _, dataset, access = best.rows.popleft()
            if group and identifier:
                found = copies.group(identifier, (b.source_id for b in group), dataset, access)
                chosen = canonical(found, self._order, self._authority)
                if chosen.dataset is not dataset:
                    merged += 1  # a copy: its canonical record is served at its own place
                    continue
                if len(found) > 1:
                    merged += 1
                    dataset = with_copies(dataset, (f.dataset for f in found if f is not chosen))
            seen_at = by_identifier.get(dataset.identifier) if dataset.identifier else None
            if seen_at is not None:
                # One data, one source: a copy joins the record already on this page.
                page_copies.setdefault(seen_at, []).append((dataset, access))
                merged += 1
                continue
            emitted.append((best, dataset, access))
            edges.append(Edge(dataset, access, _locator(batches, state, len(emitted)), encode))
            if dataset.identifier:
                by_identifier[dataset.identifier] = len(edges) - 1

        for at, met in page_copies.items():
            edges[at] = self._merge_copies(edges[at], met)
        has_next = any((b.rows or not b.exhausted) for b in batches if not b.failed)
        returned = state.returned + len(emitted)
        exact = (
            not merged  # upstream totals count every copy
            and not copies.incomplete
            and not any(b.failed or b.stalled for b in batches)
            and all(b.exact and b.page_total is not None for b in first_round)
            and not any(b.exhausted for b in batches if b not in first_round)
        )
        facets = merge_upstream_facets([b.facets for b in first_round]) if exact else {}
        missing = [name for name in FacetName if name not in facets]
        waiting: list[Dataset] = []
        if not exact or (missing and request.want_facets):
            # Fetched rows still to serve, less the copies known to be served from elsewhere.
            waiting = [
                row[2]
                for b in batches
                for row in b.rows
                if not (self._groups and self._known_copy(b, batches, copies, row))
            ]
        if missing and request.want_facets:
            # Facets no source counted exactly upstream: count what this request verified.
            seen = [d for _, d, _ in emitted] + waiting
            facets.update(count_facets(seen, missing))
        if exact:
            total = min(sum(b.page_total or 0 for b in first_round), MAX_COUNT)
        else:
            total = returned + len(waiting)
        return SearchResult(
            edges=tuple(edges),
            has_next_page=has_next,
            end_cursor=(
                edges[-1].cursor
                if edges
                else encode(_locator(batches, state, 0)())
                if has_next
                else None
            ),
            total_count=total,
            total_count_is_exact=exact,
            facets=facets,
            sources=tuple(b.report for b in batches),
            withheld=sum(b.withheld for b in batches),
        )

    async def _ask(self, batch: _Batch, query: SearchQuery) -> SearchPage | None:
        """One search on the batch's source, through its guard, before its deadline."""
        connector = batch.connector
        return await self._call(
            connector,
            batch.report,
            ("search", query),
            functools.partial(connector.search, query),
            batch.deadline,
        )

    def _known_copy(
        self, batch: _Batch, batches: Sequence[_Batch], copies: CopyIndex, row: _Row
    ) -> bool:
        """Whether the lookups done show ``row`` to be a copy served from another record."""
        dataset, access = row[2], row[3]
        identifier = dataset.identifier
        group = self._group(batch, batches) if identifier else ()
        if not identifier or any(not copies.asked(b.source_id, identifier) for b in group):
            return False
        found = copies.group(identifier, (b.source_id for b in group), dataset, access)
        return canonical(found, self._order, self._authority).dataset is not dataset

    def _group(self, batch: _Batch, batches: Sequence[_Batch]) -> tuple[_Batch, ...]:
        """The answering sources that may hold a copy of a record of ``batch``'s source."""
        members = self._groups.get(batch.source_id)
        if not members:
            return ()
        return tuple(b for b in batches if b.source_id in members and not b.failed)

    async def _look_up(
        self,
        group: Sequence[_Batch],
        rows: Iterable[_Row],
        copies: CopyIndex,
        request: SearchRequest,
        visibility: tuple[DatasetFilter, ...],
        grants: GrantSet,
    ) -> None:
        """Find, on every source of ``group``, the records carrying the identifiers of
        ``rows``: one batched search per source (per ``LOOKUP_CHUNK`` identifiers)."""
        wanted = sorted({row[2].identifier for row in rows if row[2].identifier is not None})
        calls = []
        for batch in group:
            fresh = copies.claim(batch.source_id, wanted)
            for start in range(0, len(fresh), LOOKUP_CHUNK):
                chunk = fresh[start : start + LOOKUP_CHUNK]
                calls.append(self._find(batch, chunk, copies, request, visibility, grants))
        await asyncio.gather(*calls)

    async def _find(
        self,
        batch: _Batch,
        identifiers: Sequence[str],
        copies: CopyIndex,
        request: SearchRequest,
        visibility: tuple[DatasetFilter, ...],
        grants: GrantSet,
    ) -> None:
        """The visible records of ``identifiers`` on one source, matching the request."""
        connector = batch.connector
        wanted = frozenset(identifiers)
        lookup = replace(request.filter, identifiers=tuple(identifiers))
        limit = min(connector.capabilities.max_page_size, 100)
        found: list[Found] = []
        offset = 0
        for _ in range(MAX_LOOKUP_ROUNDS):
            query = SearchQuery(
                text=request.text,
                filter=lookup,
                sort=Sort.RELEVANCE,
                offset=offset,
                limit=limit,
                any_of=visibility,
            )
            page = await self._ask(batch, query)
            if page is None:
                copies.incomplete = True
                break
            for dataset in page.datasets:
                if dataset.identifier in wanted and request.filter.matches(dataset):
                    access = grants.access(dataset)
                    if access is not None:
                        found.append(Found(dataset, access))
            consumed = page.upstream_rows()
            offset += consumed
            total = _count(page.total)
            if consumed == 0 or (offset >= total if total is not None else consumed < limit):
                break
        else:
            copies.incomplete = True
            log.warning("source %s: identifier lookup cut short", connector.source_id)
        copies.record(connector.source_id, found)

    def _authoritative(self, dataset: Dataset) -> bool:
        connector = self._by_id.get(dataset.source_id)
        return (
            connector is not None
            and dataset.department is not None
            and dataset.department.id in connector.settings.authoritative_for
        )

    def _merge_copies(self, edge: Edge, copies: Sequence[tuple[Dataset, Access]]) -> Edge:
        """Copies met on one page, outside any copy group: serve the authoritative record
        (else the first met) and list the others."""
        served, served_access = edge.dataset, edge.access
        for dataset, access in copies:
            if self._authoritative(dataset) and not self._authoritative(served):
                served, served_access = dataset, access
        others = [d for d, _ in ((edge.dataset, edge.access), *copies) if d is not served]
        refs = [ref for d in others for ref in d.also_published_by]
        merged = with_copies(served, others)
        if refs:
            merged = replace(merged, also_published_by=(*merged.also_published_by, *refs))
        return replace(edge, dataset=merged, access=served_access)

    async def _fill(
        self,
        batch: _Batch,
        request: SearchRequest,
        visibility: tuple[DatasetFilter, ...],
        grants: GrantSet,
        *,
        facets: bool,
    ) -> None:
        """Fetch the source's next rows after ``batch.offset`` into the batch."""
        connector = batch.connector
        capabilities = connector.capabilities
        if request.sort not in capabilities.sorts:
            await self._fill_sorted_here(batch, request, visibility, grants)
            return
        limit = min(max(request.first, 1), capabilities.max_page_size)
        query = SearchQuery(
            text=request.text,
            filter=request.filter,
            sort=request.sort,
            offset=batch.offset,
            limit=limit,
            facets=capabilities.facets if facets else frozenset(),
            any_of=visibility,
            resume=batch.point(batch.offset),
        )
        page = await self._ask(batch, query)
        if page is None:
            batch.stalled, batch.failed = batch.fetched, not batch.fetched
            return
        if not page.sorted:
            # The source said it could sort but did not: the gateway sorts instead.
            await self._fill_sorted_here(batch, request, visibility, grants)
            return
        total = _count(page.total)
        batch.points.update(page.resume_points)
        if not batch.fetched:
            batch.exact = (
                not batch.report.stale
                and not (request.filter.active() - page.applied)
                and page.any_of_applied
                and total is not None
                and total == page.total
            )
            batch.page_total = total
            batch.facets = page.facets
            batch.report.matched = total if batch.exact else None
        batch.fetched = True
        decisions = _decisions(page, request.filter, grants)
        for i, dataset in enumerate(page.datasets):
            position = batch.offset + page.position(i)
            self._add(batch, request, grants, dataset, position, decisions[i])
        consumed = page.upstream_rows()
        batch.offset += consumed
        if total is not None:
            batch.exhausted = consumed == 0 or batch.offset >= total
        else:
            batch.exhausted = consumed < limit

    def _add(
        self,
        batch: _Batch,
        request: SearchRequest,
        grants: GrantSet,
        dataset: Dataset,
        position: int,
        decision: Access | None | bool = True,
    ) -> None:
        key = sort_key(request.sort, dataset, batch.index, position)
        batch.bound = key
        if decision is True:  # not decided yet
            decision = _decide(request.filter, grants, dataset)
        if not isinstance(decision, Access):
            if decision is None:
                batch.withheld += 1  # the audit's "withheld": asked for, not the caller's
            return
        batch.rows.append((key, position, dataset, decision))

    async def _fill_sorted_here(
        self,
        batch: _Batch,
        request: SearchRequest,
        visibility: tuple[DatasetFilter, ...],
        grants: GrantSet,
    ) -> None:
        """For a source that cannot apply the order: read it whole (up to a cap), sort here.

        Positions are then ranks in the gateway's order, stable from page to page.
        """
        connector = batch.connector
        limit = connector.capabilities.max_page_size
        fetched: list[tuple[int, Dataset]] = []
        offset, total = 0, None
        while len(fetched) < MAX_SORTED_HERE:
            query = SearchQuery(
                text=request.text,
                filter=request.filter,
                sort=Sort.RELEVANCE,
                offset=offset,
                limit=limit,
                any_of=visibility,
            )
            page = await self._ask(batch, query)
            if page is None:
                batch.stalled, batch.failed = batch.fetched, not batch.fetched
                return
            total = _count(page.total)
            fetched += [(offset + page.position(i), d) for i, d in enumerate(page.datasets)]
            consumed = page.upstream_rows()
            offset += consumed
            if consumed == 0 or (total is not None and offset >= total) or consumed < limit:
                break
        complete = total is not None and offset >= total or len(fetched) < MAX_SORTED_HERE
        fetched.sort(key=lambda item: sort_key(request.sort, item[1], 0, item[0]))
        batch.fetched = True
        batch.exact = False
        batch.report.message = (
            f"sorted by the gateway (the source cannot sort by {request.sort.value})"
            + ("" if complete else "; only the first part of its results")
        )
        for rank, (_, dataset) in enumerate(fetched):
            if rank >= batch.offset:
                self._add(batch, request, grants, dataset, rank)
        batch.offset = len(fetched)
        batch.exhausted = True


def _locator(
    batches: Sequence[_Batch], state: CursorState, emitted: int
) -> Callable[[], CursorState]:
    """Where every source stands after ``emitted`` records of this page, noted now (cheaply)
    and made into a cursor state only if asked."""
    noted = tuple(
        (b, b.resume_position(), b.exhausted and not b.rows)
        for b in batches
        if not b.failed  # a failed source is retried from where it was on the next page
    )
    return functools.partial(_cursor_state, noted, state, emitted)


def _cursor_state(
    noted: Sequence[tuple[_Batch, int, bool]], state: CursorState, emitted: int
) -> CursorState:
    positions = dict(state.positions)
    exhausted = set(state.exhausted)
    resume = dict(state.resume)
    for batch, position, done in noted:
        positions[batch.source_id] = position
        # Page starts fetched later all lie at or past ``position``: the point is the same.
        point = batch.point(position)
        if point is not None:
            resume[batch.source_id] = point
        if done:
            exhausted.add(batch.source_id)
            resume.pop(batch.source_id, None)
    return CursorState(positions, frozenset(exhausted), state.returned + emitted, resume)


def _decide(wanted: DatasetFilter, grants: GrantSet, dataset: Dataset) -> Access | None | bool:
    """``False``: not what was asked; ``None``: asked, not the caller's to see; else how
    the caller may see it. Always re-checked: a connector's claim to have applied a filter
    is not trusted."""
    if not wanted.matches(dataset):
        return False
    return grants.access(dataset)


# Decisions kept per cached page (one per caller's grants and filter) before starting over.
_MEMO_ENTRIES = 64


def _decisions(
    page: SearchPage, wanted: DatasetFilter, grants: GrantSet
) -> tuple[Access | None | bool, ...]:
    """``_decide`` for every row of ``page``, memoised on the page.

    A page from the upstream cache answers many requests; equal grant keys mean equal
    clauses, so they decide every row alike, and the memo dies with the page.
    """
    key = (grants.key, wanted)
    found: tuple[Access | None | bool, ...] | None = page.memo.get(key)
    if found is None:
        if len(page.memo) >= _MEMO_ENTRIES:
            page.memo.clear()
        found = page.memo[key] = tuple(_decide(wanted, grants, d) for d in page.datasets)
    return found
