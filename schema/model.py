"""The canonical catalogue model.

Every connector maps its platform's records into these plain, frozen dataclasses;
the GraphQL layer (`schema.graphql_types`) and the federation engine only ever see
them. Nothing here imports GraphQL or HTTP.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class ShareType(enum.Enum):
    """Sharing class of a resource (无条件共享 / 有条件共享 / 不予共享)."""

    UNCONDITIONAL = "UNCONDITIONAL"
    CONDITIONAL = "CONDITIONAL"
    NOT_SHARED = "NOT_SHARED"


class OpenType(enum.Enum):
    """Open-data class of a resource (无条件开放 / 有条件开放 / 不予开放)."""

    OPEN = "OPEN"
    CONDITIONAL = "CONDITIONAL"
    NOT_OPEN = "NOT_OPEN"


class Sensitivity(enum.Enum):
    """Sensitivity level, L1 (not sensitive) to L4 (sensitive). Ordered."""

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L4 = "L4"

    @property
    def rank(self) -> int:
        return int(self.value[1])

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Sensitivity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Sensitivity):
            return NotImplemented
        return self.rank < other.rank


class UpdateFrequency(enum.Enum):
    """DCAT frequency vocabulary (EU Publications Office authority table)."""

    CONT = "CONT"
    HOURLY = "HOURLY"
    DAILY = "DAILY"
    WEEKLY_3 = "WEEKLY_3"  # three times a week
    WEEKLY_2 = "WEEKLY_2"  # twice a week
    WEEKLY = "WEEKLY"
    BIWEEKLY = "BIWEEKLY"
    MONTHLY_3 = "MONTHLY_3"  # three times a month
    MONTHLY_2 = "MONTHLY_2"  # twice a month
    MONTHLY = "MONTHLY"
    BIMONTHLY = "BIMONTHLY"
    QUARTERLY = "QUARTERLY"
    ANNUAL_3 = "ANNUAL_3"  # three times a year
    ANNUAL_2 = "ANNUAL_2"
    ANNUAL = "ANNUAL"
    BIENNIAL = "BIENNIAL"
    TRIENNIAL = "TRIENNIAL"
    QUADRENNIAL = "QUADRENNIAL"
    QUINQUENNIAL = "QUINQUENNIAL"
    DECENNIAL = "DECENNIAL"
    IRREG = "IRREG"
    NEVER = "NEVER"
    UNKNOWN = "UNKNOWN"


class Grade(enum.Enum):
    """Data grade under GB/T 43697-2024 (数据安全技术 数据分类分级规则).

    A record that states no grade is general data: the standard defines general data as
    everything not identified as core or important. IMPORTANT data is never public; CORE
    data is visible to its own department only (``gateway.access`` enforces both).
    """

    CORE = "CORE"  # 核心数据
    IMPORTANT = "IMPORTANT"  # 重要数据
    GENERAL = "GENERAL"  # 一般数据


@dataclass(frozen=True, slots=True)
class Department:
    """A publisher agent: the department that owns a dataset.

    ``code`` is its unified social credit code (or organisation code), when known.
    """

    id: str
    name: str
    code: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ContactPoint:
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Distribution:
    """One way to get the data: a file, an API, a download page."""

    title: str | None = None
    format: str | None = None
    media_type: str | None = None
    access_url: str | None = None
    download_url: str | None = None
    byte_size: int | None = None


@dataclass(frozen=True, slots=True)
class DataField:
    """A data item (column) of a dataset."""

    name: str
    type: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Temporal:
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class Translation:
    """The title, description and keywords of a dataset in another language.

    ``lang`` is a BCP 47 tag as the platform wrote it (``en``, ``en-GB``, ``fr``); a part
    the platform does not translate is ``None`` (or no keywords) and falls back to the
    original's.
    """

    lang: str
    title: str | None = None
    description: str | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Dataset:
    """A catalogue entry as the gateway serves it.

    ``source_id`` + ``local_id`` name the record on its platform; ``identifier`` is the
    catalogue resource code shared by every copy of the same data ("one data, one source").
    """

    source_id: str
    local_id: str
    title: str
    identifier: str | None = None
    description: str | None = None
    keywords: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    department: Department | None = None
    issued: datetime | None = None
    modified: datetime | None = None
    update_frequency: UpdateFrequency = UpdateFrequency.UNKNOWN
    share_type: ShareType = ShareType.NOT_SHARED
    share_condition: str | None = None
    open_type: OpenType = OpenType.NOT_OPEN
    sensitivity: Sensitivity = Sensitivity.L4
    license: str | None = None
    landing_page: str | None = None
    contact_point: ContactPoint | None = None
    distributions: tuple[Distribution, ...] = ()
    fields: tuple[DataField, ...] = ()
    spatial: str | None = None
    temporal: Temporal | None = None
    # National directory core fields (政务信息资源目录): see docs/quality.md.
    resource_code: str | None = None
    resource_class: str | None = None
    format_class: str | None = None
    share_method: str | None = None
    open_condition: str | None = None
    not_shared_basis: str | None = None
    related_resources: tuple[str, ...] = ()
    grade: Grade | None = None
    also_published_by: tuple[DatasetRef, ...] = field(default=(), compare=False)
    # The language of title/description/keywords when the platform says (else the source's
    # configured language applies), and the other languages it publishes them in.
    language: str | None = None
    translations: tuple[Translation, ...] = ()

    @property
    def formats(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for dist in self.distributions:
            if dist.format:
                seen.setdefault(dist.format.upper(), None)
        return tuple(seen)

    @property
    def effective_grade(self) -> Grade:
        """The grade the rules apply: a record stating none is general data."""
        return self.grade or Grade.GENERAL


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """Another source's copy of a dataset (see ``Dataset.also_published_by``).

    ``stale`` when the copy's ``modified`` is behind the record served.
    """

    source_id: str
    local_id: str
    modified: datetime | None = None
    stale: bool = False
