"""Solr query building for the CKAN connector: ``fq`` clauses and free text.

CKAN passes ``q`` and ``fq`` to Solr; class filters live in ``extras_<key>`` fields that
stock CKAN indexes as tokenised text (see ``class_clause``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

E = TypeVar("E")

MIXED_CASE_FORMATS: Mapping[str, str] = {
    "GEOJSON": "GeoJSON",
    "GEOTIFF": "GeoTIFF",
    "GEOPACKAGE": "GeoPackage",
    "NETCDF": "NetCDF",
    "ARCGIS GEOSERVICES REST API": "ArcGIS GeoServices REST API",
}


SOLR_FIELD_SPECIAL = re.compile(r'([\s\\+\-&|!(){}\[\]^"~*?:/])')


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def extras_field(key: str) -> str:
    """The Solr field CKAN indexes the extra ``key`` under."""
    return "extras_" + SOLR_FIELD_SPECIAL.sub(r"\\\1", key)


def any_of(values: Iterable[str]) -> str:
    return "(" + " OR ".join(quote(v) for v in dict.fromkeys(values)) + ")"


def case_variants(values: Iterable[str]) -> list[str]:
    return [v for value in values for v in (value, value.lower(), value.upper(), value.title())]


def format_variants(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out += [value, value.upper(), value.lower(), value.capitalize()]
        if value.upper() in MIXED_CASE_FORMATS:
            out.append(MIXED_CASE_FORMATS[value.upper()])
    return out


def tokens(text: str) -> list[str]:
    # Roughly what CKAN's ``text`` field analyser does: lower-case, split on punctuation,
    # whitespace and letter/digit boundaries; a run of CJK characters stays one token.
    return re.findall(r"[^\W\d_]+|\d+", text.lower())


def within(phrase: str, value: str) -> bool:
    """Would a Solr phrase query for ``phrase`` match a field holding ``value``?"""
    p, v = tokens(phrase), tokens(value)
    return bool(p) and any(v[i : i + len(p)] == p for i in range(len(v) - len(p) + 1))


def class_clause(
    keys: tuple[str, ...], table: Mapping[str, E], wanted: set[E], default: E
) -> str | None:
    """A clause admitting every record whose class (from ``extras``) is a wanted one.

    A record's class comes from the first of ``keys`` it holds, else the source default.
    The clause admits a record holding a wanted spelling under any key, and, when the
    default is wanted, every record holding no known spelling under the first key: a
    superset of the wanted records, never fewer. ``extras_*`` fields are tokenised in
    stock CKAN, so the phrase "open" also matches "not open"; spellings of other classes
    that a wanted phrase would match are excluded explicitly. ``None`` when no clause
    can be built (the engine filters instead).
    """
    # The vocabulary is keyed lower-case; platforms write "L1", "UNCONDITIONAL"...
    spellings = {
        v: cls for s, cls in table.items() for v in ((s,) if "://" in s else (s, s.upper()))
    }
    want = [s for s, cls in spellings.items() if cls in wanted]
    other = [s for s, cls in spellings.items() if cls not in wanted]
    clash = [o for o in other if any(within(w, o) for w in want)]
    if any(within(c, w) for c in clash for w in want):
        return None
    fields = [extras_field(key) for key in keys]
    parts: list[str] = []
    if want:
        for field in fields:
            include = f"{field}:{any_of(want)}"
            parts.append(f"({include} -{field}:{any_of(clash)})" if clash else include)
    if default in wanted:
        parts.append(f"(*:* -{fields[0]}:{any_of(spellings)})")
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


@functools.lru_cache(maxsize=1024)
def solr_date(value: datetime) -> str:
    """``value`` as a Solr date (UTC). Memoised: every CKAN source of a request writes
    the same bound (equal instants in other zones give the same text)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    stamp = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        stamp += f".{value.microsecond // 1000:03d}"
    return stamp + "Z"


def free_text(text: str | None) -> str | None:
    # A colon switches CKAN from dismax to the Lucene parser (field queries, syntax
    # errors) and "{!" is refused as local params: free text should stay free text.
    if not text:
        return None
    cleaned = " ".join(re.sub(r"[:{}]", " ", text).split())
    return cleaned or None


# -- record mapping helpers -------------------------------------------------------------
