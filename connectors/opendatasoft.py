"""OpenDataSoft connector: the Explore API v2.1 catalogue (``/api/explore/v2.1/catalog/...``).

Calls: ``GET catalog/datasets`` (``where``, ``order_by``, ``limit``, ``offset``, ``lang``),
``GET catalog/facets?facet=publisher&facet=theme`` and ``GET catalog/datasets/{dataset_id}``.

Shapes relied on, from the Explore v2.1 OpenAPI file published by OpenDataSoft
(opendatasoft/opendatasoft-explore-sdk, ``generators/python/openapi/v2.1.yaml``) and from
answers of live portals quoted in public code:

- ``{"total_count": N, "results": [dataset]}``; a dataset is ``{dataset_id, dataset_uid,
  has_records, features, attachments, fields, metas: {default: {...}, dcat: {...}, <custom
  templates>}}``; absent values are ``null`` (``keyword: null``, ``publisher: null``...);
  ``description`` is HTML.
- ``limit`` is at most 100 and ``offset + limit`` at most 10,000, else HTTP 400
  ``{"error_code": "InvalidRESTParameterError", "message": "Invalid value for sum of offset +
  limit API parameter: 10100 was found but <= 10000 is expected."}``; ODSQL mistakes are 400
  ``ODSQLError``; an unknown dataset is 404 ``NotFoundResource``.
- Facets: ``{"facets": [{"name": "theme", "facets": [{"name", "count", "state", "value"}]}]}``.

The 10,000-row window: the connector never sends a request the platform would refuse. A
page that would cross the window is cut at it; a page that starts at or beyond it is
answered by counting the matches (``limit=0``): if none lie beyond, the source is
exhausted (an empty page); otherwise ``NotSupported`` says how many records the platform
will not page to and how to reach them (narrow the query). Silently reporting "no more
records" there would hide data.

Pushdown (ODSQL ``where``): free text as ``search("...")``; themes (``theme``), keywords
(``keyword``, common case variants), departments (``publisher``, through the ``publishers``
option, and ``publisher is null`` for the source's own department), modified range
(``modified >= date'...'``). Sharing, open and sensitivity classes live in a custom
metadata template; they are pushed down (as ``<template>.<key>``) only when the operator
says the template is queryable (``classes_queryable``), otherwise the gateway filters
them. Every claimed filter is checked against the returned records and withdrawn if one
contradicts it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard, TypeVar
from urllib.parse import quote

import httpx
from cachetools import LRUCache
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors._directory import (
    TemplateDirectoryKeys,
    directory_fields,
    excluded_grades,
    grade_spellings,
)
from connectors.sdk import (
    Capabilities,
    Connector,
    ConnectorError,
    DatasetFilter,
    FacetName,
    FatalError,
    FilterName,
    Health,
    HealthStatus,
    NotSupported,
    QueryRejected,
    SearchPage,
    SearchQuery,
    Sort,
    SourceSettings,
    get_json,
    html_to_text,
)
from schema import vocab
from schema.model import (
    ContactPoint,
    DataField,
    Dataset,
    Department,
    Distribution,
    Grade,
    Temporal,
    UpdateFrequency,
)

log = logging.getLogger(__name__)

E = TypeVar("E")

API_PATH = "/api/explore/v2.1"
PAGE_SIZE_MAX = 100  # "the maximum value for limit is 100"
RESULT_WINDOW = 10_000  # "offset+limit should be less than 10000" (10,000 is accepted)

_KeyNames = tuple[str, ...]


class OpenDataSoftCustomKeys(BaseModel):
    """Which keys of the custom metadata template hold each canonical field; the first
    one with a value wins::

        options: {custom_keys: {share_type: [gongxiang_leixing]}}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    identifier: _KeyNames = Field(("identifier", "资源代码"), min_length=1)
    share_type: _KeyNames = Field(("share_type", "共享类型"), min_length=1)
    open_type: _KeyNames = Field(("open_type", "开放类型"), min_length=1)
    sensitivity: _KeyNames = Field(("sensitivity", "敏感级别"), min_length=1)
    update_frequency: _KeyNames = Field(
        ("update_cycle", "update_frequency", "更新周期"), min_length=1
    )
    share_condition: _KeyNames = Field(("share_condition", "共享条件"), min_length=1)
    phone: _KeyNames = Field(("contact_phone",), min_length=1)

    @field_validator("*")
    @classmethod
    def _plain_names(cls, names: _KeyNames) -> _KeyNames:
        for name in names:
            if not name or "`" in name or "." in name:
                raise ValueError(f"{name!r} is not a metadata key name (no '.', '`')")
        return names


class OpenDataSoftOptions(BaseModel):
    """``options`` of a ``connector: opendatasoft`` source.

    >>> OpenDataSoftOptions(api_key="${ODS_KEY}", publishers={"交通运输局": "transport"})

    ``api_key`` is sent as ``Authorization: Apikey <key>`` (never in the URL).
    ``lang`` is the Explore API ``lang`` parameter. ``publishers`` maps a ``publisher``
    text to the gateway's department id (unmapped publishers are their own id).
    ``custom_template`` names the metadata template holding ``custom_keys``.
    ``classes_queryable``: the template's class fields are queryable in ODSQL, one key
    per class, so sharing/open/sensitivity filters and the caller's visibility are pushed
    down and counted exactly. ``result_window`` is the platform's ``offset + limit`` cap.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr | None = None
    lang: str | None = Field(None, pattern=r"^[a-z]{2}$")
    publishers: dict[str, str] = Field(default_factory=dict)
    custom_template: str = Field("custom", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    custom_keys: OpenDataSoftCustomKeys = Field(default_factory=OpenDataSoftCustomKeys)
    directory_keys: TemplateDirectoryKeys = Field(default_factory=TemplateDirectoryKeys)
    classes_queryable: bool = False
    result_window: int = Field(RESULT_WINDOW, ge=1, le=RESULT_WINDOW)

    @model_validator(mode="after")
    def _one_key_per_queried_class(self) -> OpenDataSoftOptions:
        if self.classes_queryable:
            keys = self.custom_keys
            several = [
                f"{name} has {len(names)} ({', '.join(names)})"
                for name, names in (
                    ("share_type", keys.share_type),
                    ("open_type", keys.open_type),
                    ("sensitivity", keys.sensitivity),
                )
                if len(names) != 1
            ]
            if several:
                raise ValueError(
                    "classes_queryable needs exactly one custom key per class, but "
                    + "; ".join(several)
                    + ": list only the key your metadata template uses"
                )
        return self


_ORDER_BY: Mapping[Sort, str | None] = {
    Sort.RELEVANCE: None,
    Sort.MODIFIED_DESC: "modified desc",
    Sort.MODIFIED_ASC: "modified asc",
    Sort.TITLE_ASC: "title asc",
}

_FACET_FIELDS: Mapping[FacetName, str] = {
    FacetName.DEPARTMENTS: "publisher",
    FacetName.THEMES: "theme",
}

_CLASS_FILTERS = (FilterName.SHARE_TYPES, FilterName.OPEN_TYPES, FilterName.MAX_SENSITIVITY)

# Dataset exports every dataset with records offers; GeoJSON only with the "geo" feature.
_EXPORTS = (("csv", "CSV", "text/csv"), ("json", "JSON", "application/json"))
_GEO_EXPORT = ("geojson", "GEOJSON", "application/geo+json")
_MEDIA_FORMATS: Mapping[str, str] = {
    "text/csv": "CSV",
    "application/json": "JSON",
    "application/geo+json": "GEOJSON",
    "application/zip": "ZIP",
    "application/pdf": "PDF",
    "application/vnd.ms-excel": "XLS",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
}
_ERROR_TEXT_MAX = 300


class OpenDataSoftConnector(Connector):
    """Live queries against one OpenDataSoft portal (``settings.url`` is the portal root)."""

    name = "opendatasoft"
    options_model = OpenDataSoftOptions
    # Class filters are pushed down only with ``classes_queryable``; formats never are.
    capabilities = Capabilities(
        search=True,
        filters=frozenset(FilterName)
        - {FilterName.FORMATS, FilterName.IDENTIFIERS, FilterName.GRADES, FilterName.DATASET_IDS},
        sorts=frozenset(Sort),
        facets=frozenset(_FACET_FIELDS),
        get_by_id=True,
        max_page_size=PAGE_SIZE_MAX,
    )

    def __init__(self, settings: SourceSettings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        opts = settings.options
        self.options = (
            opts
            if isinstance(opts, OpenDataSoftOptions)
            else OpenDataSoftOptions.model_validate(opts.model_dump())
        )
        self._base = settings.url.rstrip("/")
        self._api = self._base + API_PATH
        self._headers = {"Accept": "application/json"}
        if self.options.api_key is not None:
            self._headers["Authorization"] = "Apikey " + self.options.api_key.get_secret_value()
        self._mapped: LRUCache[tuple[str, str], Dataset] = LRUCache(maxsize=4096)
        self._any_of_clauses: LRUCache[tuple[DatasetFilter, ...], tuple[str | None, bool]] = (
            LRUCache(maxsize=256)
        )

    # -- the contract -------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchPage:
        clauses, applied = self._filter_clauses(query.filter)
        visibility, any_of_applied = self._any_of_clause(query.any_of)
        text = _search_clause(query.text)
        where = " AND ".join(c for c in (text, *clauses, visibility) if c)
        window, offset = self.options.result_window, max(query.offset, 0)
        if offset >= window:
            return await self._beyond_window(where, offset, applied, any_of_applied)

        params = self._params(where)
        params += [
            ("limit", str(max(0, min(query.limit, PAGE_SIZE_MAX, window - offset)))),
            ("offset", str(offset)),
        ]
        order_by = _ORDER_BY[query.sort]
        if order_by:
            params.append(("order_by", order_by))
        wanted = [name for name in _FACET_FIELDS if name in query.facets]
        facets_task = asyncio.ensure_future(self._facet_counts(where, wanted)) if wanted else None
        try:
            total, records = self._envelope(
                await self._get("catalog/datasets", params, callers_query=True)
            )
        except BaseException:
            if facets_task is not None:
                facets_task.cancel()
            raise
        mapped = list(self._map_records(records))
        datasets = tuple(dataset for _, dataset in mapped)
        if any_of_applied and not all(query.matches_any_of(ds) for ds in datasets):
            log.warning(
                "source %s: visibility pushdown let through records it should not; "
                "the gateway will filter them",
                self.source_id,
            )
            any_of_applied = False
        raw_facets = await facets_task if facets_task is not None else None
        return SearchPage(
            datasets=datasets,
            total=total,
            applied=self._verified(applied, query.filter, datasets),
            any_of_applied=any_of_applied,
            sorted=True,
            facets=self._facets(raw_facets, total) if raw_facets is not None else {},
            consumed=len(records),
            positions=None if len(mapped) == len(records) else tuple(p for p, _ in mapped),
        )

    async def get(self, local_id: str) -> Dataset | None:
        """The dataset, or ``None`` alike for one that is missing (404), one the key may
        not see (401/403) and one that does not map: ``dataset(id)`` is no existence oracle.
        """
        if not local_id.strip():
            return None
        path = "catalog/datasets/" + quote(local_id, safe="")
        body = await self._get(path, self._params(None), missing_ok=True, callers_query=True)
        if body is None:
            return None
        return next((dataset for _, dataset in self._map_records([body])), None)

    async def departments(self) -> list[Department]:
        body = await self._get("catalog/facets", [("facet", "publisher")])
        found: dict[str, Department] = {}
        for value, _ in _facet_values(body, "publisher"):
            dept = self._department(value)
            if dept is not None:
                found.setdefault(dept.id, dept)
        return list(found.values())

    async def check(self) -> Health:
        started = time.perf_counter()
        try:
            self._envelope(await self._get("catalog/datasets", [("limit", "0")]))
        except ConnectorError as exc:
            return Health(HealthStatus.DOWN, message=exc.message)
        except Exception as exc:  # a health probe reports, it never raises
            log.exception("source %s: check crashed", self.source_id)
            return Health(HealthStatus.DOWN, message=f"check failed: {type(exc).__name__}")
        return Health(HealthStatus.UP, latency_ms=(time.perf_counter() - started) * 1000)

    # -- HTTP ---------------------------------------------------------------------------

    def _params(self, where: str | None, *, lang: bool = True) -> list[tuple[str, str]]:
        params = [("where", where)] if where else []
        if lang and self.options.lang:  # catalog/facets takes no lang
            params.append(("lang", self.options.lang))
        return params

    async def _get(
        self,
        path: str,
        params: list[tuple[str, str]],
        *,
        missing_ok: bool = False,
        callers_query: bool = False,
    ) -> Any:
        """GET one Explore endpoint; its decoded body (``None`` for a missing or refused
        dataset when ``missing_ok``).

        ``callers_query``: the parameters carry the caller's input, so a 400 (``ODSQLError``,
        ``InvalidRESTParameterError``: the platform refused the query) is ``QueryRejected``.
        """
        url = f"{self._api}/{path}"
        status, body = await get_json(
            self.client,
            url,
            source_id=self.source_id,
            params=params,
            headers=self._headers,
            max_bytes=self.settings.max_response_bytes,
            allow_statuses=frozenset({400, 401, 403, 404}),
        )
        if missing_ok and status in (401, 403, 404):
            return None
        request = httpx.Request("GET", url, params=tuple(params))  # for errors: no key
        if status == 200:
            if not isinstance(body, dict):
                raise self._fatal(f"{path} answered a JSON {_kind(body)}, not an object", request)
            return body
        error = _error_text(body)
        if status == 400:
            rejected = QueryRejected if callers_query else FatalError
            raise rejected(
                f"OpenDataSoft rejected the request: {error}",
                source_id=self.source_id,
                request=request,
            )
        if status in (401, 403):
            raise self._fatal(f"OpenDataSoft refused {path} (check the api_key): {error}", request)
        raise self._fatal(f"no Explore API v2.1 at {url}: {error}", request)

    def _fatal(self, message: str, request: httpx.Request | None = None) -> FatalError:
        return FatalError(message, source_id=self.source_id, request=request)

    def _envelope(self, body: Mapping[str, Any]) -> tuple[int, list[Any]]:
        total, records = body.get("total_count"), body.get("results")
        if not _is_count(total):
            raise self._fatal(f"catalog/datasets 'total_count' is {total!r}, not a count")
        if not isinstance(records, list):
            raise self._fatal(f"catalog/datasets 'results' is a {_kind(records)}, not a list")
        return total, records

    async def _beyond_window(
        self, where: str, offset: int, applied: set[FilterName], any_of_applied: bool
    ) -> SearchPage:
        """A page at or past the result window: count instead of asking for rows."""
        total, _ = self._envelope(
            await self._get(
                "catalog/datasets", [*self._params(where), ("limit", "0")], callers_query=True
            )
        )
        window = self.options.result_window
        if total > window:
            raise NotSupported(
                f"OpenDataSoft pages through the first {window:,} matches of a search only "
                f"(offset + limit <= {window:,}); {total - window:,} more match: narrow the "
                "query (filters or search terms) to reach them",
                source_id=self.source_id,
            )
        return SearchPage(
            datasets=(),
            total=total,
            applied=frozenset(applied),
            any_of_applied=any_of_applied,
            consumed=0,
        )

    async def _facet_counts(
        self, where: str, names: list[FacetName]
    ) -> dict[FacetName, list[tuple[str, int]]] | None:
        """Facet counts for ``where``; ``None`` when the call fails (the gateway then
        counts what it verified), so facets never fail a search."""
        params = self._params(where, lang=False) + [("facet", _FACET_FIELDS[n]) for n in names]
        try:
            body = await self._get("catalog/facets", params, callers_query=True)
        except ConnectorError as exc:
            log.warning("source %s: facets unavailable: %s", self.source_id, exc.message)
            return None
        return {name: _facet_values(body, _FACET_FIELDS[name]) for name in names}

    def _facets(
        self, raw: Mapping[FacetName, list[tuple[str, int]]], total: int
    ) -> dict[FacetName, dict[str, int]]:
        facets: dict[FacetName, dict[str, int]] = {}
        for name, values in raw.items():
            counts: dict[str, int] = {}
            for value, count in values:
                key = self._department_id(value) if name is FacetName.DEPARTMENTS else value
                counts[key] = counts.get(key, 0) + count
            own = self.settings.department
            if name is FacetName.DEPARTMENTS and own is not None:
                # One publisher per dataset: the rest have none and belong to the source.
                orphans = total - sum(count for _, count in values)
                if orphans > 0:
                    counts[own.id] = counts.get(own.id, 0) + orphans
            facets[name] = counts
        return facets

    # -- ODSQL --------------------------------------------------------------------------

    def _any_of_clause(self, filters: tuple[DatasetFilter, ...]) -> tuple[str | None, bool]:
        """One clause for "matches at least one of ``filters``" and whether it is exact."""
        cached = self._any_of_clauses.get(filters)
        if cached is None:
            cached = self._any_of_clauses[filters] = self._build_any_of_clause(filters)
        return cached

    def _build_any_of_clause(self, filters: tuple[DatasetFilter, ...]) -> tuple[str | None, bool]:
        groups = []
        for f in filters:
            clauses, applied = self._filter_clauses(f)
            if applied != f.active():
                return None, False  # an alternative ODSQL cannot express: no narrowing
            if not clauses:
                return None, True  # this alternative admits every record
            groups.append(" AND ".join(clauses))
        if not groups:
            return None, True
        return "(" + " OR ".join(f"({g})" for g in groups) + ")", True

    def _filter_clauses(self, f: DatasetFilter) -> tuple[list[str], set[FilterName]]:
        """ODSQL clauses for ``f`` and the filters they apply exactly."""
        clauses: list[str] = []
        applied: set[FilterName] = set()

        def add(name: FilterName, clause: str | None) -> None:
            # "" is a filter every record passes (e.g. every class wanted): applied as is.
            if clause is not None:
                if clause:
                    clauses.append(clause)
                applied.add(name)

        if f.departments:
            parts = [f"publisher={_string(p)}" for p in self._publishers_of(f.departments)]
            own = self.settings.department
            if own is not None and own.id in f.departments:
                parts.append("publisher is null")
            add(FilterName.DEPARTMENTS, _either(parts))
        if f.themes:
            add(FilterName.THEMES, _either(f"theme={_string(t)}" for t in f.themes))
        if f.keywords:
            variants = (v for k in f.keywords for v in (k, k.lower(), k.upper(), k.title()))
            add(FilterName.KEYWORDS, _either(f"keyword={_string(v)}" for v in variants))
        if f.modified_after is not None:
            add(FilterName.MODIFIED_AFTER, f"modified>={_date(f.modified_after)}")
        if f.modified_before is not None:
            add(FilterName.MODIFIED_BEFORE, f"modified<{_date(f.modified_before)}")
        if self.options.classes_queryable:
            keys, defaults = self.options.custom_keys, self.settings.defaults
            if f.share_types:
                add(
                    FilterName.SHARE_TYPES,
                    self._class_clause(
                        keys.share_type[0],
                        vocab.SHARE_TYPES,
                        set(f.share_types),
                        defaults.share_type,
                    ),
                )
            if f.open_types:
                add(
                    FilterName.OPEN_TYPES,
                    self._class_clause(
                        keys.open_type[0], vocab.OPEN_TYPES, set(f.open_types), defaults.open_type
                    ),
                )
            if f.max_sensitivity is not None:
                wanted = {s for s in vocab.SENSITIVITIES.values() if s <= f.max_sensitivity}
                add(
                    FilterName.MAX_SENSITIVITY,
                    self._class_clause(
                        keys.sensitivity[0], vocab.SENSITIVITIES, wanted, defaults.sensitivity
                    ),
                )
            if f.grades:
                add(FilterName.GRADES, self._grade_clause(f.grades))
        return clauses, applied

    def _grade_clause(self, grades: tuple[Grade, ...]) -> str | None:
        """Records stating none of the excluded grades under any grade key (exact: ODSQL
        ``=`` compares whole values)."""
        excluded = excluded_grades(grades)
        if excluded is None:
            return None
        if not excluded:
            return ""
        spellings = grade_spellings(excluded)
        parts = []
        for key in self.options.directory_keys.grade:
            field = f"{self.options.custom_template}.{_identifier(key)}"
            either = _either(f"{field}={_string(s)}" for s in spellings)
            parts.append(f"({field} is null OR NOT {either})")
        return " AND ".join(parts)

    def _class_clause(self, key: str, table: Mapping[str, E], wanted: set[E], default: E) -> str:
        """Records whose class (``<template>.<key>``, else the source default) is wanted.

        ODSQL ``=`` compares whole values, so unlike CKAN's tokenised extras there is no
        "open" matching "not open"; the vocabulary is case-insensitive, so the usual
        spellings (lower, upper, title case) are all listed.
        """
        field = f"{self.options.custom_template}.{_identifier(key)}"
        spellings = {
            v: cls
            for s, cls in table.items()
            for v in ((s,) if "://" in s else (s, s.upper(), s.title()))
        }
        if default in wanted:
            other = [s for s, cls in spellings.items() if cls not in wanted]
            if not other:
                return ""  # every class is wanted: no constraint
            return f"({field} is null OR NOT {_either(f'{field}={_string(s)}' for s in other)})"
        return _either(f"{field}={_string(s)}" for s, cls in spellings.items() if cls in wanted)

    def _publishers_of(self, departments: Iterable[str]) -> list[str]:
        """Every ``publisher`` text that maps to one of ``departments``."""
        mapping = self.options.publishers
        names = [p for p, dept in mapping.items() if dept in departments]
        names += [d for d in departments if d not in mapping]
        return list(dict.fromkeys(names))

    def _verified(
        self, applied: set[FilterName], f: DatasetFilter, datasets: tuple[Dataset, ...]
    ) -> frozenset[FilterName]:
        """Withdraw a claim a returned record contradicts, so the gateway re-applies it."""
        for name in sorted(applied, key=lambda n: n.value):
            strays = [ds.local_id for ds in datasets if not f.matches_one(name, ds)]
            if strays:
                log.warning(
                    "source %s: %s pushdown let through %d record(s) (e.g. %s); "
                    "the gateway will filter them",
                    self.source_id,
                    name.value,
                    len(strays),
                    strays[0],
                )
                applied.discard(name)
        return frozenset(applied)

    # -- mapping ------------------------------------------------------------------------

    def _department_id(self, publisher: str) -> str:
        return self.options.publishers.get(publisher, publisher)

    def _department(self, publisher: object) -> Department | None:
        name = _text(publisher)
        return Department(self._department_id(name), name) if name else None

    def _map_records(self, records: Iterable[object]) -> Iterator[tuple[int, Dataset]]:
        """``(position, dataset)`` for each record that maps; the rest are logged, skipped."""
        for position, record in enumerate(records):
            dataset_id = _text(record.get("dataset_id")) if isinstance(record, dict) else None
            if not isinstance(record, dict) or dataset_id is None:
                log.warning(
                    "source %s: skipped result #%d (%s without a dataset_id)",
                    self.source_id,
                    position,
                    _kind(record),
                )
                continue
            # metadata_processed changes whenever the platform reprocesses the metadata.
            default = _dict(_dict(record.get("metas")).get("default"))
            stamp = _text(default.get("metadata_processed"))
            version = (dataset_id, stamp) if stamp else None
            cached = self._mapped.get(version) if version else None
            if cached is not None:
                yield position, cached
                continue
            try:
                dataset = self._map_record(dataset_id, record)
            except Exception as exc:  # hostile shapes: one bad record never fails the page
                log.warning(
                    "source %s: skipped dataset %r: %s: %s",
                    self.source_id,
                    dataset_id,
                    type(exc).__name__,
                    exc,
                )
                continue
            if version:
                self._mapped[version] = dataset
            yield position, dataset

    def _map_record(self, dataset_id: str, record: Mapping[str, Any]) -> Dataset:
        metas = _dict(record.get("metas"))
        default, dcat = _dict(metas.get("default")), _dict(metas.get("dcat"))
        custom = _dict(metas.get(self.options.custom_template))
        keys, defaults = self.options.custom_keys, self.settings.defaults

        def meta(names: tuple[str, ...]) -> str | None:
            return next((v for n in names if (v := _text(custom.get(n))) is not None), None)

        frequency = meta(keys.update_frequency) or _text(dcat.get("accrualperiodicity"))
        start, end = _interval(dcat.get("temporal"))
        name, email, phone = (
            _text(dcat.get("contact_name")),
            _text(dcat.get("contact_email")),
            meta(keys.phone),
        )
        return Dataset(
            source_id=self.source_id,
            local_id=dataset_id,
            title=_text(default.get("title")) or dataset_id,
            identifier=meta(keys.identifier) or _text(dcat.get("identifier")),
            description=html_to_text(default.get("description")),
            keywords=_unique(_text(k) for k in _list(default.get("keyword"))),
            themes=_unique(_text(t) for t in _list(default.get("theme"))),
            department=self._department(default.get("publisher")) or self.settings.department,
            issued=_timestamp(dcat.get("issued")) or _timestamp(dcat.get("created")),
            modified=_timestamp(default.get("modified")),
            update_frequency=vocab.parse_update_frequency(frequency) or UpdateFrequency.UNKNOWN,
            share_type=vocab.share_type_or(
                meta(keys.share_type), defaults.share_type, source=self.source_id
            ),
            share_condition=meta(keys.share_condition),
            open_type=vocab.open_type_or(
                meta(keys.open_type), defaults.open_type, source=self.source_id
            ),
            sensitivity=vocab.sensitivity_or(
                meta(keys.sensitivity), defaults.sensitivity, source=self.source_id
            ),
            license=_text(default.get("license")),
            landing_page=f"{self._base}/explore/dataset/{quote(dataset_id, safe='')}/",
            contact_point=(ContactPoint(name, email, phone) if name or email or phone else None),
            distributions=self._distributions(dataset_id, record),
            fields=tuple(
                DataField(
                    name=field_name,
                    type=_text(item.get("type")),
                    description=_text(item.get("description")) or _text(item.get("label")),
                )
                for item in _dicts(record.get("fields"))
                if (field_name := _text(item.get("name"))) is not None
            ),
            spatial=_text(dcat.get("spatial")),
            temporal=Temporal(start, end) if start or end else None,
            language=_text(default.get("language")),  # ODS: the metadata's language
            **directory_fields(custom.get, self.options.directory_keys),
        )

    def _distributions(
        self, dataset_id: str, record: Mapping[str, Any]
    ) -> tuple[Distribution, ...]:
        base = f"{self._api}/catalog/datasets/{quote(dataset_id, safe='')}"
        out = []
        if record.get("has_records") is True:
            exports = [*_EXPORTS]
            if "geo" in _list(record.get("features")):
                exports.append(_GEO_EXPORT)
            for path, fmt, export_type in exports:
                url = f"{base}/exports/{path}"
                out.append(Distribution(f"{fmt} export", fmt, export_type, url, url))
        for attachment in _dicts(record.get("attachments")):
            attachment_id = _text(attachment.get("id"))
            if attachment_id is None:
                continue
            title, media_type = _text(attachment.get("title")), _text(attachment.get("mimetype"))
            url = f"{base}/attachments/{quote(attachment_id, safe='')}"
            out.append(Distribution(title, _format(title, media_type), media_type, url, url))
        return tuple(out)


# -- ODSQL building ---------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _identifier(name: str) -> str:
    return name if _IDENTIFIER.match(name) else f"`{name}`"


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _either(parts: Iterable[str]) -> str:
    unique = list(dict.fromkeys(parts))
    return unique[0] if len(unique) == 1 else "(" + " OR ".join(unique) + ")"


def _date(value: datetime) -> str:
    """An ODSQL date literal. ``modified`` has whole seconds, so rounding a bound up to
    the next second keeps both ``>=`` and ``<`` exact."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value.microsecond:
        value = value.replace(microsecond=0) + timedelta(seconds=1)
    return f"date'{value.strftime('%Y-%m-%dT%H:%M:%SZ')}'"


def _search_clause(text: str | None) -> str | None:
    cleaned = " ".join((text or "").split())
    return f"search({_string(cleaned)})" if cleaned else None


# -- record mapping helpers -------------------------------------------------------------


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return str(value)
    return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    """A multi-valued meta: a list, or one bare value, or nothing (``null``)."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _timestamp(value: object) -> datetime | None:
    """ISO 8601 date or date-time; naive values are UTC; anything else is ``None``."""
    text = _text(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _interval(value: object) -> tuple[datetime | None, datetime | None]:
    """``start/end`` (ISO 8601 interval) as two timestamps."""
    text = _text(value)
    if text is None or "/" not in text:
        return None, None
    start, _, end = text.partition("/")
    return _timestamp(start), _timestamp(end)


def _format(title: str | None, media_type: str | None) -> str | None:
    if title and "." in title:
        extension = title.rsplit(".", 1)[1].strip().upper()
        if extension.isalnum() and len(extension) <= 8:
            return extension
    return _MEDIA_FORMATS.get((media_type or "").lower())


def _facet_values(body: Mapping[str, Any], field: str) -> list[tuple[str, int]]:
    """``(value, count)`` of one facet of a ``catalog/facets`` answer (garbage skipped)."""
    for facet in _dicts(body.get("facets")):
        if facet.get("name") == field:
            return [
                (value, count)
                for item in _dicts(facet.get("facets"))
                if (value := _text(item.get("value")) or _text(item.get("name"))) is not None
                and _is_count(count := item.get("count"))
            ]
    return []


def _error_text(body: object) -> str:
    """An Explore API error body (``{"error_code", "message"}``) as one line."""
    if isinstance(body, dict):
        parts = [
            _text(body.get("error_code")) or _text(body.get("errorcode")),
            _text(body.get("message")) or _text(body.get("error")),
        ]
        text = ": ".join(p for p in parts if p) or "no error detail"
    else:
        text = f"a JSON {_kind(body)} instead of an error object"
    return text if len(text) <= _ERROR_TEXT_MAX else text[: _ERROR_TEXT_MAX - 1] + "…"
