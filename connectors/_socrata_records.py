"""Reading Discovery API records: the tolerant field readers ``connectors.socrata`` maps with.

Every reader accepts whatever JSON a platform sends (``null``, a wrong type, an empty
string) and answers ``None`` or an empty value rather than raising.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeGuard
from urllib.parse import quote, urlsplit

from connectors.sdk._text import html_to_text
from schema.model import DataField, Distribution, Temporal, Translation

_MEDIA_FORMATS: Mapping[str, str] = {
    "application/pdf": "PDF",
    "application/zip": "ZIP",
    "application/json": "JSON",
    "application/geo+json": "GeoJSON",
    "application/vnd.ms-excel": "XLS",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/msword": "DOC",
    "text/csv": "CSV",
    "text/plain": "TXT",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
}


def kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def text(value: object) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def array(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in array(value) if isinstance(item, dict)]


def unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def hidden(metadata: object) -> bool:
    """Visibility flags (present with ``show_visibility`` or authenticated searches)."""
    if not isinstance(metadata, dict):
        return False
    return (
        metadata.get("visible_to_anonymous") is False
        or metadata.get("is_public") is False
        or metadata.get("is_published") is False
        or metadata.get("is_hidden") is True
    )


def domain_metadata(value: object) -> dict[str, str]:
    """``[{key, value}]`` as a dict; values stripped, empty ones dropped, first key wins."""
    out: dict[str, str] = {}
    for item in dicts(value):
        key, value_text = item.get("key"), text(item.get("value"))
        if isinstance(key, str) and value_text is not None:
            out.setdefault(key, value_text)
    return out


_TRANSLATED = re.compile(r"_(Title|Description)-([A-Za-z]{2}(?:-[A-Za-z]{2,4})?)$")


def translations(custom: Mapping[str, str]) -> tuple[Translation, ...]:
    """Custom metadata fields holding a translation: ``<Fieldset>_Title-EN``,
    ``<Fieldset>_Description-EN`` (fields a Socrata domain defines for a second language)."""
    found: dict[str, dict[str, str]] = {}
    for key, value in custom.items():
        match = _TRANSLATED.search(key)
        if match and value.strip():
            part = match.group(1).lower()
            found.setdefault(match.group(2).lower(), {}).setdefault(part, value.strip())
    return tuple(
        Translation(lang, title=parts.get("title"), description=parts.get("description"))
        for lang, parts in sorted(found.items())
    )


def timestamp(value: object) -> datetime | None:
    """ISO 8601 (``Z``, offset, naive = UTC, date only) or epoch seconds / milliseconds."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 100_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def temporal(value: str | None) -> Temporal | None:
    """``start/end`` (ISO 8601 interval); either side may be empty or ``..``."""
    if value is None:
        return None
    start_text, _, end_text = value.partition("/")
    start, end = timestamp(start_text), timestamp(end_text)
    return Temporal(start, end) if start or end else None


def origin(item: Mapping[str, Any], metadata: Mapping[str, Any], base: str) -> str:
    """The site the asset lives on, for SODA links: from its permalink, else its domain."""
    for key in ("permalink", "link"):
        parts = urlsplit(text(item.get(key)) or "")
        if parts.scheme in ("http", "https") and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    domain = text(metadata.get("domain"))
    return f"https://{domain}" if domain else base


def distributions(
    local_id: str, resource: Mapping[str, Any], origin: str
) -> tuple[Distribution, ...]:
    """A tabular dataset is served by SODA (``/resource/{id}.json``) and exported whole as
    CSV (``/api/views/{id}/rows.csv``); a file asset (blob) is downloaded as itself."""
    uid = quote(local_id, safe="")
    mime = text(resource.get("blob_mime_type"))
    kind = text(resource.get("type")) or "dataset"
    if kind == "dataset" and mime is None:
        export = f"{origin}/api/views/{uid}/rows.csv?accessType=DOWNLOAD"
        return (
            Distribution(
                title="SODA API",
                format="JSON",
                media_type="application/json",
                access_url=f"{origin}/resource/{uid}.json",
            ),
            Distribution(
                title="CSV export",
                format="CSV",
                media_type="text/csv",
                access_url=export,
                download_url=export,
            ),
        )
    if mime is not None:
        download = f"{origin}/download/{uid}/{quote(mime, safe='')}"
        return (
            Distribution(
                title=text(resource.get("name")),
                format=_MEDIA_FORMATS.get(mime.split(";")[0].strip().lower()),
                media_type=mime,
                access_url=download,
                download_url=download,
            ),
        )
    return ()


def data_fields(resource: Mapping[str, Any]) -> tuple[DataField, ...]:
    """``columns_*`` parallel arrays as data items; computed (``:@...``) columns dropped."""
    names = array(resource.get("columns_field_name"))
    labels = array(resource.get("columns_name"))
    types = array(resource.get("columns_datatype"))
    notes = array(resource.get("columns_description"))

    def at(values: list[Any], i: int) -> str | None:
        return text(values[i]) if i < len(values) else None

    out: list[DataField] = []
    for i in range(max(len(names), len(labels))):
        name, label = at(names, i) or at(labels, i), at(labels, i)
        if name is None or name.startswith(":"):
            continue
        description = at(notes, i) or (label if label != name else None)
        out.append(DataField(name=name, type=at(types, i), description=description))
    return tuple(out)


plain_text = html_to_text
