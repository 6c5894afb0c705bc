"""What the conformance kit checks, and the per-test world its checks run in."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import unquote

import pytest
from pydantic import BaseModel, SecretBytes, SecretStr

from connectors.sdk import (
    Connector,
    ConnectorError,
    DatasetFilter,
    FilterName,
    SearchPage,
    SearchQuery,
    SourceSettings,
)
from connectors.sdk._recorded_platform import (
    FAULTS,
    Exchange,
    Fault,
    RecordedPlatform,
    UnmockedNetworkCall,
    UnrecordedRequest,
    oversized,
)
from schema.ids import encode_id
from schema.model import (
    ContactPoint,
    DataField,
    Dataset,
    Department,
    Distribution,
    OpenType,
    Sensitivity,
    ShareType,
    Temporal,
    UpdateFrequency,
)


class KitSettings(Protocol):
    """What a check session reads from the kit (``ConnectorConformance`` satisfies it)."""

    @property
    def page_size(self) -> int: ...
    @property
    def max_pages(self) -> int: ...
    @property
    def filter_examples(self) -> Mapping[FilterName, DatasetFilter]: ...
    @property
    def any_of_example(self) -> tuple[DatasetFilter, ...] | None: ...


# -- canonical record checks ------------------------------------------------------------


def _blank(value: object) -> bool:
    return isinstance(value, str) and not value.strip()


def _optional_text(problems: list[str], name: str, value: object) -> None:
    if value is not None and (not isinstance(value, str) or _blank(value)):
        problems.append(f"{name} is {value!r}: a non-blank string or None")


def _optional_url(problems: list[str], name: str, value: object) -> None:
    _optional_text(problems, name, value)
    if isinstance(value, str) and value.strip() and not value.startswith(("http://", "https://")):
        problems.append(f"{name} is {value!r}: an absolute http(s) URL or None")


def _optional_time(problems: list[str], name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, datetime) or value.tzinfo is None:
        problems.append(f"{name} is {value!r}: a timezone-aware datetime or None")


def _strings(problems: list[str], name: str, value: object) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{name} is {value!r}: a tuple of non-blank strings")


def dataset_problems(dataset: object, source_id: str) -> list[str]:
    """What is wrong with a mapped record (empty when it is a valid canonical ``Dataset``).

    >>> dataset_problems(Dataset(source_id="s", local_id="1", title=""), "s")
    ["title is '': a non-blank string"]
    """
    if not isinstance(dataset, Dataset):
        return [f"is a {type(dataset).__name__}, not a schema.model.Dataset"]
    ds, problems = dataset, []
    if ds.source_id != source_id:
        problems.append(f"source_id is {ds.source_id!r}, not the source's id {source_id!r}")
    for name in ("local_id", "title"):
        value = getattr(ds, name)
        if not isinstance(value, str) or _blank(value):
            problems.append(f"{name} is {value!r}: a non-blank string")
    for name in ("identifier", "description", "share_condition", "license", "spatial"):
        _optional_text(problems, name, getattr(ds, name))
    _optional_url(problems, "landing_page", ds.landing_page)
    _strings(problems, "keywords", ds.keywords)
    _strings(problems, "themes", ds.themes)
    if ds.department is not None and (
        not isinstance(ds.department, Department)
        or _blank(ds.department.id)
        or _blank(ds.department.name)
    ):
        problems.append(f"department is {ds.department!r}: a Department with id and name")
    _optional_time(problems, "issued", ds.issued)
    _optional_time(problems, "modified", ds.modified)
    for name, enum_type in (
        ("update_frequency", UpdateFrequency),
        ("share_type", ShareType),
        ("open_type", OpenType),
        ("sensitivity", Sensitivity),
    ):
        if not isinstance(getattr(ds, name), enum_type):
            problems.append(f"{name} is {getattr(ds, name)!r}: a {enum_type.__name__}")
    if ds.contact_point is not None:
        if not isinstance(ds.contact_point, ContactPoint):
            problems.append(f"contact_point is {ds.contact_point!r}: a ContactPoint or None")
        else:
            for name in ("name", "email", "phone"):
                _optional_text(problems, f"contact_point.{name}", getattr(ds.contact_point, name))
    if not isinstance(ds.distributions, tuple):
        problems.append(f"distributions is a {type(ds.distributions).__name__}, not a tuple")
    else:
        for i, dist in enumerate(ds.distributions):
            where = f"distributions[{i}]"
            if not isinstance(dist, Distribution):
                problems.append(f"{where} is {dist!r}: a Distribution")
                continue
            for name in ("title", "format", "media_type"):
                _optional_text(problems, f"{where}.{name}", getattr(dist, name))
            _optional_url(problems, f"{where}.access_url", dist.access_url)
            _optional_url(problems, f"{where}.download_url", dist.download_url)
            size = dist.byte_size
            if size is not None and (type(size) is not int or size < 0):
                problems.append(f"{where}.byte_size is {size!r}: a non-negative int or None")
    if not isinstance(ds.fields, tuple) or not all(
        isinstance(f, DataField) and isinstance(f.name, str) and not _blank(f.name)
        for f in ds.fields
    ):
        problems.append(f"fields is {ds.fields!r}: a tuple of DataField with names")
    if ds.temporal is not None:
        if not isinstance(ds.temporal, Temporal):
            problems.append(f"temporal is {ds.temporal!r}: a Temporal or None")
        else:
            _optional_time(problems, "temporal.start", ds.temporal.start)
            _optional_time(problems, "temporal.end", ds.temporal.end)
    return problems


def department_problems(departments: object) -> list[str]:
    """What is wrong with ``departments()``'s answer (empty when nothing is)."""
    if not isinstance(departments, list):
        return [f"departments() answered a {type(departments).__name__}, not a list"]
    problems = [
        f"{d!r} is not a Department with a non-blank id and name"
        for d in departments
        if not isinstance(d, Department) or _blank(d.id) or _blank(d.name)
    ]
    ids = [getattr(d, "id", None) for d in departments]
    problems += [f"{i!r} is listed {ids.count(i)} times" for i in set(ids) if ids.count(i) > 1]
    return problems


def secret_values(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, SecretStr | SecretBytes):
        secret = value.get_secret_value()
        text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
        if text:
            yield path, text
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from secret_values(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from secret_values(item, f"{path}.{key}")
    elif isinstance(value, list | tuple | set | frozenset):
        for i, item in enumerate(value):
            yield from secret_values(item, f"{path}[{i}]")


def error_texts(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    request = error.request if isinstance(error, ConnectorError) else None
    if request is not None:
        texts += [str(request.url), repr(request.headers.multi_items())]
    return texts


def fail(problems: Sequence[str], what: str) -> None:
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        pytest.fail(f"{what}:\n  {shown}{more}", pytrace=False)


def described(f: DatasetFilter) -> str:
    parts = []
    for name in sorted(f.active(), key=lambda n: n.value):
        value = getattr(f, name.value)
        if isinstance(value, tuple):
            value = tuple(getattr(v, "value", v) for v in value)
        parts.append(f"{name.value}={getattr(value, 'value', value)!r}")
    return "(" + ", ".join(parts) + ")" if parts else "(no constraint)"


def sent_requests(exchanges: Sequence[Exchange]) -> list[tuple[str, str, bytes]]:
    return [(e.request.method, str(e.request.url), e.request.content) for e in exchanges]


# -- one check's world ------------------------------------------------------------------

OPERATIONS = ("search", "get", "departments")


@dataclass
class Listing:
    pages: list[SearchPage]
    datasets: list[Dataset]
    end: int


@dataclass
class Outcome:
    error: Exception | None
    exchanges: list[Exchange]


@dataclass
class Session:
    kit: KitSettings
    platform: RecordedPlatform
    connector: Connector
    settings: SourceSettings
    _listing: Listing | None = field(default=None, repr=False)

    @property
    def limit(self) -> int:
        return max(1, min(self.kit.page_size, self.connector.capabilities.max_page_size))

    async def search(self, **query: Any) -> tuple[SearchPage, list[Exchange]]:
        start = len(self.platform.exchanges)
        page = await self.connector.search(SearchQuery(limit=self.limit, **query))
        return page, self.platform.exchanges[start:]

    async def listing(self) -> Listing:
        """Every page of an unfiltered search, paged the way the gateway pages."""
        if self._listing is not None:
            return self._listing
        pages: list[SearchPage] = []
        offset = 0
        for _ in range(self.kit.max_pages):
            page, _ = await self.search(offset=offset)
            pages.append(page)
            consumed = page.upstream_rows()
            offset += consumed
            total = page.total
            if total is not None and (consumed == 0 or offset >= total):
                break
            if total is None and consumed < self.limit:
                break
        else:
            pytest.fail(
                f"paging did not end after {self.kit.max_pages} pages of {self.limit} "
                f"(offset {offset}, total {pages[-1].total})",
                pytrace=False,
            )
        datasets = [ds for page in pages for ds in page.datasets]
        self._listing = Listing(pages, datasets, offset)
        return self._listing

    async def known_id(self) -> str:
        page, _ = await self.search()
        if not page.datasets:
            pytest.fail("the first recorded search page holds no records", pytrace=False)
        return page.datasets[0].local_id

    async def filter_example(self, name: FilterName) -> DatasetFilter:
        if name in self.kit.filter_examples:
            return self.kit.filter_examples[name]
        datasets = (await self.listing()).datasets
        value: Any = None
        if name is FilterName.MAX_SENSITIVITY and datasets:
            value = min((ds.sensitivity for ds in datasets), key=lambda s: s.rank)
        elif name in (FilterName.MODIFIED_AFTER, FilterName.MODIFIED_BEFORE):
            stamps = sorted(ds.modified for ds in datasets if ds.modified is not None)
            value = stamps[len(stamps) // 2] if stamps else None
        else:
            for ds in datasets:
                value = _example_value(name, ds)
                if value:
                    break
        if not value:
            pytest.fail(
                f"no recorded record has a value for the declared filter {name.value}: set "
                f"filter_examples = {{FilterName.{name.name}: DatasetFilter(...)}}",
                pytrace=False,
            )
        return DatasetFilter(**{name.value: value})

    async def any_of_example(self) -> tuple[DatasetFilter, ...]:
        if self.kit.any_of_example is not None:
            return self.kit.any_of_example
        public = DatasetFilter(open_types=(OpenType.OPEN,), max_sensitivity=Sensitivity.L1)
        datasets = (await self.listing()).datasets
        own = next((ds.department.id for ds in datasets if ds.department), None)
        return (public, DatasetFilter(departments=(own,))) if own else (public,)

    async def check_claim(self, claim: str, holds: Callable[[Dataset], bool], **query: Any) -> None:
        """Fail unless every record the claimed search returns satisfies ``holds``."""
        plain_page, plain = await self.search()
        page, sent = await self.search(**query)
        # A search answered from a local index sends nothing: only its records can tell.
        if sent and sent_requests(sent) == sent_requests(plain):
            outside = [
                f"{ds.local_id!r} ({ds.title!r})"
                for ds in (await self.listing()).datasets
                if not holds(ds)
            ]
            fail(
                outside,
                f"{claim}, but its request is the same as without it, and the platform holds "
                "records that do not match",
            )
        elif sent and {e.answered_by for e in sent} == {e.answered_by for e in plain}:
            pytest.fail(
                f"{claim}, but its request was answered by the same recording as the unfiltered "
                f"search ({', '.join(sorted({e.answered_by for e in sent}))}): record what the "
                f"platform answers to {[unquote(str(e.request.url)) for e in sent]}",
                pytrace=False,
            )
        if not page.datasets:
            pytest.fail(
                f"{claim}, but the recorded answer holds no records to check it against: "
                "record an answer where some records match",
                pytrace=False,
            )
        strays = [f"{ds.local_id!r} ({ds.title!r})" for ds in page.datasets if not holds(ds)]
        fail(strays, f"{claim}, yet these returned records do not match")
        total, unfiltered = page.total, plain_page.total
        if total is not None and unfiltered is not None and total > unfiltered:
            pytest.fail(
                f"{claim}, yet its total {total} exceeds the unfiltered {unfiltered}",
                pytrace=False,
            )

    def fault(self, name: str) -> Fault:
        if name == "oversized":
            return oversized(self.settings.max_response_bytes)
        return FAULTS[name]

    async def call(self, operation: str, local_id: str | None) -> object:
        if operation == "search":
            return await self.connector.search(SearchQuery(limit=self.limit))
        if operation == "get":
            assert local_id is not None
            return await self.connector.get(local_id)
        return await self.connector.departments()

    async def under_fault(self, operation: str, fault: Fault, times: int | None) -> Outcome:
        local_id = await self.known_id() if operation == "get" else None
        start = len(self.platform.exchanges)
        self.platform.inject(fault, times=times)
        try:
            await self.call(operation, local_id)
        except (UnrecordedRequest, UnmockedNetworkCall):
            raise
        except Exception as exc:
            return Outcome(exc, self.platform.exchanges[start:])
        finally:
            self.platform.heal()
        return Outcome(None, self.platform.exchanges[start:])


def _example_value(name: FilterName, ds: Dataset) -> Any:
    match name:
        case FilterName.DEPARTMENTS:
            return (ds.department.id,) if ds.department else None
        case FilterName.THEMES:
            return ds.themes[:1]
        case FilterName.KEYWORDS:
            return ds.keywords[:1]
        case FilterName.FORMATS:
            return ds.formats[:1]
        case FilterName.SHARE_TYPES:
            return (ds.share_type,)
        case FilterName.OPEN_TYPES:
            return (ds.open_type,)
        case FilterName.IDENTIFIERS:
            return (ds.identifier,) if ds.identifier else None
        case FilterName.DATASET_IDS:
            return (encode_id("Dataset", ds.source_id, ds.local_id),)
    return None


def page_problems(page: SearchPage, limit: int) -> list[str]:
    problems = []
    if len(page.datasets) > limit:
        problems.append(f"{len(page.datasets)} datasets for limit {limit}")
    if page.consumed is not None and page.consumed < len(page.datasets):
        problems.append(f"consumed={page.consumed} but {len(page.datasets)} datasets")
    if page.positions is not None:
        p = page.positions
        if len(p) != len(page.datasets):
            problems.append(f"{len(p)} positions for {len(page.datasets)} datasets")
        if any(b <= a for a, b in zip(p, p[1:], strict=False)) or any(
            not 0 <= x < page.upstream_rows() for x in p
        ):
            problems.append(f"positions {p} are not increasing row indices within the page")
    if page.total is not None and (type(page.total) is not int or page.total < 0):
        problems.append(f"total is {page.total!r}: a non-negative int or None")
    return problems
