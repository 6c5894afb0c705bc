"""A simulated OpenDataSoft portal: the Explore API v2.1 catalogue over a ``PlatformCatalogue``.

The CKAN packages of any catalogue are converted into Explore v2.1 dataset objects
(``dataset_id``, ``dataset_uid``, ``has_records``, ``features``, ``attachments``,
``fields``, ``metas.default`` / ``metas.dcat`` / ``metas.custom`` with ``null`` for unset
values and HTML descriptions), and served like the real platform:

- ``GET /api/explore/v2.1/catalog/datasets``: ``where`` (the ODSQL subset of
  ``simulators.odsql``), ``order_by``, ``limit`` (at most 100), ``offset`` (``offset +
  limit`` at most 10,000), ``refine`` / ``exclude`` (``facet:value``), ``select``, ``lang``;
  answers ``{"total_count", "results"}``.
- ``GET .../catalog/datasets/{dataset_id}``; ``.../exports/{csv|json|geojson}``.
- ``GET .../catalog/facets?facet=theme&facet=publisher``: ``{"links", "facets"}``.
- Errors: 400 ``{"error_code": "InvalidRESTParameterError" | "ODSQLError", "message"}``
  with the real platform's wording, 404 ``NotFoundResource``.

Shapes and messages follow OpenDataSoft's published v2.1 OpenAPI file
(opendatasoft/opendatasoft-explore-sdk, ``generators/python/openapi/v2.1.yaml``) and live
answers quoted in public code ("Invalid value for sum of offset + limit API parameter:
10100 was found but <= 10000 is expected.", ``{"error_code": "NotFoundResource",
"message": "The requested dataset boamp does not exist."}``).

The CKAN mapping: ``name`` -> ``dataset_id``; organization title -> ``publisher`` (``null``
without one); group names -> ``theme``; tags -> ``keyword``; ``extras`` -> ``metas.custom``
(every key any package uses, ``null`` where a package has none); maintainer, spatial,
temporal, created and the update cycle (as an EU frequency URI) -> ``metas.dcat``; the first
data file is the dataset's records, the other files become ``attachments``.

Faults (``Fault``) and the admin endpoints (``/__sim__/fault``, ``/__sim__/stats``,
``/__sim__/stats/reset``) behave as in ``simulators.ckan_sim``.

    >>> sim = OpenDataSoftSimulator(build_city_catalogue().platforms["transport-platform"])
    >>> app = sim.app
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from schema import vocab
from simulators.catalogue import PlatformCatalogue
from simulators.faults import (
    CORRUPTION,
    Fault,
    HugeBody,
    SimStats,
    SimulatedPlatform,
)
from simulators.odsql import (
    FieldSpec,
    OdsqlError,
    compile_order_by,
    compile_where,
    sort_records,
)

__all__ = ["OpenDataSoftSimulator", "ods_datasets"]

API = "/api/explore/v2.1"
JSON_TYPE = "application/json; charset=utf-8"
LANGS = ("en", "fr", "nl", "pt", "it", "ar", "de", "es", "ca", "eu", "sv")
FACETS = ("theme", "keyword", "publisher", "features", "language", "license")
_RECORD_FORMATS = frozenset({"CSV", "JSON", "XLSX", "XLS", "GEOJSON", "SHP"})
_GEO_FORMATS = frozenset({"GEOJSON", "SHP"})
_FIELD_TYPES = {"string": "text", "integer": "int", "number": "double", "date": "date"}
_EU_FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
# Keys of a package's extras that become DCAT metas (or fields) rather than custom ones.
_NOT_CUSTOM = frozenset({"fields", "spatial", "temporal"})

Record = Mapping[str, Any]
Params = Mapping[str, list[str]]
Handler = Callable[[Request, Params], Awaitable[Response]]


class ApiError(Exception):
    """An error the Explore API answers with: ``{"error_code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _rest_error(message: str) -> ApiError:
    return ApiError(400, "InvalidRESTParameterError", message)


def _not_found(dataset_id: str) -> ApiError:
    return ApiError(404, "NotFoundResource", f"The requested dataset {dataset_id} does not exist.")


# -- CKAN -> Explore v2.1 --------------------------------------------------------------


def _iso(ckan_stamp: str | None, *, micros: bool = False) -> str | None:
    if not ckan_stamp:
        return None
    value = datetime.fromisoformat(ckan_stamp).replace(tzinfo=UTC)
    if not micros:
        value = value.replace(microsecond=0)
    return value.isoformat()


def _html(notes: str | None) -> str | None:
    """ODS descriptions are HTML: plain text becomes paragraphs, HTML stays."""
    if not notes or notes.lstrip().startswith("<"):
        return notes
    return "".join(f"<p>{html.escape(p.strip())}</p>" for p in notes.split("\n\n") if p.strip())


def _uid(package_id: str) -> str:
    """A ``dataset_uid`` like the platform's (``da_`` + 6 base-36 characters)."""
    number, out = int(package_id.replace("-", "")[:12], 16), ""
    for _ in range(6):
        number, rest = divmod(number, 36)
        out = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + out
    return "da_" + out


def _fields(raw: object) -> list[dict[str, Any]]:
    try:
        items = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        items = []
    return [
        {
            "name": item["name"],
            "label": item.get("description") or item["name"],
            "type": _FIELD_TYPES.get(str(item.get("type")), "text"),
            "description": None,
            "annotations": {},
        }
        for item in items
        if isinstance(item, dict) and item.get("name")
    ]


def ods_dataset(package: Mapping[str, Any], dataset_id: str, custom_keys: Sequence[str]) -> Record:
    """One CKAN 2.10 package as an Explore v2.1 dataset object."""
    extras = {e["key"]: e["value"] for e in package.get("extras") or []}
    resources = package.get("resources") or []
    formats = [(r.get("format") or "").upper() for r in resources]
    data_files = [r for r, f in zip(resources, formats, strict=True) if f in _RECORD_FORMATS]
    has_records = bool(data_files)
    org = package.get("organization")
    publisher = org.get("title") if isinstance(org, dict) else None
    attachments = []
    for resource, fmt in zip(resources, formats, strict=True):
        if fmt == "API" or (data_files and resource is data_files[0]):
            continue
        file_name = str(resource.get("url") or "").rsplit("/", 1)[-1] or resource["id"]
        attachments.append(
            {
                "mimetype": resource.get("mimetype") or "application/octet-stream",
                "url": f"odsfile://{file_name}",
                "id": file_name.replace(".", "_"),
                "title": file_name,
            }
        )
    cycle = vocab.parse_update_frequency(extras.get("update_cycle"))
    digest = int(hashlib.sha256(package["id"].encode()).hexdigest()[:8], 16)
    return {
        "dataset_id": dataset_id,
        "dataset_uid": _uid(package["id"]),
        "attachments": attachments,
        "has_records": has_records,
        "data_visible": True,
        "fields": _fields(extras.get("fields")) if has_records else [],
        "metas": {
            "default": {
                "title": package.get("title"),
                "description": _html(package.get("notes")),
                "theme": [g["name"] for g in package.get("groups") or []] or None,
                "keyword": [t["display_name"] for t in package.get("tags") or []] or None,
                "license": (
                    None
                    if package.get("license_id") == "notspecified"
                    else package.get("license_title")
                ),
                "license_url": package.get("license_url"),
                "language": "zh",
                "metadata_languages": ["zh"],
                "timezone": None,
                "modified": _iso(package.get("metadata_modified")),
                "modified_updates_on_metadata_change": False,
                "modified_updates_on_data_change": False,
                "data_processed": _iso(package.get("metadata_modified")) if has_records else None,
                "metadata_processed": _iso(package.get("metadata_modified"), micros=True),
                "publisher": publisher,
                "references": None,
                "attributions": None,
                "records_count": 10 + digest % 50_000 if has_records else 0,
                "territory": None,
                "geographic_reference": None,
                "geographic_reference_auto": False,
                "geographic_area": None,
                "geographic_area_mode": None,
                "source_domain": None,
                "source_domain_title": None,
                "source_domain_address": None,
                "source_dataset": None,
                "shared_catalog": None,
                "parent_domain": None,
                "oauth_scope": None,
                "federated": False,
            },
            "dcat": {
                "created": _iso(package.get("metadata_created")),
                "issued": None,
                "creator": publisher,
                "contributor": None,
                "contact_name": package.get("maintainer"),
                "contact_email": package.get("maintainer_email"),
                "accrualperiodicity": _EU_FREQUENCY + cycle.value if cycle else None,
                "spatial": extras.get("spatial"),
                "temporal": extras.get("temporal"),
                "granularity": None,
                "dataquality": None,
            },
            "custom": {key: extras.get(key) for key in custom_keys},
        },
        "features": (["analyze"] if has_records else [])
        + (["geo"] if _GEO_FORMATS & set(formats) else []),
    }


def ods_datasets(platform: PlatformCatalogue) -> list[Record]:
    """Every package of ``platform`` as an Explore v2.1 dataset (ids made unique)."""
    custom_keys = sorted(
        {e["key"] for p in platform.packages for e in p.get("extras") or []} - _NOT_CUSTOM
    )
    seen: set[str] = set()
    out = []
    for package in platform.packages:
        dataset_id, n = package["name"], 1
        while dataset_id in seen:
            n += 1
            dataset_id = f"{package['name']}-{n}"
        seen.add(dataset_id)
        out.append(ods_dataset(package, dataset_id, custom_keys))
    return out


def _field_specs(datasets: Sequence[Record]) -> dict[str, FieldSpec]:
    def default(name: str) -> Callable[[Record], Any]:
        return lambda r: r["metas"]["default"].get(name)

    def template(tpl: str, name: str) -> Callable[[Record], Any]:
        return lambda r: r["metas"].get(tpl, {}).get(name)

    specs = {
        "dataset_id": FieldSpec(lambda r: r["dataset_id"]),
        "dataset_uid": FieldSpec(lambda r: r["dataset_uid"]),
        "has_records": FieldSpec(lambda r: r["has_records"], "bool"),
        "data_visible": FieldSpec(lambda r: r["data_visible"], "bool"),
        "features": FieldSpec(lambda r: r["features"], multivalued=True),
        "records_count": FieldSpec(default("records_count"), "number"),
    }
    for name in ("title", "description", "publisher", "license", "language"):
        specs[name] = FieldSpec(default(name))
    for name in ("theme", "keyword"):
        specs[name] = FieldSpec(default(name), multivalued=True)
    for name in ("modified", "data_processed", "metadata_processed"):
        specs[name] = FieldSpec(default(name), "date")
    for tpl in ("dcat", "custom"):
        for name in {k for d in datasets for k in d["metas"].get(tpl, {})}:
            dated = (tpl, name) in (("dcat", "created"), ("dcat", "issued"))
            specs[f"{tpl}.{name}"] = FieldSpec(template(tpl, name), "date" if dated else "text")
    return specs


def _search_texts(dataset: Record) -> dict[str | None, str]:
    default = dataset["metas"]["default"]
    parts: dict[str | None, str] = {
        "dataset_id": dataset["dataset_id"],
        "title": default.get("title") or "",
        "description": html.unescape(re.sub(r"<[^>]+>", " ", default.get("description") or "")),
        "publisher": default.get("publisher") or "",
        "theme": " ".join(default.get("theme") or ()),
        "keyword": " ".join(default.get("keyword") or ()),
    }
    parts = {k: v.casefold() for k, v in parts.items()}
    parts[None] = " ".join(v for v in parts.values())
    return parts


# -- the app ---------------------------------------------------------------------------


class OpenDataSoftSimulator(SimulatedPlatform):
    """One simulated OpenDataSoft portal serving ``platform``; ``app`` is its Starlette app.

    ``result_window`` (``offset + limit`` cap) and ``page_size_max`` (``limit`` cap) are
    the platform's; a subclass may lower them to exercise the window with a small catalogue.
    """

    result_window: ClassVar[int] = 10_000
    page_size_max: ClassVar[int] = 100

    def __init__(
        self,
        platform: PlatformCatalogue,
        fault: Fault | None = None,
        *,
        stats: SimStats | None = None,
    ) -> None:
        super().__init__(platform, fault, stats)
        self.datasets = ods_datasets(platform)
        self.by_id = {d["dataset_id"]: d for d in self.datasets}
        self.json = {d["dataset_id"]: _dumps(d) for d in self.datasets}
        self.fields = _field_specs(self.datasets)
        self._texts = {d["dataset_id"]: _search_texts(d) for d in self.datasets}
        self.app = Starlette(
            routes=[
                Route(f"{API}/catalog/datasets", self._api("datasets", self.catalog_datasets)),
                Route(f"{API}/catalog/facets", self._api("facets", self.catalog_facets)),
                Route(
                    f"{API}/catalog/datasets/{{dataset_id}}",
                    self._api("dataset", self.catalog_dataset),
                ),
                Route(
                    f"{API}/catalog/datasets/{{dataset_id}}/exports/{{format}}",
                    self._api("export", self.export),
                ),
                *self.faults.admin_routes(),
                Route(API + "/{rest:path}", self._api("unknown", self.unknown)),
            ]
        )

    # -- plumbing ----------------------------------------------------------------------

    def _api(self, action: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """An API endpoint: counted in ``stats``, subject to the fault, errors as JSON."""

        async def endpoint(request: Request) -> Response:
            params: dict[str, list[str]] = {}
            for key, value in request.query_params.multi_items():
                params.setdefault(key, []).append(value)
            if "dataset_id" in request.path_params:
                params.setdefault("dataset_id", [request.path_params["dataset_id"]])
            self.stats.record(action, {k: v[0] if len(v) == 1 else v for k, v in params.items()})
            faulty = await self._apply_fault(request)
            if faulty is not None:
                return faulty
            try:
                return await handler(request, params)
            except OdsqlError as exc:
                return _error(ApiError(400, exc.error_code, exc.message))
            except ApiError as exc:
                return _error(exc)

        return endpoint

    async def _apply_fault(self, request: Request) -> Response | None:
        def garbage() -> Response:
            body = '{"total_count": 12, "results": [{"dataset_id": "bus-rou' + CORRUPTION
            return Response(body.encode(), media_type=JSON_TYPE)

        async def huge() -> HugeBody:
            # A valid ``catalog/datasets`` answer whose results repeat.
            head = f'{{"total_count": {len(self.json)}, "results": ['.encode()
            return HugeBody(head, ",".join(self.json.values()).encode(), b"]}", JSON_TYPE)

        return await self.faults.failure(request, garbage=garbage, huge=huge)

    # -- query evaluation --------------------------------------------------------------

    def _matching(self, params: Params) -> tuple[list[Record], tuple[str, ...]]:
        """The datasets ``where``, ``refine`` and ``exclude`` select, and the search terms."""
        clauses = [w for w in params.get("where", []) if w.strip()]
        where = compile_where(
            clauses[0] if len(clauses) == 1 else " AND ".join(f"({w})" for w in clauses),
            self.fields,
            search_text=lambda r, field: self._texts[r["dataset_id"]].get(field, ""),
        )
        tests = [self._refinement(value, True) for value in params.get("refine", [])]
        tests += [self._refinement(value, False) for value in params.get("exclude", [])]
        matched = [d for d in self.datasets if where.matches(d) and all(t(d) for t in tests)]
        return matched, where.terms

    def _refinement(self, value: str, keep: bool) -> Callable[[Record], bool]:
        facet, sep, wanted = value.partition(":")
        if not sep or facet not in FACETS:
            raise _rest_error(
                f"Invalid value for {'refine' if keep else 'exclude'} API parameter: {value} "
                f"was found but <facet>:<value> with a facet among {', '.join(FACETS)} is expected."
            )
        spec = self.fields[facet]
        return lambda r: (wanted in spec.values(r)) == keep

    def _ranked(self, matched: list[Record], terms: Sequence[str], params: Params) -> list[Record]:
        order_by = ",".join(params.get("order_by", [])).strip()
        if order_by:
            return sort_records(matched, compile_order_by(order_by, self.fields))
        if not terms:
            return matched
        # Relevance: title hits first, then the rest, each in catalogue order.
        return sorted(
            matched,
            key=lambda r: -sum(t in self._texts[r["dataset_id"]]["title"] for t in terms),
        )

    def _int(self, params: Params, name: str, default: int) -> int:
        raw = params.get(name, [str(default)])[-1]
        try:
            return int(raw)
        except ValueError:
            raise self._bad_int(name, raw) from None

    def _bad_int(self, name: str, raw: object) -> ApiError:
        expected = f"-1 <= limit <= {self.page_size_max}" if name == "limit" else "offset >= 0"
        return _rest_error(
            f"Invalid value for {name} API parameter: {raw} was found but {expected} is expected."
        )

    def _check_lang(self, params: Params) -> None:
        for lang in params.get("lang", []):
            if lang not in LANGS:
                raise _rest_error(
                    f"Invalid value for lang API parameter: {lang} was found but one of "
                    f"{', '.join(LANGS)} is expected."
                )

    def _select(self, params: Params) -> list[str] | None:
        select = ",".join(params.get("select", [])).strip()
        if not select or select == "*":
            return None
        names = [n.strip() for n in select.split(",")]
        known = set(next(iter(self.datasets), {})) | {"dataset_id"}
        for name in names:
            if name not in known:
                raise OdsqlError(
                    f"ODSQL query is malformed: Unknown field: {name}. "
                    "Clause(s) containing the error(s): select."
                )
        return names

    # -- endpoints ---------------------------------------------------------------------

    async def catalog_datasets(self, request: Request, params: Params) -> Response:
        limit = self._int(params, "limit", 10)
        offset = self._int(params, "offset", 0)
        if not -1 <= limit <= self.page_size_max:
            raise self._bad_int("limit", limit)
        if offset < 0:
            raise self._bad_int("offset", offset)
        limit = 10 if limit == -1 else limit
        if offset + limit > self.result_window:
            raise _rest_error(
                "Invalid value for sum of offset + limit API parameter: "
                f"{offset + limit} was found but <= {self.result_window} is expected."
            )
        self._check_lang(params)
        select = self._select(params)
        ranked = self._ranked(*self._matching(params), params)
        page = ranked[offset : offset + limit]
        if select is None:
            results = ",".join(self.json[d["dataset_id"]] for d in page)
        else:
            results = ",".join(_dumps({k: d[k] for k in select if k in d}) for d in page)
        body = f'{{"total_count": {len(ranked)}, "results": [{results}]}}'
        return Response(body.encode(), media_type=JSON_TYPE)

    async def catalog_dataset(self, request: Request, params: Params) -> Response:
        dataset_id = request.path_params["dataset_id"]
        self._check_lang(params)
        select = self._select(params)
        dataset = self.by_id.get(dataset_id)
        if dataset is None:
            raise _not_found(dataset_id)
        body = (
            self.json[dataset_id]
            if select is None
            else _dumps({k: dataset[k] for k in select if k in dataset})
        )
        return Response(body.encode(), media_type=JSON_TYPE)

    async def catalog_facets(self, request: Request, params: Params) -> Response:
        names = params.get("facet", [])
        for name in names:
            if name not in FACETS:
                raise OdsqlError(
                    f"ODSQL query is malformed: Unknown field: {name}. "
                    "Clause(s) containing the error(s): facet."
                )
        matched, _ = self._matching(params)
        refined = {v.partition(":")[2] for v in params.get("refine", [])}
        facets = []
        for name in dict.fromkeys(names):
            counts: dict[str, int] = {}
            for dataset in matched:
                for value in set(self.fields[name].values(dataset)):
                    counts[str(value)] = counts.get(str(value), 0) + 1
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            facets.append(
                {
                    "name": name,
                    "facets": [
                        {
                            "count": count,
                            "state": "refined" if value in refined else "displayed",
                            "name": value,
                            "value": value,
                        }
                        for value, count in ordered
                    ],
                }
            )
        return Response(_dumps({"links": [], "facets": facets}).encode(), media_type=JSON_TYPE)

    async def export(self, request: Request, params: Params) -> Response:
        dataset_id, fmt = request.path_params["dataset_id"], request.path_params["format"]
        dataset = self.by_id.get(dataset_id)
        if dataset is None:
            raise _not_found(dataset_id)
        names = [f["name"] for f in dataset["fields"]]
        if fmt == "csv":
            return Response("\ufeff" + ";".join(names) + "\n", media_type="text/csv; charset=utf-8")
        if fmt == "json":
            return Response("[]", media_type=JSON_TYPE)
        if fmt == "geojson" and "geo" in dataset["features"]:
            body = '{"type": "FeatureCollection", "features": []}'
            return Response(body, media_type="application/geo+json")
        raise _rest_error(f"Invalid value for format API parameter: {fmt} is not available.")

    async def unknown(self, request: Request, params: Params) -> Response:
        raise ApiError(
            404, "NotFoundResource", f"The requested resource {request.url.path} does not exist."
        )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _error(exc: ApiError) -> Response:
    body = _dumps({"error_code": exc.code, "message": exc.message})
    return Response(body.encode(), exc.status, media_type=JSON_TYPE)
