"""Socrata connector: the Discovery API (``GET {url}/api/catalog/v1``).

Written against the Discovery API reference (the OpenAPI document behind
dev.socrata.com/docs/other/discovery, ``apis/discovery.json`` in socrata/dev.socrata.com):

- an answer is ``{"results": [{"resource", "classification", "metadata", "permalink",
  "link", "owner"}], "resultSetSize", "timings"}``; a failure is ``{"error": "..."}``;
- ``limit`` defaults to 100 and goes up to 10000, and a request whose ``offset + limit``
  passes 10000 is answered 400 whatever the result size (deeper reads need ``scroll_id``,
  which ignores ``order``, so offset paging in the gateway's order ends at row 10000);
- a repeated parameter is a union (``tags=a&tags=b``), distinct parameters intersect;
- with ``search_context=<domain>``, ``categories`` and ``tags`` match the domain's own
  ``domain_category`` / ``domain_tags`` (without it, Socrata's algorithmic ones);
- ``attribution`` is an exact, case-sensitive match; ``order`` takes ``relevance``
  (default), ``name``, ``updatedAt``, ``createdAt``... with an optional ``ASC``/``DESC``.

The Discovery API cannot filter on custom metadata being absent, on a date range or on
formats, so share/open classes, sensitivity, modified ranges and formats are left to the
gateway. Departments are pushed down as ``attribution`` unless records without one (which
belong to the source's own department) are wanted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors import _socrata_records as read
from connectors._directory import SocrataDirectoryKeys, directory_fields
from connectors.sdk import (
    Capabilities,
    Connector,
    ConnectorError,
    DatasetFilter,
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
)
from schema import vocab
from schema.model import (
    ContactPoint,
    Dataset,
    Department,
    UpdateFrequency,
)

log = logging.getLogger(__name__)

PAGING_WINDOW = 10_000  # offset + limit may not pass this (the API answers 400)
CATALOG_PATH = "/api/catalog/v1"

_KeyNames = tuple[str, ...]


class SocrataMetadataKeys(BaseModel):
    """Which ``domain_metadata`` keys hold each canonical field; the first non-empty wins.

    Socrata names a custom metadata key ``<Set-Name>_<Field-Name>`` (spaces become dashes)::

        options: {metadata_keys: {share_type: [Data-Sharing_Share-Type]}}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    identifier: _KeyNames = (
        "Common-Core_Identifier",
        "Catalog_Identifier",
        "identifier",
        "资源代码",
    )
    share_type: _KeyNames = ("Catalog_Share-Type", "share_type", "共享类型")
    open_type: _KeyNames = (
        "Catalog_Open-Type",
        "open_type",
        "开放类型",
        "Common-Core_Public-Access-Level",
    )
    sensitivity: _KeyNames = ("Catalog_Sensitivity", "sensitivity", "敏感级别")
    # Socrata's Common-Core set (Project Open Data fields) names these
    # Update-Frequency, Temporal-Applicability and Geographic-Coverage.
    update_frequency: _KeyNames = (
        "Catalog_Update-Frequency",
        "Update_Update-Frequency",
        "Common-Core_Update-Frequency",
        "update_frequency",
        "更新周期",
    )
    share_condition: _KeyNames = ("Catalog_Share-Condition", "share_condition", "共享条件")
    contact_name: _KeyNames = ("Common-Core_Contact-Name", "Catalog_Contact-Name")
    contact_email: _KeyNames = ("Common-Core_Contact-Email", "Catalog_Contact-Email")
    phone: _KeyNames = ("Catalog_Contact-Phone", "contact_phone")
    spatial: _KeyNames = ("Catalog_Spatial", "Common-Core_Geographic-Coverage")
    temporal: _KeyNames = ("Catalog_Temporal", "Common-Core_Temporal-Applicability")


class DepartmentOption(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str


class SocrataOptions(BaseModel):
    """``options`` of a ``connector: socrata`` source.

    >>> SocrataOptions(domain="data.jt.example.gov.cn",
    ...                departments={"交通运输局": {"id": "transport", "name": "交通运输局"}})

    ``domain`` is the Socrata domain to search (default: the host of the source ``url``,
    which may also be ``https://api.us.socrata.com``). ``app_token`` is sent as
    ``X-App-Token``. ``departments`` maps an ``attribution`` to a department (others become
    a department named after the attribution; records without one get the source's
    ``department``). ``category_themes`` maps a domain category to a theme id (others are
    their own theme id). ``page_size_max`` lowers the 10000-row page the API allows.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: str | None = Field(None, min_length=1)
    app_token: SecretStr | None = None
    metadata_keys: SocrataMetadataKeys = Field(default_factory=SocrataMetadataKeys)
    directory_keys: SocrataDirectoryKeys = Field(default_factory=SocrataDirectoryKeys)
    departments: dict[str, DepartmentOption] = Field(default_factory=dict)
    category_themes: dict[str, str] = Field(default_factory=dict)
    page_size_max: int = Field(PAGING_WINDOW, ge=1, le=PAGING_WINDOW)


_ORDERS: Mapping[Sort, str | None] = {
    Sort.RELEVANCE: None,  # the API's default order
    Sort.MODIFIED_DESC: "updatedAt DESC",
    Sort.MODIFIED_ASC: "updatedAt ASC",
    Sort.TITLE_ASC: "name ASC",
}

_ERROR_TEXT_MAX = 300
_SECRET_HEADERS = frozenset({"x-app-token", "authorization"})


class SocrataConnector(Connector):
    """Live queries against one Socrata domain through its Discovery API."""

    name = "socrata"
    options_model = SocrataOptions
    capabilities = Capabilities(
        search=True,
        filters=frozenset({FilterName.THEMES, FilterName.KEYWORDS, FilterName.DEPARTMENTS}),
        sorts=frozenset(Sort),
        get_by_id=True,
        max_page_size=PAGING_WINDOW,
    )

    def __init__(self, settings: SourceSettings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        opts = settings.options
        self.options = (
            opts
            if isinstance(opts, SocrataOptions)
            else SocrataOptions.model_validate(opts.model_dump())
        )
        self._base = settings.url.rstrip("/")
        self.domain = self.options.domain or urlsplit(self._base).hostname or self._base
        self._headers = {"Accept": "application/json"}
        if self.options.app_token is not None:
            self._headers["X-App-Token"] = self.options.app_token.get_secret_value()

    # -- the contract -------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchPage:
        offset = max(query.offset, 0)
        if offset >= PAGING_WINDOW:
            raise NotSupported(
                f"the Discovery API pages by offset only through the first {PAGING_WINDOW} "
                "results; narrow the search to see further",
                source_id=self.source_id,
            )
        limit = min(max(query.limit, 1), self.options.page_size_max, PAGING_WINDOW - offset)
        params = self._scope() + [("limit", str(limit)), ("offset", str(offset))]
        text = " ".join((query.text or "").split())
        if text:
            params.append(("q", text))
        order = _ORDERS[query.sort]
        if order is not None:
            params.append(("order", order))
        filter_params, applied = self._filter_params(query.filter)
        params += filter_params

        body, request = await self._get(CATALOG_PATH, params, callers_query=True)
        total, records = body.get("resultSetSize"), body.get("results")
        if not isinstance(records, list):
            raise self._fatal(
                f"catalog answer 'results' is a {read.kind(records)}, not a list", request
            )
        if not read.is_count(total):
            raise self._fatal(f"catalog answer 'resultSetSize' is {total!r}, not a count", request)
        mapped = list(self._map_results(records))
        datasets = tuple(dataset for _, dataset in mapped)
        # Visibility is about classes the API cannot filter on; only "anyone" is exact.
        any_of_applied = not query.any_of or any(not f.active() for f in query.any_of)
        return SearchPage(
            datasets=datasets,
            total=total,
            applied=self._verified(applied, query.filter, datasets),
            any_of_applied=any_of_applied,
            consumed=len(records),
            positions=None if len(mapped) == len(records) else tuple(p for p, _ in mapped),
        )

    async def get(self, local_id: str) -> Dataset | None:
        """The dataset, or ``None`` for anything search would not show: missing, not a
        dataset, not public, or unmappable. Every such case answers alike."""
        if not local_id.strip():
            return None
        body, request = await self._get(
            CATALOG_PATH, self._scope() + [("ids", local_id)], callers_query=True
        )
        records = body.get("results")
        if not isinstance(records, list):
            raise self._fatal(
                f"catalog answer 'results' is a {read.kind(records)}, not a list", request
            )
        for _, dataset in self._map_results(records):
            if dataset.local_id == local_id:
                return dataset
        return None

    async def departments(self) -> list[Department]:
        """The configured departments, the publishers named in the domain's ``attribution``
        facet (``/api/catalog/v1/domains/{domain}/facets``) and the source's own."""
        found: dict[str, Department] = {}
        for option in self.options.departments.values():
            found.setdefault(option.id, Department(option.id, option.name))
        body, _ = await self._get(
            f"{CATALOG_PATH}/domains/{quote(self.domain, safe='')}/facets",
            [("only", "dataset")],
            list_ok=True,
        )
        facets = body if isinstance(body, list) else body.get("results")
        for facet in read.dicts(facets):
            if facet.get("facet") != "attribution":
                continue
            for value in read.dicts(facet.get("values")):
                attribution = read.text(value.get("value"))
                dept = self._department(attribution) if attribution else None
                if dept is not None:
                    found.setdefault(dept.id, dept)
        own = self.settings.department
        if own is not None:
            found.setdefault(own.id, own)
        return list(found.values())

    async def check(self) -> Health:
        started = time.perf_counter()
        try:
            await self._get(CATALOG_PATH, self._scope() + [("limit", "1")])
        except ConnectorError as exc:
            return Health(HealthStatus.DOWN, message=exc.message)
        except Exception as exc:  # a health probe reports, it never raises
            log.exception("source %s: catalog check crashed", self.source_id)
            return Health(HealthStatus.DOWN, message=f"check failed: {type(exc).__name__}")
        return Health(HealthStatus.UP, latency_ms=(time.perf_counter() - started) * 1000)

    # -- HTTP ---------------------------------------------------------------------------

    def _scope(self) -> list[tuple[str, str]]:
        """This domain's datasets, with categories and tags read as the domain's own."""
        return [("domains", self.domain), ("search_context", self.domain), ("only", "dataset")]

    async def _get(
        self,
        path: str,
        params: list[tuple[str, str]],
        *,
        list_ok: bool = False,
        callers_query: bool = False,
    ) -> tuple[Any, httpx.Request]:
        """GET a Discovery API path: the decoded JSON object (or list when ``list_ok``) and
        the request, without the app token, for errors to carry.

        ``callers_query``: the parameters carry the caller's input, so the API's 400 (its
        ``{"error": ...}`` body for a parameter it refuses) is ``QueryRejected``.
        """
        url = self._base + path
        request = httpx.Request("GET", url, params=tuple(params))
        try:
            status, body = await get_json(
                self.client,
                url,
                source_id=self.source_id,
                params=params,
                headers=self._headers,
                max_bytes=self.settings.max_response_bytes,
                allow_statuses=frozenset({400, 401, 403, 404}),
            )
        except ConnectorError as exc:
            exc.request = _without_secrets(exc.request)
            raise
        except httpx.HTTPError as exc:  # e.g. a body that fails to decompress
            raise self._fatal(f"catalog request failed: {type(exc).__name__}", request) from None
        if status == 200 and list_ok and isinstance(body, list):
            return body, request
        if not isinstance(body, dict):
            raise self._fatal(
                f"catalog answered HTTP {status} with a JSON {read.kind(body)}", request
            )
        if status != 200 or "error" in body:
            error = _error_text(body)
            if status == 400 and callers_query:
                raise QueryRejected(
                    f"Socrata rejected the query: {error}",
                    source_id=self.source_id,
                    request=request,
                )
            if status == 400 or status == 200:
                raise self._fatal(f"Socrata rejected the query: {error}", request)
            if status == 404:
                raise self._fatal(f"no Discovery API at {url}: {error}", request)
            raise self._fatal(f"Socrata refused the request (check app_token): {error}", request)
        return body, request

    def _fatal(self, message: str, request: httpx.Request | None = None) -> FatalError:
        return FatalError(message, source_id=self.source_id, request=request)

    # -- filters ------------------------------------------------------------------------

    def _filter_params(self, f: DatasetFilter) -> tuple[list[tuple[str, str]], set[FilterName]]:
        """Parameters for what the API can filter exactly, and the filters they apply."""
        params: list[tuple[str, str]] = []
        applied: set[FilterName] = set()
        if f.themes:
            themes = self.options.category_themes
            params += [("categories", c) for c in _sources_of(set(f.themes), themes)]
            applied.add(FilterName.THEMES)
        if f.keywords:
            params += [("tags", k) for k in dict.fromkeys(f.keywords)]
            applied.add(FilterName.KEYWORDS)
        own = self.settings.department
        if f.departments and not (own is not None and own.id in f.departments):
            names = {k: v.id for k, v in self.options.departments.items()}
            params += [("attribution", a) for a in _sources_of(set(f.departments), names)]
            applied.add(FilterName.DEPARTMENTS)
        return params, applied

    def _verified(
        self, applied: set[FilterName], f: DatasetFilter, datasets: tuple[Dataset, ...]
    ) -> frozenset[FilterName]:
        """Withdraw a claim a returned record contradicts (e.g. a site whose category
        match ignores case), so the engine filters and counts itself."""
        for name in list(applied):
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

    def _map_results(self, records: Iterable[object]) -> Iterator[tuple[int, Dataset]]:
        """``(position, dataset)`` for each result that maps; the rest are logged, skipped."""
        for position, record in enumerate(records):
            resource = record.get("resource") if isinstance(record, dict) else None
            local_id = read.text(resource.get("id")) if isinstance(resource, dict) else None
            if not isinstance(record, dict) or local_id is None:
                log.warning(
                    "source %s: skipped catalog result #%d (%s without a resource id)",
                    self.source_id,
                    position,
                    read.kind(record),
                )
                continue
            if read.hidden(record.get("metadata")):
                log.info("source %s: skipped non-public asset %r", self.source_id, local_id)
                continue
            try:
                dataset = self._map_result(local_id, record)
            except Exception as exc:  # hostile shapes: one bad record never fails the page
                log.warning(
                    "source %s: skipped asset %r: %s: %s",
                    self.source_id,
                    local_id,
                    type(exc).__name__,
                    exc,
                )
                continue
            yield position, dataset

    def _map_result(self, local_id: str, item: Mapping[str, Any]) -> Dataset:
        resource: Mapping[str, Any] = item["resource"]
        classification = read.obj(item.get("classification"))
        metadata = read.obj(item.get("metadata"))
        custom = read.domain_metadata(classification.get("domain_metadata"))
        keys, defaults = self.options.metadata_keys, self.settings.defaults

        def meta(names: tuple[str, ...]) -> str | None:
            return next((custom[n] for n in names if n in custom), None)

        origin = read.origin(item, metadata, self._base)
        landing = read.text(item.get("permalink")) or read.text(item.get("link"))
        category = read.text(classification.get("domain_category"))
        email = read.text(resource.get("contact_email")) or meta(keys.contact_email)
        name, phone = meta(keys.contact_name), meta(keys.phone)
        return Dataset(
            source_id=self.source_id,
            local_id=local_id,
            title=read.text(resource.get("name")) or local_id,
            identifier=meta(keys.identifier),
            description=read.plain_text(resource.get("description")),
            keywords=read.unique(
                read.text(t) for t in read.array(classification.get("domain_tags"))
            ),
            themes=(self.options.category_themes.get(category, category),) if category else (),
            department=self._department(read.text(resource.get("attribution"))),
            issued=read.timestamp(resource.get("createdAt"))
            or read.timestamp(resource.get("publication_date")),
            modified=read.timestamp(resource.get("updatedAt"))
            or read.timestamp(resource.get("data_updated_at"))
            or read.timestamp(resource.get("metadata_updated_at")),
            update_frequency=vocab.parse_update_frequency(meta(keys.update_frequency))
            or UpdateFrequency.UNKNOWN,
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
            license=read.text(metadata.get("license")),
            landing_page=landing or f"{origin}/d/{quote(local_id, safe='')}",
            contact_point=ContactPoint(name, email, phone) if name or email or phone else None,
            distributions=read.distributions(local_id, resource, origin),
            fields=read.data_fields(resource),
            spatial=meta(keys.spatial),
            temporal=read.temporal(meta(keys.temporal)),
            translations=read.translations(custom),
            **directory_fields(custom.get, self.options.directory_keys),
        )

    def _department(self, attribution: str | None) -> Department | None:
        if attribution is None:
            return self.settings.department
        option = self.options.departments.get(attribution)
        if option is not None:
            return Department(option.id, option.name)
        return Department(id=attribution, name=attribution)


# -- helpers ----------------------------------------------------------------------------


def _sources_of(wanted: set[str], mapping: Mapping[str, str]) -> list[str]:
    """The raw values that map to a wanted id: mapped keys, plus wanted ids that are not
    themselves keys (an unmapped value is its own id)."""
    raw = [key for key, target in mapping.items() if target in wanted]
    raw += sorted(w for w in wanted if w not in mapping)
    return raw


def _error_text(body: Mapping[str, Any]) -> str:
    """Socrata's error body (``{"error": "..."}``; SODA's ``{"error": true, "message"}``)."""
    error = body.get("error")
    if isinstance(error, dict):
        text = read.text(error.get("message"))
    elif isinstance(error, str):
        text = read.text(error)
    else:
        text = read.text(body.get("message"))
    text = text or "no error detail"
    return text if len(text) <= _ERROR_TEXT_MAX else text[: _ERROR_TEXT_MAX - 1] + "…"


def _without_secrets(request: httpx.Request | None) -> httpx.Request | None:
    """A copy of ``request`` without its app token (errors keep requests)."""
    if request is None or not any(k.lower() in _SECRET_HEADERS for k in request.headers):
        return request
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _SECRET_HEADERS]
    return httpx.Request(request.method, request.url, headers=headers)
