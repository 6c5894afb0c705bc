"""Distribution formats: names from media types and file extensions, shared by the
connectors whose platforms often state only one of them (data.json, DCAT).

``format_name("", "text/csv", None)`` is ``"CSV"``; ``is_media_type`` tells a media type
written where a format name belongs (``dct:format "text/csv"``) from a format name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["format_for_media_type", "format_name", "is_media_type"]

# Media types and file extensions to format names, for distributions that state none.
_MEDIA_FORMATS: Mapping[str, str] = {
    "text/csv": "CSV",
    "application/csv": "CSV",
    "text/tab-separated-values": "TSV",
    "application/json": "JSON",
    "application/geo+json": "GEOJSON",
    "application/vnd.geo+json": "GEOJSON",
    "application/ld+json": "JSON-LD",
    "application/vnd.ms-excel": "XLS",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/pdf": "PDF",
    "application/zip": "ZIP",
    "application/x-zip-compressed": "ZIP",
    "application/xml": "XML",
    "text/xml": "XML",
    "application/rdf+xml": "RDF",
    "text/turtle": "TTL",
    "text/plain": "TXT",
    "text/html": "HTML",
    "application/vnd.google-earth.kml+xml": "KML",
    "application/vnd.google-earth.kmz": "KMZ",
    "application/x-shapefile": "SHP",
    "application/vnd.shp": "SHP",
    "application/geopackage+sqlite3": "GPKG",
    "application/vnd.apache.parquet": "PARQUET",
    "application/vnd.oasis.opendocument.spreadsheet": "ODS",
    "application/msword": "DOC",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/tiff": "TIFF",
}
_EXTENSION_FORMATS = frozenset(
    {"CSV", "TSV", "JSON", "GEOJSON", "JSONLD", "XLS", "XLSX", "PDF", "ZIP", "XML", "RDF"}
    | {"TTL", "TXT", "KML", "KMZ", "SHP", "GPKG", "PARQUET", "ODS", "DOCX", "DOC"}
)


def format_name(fmt: str | None, media_type: str | None, url: str | None) -> str | None:
    """The distribution's format, upper-cased: as stated, else from its media type or
    the extension of its URL."""
    if fmt:
        return fmt.strip().lstrip(".").upper() or None
    found = format_for_media_type(media_type)
    if found:
        return found
    if url:
        path = urlsplit(url).path
        extension = path.rsplit(".", 1)[-1].upper() if "." in path.rsplit("/", 1)[-1] else ""
        if extension in _EXTENSION_FORMATS:
            return "JSON-LD" if extension == "JSONLD" else extension
    return None


_MEDIA_TYPE = re.compile(
    r"^(?:application|text|image|audio|video|model|font|multipart|message)/[\w.+-]+"
    r"(?:\s*;.*)?$",
    re.IGNORECASE,
)


def is_media_type(text: str | None) -> bool:
    """``text/csv`` or ``application/vnd.ms-excel; charset=...``, not ``CSV``."""
    return text is not None and _MEDIA_TYPE.match(text.strip()) is not None


def format_for_media_type(media_type: str | None) -> str | None:
    """The format name of a known media type (``application/vnd.ms-excel`` -> ``XLS``)."""
    if not media_type:
        return None
    return _MEDIA_FORMATS.get(media_type.split(";")[0].strip().lower())
