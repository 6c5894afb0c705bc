"""Project Open Data ``data.json`` connector (metadata schema v1.1, v1.0 arrays tolerated).

A ``data.json`` file lists an agency's whole catalogue and answers no queries, so this
connector loads it (conditionally: ``ETag`` / ``Last-Modified``), indexes it locally and
answers searches from the index (``connectors.sdk._static``).

Schema relied on: https://project-open-data.cio.gov/v1.1/schema (``catalog.json``,
``dataset.json``, ``distribution.json``, ``organization.json``, ``vcard.json`` in
project-open-data/project-open-data.github.io, ``v1.1/schema/``) and its example
``v1.1/examples/catalog-sample.json``: a catalog object ``{"conformsTo", "dataset": [...]}``;
``accessLevel`` one of ``public`` / ``restricted public`` / ``non-public``;
``accrualPeriodicity`` an ISO 8601 repeating duration (``R/P1M``) or ``irregular``;
``temporal`` an ISO 8601 interval (``start/end`` or ``start/duration``); ``modified`` a
date, a date-time, or a repeating interval; ``contactPoint`` a vCard with
``hasEmail: "mailto:..."``; ``publisher`` an organization nested by
``subOrganizationOf``; distributions with ``downloadURL`` (then ``mediaType``) or
``accessURL``. Real files also bring nulls, HTML descriptions, comma-separated keyword
strings, formats written as media types and dates in other shapes; all are read.

Sharing class, sensitivity and other government fields are not in the schema: they are
read from extension keys (configurable, Chinese values understood via ``schema.vocab``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors._datajson_values import (
    as_count,
    as_text,
    data_fields,
    dicts,
    first_text,
    kind_of,
    parse_date,
    parse_frequency,
    parse_temporal,
    plain_text,
    present,
    slug,
    spatial_text,
    strip_scheme,
    term_list,
)
from connectors._directory import CamelDirectoryKeys, directory_fields
from connectors._formats import format_name
from connectors._lenient_json import load_catalogue_json, repaired_value
from connectors.sdk import (
    FatalError,
    SourceSettings,
    StaticCatalogueConnector,
    StaticCatalogueOptions,
)
from connectors.sdk._static import document_url
from schema import vocab
from schema.model import (
    ContactPoint,
    Dataset,
    Department,
    Distribution,
    OpenType,
)

__all__ = ["DataJsonConnector", "DataJsonKeys", "DataJsonMapper", "DataJsonOptions"]

log = logging.getLogger(__name__)

_KeyNames = tuple[str, ...]

# Decoding a large catalogue takes long enough to stall other requests: off the loop.
_PARSE_INLINE_UP_TO = 256 * 1024


class DataJsonKeys(BaseModel):
    """Which dataset keys hold each canonical field; the first key with a value wins.

    ``open_type`` reads the schema's ``accessLevel``; put an extension key first to
    prefer a finer class (``[openType, accessLevel]``). The others are extensions::

        options: {keys: {share_type: [gongxiangLeixing], sensitivity: [minganJibie]}}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    open_type: _KeyNames = Field(("accessLevel",), min_length=1)
    share_type: _KeyNames = Field(("shareType", "share_type", "共享类型"), min_length=1)
    sensitivity: _KeyNames = Field(("sensitivity", "sensitivityLevel", "敏感级别"), min_length=1)
    share_condition: _KeyNames = Field(("shareCondition", "share_condition", "共享条件"))
    identifier: _KeyNames = Field(("resourceCode", "资源代码", "identifier"), min_length=1)
    update_frequency: _KeyNames = Field(("accrualPeriodicity", "updateCycle", "更新周期"))
    phone: _KeyNames = Field(("contactPhone",))
    fields: _KeyNames = Field(("fields", "dataItems"))
    byte_size: _KeyNames = Field(("byteSize",))


class DataJsonOptions(StaticCatalogueOptions):
    """``options`` of a ``connector: datajson`` source.

    ``url`` is the ``data.json`` address; a URL whose path does not end in ``.json``
    (and has no query) gets ``/data.json`` appended. ``department_ids`` maps publisher
    names to the department ids the policy uses (others get a slug of their name)::

        options:
          refresh_seconds: 600
          department_ids: {交通运输局: transport, Widget Services: widgets}
    """

    keys: DataJsonKeys = Field(default_factory=DataJsonKeys)
    directory_keys: CamelDirectoryKeys = Field(default_factory=CamelDirectoryKeys)
    department_ids: dict[str, str] = Field(default_factory=dict)


class DataJsonConnector(StaticCatalogueConnector):
    """One ``data.json`` catalogue, searched locally (see ``StaticCatalogueConnector``)."""

    name = "datajson"
    options_model = DataJsonOptions

    def __init__(self, settings: SourceSettings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        self.options = self.options_as(DataJsonOptions)
        self.mapper = DataJsonMapper(settings, self.options)
        self.document_url = catalogue_url(settings.url)

    async def load(self) -> list[Dataset] | None:
        body = await self.fetch_document(self.document_url)
        if body is None:
            return None
        if len(body) <= _PARSE_INLINE_UP_TO:
            datasets = self.mapper.parse(body)
        else:
            datasets = await asyncio.to_thread(self.mapper.parse, body)
        self.notice = self.mapper.summary
        return datasets


def catalogue_url(url: str) -> str:
    """``url`` itself when it names a JSON document, else ``{url}/data.json``."""
    return document_url(url, "/data.json", (".json",))


class DataJsonMapper:
    """Parse a ``data.json`` document into canonical datasets for one source.

    >>> DataJsonMapper(settings, DataJsonOptions()).parse(body)
    [Dataset(...), ...]

    A wrong envelope (not JSON, no ``dataset`` list) is a ``FatalError`` saying what was
    wrong; a record that cannot be mapped is skipped with a warning, as is a second
    record with an identifier already seen.
    """

    def __init__(self, settings: SourceSettings, options: DataJsonOptions | None = None) -> None:
        self.settings = settings
        self.options = options or DataJsonOptions()
        self.keys = self.options.keys
        #: What the last document reported: records skipped or repaired, one line each.
        self.problems: list[str] = []

    @property
    def source_id(self) -> str:
        return self.settings.id

    def parse(self, data: bytes, *, name: str = "data.json") -> list[Dataset]:
        """The datasets of a ``data.json`` document's bytes.

        A document that orjson refuses (a lone surrogate escape such as ``\\udc92``, a
        byte that is not UTF-8) is decoded leniently: every record still maps, and those
        whose text had to be repaired are reported (``problems``). A malformed document
        is a ``FatalError`` naming the line and column.
        """
        document, lenient = load_catalogue_json(data, what=name, source_id=self.source_id)
        return self.map_document(document, repair=lenient)

    def map_document(self, document: object, *, repair: bool = False) -> list[Dataset]:
        """The datasets of an already decoded ``data.json`` document (``repair``: its
        strings may hold lone surrogates, see ``parse``)."""
        self.problems = []
        if isinstance(document, list):  # schema v1.0: a bare array of datasets
            records: Any = document
        elif isinstance(document, dict):
            records = document.get("dataset")
            if not isinstance(records, list):
                raise FatalError(
                    f"data.json 'dataset' is {kind_of(records)}, not a list of datasets "
                    "(is this a Project Open Data catalog?)",
                    source_id=self.source_id,
                )
        else:
            raise FatalError(
                f"data.json holds {kind_of(document)}, not a catalog object",
                source_id=self.source_id,
            )
        return list(self._map_all(records, repair=repair))

    @property
    def summary(self) -> str | None:
        """One line on the records the last document reported, for health checks."""
        if not self.problems:
            return None
        shown = "; ".join(self.problems[:3])
        more = f"; and {len(self.problems) - 3} more" if len(self.problems) > 3 else ""
        return f"{len(self.problems)} record(s) with problems: {shown}{more}"

    def _report(self, position: int, record: Mapping[str, Any] | None, problem: str) -> None:
        name = None
        if record is not None:
            name = as_text(record.get("identifier")) or as_text(record.get("title"))
        where = f"dataset #{position}" + (f" ({name!r})" if name else "")
        self.problems.append(f"{where}: {problem}")
        log.warning("source %s: data.json %s: %s", self.source_id, where, problem)

    def _map_all(self, records: list[Any], *, repair: bool = False) -> Iterator[Dataset]:
        seen: set[str] = set()
        for position, record in enumerate(records):
            if not isinstance(record, dict):
                self._report(position, None, f"skipped (a {kind_of(record)}, not an object)")
                continue
            if repair:
                fields: list[str] = []
                record = repaired_value(record, fields.append)
                if fields:
                    self._report(
                        position,
                        record,
                        "invalid characters (lone surrogate escapes or bytes that are not "
                        f"UTF-8) repaired in {', '.join(dict.fromkeys(fields))}",
                    )
            try:
                dataset = self.map_record(record)
            except Exception as exc:  # one hostile record never fails the catalogue
                self._report(position, record, f"skipped: {exc}")
                continue
            if dataset.local_id in seen:
                self._report(
                    position, record, f"skipped: identifier {dataset.local_id!r} is repeated"
                )
                continue
            seen.add(dataset.local_id)
            yield dataset

    def map_record(self, record: Mapping[str, Any]) -> Dataset:
        """One ``dataset`` entry as a ``Dataset``; ``ValueError`` when it has no id."""
        local_id = as_text(record.get("identifier")) or as_text(record.get("@id"))
        if local_id is None:
            raise ValueError("no identifier")
        keys, defaults = self.keys, self.settings.defaults

        def first(names: Iterable[str]) -> Any:
            return next((record[n] for n in names if present(record.get(n))), None)

        open_value = first(keys.open_type)
        open_type = vocab.open_type_or(open_value, defaults.open_type, source=self.source_id)
        share_condition = as_text(first(keys.share_condition))
        if share_condition is None and open_type is OpenType.CONDITIONAL:
            # ``rights`` explains how to obtain a restricted dataset: its condition.
            share_condition = as_text(record.get("rights"))
        return Dataset(
            source_id=self.source_id,
            local_id=local_id,
            title=plain_text(record.get("title")) or local_id,
            identifier=as_text(first(keys.identifier)) or local_id,
            description=plain_text(record.get("description")),
            keywords=term_list(record.get("keyword")),
            themes=term_list(record.get("theme")),
            department=self._department(record.get("publisher")) or self.settings.department,
            issued=parse_date(record.get("issued")),
            modified=parse_date(record.get("modified")),
            update_frequency=parse_frequency(first(keys.update_frequency)),
            share_type=vocab.share_type_or(
                first(keys.share_type), defaults.share_type, source=self.source_id
            ),
            share_condition=share_condition,
            open_type=open_type,
            sensitivity=vocab.sensitivity_or(
                first(keys.sensitivity), defaults.sensitivity, source=self.source_id
            ),
            # POD wants a licence URI; a licence known only by name comes as licenseName.
            license=as_text(record.get("license")) or as_text(record.get("licenseName")),
            landing_page=as_text(record.get("landingPage")),
            contact_point=self._contact(record, first(keys.phone)),
            distributions=tuple(self._distribution(d) for d in dicts(record.get("distribution"))),
            fields=data_fields(first(keys.fields)),
            spatial=spatial_text(record.get("spatial")),
            temporal=parse_temporal(record.get("temporal")),
            language=next(iter(term_list(record.get("language"))), None),  # ["en-US"]
            **directory_fields(record.get, self.options.directory_keys),
        )

    def _department(self, publisher: object) -> Department | None:
        # v1.0 wrote the publisher's name as a string.
        name = as_text(publisher.get("name") if isinstance(publisher, dict) else publisher)
        if name is None:
            return None
        # An extension key: POD's organization has no code of its own.
        code = as_text(publisher.get("code")) if isinstance(publisher, dict) else None
        return Department(
            id=self.options.department_ids.get(name) or slug(name), name=name, code=code
        )

    def _contact(self, record: Mapping[str, Any], phone: object) -> ContactPoint | None:
        contact = record.get("contactPoint")
        name = email = None
        telephone = strip_scheme(phone, "tel:")
        if isinstance(contact, dict):
            name = as_text(contact.get("fn"))
            email = strip_scheme(first_text(contact.get("hasEmail")), "mailto:")
            telephone = telephone or strip_scheme(first_text(contact.get("hasTelephone")), "tel:")
        else:  # v1.0: the name as a string, the address in ``mbox``
            name = as_text(contact)
            email = strip_scheme(record.get("mbox"), "mailto:")
        if name is None and email is None and telephone is None:
            return None
        return ContactPoint(name=name, email=email, phone=telephone)

    def _distribution(self, dist: Mapping[str, Any]) -> Distribution:
        download = as_text(dist.get("downloadURL"))
        access = as_text(dist.get("accessURL"))
        media_type = as_text(dist.get("mediaType"))
        fmt = as_text(dist.get("format"))
        if fmt is not None and "/" in fmt and " " not in fmt:  # a media type in ``format``
            media_type, fmt = media_type or fmt, None
        size = next(
            (dist[k] for k in self.keys.byte_size if present(dist.get(k))),
            None,
        )
        return Distribution(
            title=as_text(dist.get("title")),
            format=format_name(fmt, media_type, download or access),
            media_type=media_type,
            access_url=access or download,
            download_url=download,
            byte_size=as_count(size),
        )
