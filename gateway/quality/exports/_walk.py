"""Walk the caller's whole visible catalogue through the federation engine, page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from connectors.sdk import Sort
from gateway.access import GrantSet
from gateway.federation import FederatedSearch, SearchRequest, SourceReport
from gateway.quality.exports._view import caller_view
from schema.model import Dataset

PAGE_SIZE = 100


@dataclass(slots=True)
class Walk:
    """What a walk met: for the audit record and the ``X-Catalogue-Incomplete`` header."""

    dataset_ids: list[str] = field(default_factory=list)
    withheld: int = 0
    reports: list[SourceReport] = field(default_factory=list)

    @property
    def failed_sources(self) -> list[str]:
        return sorted({r.source_id for r in self.reports if r.failed})


async def visible_pages(
    engine: FederatedSearch, grants: GrantSet, walk: Walk, *, page_size: int = PAGE_SIZE
) -> AsyncIterator[list[Dataset]]:
    """Every dataset ``grants`` may discover, as it may see it, a page at a time.

    Copies of one identifier come once, from the authoritative source (as in GraphQL).
    """
    after: str | None = None
    while True:
        request = SearchRequest(
            sort=Sort.MODIFIED_DESC, first=page_size, after=after, want_facets=False
        )
        result = await engine.search(request, grants)
        walk.reports.extend(result.sources)
        walk.withheld += result.withheld
        page = []
        for edge in result.edges:
            walk.dataset_ids.append(f"{edge.dataset.source_id}/{edge.dataset.local_id}")
            page.append(caller_view(edge.dataset, edge.access))
        if page:
            yield page
        if not result.has_next_page or result.end_cursor is None:
            return
        after = result.end_cursor
