"""The federation engine: one search over many live sources.

``FederatedSearch.search`` fans a page request out to every selected source concurrently,
each call through the source's guard and under its deadline (``sources.py``), post-filters
what a source could not apply (and always the caller's grants), merges the per-source
lists in the requested order and cuts one page. The cursor records each source's own
upstream position (and page token), so the next page continues every source where this
one stopped instead of refetching from 0. Copies of one dataset on several sources are
served once (``copies.py``).

Merge order: MODIFIED_* and TITLE_ASC are exact k-way merges on the sort value; RELEVANCE
interleaves sources by their own rank (reciprocal rank fusion with one list per source
reduces to ordering by rank, ties broken by source order). A record from one source is
only emitted when no other source could still produce a record that sorts before it.

What each source is asked (with ``sized_fetch``, off by default): under RELEVANCE a
page of ``first`` over N sources draws about ``first / N`` rows from each, so each
source's first call asks for its share
(``fused_share``: ``ceil(first / N) + 1``); when one runs out before the page is full,
every source still on its share is asked again in that round for its part of what the
page still needs (``_second_shares``). Ordered merges ask every source for ``first``:
a merge on values may take the whole page from one source (a catalogue that is newest
everywhere), and a short first call would add a round trip to most pages. A source in a
copy group, or one found not to apply the filters or the visibility, reads what a whole
first page reads, so counts, facets and what is read ahead stay as they were.

What the caller may not see never shapes the answer. A source that applied the filters
and the caller's visibility upstream counts exactly; one that did not is read on until it
holds a page of visible rows or ends (within ``MAX_SOURCE_CALLS``), so a page holds
``first`` visible records unless the results end. Its count is then a lower bound: the
visible rows read, the first page reading ``READ_AHEAD_ROWS`` whatever ``first`` is, so
the count does not depend on the page size; the cursor keeps it from ever shrinking.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import logging
import time
from collections.abc import (
    Callable,
    Coroutine,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import Any

from connectors.sdk import (
    Connector,
    DatasetFilter,
    FacetName,
    Sort,
)
from gateway.access import GrantSet
from gateway.federation.batch import (
    MAX_COUNT,
    Edge,
    SearchJob,
    SearchRequest,
    SourceBatch,
    fused_share,
    sort_key,
)
from gateway.federation.copies import (
    canonical,
    with_copies,
)
from gateway.federation.cursor import CursorCodec, CursorState
from gateway.federation.facets import count_facets, merge_upstream_facets
from gateway.federation.reading import (
    MAX_SOURCE_CALLS,
    READ_AHEAD_ROWS,
    SourceReading,
)
from gateway.federation.sources import (
    REQUEST_DEADLINE,
    SourceReport,
    SourceStatus,
    request_deadline,
)
from gateway.federation.upstream import SourceGuard
from schema.model import Dataset

__all__ = [
    "MAX_FETCH_ROUNDS",
    "MAX_SOURCE_CALLS",
    "READ_AHEAD_ROWS",
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

# Rounds of refills of a source that blocks the merge before the page is ended.
MAX_FETCH_ROUNDS = 4
# Requests kept (``FederatedSearch._known``) before starting over.
REQUEST_ENTRIES = 1024


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


_NOTHING = SearchResult(
    edges=(),
    has_next_page=False,
    end_cursor=None,
    total_count=0,
    total_count_is_exact=True,
    facets={},
    sources=(),
)


class FederatedSearch(SourceReading):
    """Fan-out, post-filter, merge and paginate over the configured connectors."""

    def __init__(
        self,
        connectors: Sequence[Connector],
        cursor_codec: CursorCodec,
        *,
        clock: Callable[[], float] = time.perf_counter,
        guards: Mapping[str, SourceGuard] | None = None,
        sized_fetch: bool = False,
    ) -> None:
        """``sized_fetch=True`` asks each source for its share of a relevance page
        (``fused_share``) instead of a whole page. Off by default: on the 8-platform
        benchmark, whose platforms repeat 3 catalogues, copies merge and nearly every
        page needed a second round of calls, which cost more than the rows saved
        (bench/README.md). The whole-page engine is the oracle of its differential test."""
        super().__init__(connectors, clock=clock, guards=guards)
        self._codec = cursor_codec
        self._sized_fetch = sized_fetch
        self._requests: dict[SearchRequest, tuple[SearchRequest, str]] = {}

    async def search(self, request: SearchRequest, grants: GrantSet) -> SearchResult:
        request, request_key = self._known(request)
        visibility = grants.visibility()
        job = self._start(request, request_key, grants, visibility)
        if not visibility:  # the caller may see nothing at all: ask no source
            return _NOTHING
        await self._first_round(job)
        await self._merge(job)
        for at, met in job.page_copies.items():
            job.edges[at] = self._merge_copies(job.edges[at], met)
        exact = self._exact(job)
        waiting = self._waiting(job) if not exact or job.request.want_facets else {}
        total = self._total(job, exact, waiting)
        job.floor.append(total)
        has_next = any((b.rows or not b.exhausted) for b in job.batches if not b.failed)
        end_cursor = None
        if job.edges:
            end_cursor = job.edges[-1].cursor
        elif has_next:
            end_cursor = job.encode(job.cursor_after(0)())
        return SearchResult(
            edges=tuple(job.edges),
            has_next_page=has_next,
            end_cursor=end_cursor,
            total_count=total,
            total_count_is_exact=exact,
            facets=self._facets(job, exact, waiting),
            sources=tuple(b.report for b in job.batches),
            withheld=sum(b.withheld for b in job.batches),
        )

    # -- the steps of a search ------------------------------------------------------------

    def _known(self, request: SearchRequest) -> tuple[SearchRequest, str]:
        """``request`` as first met, and its ``key()``, worked out once: its filter is then
        the same object on every request, so the memos keyed by it (``_search_call``,
        ``page_rows``) find it by identity instead of comparing two equal filters.

        A filter with dates is taken as it is: equal dates in two time zones are equal,
        but print apart, and the key prints them."""
        wanted = request.filter
        if wanted.modified_after is not None or wanted.modified_before is not None:
            return request, request.key()
        found = self._requests.get(request)
        if found is None:
            if len(self._requests) >= REQUEST_ENTRIES:
                self._requests.clear()
            found = self._requests[request] = (request, request.key())
        return found

    def _start(
        self,
        request: SearchRequest,
        request_key: str,
        grants: GrantSet,
        visibility: tuple[DatasetFilter, ...],
    ) -> SearchJob:
        """Decode the cursor (bound to the query and the grants) and set up each source."""
        query_key = f"{request_key}.{grants.key}"
        state = self._codec.decode(query_key, request.after) if request.after else CursorState()
        selected = [
            c for c in self.connectors if not request.sources or c.source_id in request.sources
        ]
        batches = [
            SourceBatch(
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
        if self._sized_fetch and request.sort is Sort.RELEVANCE:
            self._share_out(request, batches)
        return SearchJob(
            request=request,
            grants=grants,
            visibility=visibility,
            state=state,
            encode=functools.partial(self._codec.encode, query_key),
            batches=batches,
        )

    def _share_out(self, request: SearchRequest, batches: Sequence[SourceBatch]) -> None:
        """Relevance fusion interleaves the sources by rank, so page 1 of 20 over 8
        sources needs about 3 rows of each: ask each for its share, not a whole page.

        Sources in a copy group keep the whole page: their count is bounded by the rows
        read (``_total``), and their copies are looked up from them."""
        reading = [b for b in batches if not b.exhausted]
        share = fused_share(request.first, len(reading))
        for batch in reading:
            if batch.source_id not in self._groups:
                batch.share = share

    async def _first_round(self, job: SearchJob) -> None:
        """Read every source's first page at once: what the upstream cache answers
        without a task (``_first_fill_now``), the rest concurrently."""
        rest: list[Coroutine[Any, Any, None]] = []
        try:
            for batch in job.first_round:
                left = self._first_fill_now(job, batch)
                if left is not None:
                    rest.append(left)
        except BaseException:
            for coroutine in rest:
                coroutine.close()  # never started: no "never awaited" warning
            raise
        if rest:
            await asyncio.gather(*rest)

    async def _merge(self, job: SearchJob) -> None:
        """The merge loop: emit the next record in order until the page is full."""
        request, copies = job.request, job.copies
        rounds = 1
        # A source asked for its share only may take one refill more than a whole page.
        most = MAX_FETCH_ROUNDS + any(b.share is not None for b in job.batches)
        # Only a refill changes which sources answer, or adds rows: until one, the sources
        # with rows wait in a heap on their next row's key (keys hold the source's index,
        # so no two are equal), and the used-up ones that may still hold rows in a list.
        live, heads, empty = _merge_state(job.batches)
        job.note_all()
        standings, batches, emitted, edges = job.standings, job.batches, job.emitted, job.edges
        by_identifier, groups = job.by_identifier, self._groups
        while len(emitted) < request.first:
            best = batches[heads[0][1]] if heads else None
            first_key = heads[0][0] if heads else None
            # A source whose fetched rows are used up may still hold rows that sort first.
            blocking = (
                [
                    b
                    for b in empty
                    # no key seen yet (only skipped rows so far): it may hold anything
                    if first_key is None or b.bound is None or b.bound < first_key
                ]
                if empty
                else empty
            )
            if blocking:
                now = asyncio.get_running_loop().time()
                if rounds >= most or any(
                    # A refill past its source's deadline would only time out (and count
                    # against a healthy platform's breaker), e.g. after a hung source
                    # held up the first round.
                    not b.answering() or b.deadline <= now
                    for b in blocking
                ):
                    break  # end the page here; the cursor resumes every source in order
                rounds += 1
                blocking += self._second_shares(job, live, blocking, now)
                await asyncio.gather(*(self._read(job, b, facets=False) for b in blocking))
                live, heads, empty = _merge_state(job.batches)
                job.note_all()
                standings = job.standings
                continue
            if best is None:
                break  # every source is used up
            rows = best.rows
            identifier = rows[0][2].identifier
            group = self._group(best, batches) if identifier and groups else ()
            if (
                group
                and identifier
                and any(not copies.asked(b.source_id, identifier) for b in group)
            ):
                # Look up the rows this page is about to serve, not everything fetched.
                upcoming = heapq.nsmallest(
                    request.first - len(job.emitted),
                    (row for b in group for row in b.rows),
                    key=lambda row: row[0],
                )
                await self._look_up(job, group, upcoming)
            _, _, dataset, access = rows.popleft()
            if rows:
                heapq.heapreplace(heads, (rows[0][0], best.index))
                standings[best.index] = (best, rows[0][1], False)
            else:
                heapq.heappop(heads)
                standings[best.index] = (best, best.offset, best.exhausted)
                if not best.exhausted:
                    empty = [b for b in live if not b.rows and not b.exhausted]
            if group and identifier:
                found = copies.group(identifier, (b.source_id for b in group), dataset, access)
                chosen = canonical(found, self._order, self._authority)
                if chosen.dataset is not dataset:
                    job.merged += 1  # a copy: its canonical record is served at its own place
                    continue
                if len(found) > 1:
                    job.merged += 1
                    dataset = with_copies(dataset, (f.dataset for f in found if f is not chosen))
            identifier = dataset.identifier
            seen_at = by_identifier.get(identifier) if identifier else None
            if seen_at is not None:
                # One data, one source: a copy joins the record already on this page.
                job.page_copies.setdefault(seen_at, []).append((dataset, access))
                job.merged += 1
                continue
            emitted.append((best, dataset, access))
            edges.append(Edge(dataset, access, job.cursor_noted(len(emitted)), job.encode))
            if identifier:
                by_identifier[identifier] = len(edges) - 1

    def _second_shares(
        self,
        job: SearchJob,
        live: Sequence[SourceBatch],
        blocking: Sequence[SourceBatch],
        now: float,
    ) -> list[SourceBatch]:
        """When a source asked for its share runs out, every source still on its share is
        asked again in the same round (one round trip, not one per source), each for its
        share of what the page still needs, scaled by the rows it took per record served
        so far (copies of one dataset on several sources take several rows).

        Returns the sources to refill besides ``blocking``; sets each one's next limit."""
        sharing = [
            b
            for b in live
            if b.share is not None
            and b.calls == 1
            and not b.exhausted
            and b.answering()
            and b.deadline > now
        ]
        if not sharing:
            return []
        read = sum(b.offset - b.start for b in live)
        need = job.request.first - len(job.emitted)
        rows = -(-need * read // max(len(job.edges), 1))  # rows per record served so far
        limit = max(1, -(-rows // len(sharing)) + 1)
        for batch in sharing:
            batch.next_limit = limit
        return [b for b in sharing if b not in blocking]

    def _exact(self, job: SearchJob) -> bool:
        """Whether the sources' own totals add up to exactly what the caller may see."""
        first_round = job.first_round
        return (
            not job.merged  # upstream totals count every copy
            and not job.copies.incomplete
            and all(b.answering() for b in job.batches)
            and all(b.exact and b.page_total is not None for b in first_round)
            and len(first_round) == len(job.batches)
        )

    def _waiting(self, job: SearchJob) -> dict[str, list[Dataset]]:
        """Per source, fetched rows still to serve, less the copies known to be served
        from another record."""
        if not self._groups:  # no copy is looked up: none is known
            return {b.source_id: [row[2] for row in b.rows] for b in job.batches}
        return {
            b.source_id: [
                row[2] for row in b.rows if not self._known_copy(b, job.batches, job.copies, row)
            ]
            for b in job.batches
        }

    def _total(self, job: SearchJob, exact: bool, waiting: Mapping[str, list[Dataset]]) -> int:
        """The exact count, or the best sound lower bound, never below an earlier page's.

        Two bounds, each sound, the larger taken: (1) what earlier pages and this one
        returned, plus what each answering source is known to hold past this page: a
        source that counted exactly upstream (in no copy group) its total less what it
        served, any other the visible rows read ahead; (2) the exact upstream counts alone,
        summed over sources in no copy group, and for a copy group the largest of its
        members' (its members may hold the same datasets). A failed source adds nothing.
        """
        if exact:
            return min(sum(b.page_total or 0 for b in job.batches), MAX_COUNT)
        ahead, alone, grouped = 0, 0, 0
        for batch in job.batches:
            if batch.failed:
                continue
            counted = batch.exact and batch.page_total is not None and not batch.stalled
            in_group = batch.source_id in self._groups
            if counted and not in_group:
                ahead += max(0, (batch.page_total or 0) - batch.resume_position())
                alone += batch.page_total or 0
            else:
                ahead += len(waiting.get(batch.source_id, ()))
                if counted:
                    grouped = max(grouped, batch.page_total or 0)
        returned = job.state.returned + len(job.emitted)
        return min(max(job.state.counted, returned + ahead, alone + grouped), MAX_COUNT)

    def _facets(
        self, job: SearchJob, exact: bool, waiting: Mapping[str, list[Dataset]]
    ) -> dict[FacetName, tuple[tuple[str, int], ...]]:
        """The sources' own facet counts when exact; the rest counted over verified rows."""
        if not job.request.want_facets:
            return {}
        facets = merge_upstream_facets([b.facets for b in job.first_round]) if exact else {}
        missing = [name for name in FacetName if name not in facets]
        if missing:
            seen = [d for _, d, _ in job.emitted] + [d for rows in waiting.values() for d in rows]
            facets.update(count_facets(seen, missing))
        return facets


def _merge_state(
    batches: Sequence[SourceBatch],
) -> tuple[list[SourceBatch], list[tuple[tuple[Any, ...], int]], list[SourceBatch]]:
    """The answering sources; a heap of (next row's key, index) of those with rows; those
    whose fetched rows are used up but that may hold more."""
    live = [b for b in batches if not b.failed]
    heads = [(b.rows[0][0], b.index) for b in live if b.rows]
    heapq.heapify(heads)
    return live, heads, [b for b in live if not b.rows and not b.exhausted]
