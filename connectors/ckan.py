"""CKAN connector: the Action API v3 (``/api/3/action/...``), written against CKAN 2.10.

Search, filters, sorts and the department/theme/format facets are pushed down to CKAN's
Solr index through ``package_search``. The sharing, open-data and sensitivity classes
live in package ``extras`` (key names configurable), which stock CKAN indexes as
tokenised ``extras_<key>`` text fields; ``class_clause`` explains how they are filtered.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeGuard, TypeVar
from urllib.parse import quote

import httpx
from cachetools import LRUCache
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors import _ckan_records as read
from connectors._ckan_languages import ckan_translations
from connectors._ckan_solr import (
    any_of,
    case_variants,
    class_clause,
    extras_field,
    format_variants,
    free_text,
    solr_date,
)
from connectors._directory import (
    DirectoryKeys,
    directory_fields,
    excluded_grades,
    grade_spellings,
    parse_interval,
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
    QueryRejected,
    SearchPage,
    SearchQuery,
    Sort,
    SourceSettings,
    build_url,
    get_json,
    html_to_text,
    parse_timestamp,
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

_KeyNames = tuple[str, ...]


class CkanExtrasKeys(BaseModel):
    """Which ``extras`` keys hold each canonical field; the first non-empty one wins.

    Filters on share/open type and sensitivity are pushed down on the FIRST name
    (Solr field ``extras_<name>``), so those four (with ``identifier``) are read from
    ``extras`` only; the others are also read from the package's top level, where
    ckanext-scheming puts custom fields (``update_frequency``, ``contact_name``...)::

        options: {extras_keys: {share_type: [gongxiang_leixing, share_type]}}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # ckanext-dcat's harvester writes identifier/guid, access_rights, frequency,
    # contact_name/contact_email, temporal_start/temporal_end and spatial.
    identifier: _KeyNames = Field(
        ("identifier", "dct_identifier", "guid", "资源代码"), min_length=1
    )
    share_type: _KeyNames = Field(("share_type", "共享类型"), min_length=1)
    open_type: _KeyNames = Field(("open_type", "开放类型", "access_rights"), min_length=1)
    sensitivity: _KeyNames = Field(("sensitivity", "敏感级别"), min_length=1)
    update_frequency: _KeyNames = Field(
        ("update_cycle", "update_frequency", "frequency", "更新周期"), min_length=1
    )
    # A period in days (HDX's data_update_frequency: "30"; -2 as needed, -1 never, 0 live).
    update_frequency_days: _KeyNames = Field(("data_update_frequency",))
    share_condition: _KeyNames = Field(("share_condition", "共享条件"), min_length=1)
    phone: _KeyNames = Field(("contact_phone",), min_length=1)
    contact_name: _KeyNames = Field(("contact_name",), min_length=1)
    contact_email: _KeyNames = Field(("contact_email",), min_length=1)
    fields: _KeyNames = Field(("fields",), min_length=1)
    title_en: _KeyNames = Field(("title_en",), min_length=1)
    spatial: _KeyNames = Field(("spatial",), min_length=1)
    temporal_start: _KeyNames = Field(("temporal_start",), min_length=1)
    temporal_end: _KeyNames = Field(("temporal_end",), min_length=1)
    # "start/end" (ISO 8601 interval) in one key, when there are no start/end keys.
    temporal: _KeyNames = Field(("temporal", "时间范围"), min_length=1)


class CkanOptions(BaseModel):
    """``options`` of a ``connector: ckan`` source.

    >>> CkanOptions(api_key="${CKAN_TOKEN}", page_size_max=500)

    ``api_key`` is a CKAN API token, sent as the ``Authorization`` header.
    ``page_size_max`` should match the site's ``ckan.search.rows_max`` if it lowered it.
    ``include_private`` asks for private datasets the token's user may read.
    ``exact_extras``: the site's Solr schema indexes ``extras_*`` as exact strings (not
    stock CKAN's tokenised text), so class filters and counts over them are exact.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr | None = None
    extras_keys: CkanExtrasKeys = Field(default_factory=CkanExtrasKeys)
    page_size_max: int = Field(1000, ge=1, le=1000)
    include_private: bool = False
    exact_extras: bool = False
    directory_keys: DirectoryKeys = Field(default_factory=DirectoryKeys)


_SORTS: Mapping[Sort, str] = {
    Sort.RELEVANCE: "score desc, metadata_modified desc",
    Sort.MODIFIED_DESC: "metadata_modified desc",
    Sort.MODIFIED_ASC: "metadata_modified asc",
    Sort.TITLE_ASC: "title_string asc",
}

# Share/open facets are not offered: CKAN facets on tokenised extras fields count words,
# and records without the extra are not counted at all, so the engine computes them.
_FACET_FIELDS: Mapping[FacetName, str] = {
    FacetName.DEPARTMENTS: "organization",
    FacetName.THEMES: "groups",
    FacetName.FORMATS: "res_format",
}

# Formats whose usual spelling is neither upper, lower nor capitalised.

# fmt: off
_FILE_FORMATS = frozenset({
    "CSV", "TSV", "TXT", "XLS", "XLSX", "ODS", "JSON", "JSONL", "GEOJSON", "XML", "RDF", "TTL",
    "N3", "NT", "JSON-LD", "ZIP", "GZ", "TAR", "7Z", "RAR", "PDF", "DOC", "DOCX", "ODT", "SHP",
    "KML", "KMZ", "GPKG", "GEOPACKAGE", "GEOTIFF", "TIF", "TIFF", "JPG", "JPEG", "PNG", "GIF",
    "SVG", "PARQUET", "AVRO", "NC", "NETCDF", "HDF5", "SQLITE", "DBF", "MDB",
})
# fmt: on

_ORG_PAGE = 25  # CKAN's default ckan.group_and_organization_list_all_fields_max
_MAX_ORG_PAGES = 400
_ERROR_TEXT_MAX = 300


class CkanConnector(Connector):
    """Live queries against one CKAN site (``settings.url`` is the site root)."""

    name = "ckan"
    options_model = CkanOptions
    capabilities = Capabilities(
        search=True,
        # Grades are not a search filter callers send; they reach it through ``any_of``.
        filters=frozenset(FilterName) - {FilterName.GRADES, FilterName.DATASET_IDS},
        sorts=frozenset(Sort),
        facets=frozenset(_FACET_FIELDS),
        get_by_id=True,
        max_page_size=1000,
    )

    def __init__(self, settings: SourceSettings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        opts = settings.options
        self.options = (
            opts if isinstance(opts, CkanOptions) else CkanOptions.model_validate(opts.model_dump())
        )
        self._base = settings.url.rstrip("/")
        self._headers = {"Accept": "application/json"}
        if self.options.api_key is not None:
            self._headers["Authorization"] = self.options.api_key.get_secret_value()
        # A caller's visibility repeats across requests; building its Solr clause does not
        # need to (it showed up at ~10% of a request's CPU in bench/gateway.py).
        self._mapped: LRUCache[tuple[str, str], Dataset] = LRUCache(maxsize=4096)
        self._any_of_clauses: LRUCache[tuple[DatasetFilter, ...], tuple[str | None, bool]] = (
            LRUCache(maxsize=256)
        )

    # -- the contract -------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchPage:
        clauses, _, applied = self._filter_clauses(query.filter)
        visibility, any_of_applied = self._any_of_clause(query.any_of)
        if visibility:
            clauses.append(visibility)
        rows = min(query.limit, self.capabilities.max_page_size, self.options.page_size_max)
        params: list[tuple[str, str]] = [
            ("rows", str(max(rows, 0))),
            ("start", str(max(query.offset, 0))),
            ("sort", _SORTS[query.sort]),
        ]
        text = free_text(query.text)
        if text:
            params.append(("q", text))
        if clauses:
            params.append(("fq", " ".join(f"+{clause}" for clause in clauses)))
        facet_fields = [field for name, field in _FACET_FIELDS.items() if name in query.facets]
        if facet_fields:
            params += [("facet.field", json.dumps(facet_fields)), ("facet.limit", "-1")]
        if self.options.include_private:
            params.append(("include_private", "true"))

        result, asked = await self._action("package_search", params, callers_query=True)
        if not isinstance(result, dict):
            raise self._fatal(f"package_search result is a {_kind(result)}, not an object", asked)
        count, records = result.get("count"), result.get("results")
        if not _is_count(count):
            raise self._fatal(f"package_search result 'count' is {count!r}, not a count", asked)
        if not isinstance(records, list):
            raise self._fatal(
                f"package_search result 'results' is a {_kind(records)}, not a list", asked
            )
        mapped = list(self._map_records(records))
        datasets = tuple(dataset for _, dataset in mapped)
        if any_of_applied and not all(query.matches_any_of(ds) for ds in datasets):
            log.warning(
                "source %s: visibility pushdown let through records it should not; "
                "the gateway will filter them",
                self.source_id,
            )
            any_of_applied = False
        return SearchPage(
            datasets=datasets,
            total=count,
            applied=self._verified(applied, query.filter, datasets),
            any_of_applied=any_of_applied,
            consumed=len(records),
            positions=None if len(mapped) == len(records) else tuple(p for p, _ in mapped),
            sorted=True,
            facets=self._facets(result.get("search_facets"), query.facets, count),
        )

    async def get(self, local_id: str) -> Dataset | None:
        """The package, or ``None`` for anything search would not show: missing, private
        (403, or ``private`` without ``include_private``), deleted, draft, unmappable.

        Every such case answers alike, so ``dataset(id)`` is no existence oracle.
        """
        result, asked = await self._action(
            "package_show", [("id", local_id)], missing_ok=True, callers_query=True
        )
        if result is None:
            return None
        if not isinstance(result, dict):
            raise self._fatal(f"package_show result is a {_kind(result)}, not an object", asked)
        if result.get("state") not in (None, "active"):
            return None
        if result.get("private") is True and not self.options.include_private:
            return None
        return next((dataset for _, dataset in self._map_records([result])), None)

    async def get_many(self, local_ids: Sequence[str]) -> dict[str, Dataset | None]:
        """Several packages in one ``package_search`` (``fq`` on ``id`` or ``name``).

        Search shows what ``get`` would (active, public unless ``include_private``), so an
        id answers ``None`` here exactly when ``package_show`` would make ``get`` answer it.
        """
        wanted = any_of(local_ids)
        params = [
            ("fq", f"+(id:{wanted} OR name:{wanted})"),
            ("rows", str(min(2 * len(local_ids), self.options.page_size_max))),
            ("start", "0"),
        ]
        if self.options.include_private:
            params.append(("include_private", "true"))
        result, asked = await self._action("package_search", params, callers_query=True)
        records = result.get("results") if isinstance(result, dict) else None
        if not isinstance(records, list):
            raise self._fatal("package_search result has no 'results' list", asked)
        found: dict[str, Dataset] = {}
        for position, dataset in self._map_records(records):
            package = records[position]
            for key in (package.get("id"), package.get("name")):
                if isinstance(key, str):
                    found.setdefault(key, dataset)
        return {local_id: found.get(local_id) for local_id in local_ids}

    async def departments(self) -> list[Department]:
        found: dict[str, Department] = {}
        offset, largest_page = 0, 0
        for _ in range(_MAX_ORG_PAGES):
            page, asked = await self._action(
                "organization_list",
                [("all_fields", "true"), ("limit", str(_ORG_PAGE)), ("offset", str(offset))],
            )
            if not isinstance(page, list):
                raise self._fatal(f"organization_list result is a {_kind(page)}, not a list", asked)
            before = len(found)
            for org in page:
                dept = _department(org)
                if dept is not None:
                    found.setdefault(dept.id, dept)
            # A site may cap pages below what we ask for, so only a page shorter than the
            # largest seen (or an empty or all-repeated one) proves the list has ended.
            largest_page = max(largest_page, len(page))
            if not page or len(page) < largest_page or len(found) == before:
                break
            offset += len(page)
        return list(found.values())

    async def check(self) -> Health:
        started = time.perf_counter()
        try:
            await self._action("status_show", [])
        except ConnectorError as exc:
            return Health(HealthStatus.DOWN, message=exc.message)
        except Exception as exc:  # a health probe reports, it never raises
            log.exception("source %s: status_show check crashed", self.source_id)
            return Health(HealthStatus.DOWN, message=f"check failed: {type(exc).__name__}")
        return Health(HealthStatus.UP, latency_ms=(time.perf_counter() - started) * 1000)

    # -- HTTP ---------------------------------------------------------------------------

    async def _action(
        self,
        action: str,
        params: list[tuple[str, str]],
        *,
        missing_ok: bool = False,
        callers_query: bool = False,
    ) -> tuple[Any, httpx.URL]:
        """Call one action: its ``result`` (``None`` for a 404 when ``missing_ok``) and the
        URL asked, for errors to carry (as a request without credentials).

        ``callers_query``: the parameters carry the caller's input (a search, an id), so
        CKAN's "bad query" answers (400 Search Query Error, 409 Search or Validation
        Error: Solr refused the ``q`` or ``fq``) are ``QueryRejected``, the caller's error.
        """
        url = f"{self._base}/api/3/action/{action}"
        # Errors carry a Request for this URL, built only when one is raised (~30 us
        # each, on every upstream call of a search).
        asked = build_url(url, params)
        allowed = {400, 403, 409} | ({404} if missing_ok else set())
        try:
            status, body = await get_json(
                self.client,
                url,
                source_id=self.source_id,
                params=params,
                headers=self._headers,
                max_bytes=self.settings.max_response_bytes,
                allow_statuses=frozenset(allowed),
            )
        except ConnectorError as exc:
            exc.request = _without_credentials(exc.request)
            raise
        except httpx.HTTPError as exc:  # e.g. a body that fails to decompress
            raise self._fatal(f"{action} failed: {type(exc).__name__}", asked) from None
        if not isinstance(body, dict):
            raise self._fatal(f"{action} answered HTTP {status} with a JSON {_kind(body)}", asked)
        if status == 404 or (status == 403 and missing_ok):
            # 403 for a package the token may not read: the same as one that is not there.
            return None, asked
        if status != 200 or body.get("success") is not True:
            error = _error_text(body.get("error"))
            if status in (400, 409):
                rejected = QueryRejected if callers_query else FatalError
                raise rejected(
                    f"CKAN rejected the query: {error}",
                    source_id=self.source_id,
                    request=httpx.Request("GET", asked),
                )
            if status == 403:
                raise self._fatal(f"CKAN refused {action} (check the api_key): {error}", asked)
            raise self._fatal(f"{action} answered success={body.get('success')!r}: {error}", asked)
        if "result" not in body:
            raise self._fatal(f"{action} answer has no 'result'", asked)
        return body["result"], asked

    def _fatal(self, message: str, asked: httpx.URL | None = None) -> FatalError:
        request = None if asked is None else httpx.Request("GET", asked)
        return FatalError(message, source_id=self.source_id, request=request)

    # -- filters ------------------------------------------------------------------------

    def _any_of_clause(self, filters: tuple[DatasetFilter, ...]) -> tuple[str | None, bool]:
        """One Solr clause for "matches at least one of ``filters``", if expressible."""
        cached = self._any_of_clauses.get(filters)
        if cached is None:
            cached = self._any_of_clauses[filters] = self._build_any_of_clause(filters)
        return cached

    def _build_any_of_clause(self, filters: tuple[DatasetFilter, ...]) -> tuple[str | None, bool]:
        """The clause (a superset of the records matching any of ``filters``) and whether
        it is exact."""
        if not filters:
            return None, True
        groups, exact = [], True
        for f in filters:
            clauses, applied, exactly = self._filter_clauses(f)
            if applied != f.active():
                return None, False  # an alternative we cannot express: no narrowing
            exact = exact and exactly == applied
            if not clauses:
                return None, exact  # this alternative admits every record
            groups.append("(" + " AND ".join(clauses) + ")")
        return "(" + " OR ".join(groups) + ")", exact

    def _filter_clauses(
        self, f: DatasetFilter
    ) -> tuple[list[str], set[FilterName], set[FilterName]]:
        """Solr clauses for ``f``; the filters they narrow by, and those they apply exactly.

        Class filters (share, open, sensitivity) are exact only when the site indexes
        extras as strings (``exact_extras``) and the class has a single key name;
        otherwise their clause only narrows, and the gateway filters and counts itself.
        """
        clauses: list[str] = []
        applied: set[FilterName] = set()
        exact_classes = self.options.exact_extras

        def add(name: FilterName, clause: str | None) -> None:
            if clause:
                clauses.append(clause)
                applied.add(name)

        if f.departments:
            clause = f"organization:{any_of(f.departments)}"
            own = self.settings.department
            if own is not None and own.id in f.departments:  # records without organization
                clause = f"({clause} OR (*:* -organization:[* TO *]))"
            add(FilterName.DEPARTMENTS, clause)
        if f.themes:
            add(FilterName.THEMES, f"groups:{any_of(f.themes)}")
        if f.keywords:
            add(FilterName.KEYWORDS, f"tags:{any_of(case_variants(f.keywords))}")
        if f.formats:
            add(FilterName.FORMATS, f"res_format:{any_of(format_variants(f.formats))}")
        keys, defaults = self.options.extras_keys, self.settings.defaults
        if f.share_types:
            add(
                FilterName.SHARE_TYPES,
                class_clause(
                    keys.share_type, vocab.SHARE_TYPES, set(f.share_types), defaults.share_type
                ),
            )
        if f.open_types:
            add(
                FilterName.OPEN_TYPES,
                class_clause(
                    keys.open_type, vocab.OPEN_TYPES, set(f.open_types), defaults.open_type
                ),
            )
        if f.max_sensitivity is not None:
            wanted = {s for s in vocab.SENSITIVITIES.values() if s <= f.max_sensitivity}
            add(
                FilterName.MAX_SENSITIVITY,
                class_clause(keys.sensitivity, vocab.SENSITIVITIES, wanted, defaults.sensitivity),
            )
        if f.modified_after is not None:
            add(
                FilterName.MODIFIED_AFTER,
                f"metadata_modified:[{solr_date(f.modified_after)} TO *]",
            )
        if f.modified_before is not None:
            add(
                FilterName.MODIFIED_BEFORE,
                f"metadata_modified:[* TO {solr_date(f.modified_before)}}}",
            )
        if f.identifiers:
            wanted = any_of(f.identifiers)
            add(
                FilterName.IDENTIFIERS,
                "(" + " OR ".join(f"{extras_field(k)}:{wanted}" for k in keys.identifier) + ")",
            )
        if f.grades:
            add(FilterName.GRADES, self._grade_clause(f.grades))
        exact = set(applied)
        for name, names in (
            (FilterName.SHARE_TYPES, keys.share_type),
            (FilterName.OPEN_TYPES, keys.open_type),
            (FilterName.MAX_SENSITIVITY, keys.sensitivity),
            (FilterName.IDENTIFIERS, keys.identifier),
        ):
            if not (exact_classes and len(names) == 1):
                exact.discard(name)
        if FilterName.GRADES in applied and not (exact_classes and self._grades_excludable(f)):
            exact.discard(FilterName.GRADES)
        return clauses, applied, exact

    def _grades_excludable(self, f: DatasetFilter) -> bool:
        return excluded_grades(f.grades) is not None

    def _grade_clause(self, grades: tuple[Grade, ...]) -> str | None:
        """Records whose (strictest) grade is wanted. On ``exact_extras`` sites: those
        stating no excluded grade under any key, exactly. On stock CKAN, whose tokenised
        extras could let a phrase exclude an unrelated value, a clause that only narrows."""
        keys = self.options.directory_keys.grade
        excluded = excluded_grades(grades)
        if not (self.options.exact_extras and excluded is not None):
            return class_clause(keys, vocab.GRADES, set(grades), Grade.GENERAL)
        if not excluded:
            return "*:*"  # every grade wanted
        spellings = any_of(grade_spellings(excluded))
        return "(*:* " + " ".join(f"-{extras_field(k)}:{spellings}" for k in keys) + ")"

    def _verified(
        self, applied: set[FilterName], f: DatasetFilter, datasets: tuple[Dataset, ...]
    ) -> frozenset[FilterName]:
        """Drop a class filter from ``applied`` when CKAN's tokenised match let through a
        record our vocabulary maps elsewhere, so the engine re-applies it."""
        checked = applied & {
            FilterName.SHARE_TYPES,
            FilterName.OPEN_TYPES,
            FilterName.MAX_SENSITIVITY,
        }
        for name in checked:
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

    # -- facets -------------------------------------------------------------------------

    def _facets(
        self, raw: object, wanted: frozenset[FacetName], total: int
    ) -> dict[FacetName, dict[str, int]]:
        facets: dict[FacetName, dict[str, int]] = {}
        if not isinstance(raw, dict):
            return facets
        for name, field in _FACET_FIELDS.items():
            entry = raw.get(field)
            if name not in wanted or not isinstance(entry, dict):
                continue
            items = entry.get("items")
            if not isinstance(items, list):
                continue
            counts: dict[str, int] = {}
            for item in items:
                if not isinstance(item, dict):
                    continue
                value, count = item.get("name"), item.get("count")
                if not isinstance(value, str) or not value or not _is_count(count):
                    continue
                key = value.upper() if name is FacetName.FORMATS else value
                counts[key] = counts.get(key, 0) + count
            own = self.settings.department
            if name is FacetName.DEPARTMENTS and own is not None:
                # One organization per package, so the rest are the org-less records we
                # attribute to the configured department.
                orphans = total - sum(counts.values())
                if orphans > 0:
                    counts[own.id] = counts.get(own.id, 0) + orphans
            facets[name] = counts
        return facets

    # -- mapping ------------------------------------------------------------------------

    def _map_records(self, records: Iterable[object]) -> Iterator[tuple[int, Dataset]]:
        """``(position, dataset)`` for each record that maps; the rest are logged, skipped."""
        for position, record in enumerate(records):
            if not isinstance(record, dict) or not _text(record.get("id")):
                log.warning(
                    "source %s: skipped package_search result #%d (%s without an id)",
                    self.source_id,
                    position,
                    _kind(record),
                )
                continue
            # CKAN bumps metadata_modified on every change to a package or its resources,
            # so (id, metadata_modified) names one version of a record.
            stamp = record.get("metadata_modified")
            version = (record["id"], stamp) if isinstance(stamp, str) and stamp else None
            cached = self._mapped.get(version) if version else None
            if cached is not None:
                yield position, cached
                continue
            try:
                dataset = self._map_record(record)
            except Exception as exc:  # hostile shapes: one bad record never fails the page
                log.warning(
                    "source %s: skipped package %r: %s: %s",
                    self.source_id,
                    record.get("id"),
                    type(exc).__name__,
                    exc,
                )
                continue
            if version:
                self._mapped[version] = dataset
            yield position, dataset

    def _map_record(self, pkg: Mapping[str, Any]) -> Dataset:
        local_id = _text(pkg.get("id"))
        if local_id is None:
            raise self._fatal("package has no id")
        extras = _extras(pkg.get("extras"))
        keys, defaults = self.options.extras_keys, self.settings.defaults

        def raw(names: tuple[str, ...]) -> Any:
            return next((extras[n] for n in names if n in extras), None) or next(
                (pkg[n] for n in names if isinstance(pkg.get(n), (str, list))), None
            )

        def extra(names: tuple[str, ...]) -> str | None:
            return next((extras[n] for n in names if isinstance(extras.get(n), str)), None)

        def field(names: tuple[str, ...]) -> str | None:  # extras, then scheming fields
            return extra(names) or next(filter(None, (_text(pkg.get(n)) for n in names)), None)

        name = _text(pkg.get("name"))
        start, end = (
            parse_timestamp(field(keys.temporal_start)),
            parse_timestamp(field(keys.temporal_end)),
        )
        if start is None and end is None:
            start, end = parse_interval(extra(keys.temporal))

        def directory_value(key: str) -> Any:
            # ckanext-scheming keeps its fields at the top level of the package.
            return extras[key] if key in extras else pkg.get(key)

        return Dataset(
            source_id=self.source_id,
            local_id=local_id,
            title=_text(pkg.get("title")) or name or local_id,
            identifier=extra(keys.identifier),
            description=html_to_text(pkg.get("notes")),
            keywords=_unique(
                [
                    *(
                        _text(t.get("display_name")) or _text(t.get("name"))
                        for t in _dicts(pkg.get("tags"))
                    ),
                    *read.translated_terms(pkg.get("keywords")),
                ]
            ),
            themes=_unique(_text(g.get("name")) for g in _dicts(pkg.get("groups"))),
            department=_department(pkg.get("organization")) or self.settings.department,
            issued=parse_timestamp(pkg.get("metadata_created")),
            modified=parse_timestamp(pkg.get("metadata_modified")),
            update_frequency=vocab.parse_update_frequency(field(keys.update_frequency))
            or vocab.parse_update_frequency_days(field(keys.update_frequency_days))
            or UpdateFrequency.UNKNOWN,
            share_type=vocab.share_type_or(
                extra(keys.share_type), defaults.share_type, source=self.source_id
            ),
            share_condition=field(keys.share_condition),
            open_type=vocab.open_type_or(
                extra(keys.open_type), defaults.open_type, source=self.source_id
            ),
            sensitivity=vocab.sensitivity_or(
                extra(keys.sensitivity), defaults.sensitivity, source=self.source_id
            ),
            license=_text(pkg.get("license_title")) or _text(pkg.get("license_id")),
            landing_page=f"{self._base}/dataset/{quote(name, safe='')}" if name else None,
            contact_point=_contact(
                pkg, field(keys.phone), (field(keys.contact_name), field(keys.contact_email))
            ),
            distributions=tuple(_distribution(r) for r in _dicts(pkg.get("resources"))),
            fields=_data_fields(raw(keys.fields)),
            spatial=field(keys.spatial),
            temporal=Temporal(start, end) if start or end else None,
            translations=ckan_translations(pkg, extras, keys.title_en),
            **directory_fields(directory_value, self.options.directory_keys),
        )


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text(value: object) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _extras(value: object) -> dict[str, Any]:
    """CKAN ``extras`` ([{key, value}]) as a dict; strings stripped, empty ones dropped."""
    out: dict[str, Any] = {}
    for item in _dicts(value):
        key, raw = item.get("key"), item.get("value")
        if not isinstance(key, str):
            continue
        if isinstance(raw, (list, dict)):
            out.setdefault(key, raw)
        elif (text := _text(raw)) is not None:
            out.setdefault(key, text)
    return out


def _department(org: object) -> Department | None:
    if not isinstance(org, dict):
        return None
    name = _text(org.get("name"))
    if name is None:
        return None
    title = _text(org.get("title")) or _text(org.get("display_name")) or name
    # A scheming organization field, else an organization extra.
    code = _text(org.get("code")) or _extras(org.get("extras")).get("code")
    return Department(id=name, name=title, code=code if isinstance(code, str) else None)


def _contact(
    pkg: Mapping[str, Any], phone: str | None, dcat_contact: tuple[str | None, str | None]
) -> ContactPoint | None:
    # Maintainer, author and the ckanext-dcat contact are kept as pairs, so one person's
    # email never gets attached to another's name.
    name, email = _text(pkg.get("maintainer")), _text(pkg.get("maintainer_email"))
    if read.is_user_id(name, pkg):  # a CKAN user's id (HDX), not a person's name
        name = None
    if name is None and email is None:
        name, email = _text(pkg.get("author")), _text(pkg.get("author_email"))
    if name is None and email is None:
        name, email = dcat_contact
    if name is None and email is None and phone is None:
        return None
    return ContactPoint(name=name, email=email, phone=phone)


def _distribution(res: Mapping[str, Any]) -> Distribution:
    fmt = _text(res.get("format"))
    fmt = fmt.upper() if fmt else None
    url = _text(res.get("url"))
    size = res.get("size")
    downloadable = res.get("url_type") == "upload" or (fmt is not None and fmt in _FILE_FORMATS)
    return Distribution(
        title=_text(res.get("name")),
        format=fmt,
        media_type=_text(res.get("mimetype")),
        access_url=url,
        download_url=url if url and downloadable else None,
        byte_size=size if _is_count(size) else None,
    )


def _data_fields(raw: object) -> tuple[DataField, ...]:
    """The ``fields`` extra: a JSON list of {name, type, description}; garbage -> ()."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return ()
    if not isinstance(raw, list):
        return ()
    out = []
    for item in _dicts(raw):
        name = _text(item.get("name"))
        if name is not None:
            out.append(
                DataField(
                    name=name,
                    type=_text(item.get("type")),
                    description=_text(item.get("description")),
                )
            )
    return tuple(out)


def _error_text(error: object) -> str:
    """CKAN's error object ({"__type", "message"} or field -> [messages]) as one line."""
    if isinstance(error, dict):
        kind = _text(error.get("__type"))
        if (message := _text(error.get("message"))) is None:
            details = [
                f"{key}: {'; '.join(map(str, v)) if isinstance(v, list) else v}"
                for key, v in error.items()
                if key != "__type"
            ]
            message = ", ".join(details) or None
        text = ": ".join(part for part in (kind, message) if part) or "no error detail"
    else:
        text = _text(error) or "no error detail"
    return text if len(text) <= _ERROR_TEXT_MAX else text[: _ERROR_TEXT_MAX - 1] + "…"


def _without_credentials(request: httpx.Request | None) -> httpx.Request | None:
    """A copy of ``request`` without its ``Authorization`` header (errors keep requests)."""
    if request is None or "authorization" not in request.headers:
        return request
    headers = [(k, v) for k, v in request.headers.items() if k.lower() != "authorization"]
    return httpx.Request(request.method, request.url, headers=headers)
