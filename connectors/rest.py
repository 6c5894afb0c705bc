"""The declarative REST connector (``connector: rest``): a JSON API read through a mapping.

Departments whose platform is a home-grown REST API describe it in YAML instead of
writing Python: endpoints and parameter templates, where the records and the total
are in an answer, how pages are walked, which filters and orders the platform can
apply and as which parameters, and which selector feeds each canonical field (with
value maps for the platform's own spellings). ``connectors/rest_config.py`` validates
the mapping against ``connectors/rest_schema.json``; ``gateway/demo/rest_platform.yaml``
is a complete, commented one.

A selector that finds nothing where the mapping says records, a total or a status code
must be is a ``FatalError`` naming the selector: a wrong mapping never looks like an
empty catalogue. Inside a record, fields that are absent are simply empty.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from connectors._rest_pushdown import Pushdown
from connectors._rest_records import RecordMapper, kind, text
from connectors.rest_config import AuthOptions, RestOptions
from connectors.sdk import (
    Capabilities,
    Connector,
    ConnectorError,
    FatalError,
    FilterName,
    Health,
    HealthStatus,
    NotSupported,
    Origins,
    QueryRejected,
    SearchPage,
    SearchQuery,
    Sort,
    SourceSettings,
)
from connectors.sdk._auth import ApiKeyAuth, BasicAuth, BearerAuth, OAuth2ClientCredentials
from connectors.sdk._http import JsonResponse, fetch_json
from connectors.sdk._paginate import (
    Bookmarks,
    CursorPaginator,
    LinkHeaderPaginator,
    NextLinkPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    PageResponse,
    Paginator,
    SinglePage,
    read_window,
)
from connectors.sdk._selector import MISSING, Selector, SelectorNotFound
from schema.model import Dataset, Department

log = logging.getLogger(__name__)

# 4xx answers whose JSON body says why (the envelope's message), read rather than raised.
_READ_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 410, 422})
_MESSAGE_MAX = 200
# Endpoints whose parameters carry the caller's input: only their refusals can be the
# caller's fault (``bad_query``); a refused listing or health probe is the source's.
_CALLERS_ENDPOINTS = frozenset({"search", "get"})


class RestConnector(Connector):
    """Live queries against a JSON API described by a ``RestOptions`` mapping.

    ``capabilities`` are the mapping's: the sorts it names, ``get`` when it has a get
    endpoint, its ``pagination.max_page_size``, the filters it can push down.
    """

    name = "rest"
    options_model = RestOptions
    capabilities = Capabilities(search=True)

    def __init__(self, settings: SourceSettings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        if not isinstance(settings.options, RestOptions):
            raise TypeError("RestConnector needs RestOptions (RestOptions.model_validate(...))")
        self.options = options = settings.options
        self._base = settings.url.rstrip("/")
        self._auth = _build_auth(options.auth, self._base)
        # The key goes to the platform's own origin only: next links elsewhere are refused.
        self._origins = Origins.of(settings)
        self._headers = {"Accept": "application/json", **options.headers}
        self._paginator = _build_paginator(options)
        self._bookmarks = Bookmarks()
        self._mapper = RecordMapper(settings, options.fields)
        self._pushdown = Pushdown(settings, options.filters, self._mapper.fields)
        self._sorts: dict[Sort, tuple[tuple[str, str], ...]] = {Sort.RELEVANCE: ()}
        for sort, params in options.sorts.items():
            self._sorts[sort] = tuple((k, _scalar(v)) for k, v in params.items())
        self._envelope = _Envelope.build(options)
        self._bad_statuses = frozenset(options.bad_query.statuses)
        self._bad_codes = frozenset(_scalar(v) for v in options.bad_query.codes)
        # Per instance: what this mapping lets the platform do.
        self.capabilities = Capabilities(  # type: ignore[misc]
            search=True,
            # Grades reach a search through the caller's visibility (``any_of``) only.
            filters=frozenset(self._pushdown.rules) - {FilterName.GRADES},
            sorts=frozenset(self._sorts),
            get_by_id=options.get is not None,
            max_page_size=options.pagination.max_page_size,
        )

    # -- the contract -------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchPage:
        deadline = self._deadline()
        pushed = self._pushdown.plan(query)
        if pushed is None:  # the filters contradict each other: nothing can match
            return SearchPage(
                datasets=(),
                total=0,
                applied=query.filter.active(),
                any_of_applied=True,
                consumed=0,
            )
        sort_params = self._sorts.get(query.sort)
        sorted_ = sort_params is not None
        text = " ".join(query.text.split()) if query.text else None
        search = self.options.search
        templates = _templates(search.params)
        extra = list(pushed.params) + list(sort_params or ())
        records_at = Selector(search.records)

        async def fetch(page: PageRequest) -> PageResponse:
            if page.url is not None:
                url = self._redact(page.url)
                params: list[tuple[str, str]] = []
            else:
                values = {"text": text, **page.values()}
                url = self._url(search.path)
                params = _render_params(templates, values) + extra
            answer = await self._call("search", url, params, deadline=deadline)
            assert answer is not None
            records = self._records(answer, records_at, "search")
            return PageResponse(records, answer.body, answer.headers, str(answer.url))

        limit = min(max(query.limit, 1), self.capabilities.max_page_size)
        key = (text, tuple(extra))
        try:
            window = await read_window(
                self._paginator,
                fetch,
                offset=query.offset,
                limit=limit,
                bookmarks=self._bookmarks,
                key=key,
                resume=_page_request(query.resume, limit),
            )
        except ConnectorError as exc:
            if exc.source_id is None:
                exc.source_id = self.source_id
            raise
        total = self._total(window.first) if search.total else None
        mapped = list(self._mapper.map_records(window.records))
        datasets = tuple(dataset for _, dataset in mapped)
        applied = self._pushdown.verified(pushed.applied, query.filter, datasets)
        any_of_applied = pushed.any_of_applied
        if any_of_applied and not all(query.matches_any_of(d) for d in datasets):
            log.warning(
                "source %s: the platform returned records outside the pushed visibility; "
                "the gateway will filter them",
                self.source_id,
            )
            any_of_applied = False
        return SearchPage(
            datasets=datasets,
            total=total,
            applied=applied,
            any_of_applied=any_of_applied,
            sorted=sorted_,
            consumed=len(window.records),
            positions=None if len(mapped) == len(window.records) else tuple(p for p, _ in mapped),
            resume_points=tuple(
                (start.offset, _page_token(start, self._redact)) for start in window.starts
            ),
        )

    async def get(self, local_id: str) -> Dataset | None:
        """The record, or ``None`` alike for missing, refused and unmappable ones."""
        spec = self.options.get
        if spec is None:
            raise NotSupported("this mapping has no get endpoint", source_id=self.source_id)
        url = self._url(spec.path, {"id": quote(local_id, safe="")})
        params = _render_params(_templates(spec.params), {"id": local_id})
        answer = await self._call("get", url, params, deadline=self._deadline(), missing_ok=True)
        if answer is None:
            return None
        record = self._select(Selector(spec.record), answer.body, "get")
        if not isinstance(record, dict):
            if record is not None:
                log.warning(
                    "source %s: get %r answered a %s", self.source_id, local_id, kind(record)
                )
            return None
        dataset = next((d for _, d in self._mapper.map_records([record])), None)
        if dataset is not None and dataset.local_id != local_id:
            log.warning(
                "source %s: get %r answered record %r", self.source_id, local_id, dataset.local_id
            )
            return None
        return dataset

    async def departments(self) -> list[Department]:
        spec = self.options.departments
        own = [self.settings.department] if self.settings.department else []
        if spec is None:
            return own
        params = _render_params(_templates(spec.params), {})
        answer = await self._call(
            "departments", self._url(spec.path), params, deadline=self._deadline()
        )
        assert answer is not None
        records = self._records(answer, Selector(spec.records), "departments")
        id_at, name_at = Selector(spec.id), Selector(spec.name)
        found: dict[str, Department] = {d.id: d for d in own}
        for record in records:
            dept_id = self._mapper.department_id(id_at.get(record))
            name = text(name_at.get(record))
            if dept_id or name:
                key = dept_id or name or ""
                found.setdefault(key, Department(id=key, name=name or key))
        return list(found.values())

    async def check(self) -> Health:
        started = time.perf_counter()
        try:
            spec = self.options.check
            if spec is not None:
                params = _render_params(_templates(spec.params), {})
                await self._call("check", self._url(spec.path), params, deadline=self._deadline())
            elif self.options.departments is not None:
                await self.departments()
            else:
                await self.search(SearchQuery(limit=1))
        except ConnectorError as exc:
            return Health(HealthStatus.DOWN, message=exc.message)
        except Exception as exc:  # a health probe reports, it never raises
            log.exception("source %s: check crashed", self.source_id)
            return Health(HealthStatus.DOWN, message=f"check failed: {type(exc).__name__}")
        return Health(HealthStatus.UP, latency_ms=(time.perf_counter() - started) * 1000)

    # -- HTTP ---------------------------------------------------------------------------

    def _deadline(self) -> float:
        """When this call must be over (the gateway's own deadline is never later)."""
        return asyncio.get_running_loop().time() + self.settings.timeout_seconds

    def _url(self, path: str, values: Mapping[str, str] | None = None) -> str:
        filled = path.format_map(values or {})
        if filled.startswith(("http://", "https://")):
            return filled
        return self._base + ("" if filled.startswith("/") else "/") + filled

    def _redact(self, url: str) -> str:
        return str(self._auth.redact_url(url)) if isinstance(self._auth, ApiKeyAuth) else url

    async def _call(
        self,
        endpoint: str,
        url: str,
        params: list[tuple[str, str]],
        *,
        deadline: float | None = None,
        missing_ok: bool = False,
    ) -> JsonResponse | None:
        """GET one endpoint; ``None`` for "no such record" when ``missing_ok``."""
        answer = await fetch_json(
            self.client,
            url,
            source_id=self.source_id,
            params=params,
            headers=self._headers,
            max_bytes=self.settings.max_response_bytes,
            allow_statuses=_READ_STATUSES | self._bad_statuses,
            deadline=deadline,
            auth=self._auth,
            origins=self._origins,
        )
        status, body = answer.status, answer.body
        if missing_ok and status == 404:
            return None
        envelope = self._envelope
        code: Any = MISSING
        if envelope is not None:
            code = envelope.code.get(body, MISSING)
            if code is MISSING and status < 400:
                raise self._fatal(
                    f"{endpoint}: envelope selector {envelope.code.path!r} found nothing "
                    f"in the answer"
                )
            if missing_ok and _scalar(code) in envelope.not_found:
                return None
        ok = code is MISSING or envelope is None or _scalar(code) in envelope.ok
        if status < 400 and ok:
            return answer
        message = envelope.message.get(body) if envelope and envelope.message else None
        detail = ", ".join(
            part
            for part in (
                f"HTTP {status}" if status >= 400 else "",
                f"code {code}" if code is not MISSING else "",
            )
            if part
        )
        text = f"{endpoint} failed ({detail})"
        if message is not None:
            text += f": {str(message)[:_MESSAGE_MAX]}"
        if status in (401, 403):
            text += "; check the source's auth settings"
        # An HTTP error status decides alone (a 401 or 404 is the source's whatever its
        # code says); an envelope code decides only on an answer that is not an error.
        if status >= 400:
            refused = status in self._bad_statuses
        else:
            refused = code is not MISSING and _scalar(code) in self._bad_codes
        if refused and endpoint in _CALLERS_ENDPOINTS:
            raise QueryRejected(text, source_id=self.source_id)  # the caller's error
        raise self._fatal(text)

    def _fatal(self, message: str) -> FatalError:
        return FatalError(message, source_id=self.source_id)

    def _select(self, selector: Selector, body: Any, endpoint: str) -> Any:
        try:
            return selector.find(body)
        except SelectorNotFound as exc:
            raise self._fatal(f"{endpoint}: {exc}") from None

    def _records(self, answer: JsonResponse, selector: Selector, endpoint: str) -> list[Any]:
        found = self._select(selector, answer.body, endpoint)
        if found is None:  # many APIs answer "list": null for no results
            return []
        if not isinstance(found, list):
            raise self._fatal(
                f"{endpoint}: selector {selector.path!r} found {kind(found)}, not a list"
            )
        return found

    def _total(self, first: PageResponse) -> int | None:
        total_at = Selector(self.options.search.total or "$")
        found = self._select(total_at, first.body, "search")
        if found is None:
            return None
        if isinstance(found, str) and found.strip().isdigit():
            found = int(found.strip())
        if isinstance(found, bool) or not isinstance(found, int) or found < 0:
            raise self._fatal(f"search: selector {total_at.path!r} found {found!r}, not a count")
        return found


# -- compiled mapping ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Envelope:
    code: Selector
    ok: frozenset[str]
    message: Selector | None
    not_found: frozenset[str]

    @classmethod
    def build(cls, options: RestOptions) -> _Envelope | None:
        spec = options.envelope
        if spec is None:
            return None
        return cls(
            code=Selector(spec.code),
            ok=frozenset(_scalar(v) for v in spec.ok),
            message=Selector(spec.message) if spec.message else None,
            not_found=frozenset(_scalar(v) for v in spec.not_found),
        )


# -- building blocks ------------------------------------------------------------------------


def _build_auth(options: AuthOptions | None, base: str) -> httpx.Auth | None:
    if options is None:
        return None
    match options.type:
        case "api_key":
            assert options.name is not None and options.value is not None
            return ApiKeyAuth(options.name, options.value, options.in_)
        case "bearer":
            assert options.token is not None
            return BearerAuth(options.token)
        case "basic":
            assert options.username is not None and options.password is not None
            return BasicAuth(options.username, options.password)
        case "oauth2_client_credentials":
            assert options.token_url and options.client_id and options.client_secret
            token_url = options.token_url
            if not token_url.startswith(("http://", "https://")):
                token_url = base + ("" if token_url.startswith("/") else "/") + token_url
            return OAuth2ClientCredentials(
                token_url,
                options.client_id,
                options.client_secret,
                options.scope,
                client_auth=options.client_auth,
            )
    raise AssertionError(options.type)  # pragma: no cover (the schema lists the types)


def _build_paginator(options: RestOptions) -> Paginator:
    spec = options.pagination
    size = spec.max_page_size
    match spec.type:
        case "offset":
            return OffsetPaginator(size)
        case "page":
            return PageNumberPaginator(spec.first_page, size)
        case "cursor":
            assert spec.next is not None
            return CursorPaginator(Selector(spec.next), size)
        case "next_url":
            assert spec.next is not None
            return NextLinkPaginator(Selector(spec.next), size)
        case "link_header":
            return LinkHeaderPaginator(size)
        case "none":
            return SinglePage(size)
    raise AssertionError(spec.type)  # pragma: no cover


def _templates(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((name, _scalar(value)) for name, value in params.items())


def _render_params(
    templates: Sequence[tuple[str, str]], values: Mapping[str, str | None]
) -> list[tuple[str, str]]:
    """Fill parameter templates; a parameter whose placeholder has no value is left out."""
    params = []
    for name, template in templates:
        try:
            params.append((name, template.format_map(_Strict(values))))
        except _NoValue:
            continue
    return params


class _NoValue(Exception):
    pass


class _Strict(dict[str, str]):
    def __init__(self, values: Mapping[str, str | None]) -> None:
        super().__init__({k: v for k, v in values.items() if v is not None and v != ""})

    def __missing__(self, key: str) -> str:
        raise _NoValue(key)


def _scalar(value: object) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def _page_token(request: PageRequest, redact: Callable[[str], str]) -> str:
    """A page start as a resume token (sealed in the client's cursor by the gateway);
    a next link loses any credential the platform echoed into it."""
    url = redact(request.url) if request.url is not None else None
    named = {"p": request.page, "c": request.cursor, "u": url}
    return json.dumps({k: v for k, v in named.items() if v is not None}, separators=(",", ":"))


def _page_request(resume: tuple[int, str] | None, limit: int) -> PageRequest | None:
    if resume is None:
        return None
    offset, token = resume
    try:
        named = json.loads(token)
    except ValueError:
        return None
    if not isinstance(named, dict):
        return None
    page, cursor, url = named.get("p"), named.get("c"), named.get("u")
    return PageRequest(
        offset=offset,
        limit=limit,
        page=page if isinstance(page, int) else None,
        cursor=cursor if isinstance(cursor, str) else None,
        url=url if isinstance(url, str) else None,
    )
