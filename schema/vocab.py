"""Vocabulary maps from what platforms write to the canonical enums.

Platforms spell the same class many ways: DCAT URIs, data.json ``accessLevel``,
Chinese government terms (无条件共享, 每月...), English words. Each ``parse_*`` function
accepts any of them (case- and whitespace-insensitive) and returns ``None`` for a value
it does not know, so the caller can fall back to the source's configured default,
never to "most open".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from schema.model import Grade, OpenType, Sensitivity, ShareType, UpdateFrequency

E = TypeVar("E")

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


GRADES: Mapping[str, Grade] = {
    "core": Grade.CORE,
    "核心数据": Grade.CORE,
    "核心": Grade.CORE,
    "important": Grade.IMPORTANT,
    "重要数据": Grade.IMPORTANT,
    "重要": Grade.IMPORTANT,
    "general": Grade.GENERAL,
    "一般数据": Grade.GENERAL,
    "一般": Grade.GENERAL,
}

# The directory's class vocabularies (GB/T 21063.4 and the national directory guide).
# Values are kept as the platform writes them; a value outside these lists is reported
# by the quality check as UNKNOWN_CLASS_VALUE, never rewritten.
RESOURCE_CLASSES: frozenset[str] = frozenset(
    {"基础信息资源", "主题信息资源", "部门信息资源", "base", "thematic", "departmental"}
)
FORMAT_CLASSES: frozenset[str] = frozenset(
    {
        "电子文件",
        "电子表格",
        "数据库",
        "图形图像",
        "流媒体",
        "自描述格式",
        "接口",
        "其他",
        "file",
        "spreadsheet",
        "database",
        "image",
        "stream",
        "self-describing",
        "api",
        "other",
    }
)
SHARE_METHODS: frozenset[str] = frozenset(
    {
        "接口",
        "接口调用",
        "文件下载",
        "库表交换",
        "在线查询",
        "共享平台",
        "api",
        "file download",
        "database exchange",
        "online query",
        "platform",
    }
)


def known_class_value(vocabulary: frozenset[str], value: str | None) -> bool:
    """Whether ``value`` (case-insensitive) is in ``vocabulary``; ``None`` counts as known."""
    return value is None or value.strip().lower() in vocabulary


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


def parse_grade(value: object) -> Grade | None:
    """``parse_grade("重要数据")`` -> ``Grade.IMPORTANT``."""
    return _lookup(GRADES, value)


def strictest_grade(values: object) -> Grade | None:
    """The strictest grade any of ``values`` states (a record that says IMPORTANT under one
    key and GENERAL under another is IMPORTANT): ``None`` when none is a known spelling."""
    items = values if isinstance(values, list | tuple) else (values,)
    found = {grade for item in items if (grade := parse_grade(item)) is not None}
    for grade in (Grade.CORE, Grade.IMPORTANT, Grade.GENERAL):
        if grade in found:
            return grade
    return None


def raw_values(table: Mapping[str, E], wanted: E) -> tuple[str, ...]:
    """Every spelling in ``table`` that means ``wanted`` (for pushing filters down)."""
    return tuple(key for key, value in table.items() if value == wanted)
