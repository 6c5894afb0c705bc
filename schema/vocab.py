"""Vocabulary maps from what platforms write to the canonical enums.

Platforms spell the same class many ways: DCAT URIs, data.json ``accessLevel``,
Chinese government terms (无条件共享, 每月...), English words. Each ``parse_*`` function
accepts any of them (case- and whitespace-insensitive) and returns ``None`` for a value
it does not know.

Connectors read a record's classes with ``share_type_or``, ``open_type_or`` and
``sensitivity_or``: a record that states no class gets the source's configured default;
one that states a spelling nobody knows (不共享, 不开放, L5) gets the *least open* class
(NOT_SHARED, NOT_OPEN, L4), never the default, and the value is reported in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TypeVar

from schema.model import OpenType, Sensitivity, ShareType, UpdateFrequency

E = TypeVar("E")

log = logging.getLogger("schema.vocab")

SHARE_TYPES: Mapping[str, ShareType] = {
    "unconditional": ShareType.UNCONDITIONAL,
    "无条件共享": ShareType.UNCONDITIONAL,
    "conditional": ShareType.CONDITIONAL,
    "有条件共享": ShareType.CONDITIONAL,
    "not_shared": ShareType.NOT_SHARED,
    "not shared": ShareType.NOT_SHARED,
    "不予共享": ShareType.NOT_SHARED,
}

OPEN_TYPES: Mapping[str, OpenType] = {
    "open": OpenType.OPEN,
    "无条件开放": OpenType.OPEN,
    "conditional": OpenType.CONDITIONAL,
    "有条件开放": OpenType.CONDITIONAL,
    "not_open": OpenType.NOT_OPEN,
    "not open": OpenType.NOT_OPEN,
    "不予开放": OpenType.NOT_OPEN,
    # DCAT access rights (EU vocabulary) and Project Open Data accessLevel.
    "public": OpenType.OPEN,
    "http://publications.europa.eu/resource/authority/access-right/public": OpenType.OPEN,
    "restricted": OpenType.CONDITIONAL,
    "restricted public": OpenType.CONDITIONAL,
    "http://publications.europa.eu/resource/authority/access-right/restricted": (
        OpenType.CONDITIONAL
    ),
    "non_public": OpenType.NOT_OPEN,
    "non-public": OpenType.NOT_OPEN,
    "http://publications.europa.eu/resource/authority/access-right/non_public": (OpenType.NOT_OPEN),
}

SENSITIVITIES: Mapping[str, Sensitivity] = {
    **{f"l{n}": Sensitivity(f"L{n}") for n in range(1, 5)},
    **{str(n): Sensitivity(f"L{n}") for n in range(1, 5)},
    "一级": Sensitivity.L1,
    "二级": Sensitivity.L2,
    "三级": Sensitivity.L3,
    "四级": Sensitivity.L4,
    "不敏感": Sensitivity.L1,
    "低敏感": Sensitivity.L2,
    "较敏感": Sensitivity.L3,
    "敏感": Sensitivity.L4,
}

_EU_FREQ = "http://publications.europa.eu/resource/authority/frequency/"

UPDATE_FREQUENCIES: Mapping[str, UpdateFrequency] = {
    **{f.value.lower(): f for f in UpdateFrequency},
    **{(_EU_FREQ + f.value).lower(): f for f in UpdateFrequency},
    "实时": UpdateFrequency.CONT,
    "每小时": UpdateFrequency.HOURLY,
    "每日": UpdateFrequency.DAILY,
    "每天": UpdateFrequency.DAILY,
    "每周": UpdateFrequency.WEEKLY,
    "每月": UpdateFrequency.MONTHLY,
    "每季度": UpdateFrequency.QUARTERLY,
    "每半年": UpdateFrequency.ANNUAL_2,
    "每年": UpdateFrequency.ANNUAL,
    "不定期": UpdateFrequency.IRREG,
    "continuous": UpdateFrequency.CONT,
    "realtime": UpdateFrequency.CONT,
    "hourly": UpdateFrequency.HOURLY,
    "daily": UpdateFrequency.DAILY,
    "weekly": UpdateFrequency.WEEKLY,
    "monthly": UpdateFrequency.MONTHLY,
    "quarterly": UpdateFrequency.QUARTERLY,
    "semiannual": UpdateFrequency.ANNUAL_2,
    "annual": UpdateFrequency.ANNUAL,
    "yearly": UpdateFrequency.ANNUAL,
    "irregular": UpdateFrequency.IRREG,
    # ISO 8601 durations, as data.json accrualPeriodicity writes them.
    "r/pt1s": UpdateFrequency.CONT,
    "r/pt1h": UpdateFrequency.HOURLY,
    "r/p1d": UpdateFrequency.DAILY,
    "r/p1w": UpdateFrequency.WEEKLY,
    "r/p1m": UpdateFrequency.MONTHLY,
    "r/p3m": UpdateFrequency.QUARTERLY,
    "r/p6m": UpdateFrequency.ANNUAL_2,
    "r/p1y": UpdateFrequency.ANNUAL,
}


def _lookup(table: Mapping[str, E], value: object) -> E | None:
    if value is None:
        return None
    key = str(value).strip().lower()
    return table.get(key) if key else None


def parse_share_type(value: object) -> ShareType | None:
    """``parse_share_type("有条件共享")`` -> ``ShareType.CONDITIONAL``."""
    return _lookup(SHARE_TYPES, value)


def parse_open_type(value: object) -> OpenType | None:
    """``parse_open_type("restricted public")`` -> ``OpenType.CONDITIONAL``."""
    return _lookup(OPEN_TYPES, value)


def parse_sensitivity(value: object) -> Sensitivity | None:
    """``parse_sensitivity("L3")`` -> ``Sensitivity.L3``."""
    return _lookup(SENSITIVITIES, value)


def parse_update_frequency(value: object) -> UpdateFrequency | None:
    """``parse_update_frequency("每月")`` -> ``UpdateFrequency.MONTHLY``."""
    return _lookup(UPDATE_FREQUENCIES, value)


def raw_values(table: Mapping[str, E], wanted: E) -> tuple[str, ...]:
    """Every spelling in ``table`` that means ``wanted`` (for pushing filters down)."""
    return tuple(key for key, value in table.items() if value == wanted)


# Distinct unrecognised values already reported (bounded: the log is not a data store).
_REPORTED: set[tuple[str, str, str]] = set()
_REPORT_LIMIT = 1000


def _stated(value: object) -> bool:
    return value is not None and str(value).strip() != ""


def _class_or(
    what: str,
    parse: Callable[[object], E | None],
    least_open: E,
    value: object,
    default: E,
    source: str | None,
) -> E:
    if not _stated(value):
        return default
    found = parse(value)
    if found is not None:
        return found
    key = (source or "", what, str(value)[:100])
    if key not in _REPORTED and len(_REPORTED) < _REPORT_LIMIT:
        _REPORTED.add(key)
        log.warning(
            "source %s: unrecognised %s %r: treated as %s (the least open), not the default",
            source or "?",
            what,
            key[2],
            getattr(least_open, "value", least_open),
        )
    return least_open


def share_type_or(value: object, default: ShareType, *, source: str | None = None) -> ShareType:
    """``value``'s share type; ``default`` when none is stated; NOT_SHARED for a spelling
    nobody knows (reported). ``share_type_or("不共享", ShareType.UNCONDITIONAL)`` ->
    ``ShareType.NOT_SHARED``."""
    return _class_or("share_type", parse_share_type, ShareType.NOT_SHARED, value, default, source)


def open_type_or(value: object, default: OpenType, *, source: str | None = None) -> OpenType:
    """``value``'s open type; ``default`` when none is stated; NOT_OPEN for a spelling
    nobody knows (reported)."""
    return _class_or("open_type", parse_open_type, OpenType.NOT_OPEN, value, default, source)


def sensitivity_or(
    value: object, default: Sensitivity, *, source: str | None = None
) -> Sensitivity:
    """``value``'s sensitivity; ``default`` when none is stated; L4 for a level nobody
    knows, such as ``L5`` (reported)."""
    return _class_or("sensitivity", parse_sensitivity, Sensitivity.L4, value, default, source)
