"""Catalogue exports: DCAT-AP 3 (Turtle, JSON-LD), Project Open Data 1.1, CSV.

``export_chunks(kind, pages, base)`` turns the pages of a caller's visible catalogue
(``visible_pages``) into the text of one export, a piece at a time, so the HTTP layer
streams a catalogue of any size. docs/exports.md describes each format.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from gateway.quality.exports._csv import BOM, csv_rows
from gateway.quality.exports._pod import CATALOG_HEAD, CATALOG_TAIL, pod_entry
from gateway.quality.exports._rdf import (
    JSONLD_CONTEXT,
    catalogue_graph,
    dataset_graph,
    jsonld_nodes,
    turtle_body,
    turtle_prefixes,
)
from gateway.quality.exports._walk import Walk, visible_pages
from schema.model import Dataset


@dataclass(frozen=True, slots=True)
class ExportFormat:
    path: str
    media_type: str


EXPORTS = {
    "ttl": ExportFormat("/catalog.ttl", "text/turtle; charset=utf-8"),
    "jsonld": ExportFormat("/catalog.jsonld", "application/ld+json"),
    "datajson": ExportFormat("/data.json", "application/json"),
    "csv": ExportFormat("/catalog.csv", "text/csv; charset=utf-8"),
}


@dataclass(frozen=True, slots=True)
class CatalogueInfo:
    """What the ``dcat:Catalog`` node says about the whole export."""

    title: str = "公共数据资源目录 (public data catalogue)"
    description: str = (
        "The catalogue of every connected department platform, as the caller may see it."
    )
    publisher: str = "Catalogue gateway"


async def export_chunks(
    kind: str, pages: AsyncIterator[list[Dataset]], base: str, info: CatalogueInfo
) -> AsyncIterator[str]:
    """The export ``kind`` (a key of ``EXPORTS``) of ``pages``, piece by piece."""
    if kind == "ttl":
        yield turtle_prefixes()
        yield turtle_body(catalogue_graph(base, info.title, info.description, info.publisher))
        async for page in pages:
            yield "".join(turtle_body(dataset_graph(base, ds)) for ds in page)
    elif kind == "jsonld":
        yield '{"@context": ' + json.dumps(JSONLD_CONTEXT) + ', "@graph": ['
        head = catalogue_graph(base, info.title, info.description, info.publisher)
        yield ",\n".join(jsonld_nodes(head))
        async for page in pages:
            nodes = [n for ds in page for n in jsonld_nodes(dataset_graph(base, ds))]
            if nodes:
                yield ",\n" + ",\n".join(nodes)
        yield "]}\n"
    elif kind == "datajson":
        yield CATALOG_HEAD
        first = True
        async for page in pages:
            entries = [json.dumps(pod_entry(ds), ensure_ascii=False) for ds in page]
            if entries:
                yield ("" if first else ",\n") + ",\n".join(entries)
                first = False
        yield CATALOG_TAIL
    elif kind == "csv":
        yield BOM + csv_rows([], header=True)
        async for page in pages:
            yield csv_rows(page)
    else:
        raise ValueError(f"unknown export {kind!r}")


__all__ = [
    "EXPORTS",
    "CatalogueInfo",
    "ExportFormat",
    "Walk",
    "export_chunks",
    "visible_pages",
]
