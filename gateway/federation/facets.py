"""Facet counts: summed from the sources' own counts, or counted over verified records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from connectors.sdk import FacetName
from schema.model import Dataset


def _facet_values(name: FacetName, dataset: Dataset) -> tuple[str, ...]:
    match name:
        case FacetName.DEPARTMENTS:
            return (dataset.department.id,) if dataset.department else ()
        case FacetName.THEMES:
            return dataset.themes
        case FacetName.FORMATS:
            return dataset.formats
        case FacetName.SHARE_TYPES:
            return (dataset.share_type.value,)
        case FacetName.OPEN_TYPES:
            return (dataset.open_type.value,)


def _ordered(counter: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def count_facets(
    datasets: Sequence[Dataset], names: Sequence[FacetName]
) -> dict[FacetName, tuple[tuple[str, int], ...]]:
    """Facet counts over records the gateway verified (what no source counted upstream)."""
    return {
        # Each record counts once per value (one Counter over them all: update() per record
        # cost more than the counting).
        name: _ordered(Counter(v for d in datasets for v in set(_facet_values(name, d))))
        for name in names
    }


def merge_upstream_facets(
    pages: Sequence[Mapping[FacetName, Mapping[str, int]]],
) -> dict[FacetName, tuple[tuple[str, int], ...]]:
    """Sum the facets every source computed upstream; others stay page-counted."""
    names = [name for name in FacetName if all(name in facets for facets in pages)]
    merged: dict[FacetName, Counter[str]] = {name: Counter() for name in names}
    for facets in pages:
        for name in names:
            merged[name].update(facets[name])
    return {name: _ordered(counter) for name, counter in merged.items()}
