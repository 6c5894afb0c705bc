"""Finding the copies of a page's records on the other sources of their copy group.

``CopyLookups`` is the part of the engine that asks a source for the records carrying
given identifiers (one batched search per source per page, ``copies.py`` says why) and
merges copies met on one page. ``FederatedSearch`` builds on it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import replace

from connectors.sdk import Connector, DatasetFilter, FacetName, SearchPage, SearchQuery, Sort
from gateway.access import Access
from gateway.federation.batch import Edge, Row, SearchJob, SourceBatch, upstream_count
from gateway.federation.copies import (
    LOOKUP_CHUNK,
    MAX_LOOKUP_ROUNDS,
    CopyIndex,
    Found,
    canonical,
    copy_groups,
    with_copies,
)
from gateway.federation.sources import SourceAccess
from gateway.federation.upstream import SourceGuard, call_key
from schema.model import Dataset

log = logging.getLogger("gateway.federation")

# Records merged from copies kept (``CopyLookups._merged_record``) before starting over.
MERGED_ENTRIES = 2048
# Searches kept (``CopyLookups._search_call``) before starting over.
QUERY_ENTRIES = 4096

# What a search asks, as ``SearchQuery``'s fields in order (its page token included).
QueryFields = tuple[
    str | None,
    DatasetFilter,
    Sort,
    int,
    int,
    frozenset[FacetName],
    tuple[DatasetFilter, ...],
    tuple[int, str] | None,
]


class CopyLookups(SourceAccess):
    """Searches on one source, and the copy lookups built on them."""

    def __init__(
        self,
        connectors: Sequence[Connector],
        *,
        clock: Callable[[], float] = time.perf_counter,
        guards: Mapping[str, SourceGuard] | None = None,
    ) -> None:
        super().__init__(connectors, clock=clock, guards=guards)
        # One data, one source across pages (copies.py).
        self._groups = copy_groups(self.connectors)
        self._order = {c.source_id: i for i, c in enumerate(self.connectors)}
        self._authority = {
            c.source_id: frozenset(c.settings.authoritative_for) for c in self.connectors
        }
        # Records merged from copies met on one page, by the identity of the records: the
        # upstream cache hands the same records to many requests (``_merge_copies``).
        self._merged: dict[tuple[int, ...], tuple[tuple[Dataset, ...], int, Dataset]] = {}
        self._queries: dict[QueryFields, tuple[SearchQuery, Hashable]] = {}

    async def _ask(
        self, batch: SourceBatch, query: SearchQuery, key: Hashable | None = None
    ) -> SearchPage | None:
        """One search on the batch's source, through its guard, before its deadline
        (``key``: the call's key, if kept from ``_search_call``)."""
        connector = batch.connector
        return await self._call(
            connector,
            batch.report,
            ("search", query) if key is None else key,
            functools.partial(self._search, connector, query),
            batch.deadline,
        )

    def _search_call(self, fields: QueryFields) -> tuple[SearchQuery, Hashable]:
        """The query of ``fields`` and its call key, the same objects each time the same
        fields are asked (by value: anyone asking them gets the same upstream answer
        anyway): a warm query neither builds its queries nor hashes or compares them."""
        found = self._queries.get(fields)
        if found is None:
            text, filter_, sort, offset, limit, facets, any_of, resume = fields
            query = SearchQuery(
                text=text,
                filter=filter_,
                sort=sort,
                offset=offset,
                limit=limit,
                facets=facets,
                any_of=any_of,
                resume=resume,
            )
            if len(self._queries) >= QUERY_ENTRIES:
                self._queries.clear()
            found = self._queries[fields] = (query, call_key(("search", query)))
        return found

    def _known_copy(
        self, batch: SourceBatch, batches: Sequence[SourceBatch], copies: CopyIndex, row: Row
    ) -> bool:
        """Whether the lookups done show ``row`` to be a copy served from another record."""
        dataset, access = row[2], row[3]
        identifier = dataset.identifier
        group = self._group(batch, batches) if identifier else ()
        if not identifier or any(not copies.asked(b.source_id, identifier) for b in group):
            return False
        found = copies.group(identifier, (b.source_id for b in group), dataset, access)
        return canonical(found, self._order, self._authority).dataset is not dataset

    def _group(self, batch: SourceBatch, batches: Sequence[SourceBatch]) -> tuple[SourceBatch, ...]:
        """The answering sources that may hold a copy of a record of ``batch``'s source."""
        members = self._groups.get(batch.source_id)
        if not members:
            return ()
        return tuple(b for b in batches if b.source_id in members and not b.failed)

    async def _look_up(
        self, job: SearchJob, group: Sequence[SourceBatch], rows: Iterable[Row]
    ) -> None:
        """Find, on every source of ``group``, the records carrying the identifiers of
        ``rows``: one batched search per source (per ``LOOKUP_CHUNK`` identifiers)."""
        wanted = sorted({row[2].identifier for row in rows if row[2].identifier is not None})
        calls = []
        for batch in group:
            fresh = job.copies.claim(batch.source_id, wanted)
            for start in range(0, len(fresh), LOOKUP_CHUNK):
                calls.append(self._find(job, batch, fresh[start : start + LOOKUP_CHUNK]))
        await asyncio.gather(*calls)

    async def _find(self, job: SearchJob, batch: SourceBatch, identifiers: Sequence[str]) -> None:
        """The visible records of ``identifiers`` on one source, matching the request."""
        request, copies = job.request, job.copies
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
                any_of=job.visibility,
            )
            page = await self._ask(batch, query)
            if page is None:
                copies.incomplete = True
                break
            for dataset in page.datasets:
                if dataset.identifier in wanted and request.filter.matches(dataset):
                    access = job.grants.access(dataset)
                    if access is not None:
                        found.append(Found(dataset, access))
            consumed = page.upstream_rows()
            offset += consumed
            total = upstream_count(page.total)
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
        met = (edge.dataset, *(dataset for dataset, _ in copies))
        served_at, merged = self._merged_record(met)
        access = edge.access if served_at == 0 else copies[served_at - 1][1]
        return Edge(merged, access, edge.locate, edge.encode)

    def _merged_record(self, met: tuple[Dataset, ...]) -> tuple[int, Dataset]:
        """Which of the copies ``met`` (in the order met) is served, and it listing the
        others and their own copies: worked out once per set of records.

        Keyed by the records' identities, which the entry keeps alive (so no other
        object can take their ids): only these very records, met in this order, ever
        get this answer. The caller's grants are not in it: they decided which records
        reach here, the choice and the merged record are functions of those records
        alone, and each request takes the access of its own served record."""
        key = tuple(map(id, met))
        found = self._merged.get(key)
        if found is not None:
            return found[1], found[2]
        served_at = 0
        for at, dataset in enumerate(met):
            if self._authoritative(dataset) and not self._authoritative(met[served_at]):
                served_at = at
        served = met[served_at]
        others = [d for d in met if d is not served]
        refs = [ref for d in others for ref in d.also_published_by]
        merged = with_copies(served, others, refs)
        if len(self._merged) >= MERGED_ENTRIES:
            self._merged.clear()
        self._merged[key] = (met, served_at, merged)
        return served_at, merged
