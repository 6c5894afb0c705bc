"""GraphQL types over the canonical model (strawberry).

These types hold no I/O: the gateway's resolvers build them from ``schema.model`` objects
with ``dataset_type(dataset, privilege_use, mask)``, which is also where field privileges
and masks are applied, so no path can return a field above the caller's privilege.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NewType

import strawberry
from graphql import GraphQLError
from strawberry.types import Info
from strawberry.types.scalar import ScalarDefinition

from schema import lang as lang_module
from schema import model
from schema.built_on_read import on_read
from schema.graphql_quality import DatasetQuality
from schema.ids import encode_id

ShareType = strawberry.enum(model.ShareType, description="Sharing class of a resource.")
OpenType = strawberry.enum(model.OpenType, description="Open-data class of a resource.")
Sensitivity = strawberry.enum(
    model.Sensitivity, description="Sensitivity level, L1 (not sensitive) to L4 (sensitive)."
)
UpdateFrequency = strawberry.enum(
    model.UpdateFrequency, description="DCAT update frequency (EU frequency vocabulary)."
)
Grade = strawberry.enum(
    model.Grade,
    description=(
        "Data grade under GB/T 43697-2024: CORE (核心数据, visible to its own department "
        "only), IMPORTANT (重要数据, never public), GENERAL (一般数据)."
    ),
)

BigInt = NewType("BigInt", int)

SCALAR_MAP: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        serialize=int,
        parse_value=int,
        description="An integer that may exceed 32 bits (byte sizes).",
    )
}


@strawberry.enum(description="Result order.")
class DatasetSort(enum.Enum):
    RELEVANCE = "RELEVANCE"
    MODIFIED_DESC = "MODIFIED_DESC"
    MODIFIED_ASC = "MODIFIED_ASC"
    TITLE_ASC = "TITLE_ASC"


@strawberry.enum(description="What happened at a source while answering this request.")
class SourceStatus(enum.Enum):
    OK = "OK"
    TIMEOUT = "TIMEOUT"
    ERROR = "ERROR"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    SKIPPED = "SKIPPED"


@strawberry.interface(description="An object with a global id (Relay).")
class Node:
    id: strawberry.ID


@strawberry.type(description="A publishing department.")
class Department:
    id: strawberry.ID
    name: str
    code: str | None = strawberry.field(
        default=None, description="Unified social credit code (or organisation code)."
    )


@strawberry.type(description="A connected department platform and how it is doing.")
class Source:
    id: strawberry.ID
    connector: str
    name: str | None = None
    state: str = strawberry.field(
        default="UP", description="UP, DEGRADED (failing lately) or CIRCUIT_OPEN."
    )
    last_error: str | None = None
    latency_p50_ms: float | None = strawberry.field(
        default=None, description="Median latency of its recent upstream calls."
    )


@strawberry.type
class SourceRef:
    id: strawberry.ID


@strawberry.type
class ContactPoint:
    name: str | None
    email: str | None
    phone: str | None


@strawberry.type(description="One way to get the data: a file, an API, a download page.")
class Distribution:
    title: str | None
    format: str | None
    media_type: str | None
    access_url: str | None = strawberry.field(description="Null without the use privilege.")
    download_url: str | None = strawberry.field(description="Null without the use privilege.")
    byte_size: BigInt | None


@strawberry.type(description="A data item (column) of a dataset.")
class DataField:
    name: str
    type: str | None
    description: str | None


@strawberry.type(description="The period the data covers.")
class Temporal:
    start: datetime | None
    end: datetime | None


@strawberry.type(description="Another source's copy of the same data (same identifier).")
class DatasetCopy:
    source: SourceRef
    id: strawberry.ID
    modified: datetime | None
    stale: bool = strawberry.field(
        description="The copy was last modified before the record served: it is behind."
    )

    @strawberry.field(
        description=(
            "The copy itself, read from its source; null when it is not (or no longer) "
            "visible to the caller. The copies asked for in one request are read with one "
            "call per source."
        )
    )
    async def dataset(self, info: Info[Any, None]) -> Dataset | None:
        found: Dataset | None = await info.context.dataset_by_id(
            str(self.id), "alsoPublishedBy.dataset"
        )
        return found


_LANG_DOC = (
    "{what} in `lang` (a BCP 47 tag such as en or zh-CN) or, without `lang`, in the first "
    "Accept-Language language the platform publishes it in; else as the platform wrote it."
)


def _title(root: Dataset, lang: str | None = None) -> str:
    return root.text(lang).title


def _description(root: Dataset, lang: str | None = None) -> str | None:
    return root.text(lang).description


def _keywords(root: Dataset, lang: str | None = None) -> list[str]:
    return list(root.text(lang).keywords)


def _language(root: Dataset, lang: str | None = None) -> str | None:
    return root.text(lang).language


def _also_published_by(root: Dataset) -> list[DatasetCopy]:
    # Built when selected: a merged record may list many copies, and most answers skip them.
    return [
        DatasetCopy(
            source=SourceRef(id=strawberry.ID(ref.source_id)),
            id=strawberry.ID(encode_id("Dataset", ref.source_id, ref.local_id)),
            modified=ref.modified,
            stale=ref.stale,
        )
        for ref in root.record.also_published_by
    ]


def _languages(root: Dataset) -> list[str]:
    return list(lang_module.available(root.record, source_language=root.source_language))


@strawberry.type(description="A catalogue entry, from its authoritative source.")
class Dataset(Node):
    id: strawberry.ID
    identifier: str | None = strawberry.field(
        description="Catalogue resource code: the key for 'one data, one source'."
    )
    title: str = strawberry.field(resolver=_title, description=_LANG_DOC.format(what="The title"))
    description: str | None = strawberry.field(
        resolver=_description, description=_LANG_DOC.format(what="The description")
    )
    keywords: list[str] = strawberry.field(
        resolver=_keywords, description=_LANG_DOC.format(what="The keywords")
    )
    language: str | None = strawberry.field(
        resolver=_language,
        description="The language title, description and keywords are served in for this "
        "`lang` (or Accept-Language); null when the platform does not say.",
    )
    languages: list[str] = strawberry.field(
        resolver=_languages,
        description="Every language the text is available in, the platform's own first.",
    )
    themes: list[str]
    department: Department | None
    source: SourceRef
    issued: datetime | None
    modified: datetime | None
    update_frequency: UpdateFrequency  # type: ignore[valid-type]
    share_type: ShareType  # type: ignore[valid-type]
    share_condition: str | None
    open_type: OpenType  # type: ignore[valid-type]
    sensitivity: Sensitivity  # type: ignore[valid-type]
    license: str | None
    landing_page: str | None
    contact_point: ContactPoint | None
    distributions: list[Distribution]
    fields: list[DataField] | None = strawberry.field(
        description="Data items; null without the use privilege."
    )
    spatial: str | None
    temporal: Temporal | None
    resource_code: str | None = strawberry.field(description="信息资源代码 (resource code).")
    resource_class: str | None = strawberry.field(
        description="信息资源分类: 基础信息资源 / 主题信息资源 / 部门信息资源."
    )
    format_class: str | None = strawberry.field(
        description="信息资源格式分类: 电子文件 / 电子表格 / 数据库 / 图形图像 / 流媒体 / 接口..."
    )
    share_method: str | None = strawberry.field(
        description="共享方式: 接口 / 文件下载 / 库表交换 / 在线查询..."
    )
    open_condition: str | None = strawberry.field(description="开放条件 (for CONDITIONAL open).")
    not_shared_basis: str | None = strawberry.field(
        description="不予共享依据: the legal basis, required for NOT_SHARED."
    )
    related_resources: list[str] = strawberry.field(
        description="Resource codes or URIs of related resources (关联资源)."
    )
    grade: Grade | None = strawberry.field(  # type: ignore[valid-type]
        description="GB/T 43697 grade; null when the source states none (general data)."
    )
    also_published_by: list[DatasetCopy] = strawberry.field(resolver=_also_published_by)
    record: strawberry.Private[model.Dataset]
    # The request's language preference (Accept-Language) and the source's own language.
    wanted: strawberry.Private[tuple[str, ...]] = ()
    source_language: strawberry.Private[str | None] = None
    # The caller's privilege on the record: ``use``, the masked fields, the data items
    # shown (None: all). ``dataset_type`` leaves the fields above unset; each is derived
    # from the record on first read (``_Derived``), with these applied.
    use: strawberry.Private[bool] = False
    mask: strawberry.Private[frozenset[str]] = frozenset()
    items: strawberry.Private[frozenset[str] | None] = None

    def text(self, lang: str | None) -> lang_module.Localized:
        if lang is not None and lang_module.normalize_tag(lang) is None:
            raise GraphQLError(
                f"lang {lang[:40]!r} is not a language tag; write one such as en, zh or zh-CN",
                extensions={"code": "BAD_USER_INPUT", "argument": "lang"},
            )
        wanted = (lang,) if lang else self.wanted  # an explicit lang replaces Accept-Language
        return lang_module.localize(self.record, wanted, source_language=self.source_language)

    @strawberry.field(
        description=(
            "Metadata quality indicators (EU MQA dimensions, timeliness, openness, links, "
            "problems); computed only when selected. See docs/quality.md."
        )
    )
    async def quality(self, info: Info[Any, None]) -> DatasetQuality:
        result: DatasetQuality = await info.context.dataset_quality(self.record)
        return result


@strawberry.type
class DatasetEdge:
    node: Dataset
    encode_cursor: strawberry.Private[Callable[[], str]]

    @strawberry.field
    def cursor(self) -> str:
        return self.encode_cursor()


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


# A page's start cursor is sealed only when read (schema/built_on_read.py).
on_read(PageInfo, "start_cursor")


@strawberry.type
class FacetValue:
    value: str
    count: int


@strawberry.type(description="Counts over everything the caller may see that matches.")
class DatasetFacets:
    departments: list[FacetValue]
    themes: list[FacetValue]
    formats: list[FacetValue]
    share_types: list[FacetValue]
    open_types: list[FacetValue]


@strawberry.type(description="How one source answered this request.")
class SourceResult:
    source: SourceRef
    status: SourceStatus
    latency_ms: float | None
    matched: int | None = strawberry.field(
        description="Upstream matches before the gateway's own filtering, when known."
    )
    message: str | None


@strawberry.type
class DatasetConnection:
    edges: list[DatasetEdge]
    page_info: PageInfo
    total_count: int
    total_count_is_exact: bool = strawberry.field(
        description="False when the gateway had to filter what sources returned; "
        "totalCount is then a lower bound."
    )
    facets: DatasetFacets
    sources: list[SourceResult]


# ``datasets`` leaves these to be built when read (schema/built_on_read.py).
on_read(DatasetConnection, "facets", "sources")


@strawberry.input
class DatasetFilter:
    departments: list[str] | None = None
    sources: list[str] | None = None
    themes: list[str] | None = None
    keywords: list[str] | None = None
    formats: list[str] | None = None
    share_types: list[ShareType] | None = None  # type: ignore[valid-type]
    open_types: list[OpenType] | None = None  # type: ignore[valid-type]
    max_sensitivity: Sensitivity | None = None  # type: ignore[valid-type]
    modified_after: datetime | None = None
    modified_before: datetime | None = None
    identifiers: list[str] | None = strawberry.field(
        default=None,
        description="Datasets whose identifier (the one shared across platforms) is one of these.",
    )


@strawberry.type(
    description="A grant of the caller: built in, from the policy file, or issued by a workflow."
)
class EffectiveGrant:
    id: str
    privilege: str
    valid_until: str | None = strawberry.field(description="The last valid day (inclusive).")
    valid_from: str | None = None
    scenarios: list[str] = strawberry.field(
        default_factory=list, description="Purposes (X-Purpose) it applies under; empty: any."
    )
    origin: str = strawberry.field(
        default="policy", description="policy, access_request:<id> or agreement:<id>."
    )
    in_force: bool = strawberry.field(
        default=True, description="Whether it applies to this request (purpose and dates)."
    )


@strawberry.type(description="Who the gateway thinks is asking, and with which grants.")
class Caller:
    id: str
    anonymous: bool
    department: str | None
    roles: list[str]
    purpose: str | None
    grants: list[EffectiveGrant]


def facet_values(pairs: Iterable[tuple[str, int]]) -> list[FacetValue]:
    return [FacetValue(value=value, count=count) for value, count in pairs]


def dataset_type(
    dataset: model.Dataset,
    *,
    use: bool,
    mask: frozenset[str],
    items: frozenset[str] | None = None,
    wanted: tuple[str, ...] = (),
    source_language: str | None = None,
) -> Dataset:
    """Build the GraphQL object, nulling fields above the caller's privilege. ``items``,
    when given, are the only data items (``fields``) shown.

    ``wanted``: the request's languages, most wanted first; ``source_language``: the
    language the source writes in when its records do not say.

    The fields are derived from the record when first read (``_DERIVED``, where the
    privilege and the mask are applied): a page of 20 answers mostly reads a few of them,
    and building the others (ids, contact points, data items...) was most of the cost."""
    node: Dataset = object.__new__(Dataset)
    node.__dict__.update(
        record=dataset,
        wanted=wanted,
        source_language=source_language,
        use=use,
        mask=mask,
        items=items,
    )
    return node


def _department(node: Dataset) -> Department | None:
    department = node.record.department
    if department is None:
        return None
    return Department(id=strawberry.ID(department.id), name=department.name, code=department.code)


def _contact_point(node: Dataset) -> ContactPoint | None:
    contact = node.record.contact_point
    if contact is None or "contact_point" in node.mask:
        return None
    return ContactPoint(name=contact.name, email=contact.email, phone=contact.phone)


def _distributions(node: Dataset) -> list[Distribution]:
    if "distributions" in node.mask:
        return []
    use = node.use
    return [
        Distribution(
            title=d.title,
            format=d.format,
            media_type=d.media_type,
            access_url=d.access_url if use else None,
            download_url=d.download_url if use else None,
            byte_size=BigInt(d.byte_size) if d.byte_size is not None else None,
        )
        for d in node.record.distributions
    ]


def _fields(node: Dataset) -> list[DataField] | None:
    if not node.use or "fields" in node.mask:
        return None
    items = node.items
    return [
        DataField(name=f.name, type=f.type, description=f.description)
        for f in node.record.fields
        if items is None or f.name in items
    ]


def _temporal(node: Dataset) -> Temporal | None:
    temporal = node.record.temporal
    return None if temporal is None else Temporal(start=temporal.start, end=temporal.end)


def _masked(name: str) -> Callable[[Dataset], Any]:
    def derive(node: Dataset) -> Any:
        return None if name in node.mask else getattr(node.record, name)

    return derive


def _copied(name: str) -> Callable[[Dataset], Any]:
    return lambda node: getattr(node.record, name)


def _listed(name: str) -> Callable[[Dataset], Any]:
    return lambda node: list(getattr(node.record, name))


# How each data field of ``Dataset`` is derived from the record, with the caller's
# privilege and mask: the one place they are applied (``dataset_type``).
_DERIVED: dict[str, Callable[[Dataset], Any]] = {
    "id": lambda node: strawberry.ID(
        encode_id("Dataset", node.record.source_id, node.record.local_id)
    ),
    "identifier": _copied("identifier"),
    "themes": _listed("themes"),
    "department": _department,
    "source": lambda node: SourceRef(id=strawberry.ID(node.record.source_id)),
    "issued": _copied("issued"),
    "modified": _copied("modified"),
    "update_frequency": _copied("update_frequency"),
    "share_type": _copied("share_type"),
    "share_condition": _masked("share_condition"),
    "open_type": _copied("open_type"),
    "sensitivity": _copied("sensitivity"),
    "license": _copied("license"),
    "landing_page": _masked("landing_page"),
    "contact_point": _contact_point,
    "distributions": _distributions,
    "fields": _fields,
    "spatial": _masked("spatial"),
    "temporal": _temporal,
    "resource_code": _copied("resource_code"),
    "resource_class": _copied("resource_class"),
    "format_class": _copied("format_class"),
    "share_method": _copied("share_method"),
    "open_condition": _copied("open_condition"),
    "not_shared_basis": _copied("not_shared_basis"),
    "related_resources": _listed("related_resources"),
    "grade": _copied("grade"),
}


class _Derived:
    """A data field of ``Dataset`` that ``dataset_type`` left unset: derived on first read
    and kept in the instance, whose attribute then shadows this (non-data) descriptor.
    A descriptor rather than ``__getattr__``: that runs only after a failed lookup has
    raised ``AttributeError``, which cost about 1 us per field read."""

    __slots__ = ("derive", "name")

    def __init__(self, name: str, derive: Callable[[Dataset], Any]) -> None:
        self.name = name
        self.derive = derive

    def __get__(self, node: Dataset | None, owner: type | None = None) -> Any:
        if node is None:
            return self
        value = self.derive(node)
        node.__dict__[self.name] = value
        return value


# Set once the strawberry type exists: its definition is made from the annotations.
for _name, _derive in _DERIVED.items():
    setattr(Dataset, _name, _Derived(_name, _derive))
