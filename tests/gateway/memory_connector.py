"""An in-memory connector for engine tests: real contract, no HTTP, counts its calls."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import httpx

from connectors.sdk import (
    Capabilities,
    Connector,
    FacetName,
    FilterName,
    SearchPage,
    SearchQuery,
    Sort,
    SourceSettings,
)
from schema.model import Dataset, Department


@dataclass
class Calls:
    searches: list[SearchQuery] = field(default_factory=list)
    gets: list[str] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)  # get_many calls


class MemoryConnector(Connector):
    name = "memory"
    capabilities = Capabilities(
        search=True,
        filters=frozenset(FilterName),
        sorts=frozenset(Sort),
        facets=frozenset(FacetName),
        get_by_id=True,
        max_page_size=1000,
    )

    def __init__(
        self,
        settings: SourceSettings,
        client: httpx.AsyncClient,
        datasets: Iterable[Dataset] = (),
        *,
        push_down: bool = True,
        page_cap: int | None = None,
        unmappable: frozenset[int] = frozenset(),
    ) -> None:
        super().__init__(settings, client)
        self.datasets = list(datasets)
        self.calls = Calls()
        self.push_down = push_down
        self.page_cap = page_cap  # like a platform whose rows_max is below what was asked
        # Stored records (by index) the "mapping" skips, whatever query reads them.
        self.unmappable = unmappable

    def _ordered(self, query: SearchQuery) -> list[Dataset]:
        rows = [d for d in self.datasets if not query.text or query.text in d.title]
        if query.filter.identifiers:  # declared, so applied even when the rest is not
            rows = [d for d in rows if query.filter.matches_one(FilterName.IDENTIFIERS, d)]
        if self.push_down:
            rows = [d for d in rows if query.filter.matches(d) and query.matches_any_of(d)]
        match query.sort:
            case Sort.MODIFIED_DESC:
                rows.sort(
                    key=lambda d: (
                        d.modified is None,
                        -(d.modified.timestamp() if d.modified else 0),
                    )
                )
            case Sort.MODIFIED_ASC:
                rows.sort(
                    key=lambda d: (d.modified is None, d.modified.timestamp() if d.modified else 0)
                )
            case Sort.TITLE_ASC:
                rows.sort(key=lambda d: d.title)
            case Sort.RELEVANCE:
                pass
        return rows

    async def search(self, query: SearchQuery) -> SearchPage:
        self.calls.searches.append(query)
        rows = self._ordered(query)
        limit = min(query.limit, self.page_cap or query.limit)
        page = rows[query.offset : query.offset + limit]
        skipped = {id(self.datasets[i]) for i in self.unmappable if i < len(self.datasets)}
        kept = [(i, d) for i, d in enumerate(page) if id(d) not in skipped]
        return SearchPage(
            datasets=tuple(d for _, d in kept),
            total=len(rows),
            applied=query.filter.active() if self.push_down else frozenset(),
            any_of_applied=self.push_down,
            consumed=len(page),
            positions=tuple(i for i, _ in kept),
        )

    async def get(self, local_id: str) -> Dataset | None:
        self.calls.gets.append(local_id)
        return next((d for d in self.datasets if d.local_id == local_id), None)

    async def get_many(self, local_ids: Sequence[str]) -> dict[str, Dataset | None]:
        self.calls.batches.append(list(local_ids))
        by_id = {d.local_id: d for d in self.datasets}
        return {local_id: by_id.get(local_id) for local_id in local_ids}

    async def departments(self) -> list[Department]:
        return sorted({d.department for d in self.datasets if d.department}, key=lambda d: d.id)
