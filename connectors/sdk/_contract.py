"""The connector contract: what a connector declares and the calls it answers."""

from __future__ import annotations

import abc
import asyncio
import enum
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict

from connectors.sdk._errors import ConnectorError
from schema.ids import encode_id
from schema.model import Dataset, Department, Grade, OpenType, Sensitivity, ShareType


class Sort(enum.Enum):
    """Orders a search can ask for (mirrors the GraphQL ``DatasetSort``)."""

    RELEVANCE = "RELEVANCE"
    MODIFIED_DESC = "MODIFIED_DESC"
    MODIFIED_ASC = "MODIFIED_ASC"
    TITLE_ASC = "TITLE_ASC"


class FilterName(enum.Enum):
    """Filters a connector may declare it can push down to its platform."""

    DEPARTMENTS = "departments"
    THEMES = "themes"
    KEYWORDS = "keywords"
    FORMATS = "formats"
    SHARE_TYPES = "share_types"
    OPEN_TYPES = "open_types"
    MAX_SENSITIVITY = "max_sensitivity"
    MODIFIED_AFTER = "modified_after"
    MODIFIED_BEFORE = "modified_before"
    IDENTIFIERS = "identifiers"
    # GB/T 43697 grades (a record stating none is GENERAL). The gateway's visibility uses
    # it (CORE data only for its department, IMPORTANT never public).
    GRADES = "grades"
    DATASET_IDS = "dataset_ids"


class FacetName(enum.Enum):
    DEPARTMENTS = "departments"
    THEMES = "themes"
    FORMATS = "formats"
    SHARE_TYPES = "share_types"
    OPEN_TYPES = "open_types"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a connector can do on its platform, so the engine knows what to do itself.

    >>> Capabilities(search=True, filters=frozenset({FilterName.THEMES}), max_page_size=1000)
    """

    search: bool = False
    filters: frozenset[FilterName] = frozenset()
    sorts: frozenset[Sort] = frozenset({Sort.RELEVANCE})
    facets: frozenset[FacetName] = frozenset()
    get_by_id: bool = False
    max_page_size: int = 100


@dataclass(frozen=True)
class DatasetFilter:
    """Canonical filters. Empty tuples and ``None`` mean "no constraint"."""

    departments: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    share_types: tuple[ShareType, ...] = ()
    open_types: tuple[OpenType, ...] = ()
    max_sensitivity: Sensitivity | None = None
    modified_after: datetime | None = None
    modified_before: datetime | None = None
    # ``Dataset.identifier`` (the cross-platform one, not the local id) is one of these.
    # The engine uses it to find copies of a record on other sources.
    identifiers: tuple[str, ...] = ()
    # ``Dataset.effective_grade`` is one of these.
    grades: tuple[Grade, ...] = ()
    # Global dataset ids (``schema.ids.encode_id``): grants issued for named datasets
    # (access requests, agreements) narrow by it. Few platforms can push it down.
    dataset_ids: tuple[str, ...] = ()

    def active(self) -> frozenset[FilterName]:
        """The filters that constrain something."""
        return self._active

    def __hash__(self) -> int:
        return self._hash

    @cached_property
    def _hash(self) -> int:
        # Filters key the connectors' and the engine's memos, hashed several times per
        # upstream call; each enum member in them hashes in Python code, so once is enough.
        return hash(tuple(getattr(self, f.name) for f in fields(self)))

    @cached_property
    def _active(self) -> frozenset[FilterName]:
        return frozenset(name for name in FilterName if getattr(self, name.value) not in ((), None))

    def matches(self, dataset: Dataset) -> bool:
        """Apply the filter in the gateway (for what a source could not push down)."""
        # The engine and the policy test every row fetched, several times per request:
        # the checks are built once per filter. ``matches_one`` is their plain oracle.
        for check in self._checks:  # noqa: SIM110 (a loop, not all(): no generator per row)
            if not check(dataset):
                return False
        return True

    @cached_property
    def _checks(self) -> tuple[Callable[[Dataset], bool], ...]:
        return tuple(_check(self, name) for name in self._active)

    def matches_one(self, name: FilterName, ds: Dataset) -> bool:
        """One filter applied to one record (the plain form of ``matches``)."""
        match name:
            case FilterName.DEPARTMENTS:
                return ds.department is not None and ds.department.id in self.departments
            case FilterName.THEMES:
                return bool(set(self.themes) & set(ds.themes))
            case FilterName.KEYWORDS:
                wanted = {k.casefold() for k in self.keywords}
                return bool(wanted & {k.casefold() for k in ds.keywords})
            case FilterName.FORMATS:
                return bool({f.upper() for f in self.formats} & set(ds.formats))
            case FilterName.SHARE_TYPES:
                return ds.share_type in self.share_types
            case FilterName.OPEN_TYPES:
                return ds.open_type in self.open_types
            case FilterName.MAX_SENSITIVITY:
                assert self.max_sensitivity is not None
                return ds.sensitivity <= self.max_sensitivity
            case FilterName.MODIFIED_AFTER:
                assert self.modified_after is not None
                return ds.modified is not None and ds.modified >= self.modified_after
            case FilterName.MODIFIED_BEFORE:
                assert self.modified_before is not None
                return ds.modified is not None and ds.modified < self.modified_before
            case FilterName.IDENTIFIERS:
                return ds.identifier is not None and ds.identifier in self.identifiers
            case FilterName.GRADES:
                return ds.effective_grade in self.grades
            case FilterName.DATASET_IDS:
                return encode_id("Dataset", ds.source_id, ds.local_id) in self.dataset_ids


def _check(flt: DatasetFilter, name: FilterName) -> Callable[[Dataset], bool]:
    """``flt.matches_one(name, ...)`` with its wanted values prepared once."""
    match name:
        case FilterName.DEPARTMENTS:
            departments = frozenset(flt.departments)
            return lambda ds: ds.department is not None and ds.department.id in departments
        case FilterName.THEMES:
            themes = frozenset(flt.themes)
            return lambda ds: not themes.isdisjoint(ds.themes)
        case FilterName.KEYWORDS:
            keywords = frozenset(k.casefold() for k in flt.keywords)
            return lambda ds: any(k.casefold() in keywords for k in ds.keywords)
        case FilterName.FORMATS:
            formats = frozenset(f.upper() for f in flt.formats)
            return lambda ds: any(
                d.format and d.format.upper() in formats for d in ds.distributions
            )
        # Enum members are looked up in tuples: a tuple compares by identity first, a set
        # calls ``Enum.__hash__`` (Python code) for every row.
        case FilterName.SHARE_TYPES:
            share_types = tuple(flt.share_types)
            return lambda ds: ds.share_type in share_types
        case FilterName.OPEN_TYPES:
            open_types = tuple(flt.open_types)
            return lambda ds: ds.open_type in open_types
        case FilterName.MAX_SENSITIVITY:
            assert flt.max_sensitivity is not None
            ceiling = flt.max_sensitivity
            levels = tuple(level for level in Sensitivity if level <= ceiling)
            return lambda ds: ds.sensitivity in levels
        case FilterName.MODIFIED_AFTER:
            assert flt.modified_after is not None
            after = flt.modified_after
            return lambda ds: ds.modified is not None and ds.modified >= after
        case FilterName.MODIFIED_BEFORE:
            assert flt.modified_before is not None
            before = flt.modified_before
            return lambda ds: ds.modified is not None and ds.modified < before
        case FilterName.IDENTIFIERS:
            identifiers = frozenset(flt.identifiers)
            return lambda ds: ds.identifier is not None and ds.identifier in identifiers
        case FilterName.GRADES:
            grades = tuple(flt.grades)
            return lambda ds: (ds.grade or Grade.GENERAL) in grades
        case FilterName.DATASET_IDS:
            ids = frozenset(flt.dataset_ids)
            return lambda ds: encode_id("Dataset", ds.source_id, ds.local_id) in ids


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One page request to one source. ``offset`` is the source's own position.

    ``any_of`` narrows further: a record must also match at least one of these filters.
    The gateway sends the caller's visibility this way, so a platform that can express
    it returns (and counts) only what the caller may see. Connectors that cannot, ignore
    it and say so with ``SearchPage.any_of_applied = False``; the gateway filters anyway.

    ``resume`` is a page start at or before ``offset`` and the token this connector gave
    for it (``SearchPage.resume_points``), carried in the client's cursor: a platform that
    pages by token or next link continues from there instead of walking from its first
    page. It never changes the answer, so it is not part of the query's identity.
    """

    text: str | None = None
    filter: DatasetFilter = field(default_factory=DatasetFilter)
    sort: Sort = Sort.RELEVANCE
    offset: int = 0
    limit: int = 20
    facets: frozenset[FacetName] = frozenset()
    any_of: tuple[DatasetFilter, ...] = ()
    resume: tuple[int, str] | None = field(default=None, compare=False)

    def matches_any_of(self, dataset: Dataset) -> bool:
        return not self.any_of or any(f.matches(dataset) for f in self.any_of)


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A connector's answer to a ``SearchQuery``.

    ``applied`` names the filters the platform really applied, ``any_of_applied`` whether
    it applied ``SearchQuery.any_of``; the engine applies the rest itself. ``total`` is
    the platform's match count for what it applied. Claim a filter as applied only when
    ``total`` and ``facets`` are exact for it over the whole result, not just this page.

    A connector that skips records it cannot map says how many upstream rows it read
    (``consumed``) and where each returned dataset was (``positions``, indices within the
    page), so the next page starts at the right row. One whose platform pages by token
    or link gives the page starts it passed as ``resume_points``.
    """

    datasets: tuple[Dataset, ...]
    total: int | None
    applied: frozenset[FilterName] = frozenset()
    any_of_applied: bool = False
    sorted: bool = True
    facets: Mapping[FacetName, Mapping[str, int]] = field(default_factory=dict)
    consumed: int | None = None
    positions: tuple[int, ...] | None = None
    # (upstream offset of a page start, the token that fetches it), for platforms that
    # page by token or next link: the engine keeps one in the cursor (SearchQuery.resume).
    resume_points: tuple[tuple[int, str], ...] = ()
    # The engine's memo of what it decided about these rows (a cached page answers many
    # requests); lives and dies with the page, never compared or shown.
    memo: dict[Hashable, Any] = field(
        default_factory=dict, init=False, compare=False, repr=False, hash=False
    )

    def upstream_rows(self) -> int:
        """How many upstream rows this page read (skipped records included)."""
        return len(self.datasets) if self.consumed is None else self.consumed

    def position(self, index: int) -> int:
        """The upstream index, within this page, of ``datasets[index]``."""
        return index if self.positions is None else self.positions[index]


class HealthStatus(enum.Enum):
    UP = "UP"
    DOWN = "DOWN"


@dataclass(frozen=True, slots=True)
class Health:
    status: HealthStatus
    latency_ms: float | None = None
    message: str | None = None


class NoOptions(BaseModel):
    """Options model for connectors that take none: any key is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class SourceDefaults:
    """Classes applied when a record does not state them (never "most open")."""

    share_type: ShareType = ShareType.NOT_SHARED
    open_type: OpenType = OpenType.NOT_OPEN
    sensitivity: Sensitivity = Sensitivity.L4


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """What a connector is built from: the validated ``sources[]`` entry of the config."""

    id: str
    url: str
    timeout_seconds: float = 2.0
    defaults: SourceDefaults = field(default_factory=SourceDefaults)
    department: Department | None = None
    authoritative_for: tuple[str, ...] = ()
    # Sources whose records this one republishes under the same identifier; "*": any.
    republishes: tuple[str, ...] = ()
    options: BaseModel = field(default_factory=NoOptions)
    max_response_bytes: int = 16 * 1024 * 1024
    # Origins other than ``url``'s that links and redirects may lead to: followed, but
    # never with the source's credentials (``connectors.sdk._origins``).
    allowed_origins: tuple[str, ...] = ()
    # The departments this source may speak for; records claiming another are dropped
    # (and reported). Empty: any department.
    speaks_for: tuple[str, ...] = ()


class Connector(abc.ABC):
    """Base class of every connector.

    A connector is built from its validated settings and an injected
    ``httpx.AsyncClient``; it never creates a client of its own, so the gateway controls
    pooling, transports and timeouts, and tests inject ``httpx.MockTransport``::

        class MyPortal(Connector):
            name = "my-portal"
            options_model = MyOptions          # a frozen pydantic model, or NoOptions
            capabilities = Capabilities(search=True, get_by_id=True, max_page_size=100)

            async def search(self, query: SearchQuery) -> SearchPage: ...
            async def get(self, local_id: str) -> Dataset | None: ...
            async def departments(self) -> list[Department]: ...

    ``check()`` has a default built on ``departments()``; override it when the platform
    has a cheaper status endpoint.
    """

    name: ClassVar[str]
    options_model: ClassVar[type[BaseModel]] = NoOptions
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, settings: SourceSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    @property
    def source_id(self) -> str:
        return self.settings.id

    @abc.abstractmethod
    async def search(self, query: SearchQuery) -> SearchPage:
        """Answer one page of a search at ``query.offset``."""

    @abc.abstractmethod
    async def get(self, local_id: str) -> Dataset | None:
        """The dataset with this platform id, or ``None`` if the platform has none."""

    async def get_many(self, local_ids: Sequence[str]) -> dict[str, Dataset | None]:
        """Several datasets by platform id, each ``None`` where ``get`` would answer ``None``.

        The engine batches the by-id lookups of one request per source through this
        (DataLoader style). The default calls ``get`` concurrently; override it when the
        platform can answer many ids in one request.
        """
        found = await asyncio.gather(*(self.get(local_id) for local_id in local_ids))
        return dict(zip(local_ids, found, strict=True))

    @abc.abstractmethod
    async def departments(self) -> list[Department]:
        """The publishers this platform knows."""

    async def check(self) -> Health:
        """Probe the platform; never raises."""
        started = time.perf_counter()
        try:
            await self.departments()
        except ConnectorError as exc:
            return Health(HealthStatus.DOWN, message=exc.message)
        return Health(HealthStatus.UP, latency_ms=(time.perf_counter() - started) * 1000)

    async def start(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Begin, in the background, what must be ready before the first query (e.g.
        loading a whole catalogue); called once when the gateway starts. Must not wait
        for it: report progress through ``loading``."""

    @property
    def loading(self) -> bool:
        """Whether the connector cannot answer yet because its first load is still
        running; the gateway then reports it as loading, not as timed out or down."""
        return False

    async def aclose(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release what the connector holds (background loads, caches); called at shutdown."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} source={self.source_id!r}>"


JSONValue = Any
