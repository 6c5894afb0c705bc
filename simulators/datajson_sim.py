"""A simulated Project Open Data ``data.json`` catalogue over a ``PlatformCatalogue``.

``GET /data.json`` (and ``HEAD``) serves the platform's CKAN packages converted to the
Project Open Data metadata schema v1.1 the way a CKAN site's data.json export writes
them (field names, nesting and vocabularies per project-open-data.github.io
``v1.1/schema/*.json`` and ``v1.1/examples/catalog-sample.json``):
``{"@context", "@type": "dcat:Catalog", "conformsTo", "describedBy", "dataset": [...]}``,
each dataset with ``identifier``, ``title``, ``description`` (null or HTML when the
package's notes are), ``keyword``, ``modified`` (CKAN's naive timestamp), ``issued`` (a
date), ``publisher`` (``org:Organization`` nested with ``subOrganizationOf``),
``contactPoint`` (``vcard:Contact`` with ``hasEmail: mailto:...``), ``accessLevel``
(``public`` / ``restricted public`` / ``non-public``; absent when the package states no
open class), ``rights``, ``license``, ``spatial``, ``temporal`` (``start/end``),
``accrualPeriodicity`` (``R/P1M``... or ``irregular``), ``theme`` (group names),
``distribution`` (``downloadURL`` + ``mediaType`` + ``format``, or ``accessURL`` for an
API) and ``landingPage``. Government fields ride in extension keys: ``shareType``,
``sensitivity``, ``shareCondition``, ``contactPhone``, ``fields`` (values as the package
writes them: 无条件共享, L2, 二级...).

Like a static file server it sends ``ETag`` and ``Last-Modified``, answers 304 to a
matching ``If-None-Match`` (or, without one, a not-older ``If-Modified-Since``) and
gzips the body for clients that accept it.

    >>> sim = DataJsonSimulator(build_city_catalogue().platforms["city-open-portal"])
    >>> sim.fault.mode = "hang"

Admin endpoints (not part of data.json): ``GET|POST /__sim__/fault``, ``GET
/__sim__/stats``, ``POST /__sim__/stats/reset`` as in ``simulators.ckan_sim``, and
``POST /__sim__/touch``, which publishes a new revision of the catalogue (new ``ETag``
and ``Last-Modified``, same records).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from schema import vocab
from schema.model import OpenType
from simulators.catalogue import PlatformCatalogue
from simulators.faults import (
    CORRUPTION,
    Fault,
    HugeBody,
    SimStats,
    SimulatedPlatform,
)

__all__ = [
    "DataJsonSimulator",
    "catalogue_document",
    "datajson_department_ids",
    "package_to_datajson",
]

JSON_TYPE = "application/json"
CONFORMS_TO = "https://project-open-data.cio.gov/v1.1/schema"
CITY_GOVERNMENT = "河西市人民政府"

ACCESS_LEVELS: Mapping[OpenType, str] = {
    OpenType.OPEN: "public",
    OpenType.CONDITIONAL: "restricted public",
    OpenType.NOT_OPEN: "non-public",
}
PERIODICITY: Mapping[str, str] = {
    "实时": "R/PT1S",
    "每日": "R/P1D",
    "每周": "R/P1W",
    "每月": "R/P1M",
    "每季度": "R/P3M",
    "每半年": "R/P6M",
    "每年": "R/P1Y",
    "不定期": "irregular",
}


def datajson_department_ids(platform: PlatformCatalogue) -> dict[str, str]:
    """Publisher name -> department id for the ``datajson`` connector's
    ``department_ids`` option (data.json publishers carry names, not ids)."""
    return {org["title"]: org["name"] for org in platform.organizations}


def package_to_datajson(package: Mapping[str, Any], base: str) -> dict[str, Any]:
    """One CKAN package as a data.json v1.1 dataset (``{base}`` in URLs filled in)."""
    extras = {e["key"]: e["value"] for e in package.get("extras") or ()}
    org = package.get("organization")
    entry: dict[str, Any] = {
        "@type": "dcat:Dataset",
        "identifier": extras.get("identifier") or package["id"],
        "title": package["title"],
        "description": package.get("notes"),
        "keyword": [t["display_name"] for t in package.get("tags") or ()],
        "modified": package["metadata_modified"],
        "issued": package["metadata_created"][:10],
    }
    if org:
        entry["publisher"] = {
            "@type": "org:Organization",
            "name": org["title"],
            "code": org.get("code"),
            "subOrganizationOf": {"@type": "org:Organization", "name": CITY_GOVERNMENT},
        }
    contact: dict[str, Any] = {"@type": "vcard:Contact"}
    if package.get("maintainer"):
        contact["fn"] = package["maintainer"]
    if package.get("maintainer_email"):
        contact["hasEmail"] = f"mailto:{package['maintainer_email']}"
    if len(contact) > 1:
        entry["contactPoint"] = contact
    open_type = vocab.parse_open_type(extras.get("open_type"))
    if open_type is not None:
        entry["accessLevel"] = ACCESS_LEVELS[open_type]
    if open_type is OpenType.CONDITIONAL and extras.get("open_condition"):
        entry["rights"] = extras["open_condition"]
    if package.get("license_url"):
        entry["license"] = package["license_url"]
    for key, name in (("spatial", "spatial"), ("temporal", "temporal")):
        if extras.get(key):
            entry[name] = extras[key]
    if extras.get("update_cycle") in PERIODICITY:
        entry["accrualPeriodicity"] = PERIODICITY[extras["update_cycle"]]
    entry["theme"] = [g["name"] for g in package.get("groups") or ()]
    entry["distribution"] = [_distribution(r, base) for r in package.get("resources") or ()]
    entry["landingPage"] = f"{base}/dataset/{package['name']}"
    for key, name in (
        ("share_type", "shareType"),
        ("sensitivity", "sensitivity"),
        ("share_condition", "shareCondition"),
        ("contact_phone", "contactPhone"),
        ("resource_code", "resourceCode"),
        ("resource_class", "resourceClass"),
        ("format_class", "formatClass"),
        ("share_method", "shareMethod"),
        ("open_condition", "openCondition"),
        ("not_shared_basis", "notSharedBasis"),
        ("grade", "grade"),
    ):
        if extras.get(key):
            entry[name] = extras[key]
    if extras.get("related_resources"):
        entry["relatedResources"] = [extras["related_resources"]]
    if extras.get("fields"):
        entry["fields"] = json.loads(extras["fields"])
    return entry


def _distribution(resource: Mapping[str, Any], base: str) -> dict[str, Any]:
    url = str(resource["url"]).replace("{base}", base)
    dist: dict[str, Any] = {"@type": "dcat:Distribution"}
    if resource.get("format") == "API":
        dist.update({"accessURL": url, "format": "API"})
    else:
        dist["downloadURL"] = url
        if resource.get("mimetype"):
            dist["mediaType"] = resource["mimetype"]
        if resource.get("format"):
            dist["format"] = resource["format"]
        if isinstance(resource.get("size"), int):
            dist["byteSize"] = resource["size"]  # DCAT-US 3 name, an extension in v1.1
    if resource.get("name"):
        dist["title"] = resource["name"]
    if resource.get("description"):
        dist["description"] = resource["description"]
    return dist


def catalogue_document(platform: PlatformCatalogue, base: str) -> dict[str, Any]:
    """The whole ``data.json`` catalog of ``platform`` as served at ``{base}/data.json``."""
    return {
        "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",
        "@id": f"{base}/data.json",
        "@type": "dcat:Catalog",
        "conformsTo": CONFORMS_TO,
        "describedBy": "https://project-open-data.cio.gov/v1.1/schema/catalog.json",
        "dataset": [package_to_datajson(p, base) for p in platform.packages],
    }


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class _Document:
    body: bytes
    gzipped: bytes
    entries: list[bytes]  # each dataset serialised, for the ``huge`` fault


class DataJsonSimulator(SimulatedPlatform):
    """One simulated agency serving ``/data.json`` for ``platform``; ``app`` is its app.

    ``base_url`` fixes the site URL used in links; by default each request's own base
    URL is used.
    """

    def __init__(
        self,
        platform: PlatformCatalogue,
        fault: Fault | None = None,
        *,
        base_url: str | None = None,
        stats: SimStats | None = None,
    ) -> None:
        super().__init__(platform, fault, stats)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.revision = 0
        stamps = [p["metadata_modified"] for p in platform.packages]
        newest = datetime.fromisoformat(max(stamps)) if stamps else datetime(2019, 1, 1)
        self.last_modified = newest.replace(tzinfo=UTC, microsecond=0)
        self._documents: dict[str, _Document] = {}
        self.app = Starlette(
            routes=[
                Route("/data.json", self.data_json, methods=["GET", "HEAD"]),
                *self.faults.admin_routes(),
                Route("/__sim__/touch", self.admin_touch, methods=["POST"]),
            ]
        )

    def touch(self) -> None:
        """Publish a new revision: a new ETag and Last-Modified (the records stay)."""
        self.revision += 1
        now = datetime.now(UTC).replace(microsecond=0)
        self.last_modified = max(now, self.last_modified + timedelta(seconds=1))

    def etag(self, base: str) -> str:
        digest = hashlib.sha256(self._document(base).body).hexdigest()[:20]
        return f'"{digest}-{self.revision}"'

    def _document(self, base: str) -> _Document:
        document = self._documents.get(base)
        if document is None:
            catalogue = catalogue_document(self.platform, base)
            body = _dumps(catalogue)
            entries = [_dumps(entry) for entry in catalogue["dataset"]]
            document = _Document(body, gzip.compress(body, 6, mtime=0), entries)
            self._documents[base] = document
        return document

    def _base(self, request: Request) -> str:
        return self.base_url or str(request.base_url).rstrip("/")

    # -- data.json ---------------------------------------------------------------------

    async def data_json(self, request: Request) -> Response:
        headers = request.headers
        self.stats.record(
            "data.json",
            {
                name: headers[name]
                for name in ("if-none-match", "if-modified-since", "accept-encoding")
                if name in headers
            },
        )
        base = self._base(request)
        fault_response = await self._apply_fault(request, base)
        if fault_response is not None:
            return fault_response
        document = self._document(base)
        validators = {
            "ETag": self.etag(base),
            "Last-Modified": format_datetime(self.last_modified, usegmt=True),
            "Cache-Control": "public, max-age=0, must-revalidate",
            "Vary": "Accept-Encoding",
        }
        if self._not_modified(request, validators["ETag"]):
            return Response(status_code=304, headers=validators)
        body, media = document.body, f"{JSON_TYPE}; charset=utf-8"
        if "gzip" in headers.get("accept-encoding", "").lower():
            body, validators["Content-Encoding"] = document.gzipped, "gzip"
        if request.method == "HEAD":
            validators["Content-Length"] = str(len(body))
            return Response(status_code=200, headers=validators, media_type=media)
        return Response(body, headers=validators, media_type=media)

    def _not_modified(self, request: Request, etag: str) -> bool:
        """RFC 9110 section 13.2.2: If-None-Match (weak comparison) takes precedence."""
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None:
            if if_none_match.strip() == "*":
                return True
            wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            return etag in wanted
        since = request.headers.get("if-modified-since")
        if since is None:
            return False
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return self.last_modified <= moment

    # -- faults ------------------------------------------------------------------------

    async def _apply_fault(self, request: Request, base: str) -> Response | None:
        def garbage() -> Response:
            body = (
                f'{{"conformsTo":"{CONFORMS_TO}","dataset":[{{"@type":"dcat:Dataset",'
                '"identifier":"330100/JTJ-0' + CORRUPTION
            )
            return Response(body.encode(), media_type=JSON_TYPE)

        async def huge() -> HugeBody:
            # A valid data.json whose datasets repeat.
            entries = self._document(base).entries or [b"{}"]
            head = f'{{"conformsTo":"{CONFORMS_TO}","dataset":['.encode()
            return HugeBody(head, b",".join(entries), b"]}", JSON_TYPE)

        return await self.faults.failure(request, garbage=garbage, huge=huge)

    # -- admin -------------------------------------------------------------------------

    async def admin_touch(self, request: Request) -> Response:
        self.touch()
        base = self._base(request)
        info = {
            "revision": self.revision,
            "etag": self.etag(base),
            "last_modified": format_datetime(self.last_modified, usegmt=True),
        }
        return Response(_dumps(info), media_type=JSON_TYPE)
