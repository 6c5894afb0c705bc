"""Reading the values ``data.json`` files hold: dates, durations, intervals, formats, text.

Real catalogues write the same thing many ways (``2020-05-01``, ``2020/05/01``,
``2020年5月1日``, RFC 2822; ``R/P1M`` or ``每月``; a media type in ``format``; HTML in a
description); each reader here accepts them all and answers ``None`` (or ``UNKNOWN``)
for what it cannot read, never raising.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from connectors.sdk._text import html_to_text
from schema import vocab
from schema.model import DataField, Temporal, UpdateFrequency
from schema.vocab import parse_duration

_YEAR = re.compile(r"^(\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_SLASHED = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:[ T](.*))?$")
_CHINESE_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(?:(\d{1,2})日)?")
_REPEAT = re.compile(r"^R\d*/", re.IGNORECASE)


def parse_date(value: object) -> datetime | None:
    """A timestamp from what ``data.json`` files write; naive values are UTC.

    ISO 8601 dates and date-times (``Z``, offsets, basic and week forms, a space for
    ``T``), ``2020``, ``2020-05``, ``2020/05/01``, ``2020年5月1日``, RFC 2822, and the
    start of a repeating interval (``R/2020-01-01/P1D``). ``None`` for a bare duration
    (``R/P1D``: "updated daily", no date) or anything else.
    """
    if not isinstance(value, str):
        return None
    text = _REPEAT.sub("", value.strip())
    if "/" in text and not _SLASHED.match(text):
        text = text.split("/", 1)[0]  # an interval: its start
    if not text or text.startswith("P"):
        return None
    parsed = _iso(text) or _loose_date(text)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _loose_date(text: str) -> datetime | None:
    try:
        if m := _YEAR.match(text):
            return datetime(int(m[1]), 1, 1)
        if m := _YEAR_MONTH.match(text):
            return datetime(int(m[1]), int(m[2]), 1)
        if m := _SLASHED.match(text):
            day = datetime(int(m[1]), int(m[2]), int(m[3]))
            if m[4]:
                return _iso(f"{day.date().isoformat()}T{m[4].strip()}") or day
            return day
        if m := _CHINESE_DATE.match(text):
            return datetime(int(m[1]), int(m[2]), int(m[3] or 1))
    except ValueError:  # month 13, day 32...
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def parse_frequency(value: object) -> UpdateFrequency:
    """``accrualPeriodicity`` (``R/P1M``, ``R/PT1H``, ``irregular``) or a Chinese cycle,
    read by the shared vocabulary (``schema.vocab``)."""
    return vocab.parse_update_frequency(value) or UpdateFrequency.UNKNOWN


def parse_temporal(value: object) -> Temporal | None:
    """``start/end``, ``start/duration`` or ``duration/end`` (ISO 8601 intervals)."""
    if not isinstance(value, str) or "/" not in value:
        return None
    parts = _REPEAT.sub("", value.strip()).split("/")
    if len(parts) != 2:
        return None
    first, second = parts
    start, end = parse_date(first), parse_date(second)
    if start is not None and end is None and (duration := parse_duration(second)):
        end = _shift(start, duration, +1)
    elif end is not None and start is None and (duration := parse_duration(first)):
        start = _shift(end, duration, -1)
    if start is None and end is None:
        return None
    return Temporal(start, end)


def _shift(moment: datetime, duration: tuple[float, float, float], sign: int) -> datetime:
    years, months, seconds = duration
    total_months = moment.month - 1 + sign * round(years * 12 + months)
    year, month = moment.year + total_months // 12, total_months % 12 + 1
    day = moment.day
    while True:  # 31 January + 1 month: the last day of February
        try:
            shifted = moment.replace(year=year, month=month, day=day)
            break
        except ValueError:
            day -= 1
    return shifted + sign * timedelta(seconds=seconds)


def slug(name: str) -> str:
    """A department id from a publisher name: ``Widget Services`` -> ``widget-services``;
    Chinese names keep their characters (``交通运输局``)."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[\W_]+", "-", text).strip("-") or "unknown"


# -- small readers ---------------------------------------------------------------------


def kind_of(value: object) -> str:
    return "null" if value is None else f"a {type(value).__name__}"


def present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return not (isinstance(value, (list, dict)) and not value)


def as_text(value: object) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def first_text(value: object) -> str | None:
    if isinstance(value, list):
        return next((t for t in map(as_text, value) if t), None)
    return as_text(value)


def strip_scheme(value: object, scheme: str) -> str | None:
    text = as_text(value)
    if text is not None and text.lower().startswith(scheme):
        text = text[len(scheme) :].strip() or None
    return text


def as_count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def dicts(value: object) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def term_list(value: object) -> tuple[str, ...]:
    """Keywords or themes: a list of strings, or one string separated by , ， ; 、"""
    if isinstance(value, str):
        items: list[object] = list(re.split(r"[,，;；、]", value))
    elif isinstance(value, list):
        items = value
    else:
        return ()
    return tuple(dict.fromkeys(t for t in map(as_text, items) if t))


def spatial_text(value: object) -> str | None:
    if isinstance(value, (dict, list)):  # GeoJSON written inline
        return json.dumps(value, ensure_ascii=False)
    return as_text(value)


def data_fields(raw: object) -> tuple[DataField, ...]:
    """Data items: a list of ``{name, type, description}`` (or that list as JSON text)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return ()
    out = []
    for item in dicts(raw) if isinstance(raw, list) else []:
        name = as_text(item.get("name"))
        if name is not None:
            out.append(
                DataField(
                    name=name,
                    type=as_text(item.get("type")),
                    description=as_text(item.get("description")),
                )
            )
    return tuple(out)


plain_text = html_to_text
