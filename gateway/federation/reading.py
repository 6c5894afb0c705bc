"""Reading one source's rows for a search: its pages, read on while not exact, sorted here
when it cannot sort.

``SourceReading._read`` fetches a source's next page into its ``SourceBatch`` and, when the
source's answer is not exact, reads on (``search.py`` says why). Each fetch is two steps
around the upstream call: ``_query`` (what to ask, from the batch's state alone) and
``_take`` (what the answer adds to the batch).

The first round of a warm query is answered by the upstream cache: ``_first_fill_now``
then reads a source without a task (``_fill_now`` takes a cached page as ``_fill`` would
have, and changes nothing on a miss), and hands back what is left to read, if anything,
as a coroutine for ``asyncio.gather``. A task whose calls all hit the cache never waits,
so it ran to its end, source after source in order, exactly as the plain path does.
"""

from __future__ import annotations

import itertools
from collections.abc import Coroutine, Hashable
from typing import Any

from connectors.sdk import SearchPage, SearchQuery, Sort
from gateway.access import Access
from gateway.federation.batch import (
    SearchJob,
    SourceBatch,
    decide,
    page_rows,
    sort_key,
    upstream_count,
)
from gateway.federation.lookups import CopyLookups
from schema.model import Dataset

# A source whose answer is not exact (it could not apply a filter or the caller's
# visibility) is read this many upstream rows on the first page, whatever ``first`` is,
# so that the count does not depend on the page size...
READ_AHEAD_ROWS = 200
# ... in pages of at most this many rows ...
READ_AHEAD_PAGE = 100
# ... and no source is asked more than this many times for one page.
MAX_SOURCE_CALLS = 12
# A source that cannot sort as asked is read up to this many records and sorted here.
MAX_SORTED_HERE = 1000


class SourceReading(CopyLookups):
    """Fetching each source's rows of a search into its batch (see the module docstring)."""

    # -- the first round, from the cache where it can be ---------------------------------

    async def _first_fill(self, job: SearchJob, batch: SourceBatch) -> None:
        await self._read(job, batch, facets=job.request.want_facets)
        await self._look_up_first(job, batch)

    async def _look_up_first(self, job: SearchJob, batch: SourceBatch) -> None:
        group = self._group(batch, job.batches)
        if group and batch.rows:
            # Look its page's identifiers up at once, while slower sources answer.
            upcoming = itertools.islice(batch.rows, job.request.first)
            await self._look_up(job, group, upcoming)

    def _first_fill_now(
        self, job: SearchJob, batch: SourceBatch
    ) -> Coroutine[Any, Any, None] | None:
        """``_first_fill`` as far as the upstream cache answers it, without a task:
        ``None`` when it did all of it, else the coroutine that does the rest.

        A source in a copy group is read by its coroutine whole: its lookups search the
        other sources of its group, in the order the plain path does."""
        if self._groups.get(batch.source_id):
            return self._first_fill(job, batch)
        if batch.calls >= MAX_SOURCE_CALLS:
            return None
        if not self._fill_now(job, batch, facets=job.request.want_facets):
            return self._first_fill(job, batch)
        self._set_window(job, batch)
        while self._reads_on(job, batch):
            if not self._fill_now(job, batch, facets=False):
                return self._read_on(job, batch)
        return None

    def _fill_now(self, job: SearchJob, batch: SourceBatch, *, facets: bool) -> bool:
        """``_fill`` when the upstream cache holds a fresh answer, sorted as asked:
        whether it did (else the batch is as it was)."""
        asked = self._query(job, batch, facets=facets)
        if asked is None:
            return False
        query, key = asked
        hit, page = self._hit(batch.connector, batch.report, key)
        if not hit or (page is not None and not page.sorted):
            return False
        batch.calls += 1
        batch.next_limit = None
        self._take(job, batch, query.limit, page)
        return True

    # -- reading a source -----------------------------------------------------------------

    async def _read(self, job: SearchJob, batch: SourceBatch, *, facets: bool) -> None:
        """Fetch the source's next page; then, if its answer is not exact, read on until
        it holds a page of visible rows and, on the first page, has been read
        ``READ_AHEAD_ROWS`` far (or it ends, or ``MAX_SOURCE_CALLS`` is reached).

        Only then do the page's size, ``hasNextPage`` and the count depend on what the
        caller may see rather than on how many hidden records a platform returned."""
        if batch.calls >= MAX_SOURCE_CALLS:
            return
        await self._fill(job, batch, facets=facets)
        self._set_window(job, batch)
        await self._read_on(job, batch)

    async def _read_on(self, job: SearchJob, batch: SourceBatch) -> None:
        while self._reads_on(job, batch):
            await self._fill(job, batch, facets=False)

    @staticmethod
    def _set_window(job: SearchJob, batch: SourceBatch) -> None:
        # The first page sets the count; later ones read only what fills them (the
        # cursor keeps the count from shrinking).
        batch.window = batch.start + (READ_AHEAD_ROWS if job.request.after is None else 0)

    @staticmethod
    def _reads_on(job: SearchJob, batch: SourceBatch) -> bool:
        return (
            not batch.exact
            and not batch.exhausted
            and batch.answering()
            and batch.calls < MAX_SOURCE_CALLS
            and (len(batch.rows) < job.request.first or batch.offset < batch.window)
        )

    async def _fill(self, job: SearchJob, batch: SourceBatch, *, facets: bool) -> None:
        """Fetch the source's next rows after ``batch.offset`` into the batch."""
        asked = self._query(job, batch, facets=facets)
        if asked is None:
            await self._fill_sorted_here(job, batch)
            return
        query, key = asked
        batch.calls += 1
        batch.next_limit = None
        page = await self._ask(batch, query, key)
        if page is not None and not page.sorted:
            # The source said it could sort but did not: the gateway sorts instead.
            await self._fill_sorted_here(job, batch)
            return
        self._take(job, batch, query.limit, page)

    def _query(
        self, job: SearchJob, batch: SourceBatch, *, facets: bool
    ) -> tuple[SearchQuery, Hashable] | None:
        """What to ask the source next, from the batch's state alone, and the call's key;
        ``None``: the source cannot sort as asked (``_fill_sorted_here``)."""
        request = job.request
        capabilities = batch.connector.capabilities
        if request.sort not in capabilities.sorts:
            return None
        whole = min(max(request.first, 1), capabilities.max_page_size)
        read = batch.offset - batch.start
        if not batch.fetched and batch.share is not None:
            limit = min(batch.share, whole)  # its share of a fused page
        elif batch.next_limit is not None and batch.exact:
            limit = min(batch.next_limit, whole)  # its share of the rest (_second_shares)
        elif batch.fetched and not batch.exact and batch.share is not None and read < whole:
            # Not exact after all: read up to where a whole first page would have, so that
            # the rows read ahead, the count and the facets are what they would have been.
            limit = whole - read
        elif batch.fetched and not batch.exact:  # reading ahead
            limit = min(capabilities.max_page_size, READ_AHEAD_PAGE)
            if batch.offset < batch.window:  # stop exactly there: the count must not
                limit = min(limit, batch.window - batch.offset)  # depend on `first`
        else:
            limit = whole
        return self._search_call(
            (
                request.text,
                request.filter,
                request.sort,
                batch.offset,
                limit,
                capabilities.facets if facets else frozenset(),
                job.visibility,
                batch.point(batch.offset),
            )
        )

    def _take(
        self, job: SearchJob, batch: SourceBatch, limit: int, page: SearchPage | None
    ) -> None:
        """Add what ``page`` (asked for ``limit`` rows; ``None``: the call failed) says
        to the batch: its rows the caller may see, its position, its count."""
        if page is None:
            batch.stalled, batch.failed = batch.fetched, not batch.fetched
            return
        request = job.request
        total = upstream_count(page.total)
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
        batch.fetched = True
        added = page_rows(page, request, job.grants, batch.index, batch.offset)
        if added.bound is not None:
            batch.bound = added.bound
        if added.refuted:
            # The platform said it applied the filters and the visibility: its count
            # cannot be trusted any more.
            batch.exact = False
        batch.withheld += added.withheld
        batch.rows.extend(added.rows)
        batch.report.matched = batch.page_total if batch.exact else None
        consumed = page.upstream_rows()
        batch.offset += consumed
        if total is not None:
            batch.exhausted = consumed == 0 or batch.offset >= total
        else:
            batch.exhausted = consumed < limit

    # -- a source that cannot sort as asked -----------------------------------------------

    def _add(
        self,
        job: SearchJob,
        batch: SourceBatch,
        dataset: Dataset,
        position: int,
    ) -> None:
        key = sort_key(job.request.sort, dataset, batch.index, position)
        batch.bound = key
        decision = decide(job.request.filter, job.grants, dataset)
        if not isinstance(decision, Access):
            # The platform said it applied the filters and the visibility: its count
            # cannot be trusted any more.
            batch.exact = False
            if decision is None:
                batch.withheld += 1  # the audit's "withheld": asked for, not the caller's
            return
        batch.rows.append((key, position, dataset, decision))

    async def _fill_sorted_here(self, job: SearchJob, batch: SourceBatch) -> None:
        """For a source that cannot apply the order: read it whole (up to a cap), sort here.

        Positions are then ranks in the gateway's order, stable from page to page.
        """
        request = job.request
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
                any_of=job.visibility,
            )
            batch.calls += 1
            page = await self._ask(batch, query)
            if page is None:
                batch.stalled, batch.failed = batch.fetched, not batch.fetched
                return
            total = upstream_count(page.total)
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
                self._add(job, batch, dataset, rank)
        batch.offset = len(fetched)
        batch.exhausted = True
