"""The REST connector's record mapping: one platform record to a canonical ``Dataset``.

Each canonical field has a compiled recipe (``FieldRecipe``): where it is in a record
and how to read it (value map, default, list splitting, date format and zone). Fields
a record does not have are empty; a record without an id is unmappable and skipped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import quote

from connectors.rest_config import FieldOptions
from connectors.sdk import SourceSettings
from connectors.sdk._selector import Selector
from connectors.sdk._valuemap import ValueMap
from schema import vocab
from schema.model import (
    ContactPoint,
    DataField,
    Dataset,
    Department,
    Distribution,
    Temporal,
    UpdateFrequency,
)

log = logging.getLogger("connectors.rest")

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class FieldRecipe:
    """One canonical field: where it is in a record and how to read it."""

    selector: Selector | None
    default: Any = None
    values: ValueMap | None = None
    split: str | None = None
    item: Selector | None = None
    item_selectors: Mapping[str, Selector] = field(default_factory=dict)
    date_format: str | None = None
    tz: tzinfo = UTC
    unit: str | None = None
    template: str | None = None

    @classmethod
    def build(cls, spec: FieldOptions) -> FieldRecipe:
        item, item_selectors = None, None
        if isinstance(spec.item, str):
            item = Selector(spec.item)
        elif isinstance(spec.item, dict):
            item_selectors = {k: Selector(v) for k, v in spec.item.items()}
        return cls(
            selector=Selector(spec.selector) if spec.selector else None,
            default=spec.default,
            values=ValueMap(spec.map, spec.fallback) if spec.map is not None else None,
            split=spec.split,
            item=item,
            item_selectors=MappingProxyType(item_selectors or {}),
            date_format=spec.format,
            tz=parse_tz(spec.timezone),
            unit=spec.unit,
            template=spec.template,
        )

    def describe(self) -> str:
        return f"selector {self.selector.path!r}" if self.selector else "no selector"

    def raw(self, record: Any) -> Any:
        """The value as the platform wrote it, or the recipe's default when it is empty."""
        value = self.selector.get(record) if self.selector else None
        if value is None or value == "" or value == []:
            return self.default
        return value

    def mapped(self, record: Any) -> Any:
        value = self.raw(record)
        return self.values(value) if self.values is not None else value

    def text(self, record: Any) -> str | None:
        return text(self.mapped(record))

    def texts(self, record: Any) -> tuple[str, ...]:
        """A list field: list items (through ``item``) or text split on ``split``."""
        value = self.raw(record)
        out: dict[str, None] = {}
        for entry in value if isinstance(value, list) else [value]:
            if self.item is not None:
                entry = self.item.get(entry)
            parts = entry.split(self.split) if isinstance(entry, str) and self.split else [entry]
            for part in parts:
                found = text(self.values(part) if self.values is not None else part)
                if found is not None:
                    out.setdefault(found, None)
        return tuple(out)

    def items(self, record: Any) -> list[Mapping[str, Any]]:
        value = self.raw(record)
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    def date(self, record: Any) -> datetime | None:
        """Text in ``date_format`` (ISO 8601 without one) or epoch seconds/milliseconds;
        a time without a zone is in ``tz``."""
        value = self.raw(record)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                return None
            millis = self.unit == "ms" or (self.unit is None and abs(value) > 1e11)
            try:
                return datetime.fromtimestamp(value / 1000 if millis else value, UTC)
            except (OverflowError, OSError, ValueError):
                return None
        if not isinstance(value, str) or not value.strip():
            return None
        try:
            if self.date_format:
                parsed = datetime.strptime(value.strip(), self.date_format)
            else:
                parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=self.tz)


class RecordMapper:
    """Maps a platform's records to datasets of one source."""

    def __init__(self, settings: SourceSettings, fields: Mapping[str, FieldOptions]) -> None:
        self.settings = settings
        self.base = settings.url.rstrip("/")
        self.fields = {name: FieldRecipe.build(spec) for name, spec in fields.items()}

    def map_records(self, records: Iterable[object]) -> Iterator[tuple[int, Dataset]]:
        """``(position, dataset)`` for each record that maps; the rest are logged, skipped."""
        for position, record in enumerate(records):
            if not isinstance(record, dict):
                log.warning(
                    "source %s: skipped record #%d (%s, not an object)",
                    self.settings.id,
                    position,
                    kind(record),
                )
                continue
            try:
                dataset = self.map_record(record)
            except Exception as exc:  # one bad record never fails the page
                log.warning(
                    "source %s: skipped record #%d: %s: %s",
                    self.settings.id,
                    position,
                    type(exc).__name__,
                    exc,
                )
                continue
            yield position, dataset

    def department_id(self, raw: object) -> str | None:
        """A platform department code as the canonical id (through the field's map)."""
        recipe = self.fields.get("department_id")
        code = text(raw)
        if recipe is None or recipe.values is None or code is None:
            return code
        return text(recipe.values(code))

    def map_record(self, record: Mapping[str, Any]) -> Dataset:
        f = self.fields
        defaults = self.settings.defaults

        def field_text(name: str) -> str | None:
            recipe = f.get(name)
            return recipe.text(record) if recipe else None

        def moment(name: str) -> datetime | None:
            recipe = f.get(name)
            return recipe.date(record) if recipe else None

        def enum(name: str, parse: Callable[[object], E | None]) -> E | None:
            recipe = f.get(name)
            return parse(recipe.mapped(record)) if recipe else None

        def raw(name: str) -> Any:
            recipe = f.get(name)
            return recipe.mapped(record) if recipe else None

        source = self.settings.id

        local_id = field_text("local_id")
        if local_id is None:
            raise ValueError(f"no id at {f['local_id'].describe()}")
        dept_id, dept_name = field_text("department_id"), field_text("department_name")
        department = (
            Department(
                id=dept_id or dept_name or "",
                name=dept_name or dept_id or "",
                code=field_text("department_code"),
            )
            if dept_id or dept_name
            else self.settings.department
        )
        contact = ContactPoint(
            name=field_text("contact_name"),
            email=field_text("contact_email"),
            phone=field_text("contact_phone"),
        )
        start, end = moment("temporal_start"), moment("temporal_end")
        return Dataset(
            source_id=self.settings.id,
            local_id=local_id,
            title=field_text("title") or local_id,
            identifier=field_text("identifier"),
            description=field_text("description"),
            keywords=f["keywords"].texts(record) if "keywords" in f else (),
            themes=f["themes"].texts(record) if "themes" in f else (),
            department=department,
            issued=moment("issued"),
            modified=moment("modified"),
            update_frequency=enum("update_frequency", vocab.parse_update_frequency)
            or UpdateFrequency.UNKNOWN,
            share_type=vocab.share_type_or(raw("share_type"), defaults.share_type, source=source),
            share_condition=field_text("share_condition"),
            open_type=vocab.open_type_or(raw("open_type"), defaults.open_type, source=source),
            sensitivity=vocab.sensitivity_or(
                raw("sensitivity"), defaults.sensitivity, source=source
            ),
            license=field_text("license"),
            landing_page=self._landing_page(record, local_id),
            contact_point=contact if contact != ContactPoint() else None,
            distributions=self._distributions(record),
            fields=tuple(self._data_items(record)),
            spatial=field_text("spatial"),
            temporal=Temporal(start, end) if start or end else None,
            resource_code=field_text("resource_code"),
            resource_class=field_text("resource_class"),
            format_class=field_text("format_class"),
            share_method=field_text("share_method"),
            open_condition=field_text("open_condition"),
            not_shared_basis=field_text("not_shared_basis"),
            related_resources=f["related_resources"].texts(record)
            if "related_resources" in f
            else (),
            grade=enum("grade", vocab.parse_grade),
        )

    def _landing_page(self, record: Mapping[str, Any], local_id: str) -> str | None:
        recipe = self.fields.get("landing_page")
        if recipe is None:
            return None
        if recipe.template is not None:
            return recipe.template.format_map({"base": self.base, "id": quote(local_id, safe="")})
        return self._absolute(recipe.text(record))

    def _absolute(self, url: str | None) -> str | None:
        return self.base + url if url and url.startswith("/") else url

    def _distributions(self, record: Mapping[str, Any]) -> tuple[Distribution, ...]:
        recipe = self.fields.get("distributions")
        found = [self._distribution(recipe, d) for d in recipe.items(record)] if recipe else []
        listed = {d.format for d in found if d.format}
        if "formats" in self.fields:  # formats named without a file: one entry each
            for fmt in self.fields["formats"].texts(record):
                if fmt.upper() not in listed:
                    listed.add(fmt.upper())
                    found.append(Distribution(format=fmt.upper()))
        return tuple(found)

    def _distribution(self, recipe: FieldRecipe, item: Mapping[str, Any]) -> Distribution:
        at = recipe.item_selectors

        def value(key: str) -> str | None:
            return text(at[key].get(item)) if key in at else None

        fmt = value("format")
        size = at["byte_size"].get(item) if "byte_size" in at else None
        if isinstance(size, str) and size.strip().isdigit():
            size = int(size.strip())
        return Distribution(
            title=value("title"),
            format=fmt.upper() if fmt else None,
            media_type=value("media_type"),
            access_url=self._absolute(value("access_url")),
            download_url=self._absolute(value("download_url")),
            byte_size=size if is_count(size) else None,
        )

    def _data_items(self, record: Mapping[str, Any]) -> Iterator[DataField]:
        recipe = self.fields.get("data_items")
        if recipe is None:
            return
        at = recipe.item_selectors
        for item in recipe.items(record):
            name = text(at["name"].get(item))
            if name is not None:
                yield DataField(
                    name=name,
                    type=text(at["type"].get(item)) if "type" in at else None,
                    description=text(at["description"].get(item)) if "description" in at else None,
                )


def parse_tz(offset: str | None) -> tzinfo:
    """``"+08:00"`` -> UTC+8; ``None``, ``"Z"`` and ``"UTC"`` -> UTC."""
    if offset is None or offset in ("Z", "UTC"):
        return UTC
    sign = -1 if offset.startswith("-") else 1
    return timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))


def text(value: object) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"
