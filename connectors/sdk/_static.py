"""Connectors for catalogues published as one document: a ``data.json``, a DCAT dump, a file.

Such a platform answers no queries; it hands out its whole catalogue. The connector loads
it, keeps a ``LocalIndex`` of it and answers every search, lookup and facet from that
index, exactly. The index is refreshed in the background once it is older than
``refresh_seconds``: queries never wait for the platform once a first copy is loaded,
and a failed refresh keeps the copy that works (the failure is logged and reported by
``check()``).
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors.sdk._contract import (
    Capabilities,
    Connector,
    FacetName,
    FilterName,
    Health,
    HealthStatus,
    SearchPage,
    SearchQuery,
    Sort,
    SourceSettings,
)
from connectors.sdk._errors import ConnectorError, FatalError, RetriableError, SourceUnavailable
from connectors.sdk._http import read_capped
from connectors.sdk._local_index import LocalIndex
from connectors.sdk._origins import Origins, send_within_origins
from schema.model import Dataset, Department

__all__ = ["StaticCatalogueConnector", "StaticCatalogueOptions"]

log = logging.getLogger(__name__)

OptionsT = TypeVar("OptionsT", bound=BaseModel)

DEFAULT_REFRESH_SECONDS = 300.0
# After a failed refresh, try again this soon at the latest (not on every query).
RETRY_AFTER_FAILURE_SECONDS = 30.0
# Building the index of a small catalogue is quicker than a hop to a worker thread.
_BUILD_INLINE_UP_TO = 200


def document_url(url: str, default_path: str, suffixes: Iterable[str]) -> str:
    """The address of a catalogue document from a source ``url``: ``url`` itself when it
    already names a document (its path ends in one of ``suffixes``, or it has a query),
    else ``url`` joined with ``default_path``. Every document connector reads its
    ``url`` this way::

        document_url("http://host/catalog.ttl", "/catalog.ttl", (".ttl",))  # as it is
        document_url("http://host", "/catalog.ttl", (".ttl",))  # http://host/catalog.ttl
    """
    parts = urlsplit(url)
    if parts.query or parts.path.lower().endswith(tuple(s.lower() for s in suffixes)):
        return url
    return url.rstrip("/") + "/" + default_path.lstrip("/")


class StaticCatalogueOptions(BaseModel):
    """Options every whole-catalogue connector takes.

    ``refresh_seconds``: how old the loaded copy may get before it is refreshed in the
    background (a conditional request, so an unchanged catalogue costs a 304).

    >>> StaticCatalogueOptions(refresh_seconds=60)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    refresh_seconds: float = Field(DEFAULT_REFRESH_SECONDS, ge=0, le=7 * 24 * 3600)


@dataclass(frozen=True, slots=True)
class _Version:
    """What identifies one fetched version of a document."""

    etag: str | None
    last_modified: str | None
    digest: bytes


class StaticCatalogueConnector(Connector):
    """Base of connectors whose platform publishes its whole catalogue as one document.

    A subclass implements ``load()``: fetch and parse the catalogue, or return ``None``
    when it has not changed since the last successful load. ``fetch_document()`` makes
    that a conditional GET::

        class AgencyJson(StaticCatalogueConnector):
            name = "agency-json"
            options_model = AgencyOptions        # a subclass of StaticCatalogueOptions

            async def load(self) -> list[Dataset] | None:
                body = await self.fetch_document(self.settings.url)
                return None if body is None else parse(body)

    Search, get-by-id, departments and facets are served from a ``LocalIndex``:
    every filter, sort and the caller's visibility are applied exactly. Concurrent
    queries that find the index missing or stale share one load.
    """

    options_model: ClassVar[type[BaseModel]] = StaticCatalogueOptions
    capabilities: ClassVar[Capabilities] = Capabilities(
        search=True,
        filters=frozenset(FilterName) - {FilterName.GRADES},
        sorts=frozenset(Sort),
        facets=frozenset(FacetName),
        get_by_id=True,
        max_page_size=1000,
    )

    def __init__(self, settings: SourceSettings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        #: Monotonic clock for refresh timing (tests may replace it).
        self.clock: Callable[[], float] = time.monotonic
        #: Why the last refresh failed, ``None`` after a successful one.
        self.last_error: ConnectorError | None = None
        #: What the last load reported about the catalogue (records skipped or repaired);
        #: a subclass sets it in ``load()``, and ``check()`` shows it.
        self.notice: str | None = None
        self._index: LocalIndex | None = None
        self._loaded_at: float | None = None
        self._due_at = 0.0
        self._loading: asyncio.Task[LocalIndex] | None = None
        self._load_started_at: float | None = None
        self._versions: dict[str, object] = {}
        self._pending_versions: dict[str, object] = {}

    # -- for subclasses -------------------------------------------------------------------

    @abc.abstractmethod
    async def load(self) -> list[Dataset] | None:
        """Fetch and parse the whole catalogue; ``None`` if unchanged since the last load.

        Raise ``ConnectorError`` subclasses for what went wrong (``fetch_document`` and
        ``get_json`` already do); unmappable records are skipped with a warning.
        """

    def options_as(self, model: type[OptionsT]) -> OptionsT:
        """``settings.options`` as ``model`` (validated again if built as another model)."""
        options = self.settings.options
        return options if isinstance(options, model) else model.model_validate(options.model_dump())

    def known_version(self, key: str) -> object | None:
        """The version of document ``key`` the current index was built from, if any.

        ``load()`` compares it with what it finds to answer ``None`` (unchanged)::

            if self.known_version(path) == stamp:
                return None
            self.note_version(path, stamp)
        """
        return self._versions.get(key) if self._index is not None else None

    def note_version(self, key: str, version: object) -> None:
        """Remember the version of ``key`` being loaded; it becomes known once the load
        succeeds, so a document that failed to parse is read again next time."""
        self._pending_versions[key] = version

    @property
    def refresh_seconds(self) -> float:
        value = getattr(self.settings.options, "refresh_seconds", DEFAULT_REFRESH_SECONDS)
        return float(value)

    async def fetch_document(self, url: str, *, accept: str = "application/json") -> bytes | None:
        """GET ``url`` conditionally: its body, or ``None`` if unchanged since the last load.

        Sends ``If-None-Match`` / ``If-Modified-Since`` from the version that built the
        current index, so an unchanged document costs a 304. A 200 with the same bytes
        (a server that ignores conditional requests) also answers ``None``. The body is
        capped at ``settings.max_response_bytes``; every failure is a ``ConnectorError``::

            body = await self.fetch_document(f"{base}/data.json")
            if body is None:
                return None          # keep the index
        """
        known = self.known_version(url)
        if not isinstance(known, _Version):
            known = None
        headers = {"Accept": accept}
        if known is not None and known.etag:
            headers["If-None-Match"] = known.etag
        if known is not None and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        request = self.client.build_request("GET", url, headers=headers)
        try:
            response = await send_within_origins(
                self.client, request, origins=Origins.of(self.settings)
            )
        except httpx.TimeoutException as exc:
            raise self._error(
                SourceUnavailable, f"timed out: {type(exc).__name__}", request
            ) from exc
        except httpx.TransportError as exc:
            raise self._error(
                SourceUnavailable, f"connection failed: {type(exc).__name__}", request
            ) from exc
        except httpx.HTTPError as exc:  # too many redirects, invalid URL...
            raise self._error(FatalError, f"request failed: {type(exc).__name__}", request) from exc
        except ConnectorError as exc:  # a redirect to another origin, refused
            exc.source_id = exc.source_id or self.source_id
            raise
        try:
            status = response.status_code
            if status == 304:
                if known is None:
                    raise self._error(
                        FatalError, "answered 304 Not Modified to an unconditional GET", request
                    )
                self.note_version(url, known)
                return None
            if status == 429 or status >= 500:
                raise self._error(RetriableError, f"HTTP {status}", request)
            if not 200 <= status < 300:
                raise self._error(FatalError, f"HTTP {status}", request)
            try:
                body = await read_capped(
                    response, self.settings.max_response_bytes, source_id=self.source_id
                )
            except httpx.TimeoutException as exc:
                raise self._error(SourceUnavailable, "timed out reading the body", request) from exc
            except httpx.TransportError as exc:
                raise self._error(
                    SourceUnavailable,
                    f"connection failed reading the body: {type(exc).__name__}",
                    request,
                ) from exc
            except httpx.HTTPError as exc:
                raise self._error(
                    FatalError, f"unreadable body: {type(exc).__name__}", request
                ) from exc
        finally:
            await response.aclose()
        version = _Version(
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            digest=hashlib.blake2b(body, digest_size=16).digest(),
        )
        self.note_version(url, version)
        if known is not None and known.digest == version.digest:
            return None
        return body

    # -- the index ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start loading the catalogue in the background (the gateway calls this at
        start, so the first query finds it loaded or loading, not yet to fetch)."""
        if self._index is None:
            self._start_loading()

    @property
    def loading(self) -> bool:
        """True while the first copy of the catalogue is being loaded."""
        task = self._loading
        return self._index is None and task is not None and not task.done()

    def loading_message(self) -> str:
        """What to tell a caller while ``loading``: since when, and what to do."""
        started = self._load_started_at
        since = f" (started {self.clock() - started:.1f}s ago)" if started is not None else ""
        return f"still loading the catalogue{since}; it answers once loaded, try again shortly"

    async def index(self) -> LocalIndex:
        """The loaded index; loads it first when there is none (raising why it cannot).

        A stale index is returned at once while a refresh runs in the background.
        """
        index = self._index
        if index is None:
            return await self.refresh()
        if self.clock() >= self._due_at:
            self._start_loading()
        return index

    async def refresh(self) -> LocalIndex:
        """Load the catalogue now (joining a load in flight) and return the new index.

        Raises the ``ConnectorError`` of a failed load; the previous index stays in use.
        The load goes on even when the caller stops waiting (e.g. at its deadline).
        """
        return await asyncio.shield(self._start_loading())

    @property
    def loaded_at(self) -> float | None:
        """``clock()`` time of the last load that succeeded (changed or not)."""
        return self._loaded_at

    async def aclose(self) -> None:
        """Stop a load in flight (at shutdown)."""
        task = self._loading
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    def _start_loading(self) -> asyncio.Task[LocalIndex]:
        task = self._loading
        if task is None or task.done():
            self._load_started_at = self.clock()
            task = asyncio.create_task(self._reload(), name=f"load-catalogue-{self.source_id}")
            task.add_done_callback(self._loaded)
            self._loading = task
        return task

    async def _reload(self) -> LocalIndex:
        self._pending_versions.clear()
        try:
            datasets = await self.load()
            if datasets is None:
                if self._index is None:
                    raise FatalError(
                        "the catalogue was reported unchanged but none is loaded",
                        source_id=self.source_id,
                    )
                index = self._index
            elif len(datasets) <= _BUILD_INLINE_UP_TO:
                index = LocalIndex(datasets)
            else:
                index = await asyncio.to_thread(LocalIndex, datasets)
        except ConnectorError as exc:
            self._failed(exc)
            raise
        except Exception as exc:
            # A parser bug must not look like a healthy source, nor crash the engine.
            log.exception("source %s: loading the catalogue crashed", self.source_id)
            error = FatalError(
                f"loading the catalogue failed: {type(exc).__name__}: {exc}",
                source_id=self.source_id,
            )
            self._failed(error)
            raise error from exc
        self._versions.update(self._pending_versions)
        self._index, self.last_error = index, None
        self._loaded_at = self.clock()
        self._due_at = self._loaded_at + self.refresh_seconds
        return index

    def _failed(self, error: ConnectorError) -> None:
        self.last_error = error
        self._due_at = self.clock() + min(self.refresh_seconds, RETRY_AFTER_FAILURE_SECONDS)

    def _loaded(self, task: asyncio.Task[LocalIndex]) -> None:
        if task.cancelled():
            return
        exc = task.exception()  # also marks it retrieved when nobody awaited the task
        if exc is None:
            return
        if self._index is not None and self._loaded_at is not None:
            log.warning(
                "source %s: catalogue refresh failed, still serving the copy loaded %.0fs ago: %s",
                self.source_id,
                self.clock() - self._loaded_at,
                exc,
            )
        else:
            log.warning("source %s: catalogue could not be loaded: %s", self.source_id, exc)

    def _error(
        self, kind: type[ConnectorError], message: str, request: httpx.Request
    ) -> ConnectorError:
        return kind(message, source_id=self.source_id, request=request)

    # -- the contract ---------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchPage:
        return (await self.index()).search(query)

    async def get(self, local_id: str) -> Dataset | None:
        return (await self.index()).get(local_id)

    async def departments(self) -> list[Department]:
        return (await self.index()).departments()

    async def check(self) -> Health:
        """Refresh now (a conditional request): DOWN with the reason when that fails,
        even while queries are still answered from the copy loaded earlier; DOWN at once
        while the first copy is still loading."""
        if self.loading:  # the first load is under way: say so, do not wait for it
            return Health(HealthStatus.DOWN, message=self.loading_message())
        started = time.perf_counter()
        try:
            await self.refresh()
        except ConnectorError as exc:
            message = exc.message
            if self._loaded_at is not None:
                age = self.clock() - self._loaded_at
                message += f" (serving the catalogue loaded {age:.0f}s ago)"
            return Health(HealthStatus.DOWN, message=message)
        except Exception as exc:  # a health probe reports, it never raises
            return Health(HealthStatus.DOWN, message=f"check failed: {type(exc).__name__}")
        return Health(
            HealthStatus.UP,
            latency_ms=(time.perf_counter() - started) * 1000,
            message=self.notice,
        )
