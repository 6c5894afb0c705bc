"""What a source may say, checked on every record it answers, before anything else sees it.

- A source may be bounded to the departments it speaks for (``sources[].speaks_for``): a
  record claiming another department is dropped, as if the platform had not answered it.
  Otherwise a platform configured for one department could publish a record "of" another
  (``health``, NOT_SHARED, L4) that the other department's staff would then be shown.
- A download, access or landing-page URL is served only when it is ``http(s)`` and does not
  point at a link-local or cloud metadata address (``javascript:``, ``file:``,
  ``http://169.254.169.254/``, ``http://100.100.100.200/`` are dropped, the record kept).

Each drop is reported in the operator's log (never to the caller: what was dropped may be
a record the caller may not see). Screening runs inside the source's guard, so a page is
screened once, when fetched, and its cached copy is already clean.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import urllib.parse
from collections.abc import Mapping
from dataclasses import replace

from connectors.sdk import SearchPage, SourceSettings
from schema.model import Dataset, Distribution

log = logging.getLogger("gateway.federation")

# Cloud instance-metadata endpoints that are not link-local addresses (Alibaba Cloud's is
# 100.100.100.200; Tencent Cloud and Google name theirs).
_METADATA_HOSTS = frozenset(
    {
        "100.100.100.200",
        "metadata",
        "metadata.google.internal",
        "metadata.tencentyun.com",
        "metadata.azure.internal",
    }
)


def safe_link(url: str | None) -> bool:
    """Whether ``url`` may be served: ``http(s)``, with a host, not link-local or metadata.

    >>> safe_link("https://data.example.gov.cn/x.csv"), safe_link("javascript:alert(1)")
    (True, False)
    """
    if url is None:
        return True
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    if host in _METADATA_HOSTS:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name: resolved by whoever follows the link, not by the gateway
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (address.is_link_local or address.is_unspecified)


# The same links come back on every page that holds their record: check each once.
_safe_link_memo = functools.lru_cache(maxsize=8192)(safe_link)


class RecordScreen:
    """The checks of one source (see the module docstring)."""

    def __init__(self, settings: SourceSettings) -> None:
        self.source_id = settings.id
        self.speaks_for = frozenset(settings.speaks_for)

    def dataset(self, dataset: Dataset | None) -> Dataset | None:
        """``dataset`` as it may be served, or ``None`` when it must be dropped."""
        if dataset is None:
            return None
        if self._outside(dataset):
            self._report_outside([dataset])
            return None
        cleaned, dropped = _clean_links(dataset)
        if dropped:
            self._report_links([(dataset, dropped)])
        return cleaned

    def datasets(self, found: Mapping[str, Dataset | None]) -> dict[str, Dataset | None]:
        return {local_id: self.dataset(d) for local_id, d in found.items()}

    def page(self, page: SearchPage) -> SearchPage:
        """The page less the records outside the source's departments, links cleaned.

        A page that lost records no longer counts exactly what it returns: it says it did
        not apply the visibility, so the engine counts for itself."""
        kept: list[tuple[int, Dataset]] = []
        outside: list[Dataset] = []
        links: list[tuple[Dataset, list[str]]] = []
        changed = False
        for index, dataset in enumerate(page.datasets):
            if self._outside(dataset):
                outside.append(dataset)
                changed = True
                continue
            cleaned, dropped = _clean_links(dataset)
            if dropped:
                links.append((dataset, dropped))
                changed = True
            kept.append((page.position(index), cleaned))
        if not changed:
            return page
        if outside:
            self._report_outside(outside)
        if links:
            self._report_links(links)
        return replace(
            page,
            datasets=tuple(d for _, d in kept),
            positions=tuple(p for p, _ in kept),
            consumed=page.upstream_rows(),
            any_of_applied=page.any_of_applied and not outside,
        )

    def _outside(self, dataset: Dataset) -> bool:
        return (
            bool(self.speaks_for)
            and dataset.department is not None
            and dataset.department.id not in self.speaks_for
        )

    def _report_outside(self, datasets: list[Dataset]) -> None:
        log.warning(
            "source %s: dropped %d record(s) claiming a department it does not speak for "
            "(speaks_for: %s): %s",
            self.source_id,
            len(datasets),
            ", ".join(sorted(self.speaks_for)),
            ", ".join(
                f"{d.local_id} ({d.department.id if d.department else '?'})" for d in datasets[:20]
            ),
        )

    def _report_links(self, found: list[tuple[Dataset, list[str]]]) -> None:
        log.warning(
            "source %s: dropped %d link(s) that are not http(s) or point at a link-local or "
            "metadata address: %s",
            self.source_id,
            sum(len(dropped) for _, dropped in found),
            "; ".join(
                f"{d.local_id}: {', '.join(repr(u[:100]) for u in dropped)}"
                for d, dropped in found[:20]
            ),
        )


def _all_safe(dataset: Dataset) -> bool:
    """Whether every link of ``dataset`` may be served (nearly always: checked first,
    without building anything)."""
    safe = _safe_link_memo
    if not safe(dataset.landing_page):
        return False
    for distribution in dataset.distributions:
        if not (safe(distribution.access_url) and safe(distribution.download_url)):
            return False
    return True


def _clean_links(dataset: Dataset) -> tuple[Dataset, list[str]]:
    """``dataset`` without the links it may not serve, and the links dropped."""
    dropped: list[str] = []
    if _all_safe(dataset):
        return dataset, dropped

    def keep(url: str | None) -> str | None:
        if _safe_link_memo(url):
            return url
        assert url is not None
        dropped.append(url)
        return None

    landing = keep(dataset.landing_page)
    distributions = tuple(
        _distribution(d, keep(d.access_url), keep(d.download_url)) for d in dataset.distributions
    )
    if not dropped:
        return dataset, dropped
    return replace(dataset, landing_page=landing, distributions=distributions), dropped


def _distribution(d: Distribution, access: str | None, download: str | None) -> Distribution:
    if access == d.access_url and download == d.download_url:
        return d
    return replace(d, access_url=access, download_url=download)
