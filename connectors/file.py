"""A catalogue kept in a local file: ``data.json``, or DCAT as Turtle, RDF/XML or JSON-LD.

For departments that publish no API at all, only an exported catalogue file (or for a
test fixture). The file is read whole, indexed locally and searched like any other
source; it is read again when its modification time, size or inode change (checked
at most every ``refresh_seconds``, default 2).

The format comes from ``options.format``, else the extension (``.ttl``, ``.rdf``,
``.owl``, ``.xml``, ``.jsonld``, ``.nt``, ``.n3``: DCAT; ``.json``: data.json or
JSON-LD), else the content. DCAT documents are parsed by
``connectors.dcat.parse_dcat_document``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx
from pydantic import Field

from connectors._lenient_json import load_catalogue_json
from connectors.datajson import DataJsonMapper, DataJsonOptions
from connectors.sdk import (
    FatalError,
    NotSupported,
    SourceSettings,
    SourceUnavailable,
    StaticCatalogueConnector,
)
from schema.model import Dataset

__all__ = ["FileConnector", "FileOptions"]

_DCAT_EXTENSIONS = {
    ".ttl": "text/turtle",
    ".rdf": "application/rdf+xml",
    ".owl": "application/rdf+xml",
    ".xml": "application/rdf+xml",
    ".jsonld": "application/ld+json",
    ".nt": "application/n-triples",
    ".n3": "text/n3",
}
_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"


class FileOptions(DataJsonOptions):
    """``options`` of a ``connector: file`` source (plus those of ``datajson``).

    ``path`` is the catalogue file (else the source's ``url`` must be ``file://...``);
    ``format`` forces ``datajson`` or ``dcat`` instead of detecting it::

        options: {path: /srv/catalogue/data.json, refresh_seconds: 10}
    """

    path: str | None = None
    format: Literal["auto", "datajson", "dcat"] = "auto"
    refresh_seconds: float = Field(2.0, ge=0, le=7 * 24 * 3600)


class FileConnector(StaticCatalogueConnector):
    """A catalogue file on the gateway's own disk, searched locally."""

    name = "file"
    options_model = FileOptions

    def __init__(self, settings: SourceSettings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        self.options = self.options_as(FileOptions)
        self.mapper = DataJsonMapper(settings, self.options)
        self.path = catalogue_path(settings.url, self.options.path)

    async def load(self) -> list[Dataset] | None:
        path = self.path
        if path is None:
            raise FatalError(
                "no catalogue file: set options.path or a file:// url", source_id=self.source_id
            )
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise SourceUnavailable(
                f"catalogue file {path} does not exist", source_id=self.source_id
            ) from None
        except OSError as exc:
            raise FatalError(
                f"cannot read catalogue file {path}: {exc.strerror}", source_id=self.source_id
            ) from None
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if self.known_version(str(path)) == stamp:
            return None
        if stat.st_size > self.settings.max_response_bytes:
            raise FatalError(
                f"catalogue file {path} of {stat.st_size} bytes exceeds the "
                f"{self.settings.max_response_bytes}-byte cap",
                source_id=self.source_id,
            )
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise FatalError(
                f"cannot read catalogue file {path}: {exc.strerror}", source_id=self.source_id
            ) from None
        datasets = await asyncio.to_thread(self.parse, data, path)
        self.note_version(str(path), stamp)
        return datasets

    def parse(self, data: bytes, path: Path) -> list[Dataset]:
        """The datasets of the file's content (format from options, extension, content)."""
        wanted = self.options.format
        media_type = _DCAT_EXTENSIONS.get(path.suffix.lower())
        if wanted == "dcat" or (wanted == "auto" and media_type is not None):
            return self._parse_dcat(data, media_type or _sniff_rdf(data))
        head = data.lstrip(_BOM_AND_SPACE)[:1]
        if wanted == "auto" and head not in (b"{", b"["):
            media_type = _sniff_rdf(data)
            if media_type:
                return self._parse_dcat(data, media_type)
            raise NotSupported(
                f"cannot tell the format of {path.name}: neither JSON nor RDF; set options.format",
                source_id=self.source_id,
            )
        document, lenient = load_catalogue_json(data, what=path.name, source_id=self.source_id)
        if wanted == "auto" and _is_json_ld(document):
            return self._parse_dcat(data, "application/ld+json")
        datasets = self.mapper.map_document(document, repair=lenient)
        self.notice = self.mapper.summary
        return datasets

    def _parse_dcat(self, data: bytes, media_type: str | None) -> list[Dataset]:
        try:
            from connectors.dcat import parse_dcat_document
        except ImportError as exc:
            raise NotSupported(
                "reading DCAT files (Turtle, RDF/XML, JSON-LD) needs "
                f"connectors.dcat.parse_dcat_document, which is not available ({exc}); "
                "export the catalogue as data.json instead",
                source_id=self.source_id,
            ) from exc
        parse: Any = parse_dcat_document
        media_type = media_type or "text/turtle"
        if "settings" in inspect.signature(parse).parameters:
            datasets = parse(data, media_type, settings=self.settings)
        else:
            datasets = parse(data, media_type)
        return [self._own(dataset) for dataset in datasets]

    def _own(self, dataset: Dataset) -> Dataset:
        """The dataset as this source's (its id, and its department when it has none)."""
        changes: dict[str, Any] = {}
        if dataset.source_id != self.source_id:
            changes["source_id"] = self.source_id
        if dataset.department is None and self.settings.department is not None:
            changes["department"] = self.settings.department
        return dataclasses.replace(dataset, **changes) if changes else dataset


def catalogue_path(url: str, path: str | None) -> Path | None:
    """``path`` (``~`` expanded), else the path of a ``file://`` url, else ``None``."""
    if path:
        return Path(os.path.expanduser(path))
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(parts.path))


def _sniff_rdf(data: bytes) -> str | None:
    head = data.lstrip(_BOM_AND_SPACE)[:512]
    if head.startswith(b"<"):
        return "application/rdf+xml"
    if head[:1] in (b"{", b"["):
        return "application/ld+json"
    lowered = head.lower()
    if lowered.startswith((b"@prefix", b"prefix", b"@base", b"base")) or b"@prefix" in lowered:
        return "text/turtle"
    return None


def _is_json_ld(document: object) -> bool:
    """JSON-LD DCAT rather than data.json (which may also carry an ``@context``)."""
    if isinstance(document, dict):
        return not isinstance(document.get("dataset"), list) and (
            "@graph" in document or "@context" in document or "@type" in document
        )
    if isinstance(document, list):
        return any(isinstance(node, dict) and "@id" in node for node in document)
    return False
