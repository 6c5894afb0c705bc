"""The quality sweep: read every source's catalogue, check its links, store the figures.

A sweep reads each source's records page by page straight from its connector (no caller,
no cache), at most ``sweep_requests_per_second`` requests per source, checks the records'
URLs with the ``LinkChecker`` (at most ``links.max_links_per_sweep`` URLs), computes the
indicators and adds them up per department, twice: over every record ("all") and over
the open directory ("open": what the policy's public scope shows). When a source is done
its figures are stored, so a sweep cut short (a restart) resumes with the sources left;
when every source is done the figures per department are stored as the report, with the
time, for the history. Copies of a record on a source that is not authoritative for its
department are not counted twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.sdk import Connector, ConnectorError, SearchQuery
from gateway.access import GrantSet
from gateway.quality import figures
from gateway.quality.indicators import UNCHECKED, LinkResult, assess
from gateway.quality.links import LinkChecker, worst
from gateway.quality.repository import Figures, QualityRepository
from gateway.quality.settings import QualitySettings
from schema.model import Dataset

log = logging.getLogger("gateway.quality.sweep")

# The sweep reads at most this many records of one source (a runaway platform stops here).
MAX_RECORDS_PER_SOURCE = 200_000


class QualitySweep:
    def __init__(
        self,
        connectors: Sequence[Connector],
        repository: QualityRepository,
        settings: QualitySettings,
        public: GrantSet,
        links: LinkChecker | None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.connectors = list(connectors)
        self.repository = repository
        self.settings = settings
        self.public = public
        self.links = links
        self.clock = clock
        self._authoritative = {
            department: c.source_id
            for c in self.connectors
            for department in c.settings.authoritative_for
        }
        self._links_left = settings.links.max_links_per_sweep

    async def run_once(self) -> int:
        """One sweep to its end (resuming an unfinished one); answers its id."""
        sweep_id, done = await self.repository.resume_or_start(self.clock())
        self._links_left = self.settings.links.max_links_per_sweep
        names: dict[str, str] = {}
        for connector in self.connectors:
            if connector.source_id in done:
                continue
            counts = await self._sweep_source(connector, names)
            await self.repository.source_done(sweep_id, connector.source_id, counts, self.clock())
        await self.repository.finish(sweep_id, self.clock(), figures.merge, names)
        log.info("quality sweep %d finished", sweep_id)
        return sweep_id

    async def run_forever(self) -> None:
        """Sweep every ``sweep_interval_seconds``, the first after ``first_sweep_delay``."""
        await asyncio.sleep(self.settings.first_sweep_delay_seconds)
        while True:
            try:
                await self.run_once()
            except Exception:  # a failed sweep is retried (and resumed) at the next turn
                log.exception("quality sweep failed")
            await asyncio.sleep(self.settings.sweep_interval_seconds)

    async def _sweep_source(self, connector: Connector, names: dict[str, str]) -> Figures:
        counts: Figures = {}
        interval = 1.0 / self.settings.sweep_requests_per_second
        page_size = min(self.settings.sweep_page_size, connector.capabilities.max_page_size)
        offset, last_ask = 0, 0.0
        while offset < MAX_RECORDS_PER_SOURCE:
            wait = last_ask + interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            last_ask = time.monotonic()
            try:
                page = await connector.search(SearchQuery(offset=offset, limit=page_size))
            except ConnectorError as exc:
                log.warning("quality sweep: source %s failed: %s", connector.source_id, exc)
                break  # what was read counts; the next sweep reads it again
            records = [d for d in page.datasets if self._counted(connector, d)]
            link_results = await self._check_links(records)
            now = self.clock()
            for dataset in records:
                link = link_results.get(dataset.local_id, UNCHECKED)
                quality = assess(
                    dataset, now=now, link=link, grace_fraction=self.settings.grace_fraction
                )
                department = dataset.department.id if dataset.department else "(none)"
                if dataset.department:
                    names.setdefault(department, dataset.department.name)
                entry = counts.setdefault(
                    department, {"all": figures.empty(), "open": figures.empty()}
                )
                figures.add(entry["all"], dataset, quality)
                if self.public.visible(dataset):
                    figures.add(entry["open"], dataset, quality)
            consumed = page.upstream_rows()
            offset += consumed
            total = page.total
            if consumed == 0 or (total is not None and offset >= total):
                break
            if total is None and consumed < page_size:
                break
        return counts

    def _counted(self, connector: Connector, dataset: Dataset) -> bool:
        """A record counts on the source authoritative for its department (if any)."""
        if dataset.department is None:
            return True
        owner = self._authoritative.get(dataset.department.id)
        return owner is None or owner == connector.source_id

    async def _check_links(self, records: list[Dataset]) -> dict[str, LinkResult]:
        if self.links is None or self._links_left <= 0:
            return {}
        wanted: dict[str, list[str]] = {}
        for dataset in records:
            urls = [u for d in dataset.distributions if (u := d.download_url or d.access_url)]
            urls = urls[: max(self._links_left, 0)]
            if urls:
                wanted[dataset.local_id] = urls
                self._links_left -= len(urls)
        checks = await self.links.check(u for urls in wanted.values() for u in urls)
        results: dict[str, LinkResult] = {}
        for local_id, urls in wanted.items():
            result = worst(checks[u] for u in urls)
            if result is not None:
                results[local_id] = result
        source_of = {d.local_id: d.source_id for d in records}
        await self.repository.save_links(
            (source_of[local_id], local_id, result) for local_id, result in results.items()
        )
        return results


def figures_for(scope: str, stored: dict[str, Any]) -> dict[str, Any]:
    """The report view of one department's stored figures (``scope``: all or open)."""
    return figures.summary(stored.get(scope) or figures.empty())
