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
import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from schema.model import Grade, OpenType, Sensitivity, ShareType, UpdateFrequency

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
_F = UpdateFrequency

UPDATE_FREQUENCIES: Mapping[str, UpdateFrequency] = {
    **{f.value.lower(): f for f in UpdateFrequency},
    **{(_EU_FREQ + f.value).lower(): f for f in UpdateFrequency},
    "实时": _F.CONT,
    "每小时": _F.HOURLY,
    "每日": _F.DAILY,
    "每天": _F.DAILY,
    "每周": _F.WEEKLY,
    "每月": _F.MONTHLY,
    "每季度": _F.QUARTERLY,
    "每半年": _F.ANNUAL_2,
    "每年": _F.ANNUAL,
    "不定期": _F.IRREG,
    # English words, as platforms write them (spaces, dashes and underscores are equal).
    "continuous": _F.CONT,
    "continuously updated": _F.CONT,
    "continual": _F.CONT,
    "realtime": _F.CONT,
    "real time": _F.CONT,
    "live": _F.CONT,
    "hourly": _F.HOURLY,
    "daily": _F.DAILY,
    "three times a week": _F.WEEKLY_3,
    "semiweekly": _F.WEEKLY_2,
    "semi weekly": _F.WEEKLY_2,
    "twice weekly": _F.WEEKLY_2,
    "twice a week": _F.WEEKLY_2,
    "weekly": _F.WEEKLY,
    "biweekly": _F.BIWEEKLY,
    "fortnightly": _F.BIWEEKLY,
    "three times a month": _F.MONTHLY_3,
    "semimonthly": _F.MONTHLY_2,
    "semi monthly": _F.MONTHLY_2,
    "twice monthly": _F.MONTHLY_2,
    "twice a month": _F.MONTHLY_2,
    "monthly": _F.MONTHLY,
    "bimonthly": _F.BIMONTHLY,
    "quarterly": _F.QUARTERLY,
    "three times a year": _F.ANNUAL_3,
    "semiannual": _F.ANNUAL_2,
    "semiannually": _F.ANNUAL_2,
    "semi annual": _F.ANNUAL_2,
    "semi annually": _F.ANNUAL_2,
    "biannually": _F.ANNUAL_2,
    "twice a year": _F.ANNUAL_2,
    "annual": _F.ANNUAL,
    "annually": _F.ANNUAL,
    "yearly": _F.ANNUAL,
    "biennial": _F.BIENNIAL,
    "biennially": _F.BIENNIAL,
    "triennial": _F.TRIENNIAL,
    "quadrennial": _F.QUADRENNIAL,
    "quinquennial": _F.QUINQUENNIAL,
    "decennial": _F.DECENNIAL,
    "irregular": _F.IRREG,
    "irregularly": _F.IRREG,
    "as needed": _F.IRREG,
    "adhoc": _F.IRREG,
    "ad hoc": _F.IRREG,
    "never": _F.NEVER,
    "not planned": _F.NEVER,
}

_DAY = 1.0
_YEAR_DAYS = 365.25
_MONTH_DAYS = _YEAR_DAYS / 12

FREQUENCY_PERIOD_DAYS: Mapping[UpdateFrequency, float] = {
    _F.HOURLY: 1 / 24,
    _F.DAILY: _DAY,
    _F.WEEKLY_3: 7 / 3,
    _F.WEEKLY_2: 3.5,
    _F.WEEKLY: 7.0,
    _F.BIWEEKLY: 14.0,
    _F.MONTHLY_3: _MONTH_DAYS / 3,
    _F.MONTHLY_2: _MONTH_DAYS / 2,
    _F.MONTHLY: _MONTH_DAYS,
    _F.BIMONTHLY: 2 * _MONTH_DAYS,
    _F.QUARTERLY: 3 * _MONTH_DAYS,
    _F.ANNUAL_3: 4 * _MONTH_DAYS,
    _F.ANNUAL_2: 6 * _MONTH_DAYS,
    _F.ANNUAL: _YEAR_DAYS,
    _F.BIENNIAL: 2 * _YEAR_DAYS,
    _F.TRIENNIAL: 3 * _YEAR_DAYS,
    _F.QUADRENNIAL: 4 * _YEAR_DAYS,
    _F.QUINQUENNIAL: 5 * _YEAR_DAYS,
    _F.DECENNIAL: 10 * _YEAR_DAYS,
}
"""The nominal period of each regular frequency, in days (a month is a twelfth of a
Julian year). ``CONT``, ``IRREG``, ``NEVER`` and ``UNKNOWN`` have none."""

# A stated period this close to a nominal one (relative) is that frequency:
# "30" days is MONTHLY, "R/P3.5D" is WEEKLY_2; "every ten months" is none.
_PERIOD_TOLERANCE = 0.05

_DURATION = re.compile(
    r"^P(?:(?P<y>\d+(?:[.,]\d+)?)Y)?(?:(?P<mo>\d+(?:[.,]\d+)?)M)?(?:(?P<w>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<d>\d+(?:[.,]\d+)?)D)?(?:T(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<mi>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$"
)
_REPEAT = re.compile(r"^R\d*/", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s_\-]+")


def parse_duration(text: str) -> tuple[float, float, float] | None:
    """An ISO 8601 duration as (years, months, seconds); ``None`` if it is not one.

    >>> parse_duration("P1Y2M3DT4H")
    (1.0, 2.0, 273600.0)
    """
    upper = text.strip().upper()
    m = _DURATION.match(upper)
    if m is None or not any(m.groupdict().values()) or upper.endswith("T"):
        return None

    def num(name: str) -> float:
        return float((m[name] or "0").replace(",", "."))

    seconds = ((num("w") * 7 + num("d")) * 24 + num("h")) * 3600 + num("mi") * 60 + num("s")
    return num("y"), num("mo"), seconds


def frequency_for_days(days: float) -> UpdateFrequency | None:
    """The frequency whose period is ``days`` long (within 5%); under an hour is
    ``CONT``; ``None`` when no frequency has that period (e.g. 300 days)."""
    if days <= 0:
        return None
    if days < FREQUENCY_PERIOD_DAYS[_F.HOURLY] * (1 - _PERIOD_TOLERANCE):
        return _F.CONT
    for frequency, period in FREQUENCY_PERIOD_DAYS.items():
        if abs(days - period) <= period * _PERIOD_TOLERANCE:
            return frequency
    return None


def frequency_for_duration(
    years: float = 0, months: float = 0, seconds: float = 0
) -> UpdateFrequency | None:
    """The frequency of a repeating period (``time:years 1`` -> ``ANNUAL``)."""
    return frequency_for_days(years * _YEAR_DAYS + months * _MONTH_DAYS + seconds / 86400)


# HDX ``data_update_frequency``: a number of days, with three special values.
_HDX_SPECIAL_DAYS: Mapping[int, UpdateFrequency] = {-2: _F.IRREG, -1: _F.NEVER, 0: _F.CONT}


def parse_update_frequency_days(value: object) -> UpdateFrequency | None:
    """A period written as a whole number of days, as HDX's ``data_update_frequency``
    does (``"30"`` -> ``MONTHLY``; ``"-2"`` as needed, ``"-1"`` never, ``"0"`` live);
    other values go through ``parse_update_frequency``."""
    text = str(value).strip() if isinstance(value, (str, int)) else ""
    if not text.lstrip("-").isdigit():
        return parse_update_frequency(value)
    days = int(text)
    return _HDX_SPECIAL_DAYS.get(days) or frequency_for_days(days)


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
    """An update frequency from what platforms write; ``None`` for anything unknown.

    EU frequency URIs and codes, Chinese cycles (每月), English words ("Annually",
    "Semi-annually", "Twice weekly", "As needed"), and ISO 8601 durations with or
    without ``R/`` (``R/P1M``, ``P1D``, ``R/P3.5D``, ``R/PT0.1S``)::

        parse_update_frequency("每月")        # UpdateFrequency.MONTHLY
        parse_update_frequency("R/P0.5W")     # UpdateFrequency.WEEKLY_2
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    if not text:
        return None
    known = UPDATE_FREQUENCIES.get(text) or UPDATE_FREQUENCIES.get(_SEPARATORS.sub(" ", text))
    if known is not None:
        return known
    duration = parse_duration(_REPEAT.sub("", text))
    return frequency_for_duration(*duration) if duration is not None else None


def period_days(frequency: UpdateFrequency) -> float | None:
    """How many days one period of ``frequency`` lasts (``None`` for CONT, IRREG...)."""
    return FREQUENCY_PERIOD_DAYS.get(frequency)


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
