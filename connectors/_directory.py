"""The national directory core fields, read the same way by every built-in connector.

Each platform keeps these in its own place (CKAN extras or ckanext-scheming fields,
Socrata custom metadata, OpenDataSoft custom metas, data.json extension keys, DCAT
properties in ``cgw:``), under the names ``DirectoryKeys`` lists: the English key, a
platform-style key, then the Chinese term of the directory guide. The first name holding
a value wins; for ``grade`` every name is read and the strictest grade stated wins (a
record saying 重要数据 under one key is important data, whatever another key says).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from connectors.sdk import parse_timestamp
from schema import vocab
from schema.model import Grade

_KeyNames = tuple[str, ...]


class DirectoryKeys(BaseModel):
    """Which metadata keys hold the directory fields (snake_case names by default).

    >>> DirectoryKeys(grade=("grade", "数据分级", "fenji"))
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    resource_code: _KeyNames = ("resource_code", "信息资源代码")
    resource_class: _KeyNames = ("resource_class", "信息资源分类")
    format_class: _KeyNames = ("format_class", "信息资源格式分类", "信息资源格式")
    share_method: _KeyNames = ("share_method", "共享方式")
    open_condition: _KeyNames = ("open_condition", "开放条件")
    not_shared_basis: _KeyNames = ("not_shared_basis", "不予共享依据")
    related_resources: _KeyNames = ("related_resources", "关联资源")
    grade: _KeyNames = ("grade", "数据分级")


class TemplateDirectoryKeys(DirectoryKeys):
    """OpenDataSoft custom metadata template fields: identifiers only, and each grade key
    must be a field of the template (the visibility's grade clause queries every one)."""

    resource_code: _KeyNames = ("resource_code",)
    resource_class: _KeyNames = ("resource_class",)
    format_class: _KeyNames = ("format_class",)
    share_method: _KeyNames = ("share_method",)
    open_condition: _KeyNames = ("open_condition",)
    not_shared_basis: _KeyNames = ("not_shared_basis",)
    related_resources: _KeyNames = ("related_resources",)
    grade: _KeyNames = ("grade",)


class CamelDirectoryKeys(DirectoryKeys):
    """data.json extension keys (camelCase, as POD's own keys are)."""

    resource_code: _KeyNames = ("resourceCode", "resource_code", "信息资源代码")
    resource_class: _KeyNames = ("resourceClass", "resource_class", "信息资源分类")
    format_class: _KeyNames = ("formatClass", "format_class", "信息资源格式分类")
    share_method: _KeyNames = ("shareMethod", "share_method", "共享方式")
    open_condition: _KeyNames = ("openCondition", "open_condition", "开放条件")
    not_shared_basis: _KeyNames = ("notSharedBasis", "not_shared_basis", "不予共享依据")
    related_resources: _KeyNames = ("relatedResources", "related_resources", "关联资源")
    grade: _KeyNames = ("grade", "数据分级")


class SocrataDirectoryKeys(DirectoryKeys):
    """Socrata custom metadata (``<fieldset>_<field>``), the plain names after."""

    resource_code: _KeyNames = ("Catalog_Resource-Code", "resource_code", "信息资源代码")
    resource_class: _KeyNames = ("Catalog_Resource-Class", "resource_class", "信息资源分类")
    format_class: _KeyNames = ("Catalog_Format-Class", "format_class", "信息资源格式分类")
    share_method: _KeyNames = ("Catalog_Share-Method", "share_method", "共享方式")
    open_condition: _KeyNames = ("Catalog_Open-Condition", "open_condition", "开放条件")
    not_shared_basis: _KeyNames = (
        "Catalog_Not-Shared-Basis",
        "not_shared_basis",
        "不予共享依据",
    )
    related_resources: _KeyNames = (
        "Catalog_Related-Resources",
        "related_resources",
        "关联资源",
    )
    grade: _KeyNames = ("Catalog_Grade", "grade", "数据分级")


_TEXT_FIELDS = (
    "resource_code",
    "resource_class",
    "format_class",
    "share_method",
    "open_condition",
    "not_shared_basis",
)
_LIST_SEPARATORS = re.compile(r"[,;，；、\n]+")


def directory_fields(get: Callable[[str], object], keys: DirectoryKeys) -> dict[str, Any]:
    """The directory fields of one record as ``Dataset`` keyword arguments.

    ``get(name)`` answers the raw value a record holds under ``name`` (``None`` if none).
    """
    out: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        names: _KeyNames = getattr(keys, name)
        out[name] = next((t for n in names if (t := _text(get(n))) is not None), None)
    related: tuple[str, ...] = ()
    for n in keys.related_resources:
        related = text_list(get(n))
        if related:
            break
    out["related_resources"] = related
    out["grade"] = vocab.strictest_grade(tuple(_text(get(n)) for n in keys.grade))
    return out


def excluded_grades(wanted: Iterable[Grade]) -> tuple[Grade, ...] | None:
    """The grades a record must state under no key for its grade to be one of ``wanted``;
    ``None`` when that cannot be said so (``wanted`` not "GENERAL up to some level").

    A record's grade is the strictest it states (unstated: GENERAL), so "every key's
    value is not a spelling of an excluded grade" is exactly "the grade is wanted".
    """
    wanted = set(wanted)
    order = (Grade.GENERAL, Grade.IMPORTANT, Grade.CORE)  # least strict first
    allowed = [g for g in order if g in wanted]
    if order[: len(allowed)] != tuple(allowed) or not allowed:
        return None
    return order[len(allowed) :]


def grade_spellings(grades: Iterable[Grade]) -> list[str]:
    """Every spelling of ``grades`` as platforms write them (as listed, and upper case)."""
    wanted = set(grades)
    found = (v for s, g in vocab.GRADES.items() if g in wanted for v in (s, s.upper()))
    return list(dict.fromkeys(found))


def text_list(value: object) -> tuple[str, ...]:
    """A list of strings from a JSON list, a JSON-encoded list, or a separated string."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                value = json.loads(stripped)
            except ValueError:
                value = stripped
        else:
            value = _LIST_SEPARATORS.split(stripped)
    if isinstance(value, list | tuple):
        return tuple(dict.fromkeys(t for item in value if (t := _text(item)) is not None))
    return ()


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def parse_interval(value: object) -> tuple[datetime | None, datetime | None]:
    """``start/end`` (ISO 8601 interval; either side may be empty or ``..``)."""
    text = _text(value)
    if text is None or "/" not in text:
        return None, None
    start, _, end = text.partition("/")
    return parse_timestamp(start), parse_timestamp(end)


# -- DCAT: the directory fields DCAT-AP has no property for live in ``cgw:`` ----------------

_CGW = "https://catalogue-gateway.example/ns#"  # = connectors.dcat.CGW
DCAT_DIRECTORY_PREDICATES: dict[str, tuple[str, ...]] = {
    "resource_code": (_CGW + "resourceCode",),
    "resource_class": (_CGW + "resourceClass",),
    "format_class": (_CGW + "formatClass",),
    "share_method": (_CGW + "shareMethod",),
    "open_condition": (_CGW + "openCondition",),
    "not_shared_basis": (_CGW + "notSharedBasis",),
    # IRIs under dct:relation; codes (literals, which dct:relation may not hold) here.
    "related_resources": ("http://purl.org/dc/terms/relation", _CGW + "relatedResource"),
    "grade": (_CGW + "grade",),
}


class _RdfReader(Protocol):
    def text(self, g: Any, node: Any, *predicates: Any) -> str | None: ...

    def vocabulary(self, g: Any, node: Any, predicates: Iterable[Any], parse: Any) -> Any: ...


def dcat_directory_fields(
    reader: _RdfReader, g: Any, node: Any, predicates: Mapping[str, tuple[Any, ...]]
) -> dict[str, Any]:
    """The directory fields of one ``dcat:Dataset`` (``predicates`` as URIRefs)."""
    out: dict[str, Any] = {name: reader.text(g, node, *predicates[name]) for name in _TEXT_FIELDS}
    related = {str(o).strip() for p in predicates["related_resources"] for o in g.objects(node, p)}
    out["related_resources"] = tuple(sorted(related - {""}))
    out["grade"] = reader.vocabulary(g, node, predicates["grade"], vocab.parse_grade)
    return out
