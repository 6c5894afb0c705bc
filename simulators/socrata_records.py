"""CKAN packages as Socrata assets: what ``simulators.socrata_sim`` serves and searches.

Each active, public CKAN package of a ``PlatformCatalogue`` becomes one Discovery API
result (``{"resource", "classification", "metadata", "permalink", "link", "owner",
"creator"}``), shaped like the Discovery API reference (socrata/dev.socrata.com,
``apis/discovery.json``):

- ``title`` -> ``resource.name``, ``notes`` -> ``resource.description`` (``""`` when
  empty, HTML kept), the organization title -> ``resource.attribution`` (``null`` when
  there is none), ``metadata_created`` / ``metadata_modified`` -> ``createdAt`` /
  ``updatedAt`` (``...T...000Z``);
- the ``fields`` extra -> the parallel ``columns_field_name`` / ``columns_name`` /
  ``columns_datatype`` / ``columns_description`` arrays (the resources themselves are
  not listed: Socrata serves every dataset through SODA, ``/resource/{id}.json``);
- the first group's title -> ``classification.domain_category`` (a Socrata asset has one
  category), every group -> Socrata's own lower-case ``categories``, tags -> lower-case
  ``domain_tags``, the other extras -> ``domain_metadata`` keys ``Catalog_<Key-Name>``
  (``update_cycle`` -> ``Catalog_Update-Frequency``), maintainer -> ``Common-Core_Contact-*``;
- ids are four-by-fours (``abcd-2345``) derived from the package uuid.

Links hold the literal ``{base}`` and ``metadata.domain`` the literal ``{domain}``; the
simulator substitutes the real ones when serving.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from simulators.catalogue import PlatformCatalogue

__all__ = ["Asset", "AssetIndex", "asset_index", "four_by_four", "tokens"]

_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"  # Socrata ids avoid 0, 1, l and o

# Socrata's own (algorithmic) categories for the demo's CKAN groups.
SOCRATA_CATEGORIES: Mapping[str, str] = {
    "transport": "transportation",
    "health": "health",
    "environment": "environment",
    "economy": "economy",
    "education": "education",
    "society": "social services",
    "urban-planning": "housing & development",
    "public-safety": "public safety",
}

_DATATYPES: Mapping[str, str] = {
    "string": "Text",
    "text": "Text",
    "integer": "Number",
    "number": "Number",
    "float": "Number",
    "date": "Calendar date",
    "datetime": "Calendar date",
    "boolean": "Checkbox",
}

_METADATA_NAMES: Mapping[str, str] = {
    "update_cycle": "Update-Frequency",
    "title_en": "Title-EN",
}
_NOT_METADATA = frozenset({"fields"})

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def tokens(text: str) -> list[str]:
    """Roughly Elasticsearch's standard analyser: lower case, words split on punctuation,
    each CJK character its own token; a plural ``s`` dropped as a minimal stemmer."""
    out = []
    for token in _TOKEN.findall(text.lower()):
        if len(token) > 3 and token.isascii() and token.endswith("s"):
            token = token[:-1]
        out.append(token)
    return out


def four_by_four(seed: str, taken: set[str]) -> str:
    """A Socrata-style id (``xxxx-xxxx``) derived from ``seed``, unique within ``taken``."""
    for attempt in range(1000):
        digest = int.from_bytes(hashlib.sha256(f"{seed}/{attempt}".encode()).digest()[:5], "big")
        chars = "".join(_ALPHABET[(digest >> (5 * i)) & 31] for i in range(8))
        uid = f"{chars[:4]}-{chars[4:]}"
        if uid not in taken:
            taken.add(uid)
            return uid
    raise RuntimeError(f"no free four-by-four for {seed!r}")


def _stamp(ckan_time: str) -> str:
    """CKAN's naive UTC timestamp as Socrata writes one: ``2024-03-01T12:00:00.000Z``."""
    moment = datetime.fromisoformat(ckan_time).replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _metadata_key(extra_key: str) -> str:
    name = _METADATA_NAMES.get(extra_key)
    if name is None:
        name = "-".join(part.capitalize() for part in extra_key.split("_") if part)
    return f"Catalog_{name}"


def _slug(text: str) -> str:
    return quote("-".join(text.split()), safe="-")


@dataclass(frozen=True, slots=True, eq=False)
class Asset:
    """One served asset: its record (JSON with placeholders) and what search reads."""

    uid: str
    json: str
    name: str
    attribution: str | None
    license: str | None
    owner_id: str
    owner_name: str
    domain_category: str | None
    categories: frozenset[str]
    domain_tags: frozenset[str]
    column_names: frozenset[str]
    metadata: Mapping[str, str]
    created: str
    updated: str
    page_views: Mapping[str, int]
    name_tokens: frozenset[str]
    text_tokens: frozenset[str]
    label_tokens: frozenset[str]


@dataclass(frozen=True, eq=False)
class AssetIndex:
    """Every asset of a platform, in catalogue order, with lookups by id."""

    assets: tuple[Asset, ...]
    by_id: Mapping[str, int]


def _record(pkg: Mapping[str, Any], uid: str, owner_id: str) -> dict[str, Any]:
    extras = {
        e["key"]: e["value"] for e in pkg.get("extras") or [] if e.get("value") not in (None, "")
    }
    fields = json.loads(extras.get("fields") or "[]")
    org = pkg.get("organization")
    groups = pkg.get("groups") or []
    created, updated = _stamp(pkg["metadata_created"]), _stamp(pkg["metadata_modified"])
    uploads = [r["last_modified"] for r in pkg.get("resources") or [] if r.get("last_modified")]
    data_updated = _stamp(max(uploads)) if uploads else updated
    views = int(hashlib.sha256(uid.encode()).hexdigest()[:6], 16) % 5000
    maintainer, email = pkg.get("maintainer"), pkg.get("maintainer_email")
    resource: dict[str, Any] = {
        "name": pkg.get("title") or pkg["name"],
        "id": uid,
        "parent_fxf": [],
        "description": pkg.get("notes") or "",
        "attribution": org["title"] if org else None,
        "attribution_link": None,
        "contact_email": email,
        "type": "dataset",
        "updatedAt": updated,
        "createdAt": created,
        "metadata_updated_at": updated,
        "data_updated_at": data_updated,
        "page_views": {
            "page_views_last_week": views // 50,
            "page_views_last_month": views // 12,
            "page_views_total": views,
            "page_views_last_week_log": 0.0,
            "page_views_last_month_log": 0.0,
            "page_views_total_log": 0.0,
        },
        "columns_name": [f.get("description") or f["name"] for f in fields],
        "columns_field_name": [f["name"] for f in fields],
        "columns_datatype": [_DATATYPES.get(f.get("type", ""), "Text") for f in fields],
        "columns_description": ["" for _ in fields],
        "columns_format": [{} for _ in fields],
        "download_count": views // 7,
        "provenance": "official",
        "lens_view_type": "tabular",
        "lens_display_type": "table",
        "blob_mime_type": None,
        "hide_from_data_json": False,
        "publication_date": created,
    }
    metadata = [
        {"key": _metadata_key(key), "value": str(value)}
        for key, value in extras.items()
        if key not in _NOT_METADATA
    ]
    if maintainer:
        metadata.append({"key": "Common-Core_Contact-Name", "value": maintainer})
    if email:
        metadata.append({"key": "Common-Core_Contact-Email", "value": email})
    category = groups[0]["title"] if groups else None
    classification: dict[str, Any] = {
        "categories": [SOCRATA_CATEGORIES.get(g["name"], g["name"].lower()) for g in groups],
        "tags": [],
        "domain_category": category,
        "domain_tags": list(dict.fromkeys(t["name"].lower() for t in pkg.get("tags") or [])),
        "domain_metadata": metadata,
    }
    if not category:  # Socrata leaves the key out of an uncategorised asset
        del classification["domain_category"]
    extra_meta: dict[str, Any] = {"domain": "{domain}"}
    if pkg.get("license_id") not in (None, "", "notspecified") and pkg.get("license_title"):
        extra_meta["license"] = pkg["license_title"]
    owner = {
        "id": owner_id,
        "user_type": "interactive",
        "display_name": maintainer or "Open Data Team",
    }
    return {
        "resource": resource,
        "classification": classification,
        "metadata": extra_meta,
        "permalink": f"{{base}}/d/{uid}",
        "link": f"{{base}}/{_slug(category or 'dataset')}/{_slug(pkg['name'])}/{uid}",
        "owner": owner,
        "creator": owner,
    }


def _asset(record: Mapping[str, Any]) -> Asset:
    resource, classification = record["resource"], record["classification"]
    metadata = {m["key"]: m["value"] for m in classification["domain_metadata"]}
    category = classification.get("domain_category")
    labels = [*classification["domain_tags"], category or "", resource["attribution"] or ""]
    columns = [*resource["columns_name"], *resource["columns_field_name"]]
    text = " ".join([resource["description"], *columns, *labels])
    views = resource["page_views"]
    return Asset(
        uid=resource["id"],
        json=json.dumps(record, ensure_ascii=False, separators=(",", ":")),
        name=resource["name"],
        attribution=resource["attribution"],
        license=record["metadata"].get("license"),
        owner_id=record["owner"]["id"],
        owner_name=record["owner"]["display_name"],
        domain_category=category,
        categories=frozenset(classification["categories"]),
        domain_tags=frozenset(classification["domain_tags"]),
        column_names=frozenset(c.lower() for c in resource["columns_name"]),
        metadata=metadata,
        created=resource["createdAt"],
        updated=resource["updatedAt"],
        page_views={k: v for k, v in views.items() if not k.endswith("_log")},
        name_tokens=frozenset(tokens(resource["name"])),
        text_tokens=frozenset(tokens(text)),
        label_tokens=frozenset(tokens(" ".join(labels))),
    )


def _index(packages: Iterable[Mapping[str, Any]]) -> AssetIndex:
    taken: set[str] = set()
    owners: dict[str, str] = {}
    assets = []
    for pkg in packages:
        if pkg.get("private") or pkg.get("state", "active") != "active":
            continue  # anonymous Discovery API callers see public, published assets only
        uid = four_by_four(str(uuid.UUID(pkg["id"])), taken)
        creator = str(pkg.get("creator_user_id") or "")
        if creator not in owners:
            owners[creator] = four_by_four(f"user/{creator}", taken)
        assets.append(_asset(_record(pkg, uid, owners[creator])))
    return AssetIndex(tuple(assets), {a.uid: i for i, a in enumerate(assets)})


@functools.lru_cache(maxsize=16)
def _cached_index(platform: PlatformCatalogue) -> AssetIndex:
    return _index(platform.packages)


def asset_index(platform: PlatformCatalogue) -> AssetIndex:
    """The platform's packages as Socrata assets (built once per catalogue, read-only)."""
    return _cached_index(platform)
