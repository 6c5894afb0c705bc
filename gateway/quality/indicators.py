"""Quality indicators of one dataset, from the metadata the gateway already has.

``assess(dataset, now=..., link=...)`` is a pure function: no I/O, no store. The five
dimensions follow the EU Metadata Quality Assessment (MQA, data.europa.eu); each is scored
0-100 from the checks in ``_DIMENSION_CHECKS`` and the overall score weighs them as the MQA
weighs its dimensions (its maximum points: 100, 100, 110, 75, 20 of 405). docs/quality.md
lists every check, its points and how a department earns them.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from schema import vocab
from schema.model import Dataset, OpenType, ShareType, UpdateFrequency

DEFAULT_GRACE_FRACTION = 0.1


class Timeliness(enum.Enum):
    ON_TIME = "ON_TIME"
    OVERDUE = "OVERDUE"
    UNKNOWN = "UNKNOWN"


class LinkState(enum.Enum):
    OK = "OK"
    BROKEN = "BROKEN"
    UNCHECKED = "UNCHECKED"


class ProblemCode(enum.Enum):
    MISSING_SHARE_CONDITION = "MISSING_SHARE_CONDITION"
    MISSING_NOT_SHARED_BASIS = "MISSING_NOT_SHARED_BASIS"
    MISSING_CONTACT = "MISSING_CONTACT"
    MISSING_LICENSE = "MISSING_LICENSE"
    MISSING_UPDATE_FREQUENCY = "MISSING_UPDATE_FREQUENCY"
    MISSING_DESCRIPTION = "MISSING_DESCRIPTION"
    NO_MACHINE_READABLE_FORMAT = "NO_MACHINE_READABLE_FORMAT"
    OVERDUE = "OVERDUE"
    BROKEN_LINK = "BROKEN_LINK"
    UNKNOWN_CLASS_VALUE = "UNKNOWN_CLASS_VALUE"


@dataclass(frozen=True, slots=True)
class LinkResult:
    """What the link checker last found for a dataset's URLs (the worst of them)."""

    state: LinkState
    checked_at: datetime | None = None
    http_status: int | None = None


UNCHECKED = LinkResult(LinkState.UNCHECKED)


@dataclass(frozen=True, slots=True)
class Problem:
    code: ProblemCode
    field: str | None
    message: str


@dataclass(frozen=True, slots=True)
class TimelinessResult:
    status: Timeliness
    expected_by: datetime | None = None
    days_overdue: int | None = None


@dataclass(frozen=True, slots=True)
class Quality:
    score: int
    findability: int
    accessibility: int
    interoperability: int
    reusability: int
    contextuality: int
    openness: int
    timeliness: TimelinessResult
    links: LinkResult
    problems: tuple[Problem, ...]

    @property
    def machine_readable(self) -> bool:
        return self.openness >= 3


# The MQA's maximum points per dimension, used as weights.
WEIGHTS: Mapping[str, int] = {
    "findability": 100,
    "accessibility": 100,
    "interoperability": 110,
    "reusability": 75,
    "contextuality": 20,
}

# -- timeliness ---------------------------------------------------------------------------

# CONT and HOURLY are checked as DAILY (docs/quality.md "Timeliness").
_CHECKED_AS_DAILY = frozenset({UpdateFrequency.CONT, UpdateFrequency.HOURLY})
_MONTH_DAYS = vocab.period_days(UpdateFrequency.MONTHLY) or 0.0


def update_period(frequency: UpdateFrequency) -> tuple[int, float] | None:
    """One period of ``frequency`` as (calendar months, days): whole months of the
    vocabulary's period (``schema.vocab.period_days``) count in calendar months, shorter
    periods in days; ``None`` for a frequency without one (IRREG, NEVER, UNKNOWN)."""
    if frequency in _CHECKED_AS_DAILY:
        frequency = UpdateFrequency.DAILY
    days = vocab.period_days(frequency)
    if days is None:
        return None
    months = round(days / _MONTH_DAYS)
    if months >= 1 and abs(days - months * _MONTH_DAYS) < 1e-9:
        return months, 0.0
    return 0, days


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later, the day clamped to the month's end (Jan 31 + 1 = Feb 28)."""
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def timeliness(
    dataset: Dataset, now: datetime, grace_fraction: float = DEFAULT_GRACE_FRACTION
) -> TimelinessResult:
    """ON_TIME / OVERDUE against ``modified`` + one period + the grace; UNKNOWN without a
    periodic frequency (IRREG, NEVER, UNKNOWN) or without ``modified``."""
    one_period = update_period(dataset.update_frequency)
    modified = dataset.modified
    if one_period is None or modified is None:
        return TimelinessResult(Timeliness.UNKNOWN)
    months, days = one_period
    next_due = add_months(modified, months) + timedelta(days=days)
    expected_by = next_due + (next_due - modified) * grace_fraction
    if now.tzinfo is None or expected_by.tzinfo is None:
        now, expected_by = now.replace(tzinfo=None), expected_by.replace(tzinfo=None)
    if now <= expected_by:
        return TimelinessResult(Timeliness.ON_TIME, expected_by)
    return TimelinessResult(Timeliness.OVERDUE, expected_by, (now - expected_by).days)


# -- openness -----------------------------------------------------------------------------

_STARS: Mapping[str, int] = {
    **dict.fromkeys(
        ("PDF", "DOC", "DOCX", "JPG", "JPEG", "PNG", "GIF", "TIFF", "TIF", "BMP", "HTML"), 1
    ),
    **dict.fromkeys(("XLS", "XLSX"), 2),
    **dict.fromkeys(
        ("CSV", "JSON", "XML", "TSV", "GEOJSON", "ODS", "API", "KML", "GML", "WMS", "WFS"), 3
    ),
    **dict.fromkeys(("RDF", "TTL", "TURTLE", "JSON-LD", "JSONLD", "N-TRIPLES", "NT", "N3"), 4),
}
# Open, documented formats (no vendor lock-in), for the interoperability check.
_NON_PROPRIETARY = frozenset(f for f, stars in _STARS.items() if stars >= 3) | {"PDF", "HTML"}


def openness(dataset: Dataset) -> int:
    """Stars of the best distribution format; 5 for RDF that links to other resources by
    URI (``related_resources``), 1 for a format not listed, 0 without a distribution."""
    if not dataset.distributions:
        return 0
    best = max(_STARS.get((d.format or "").upper().strip(), 1) for d in dataset.distributions)
    linked = any(r.startswith(("http://", "https://")) for r in dataset.related_resources)
    return 5 if best == 4 and linked else best


# -- problems -----------------------------------------------------------------------------


def problems(
    dataset: Dataset, stars: int, when: TimelinessResult, link: LinkResult
) -> tuple[Problem, ...]:
    found: list[Problem] = []

    def add(code: ProblemCode, field: str | None, message: str) -> None:
        found.append(Problem(code, field, message))

    if dataset.share_type is ShareType.CONDITIONAL and not dataset.share_condition:
        add(
            ProblemCode.MISSING_SHARE_CONDITION,
            "shareCondition",
            "conditional sharing without the condition",
        )
    if dataset.share_type is ShareType.NOT_SHARED and not dataset.not_shared_basis:
        add(
            ProblemCode.MISSING_NOT_SHARED_BASIS,
            "notSharedBasis",
            "not shared without the legal basis",
        )
    contact = dataset.contact_point
    if contact is None or not (contact.email or contact.phone):
        add(ProblemCode.MISSING_CONTACT, "contactPoint", "no contact email or phone")
    if dataset.open_type is not OpenType.NOT_OPEN and not _has_license(dataset):
        add(ProblemCode.MISSING_LICENSE, "license", "open data without a licence")
    if dataset.update_frequency is UpdateFrequency.UNKNOWN:
        add(ProblemCode.MISSING_UPDATE_FREQUENCY, "updateFrequency", "no update frequency")
    if not (dataset.description or "").strip():
        add(ProblemCode.MISSING_DESCRIPTION, "description", "no description")
    if stars < 3:
        add(
            ProblemCode.NO_MACHINE_READABLE_FORMAT,
            "distributions",
            "no machine-readable format (CSV, JSON, XML, RDF...)",
        )
    if when.status is Timeliness.OVERDUE:
        add(
            ProblemCode.OVERDUE,
            "modified",
            f"not updated for {when.days_overdue} days past its declared frequency",
        )
    if link.state is LinkState.BROKEN:
        add(ProblemCode.BROKEN_LINK, "distributions", f"a link answered {link.http_status}")
    for field, vocabulary, value in (
        ("resourceClass", vocab.RESOURCE_CLASSES, dataset.resource_class),
        ("formatClass", vocab.FORMAT_CLASSES, dataset.format_class),
        ("shareMethod", vocab.SHARE_METHODS, dataset.share_method),
    ):
        if not vocab.known_class_value(vocabulary, value):
            add(ProblemCode.UNKNOWN_CLASS_VALUE, field, f"{value!r} is not a known value")
    return tuple(found)


_NO_LICENSE = frozenset({"notspecified", "license not specified", "未指定", "other-closed"})


def _has_license(dataset: Dataset) -> bool:
    text = (dataset.license or "").strip().lower()
    return bool(text) and text not in _NO_LICENSE


# -- dimensions ---------------------------------------------------------------------------

_Check = tuple[int, Callable[[Dataset, "_Facts"], bool]]


@dataclass(frozen=True, slots=True)
class _Facts:
    stars: int
    link: LinkResult
    problem_codes: frozenset[ProblemCode]


def _formats(ds: Dataset) -> list[str]:
    return [(d.format or "").upper().strip() for d in ds.distributions]


_DIMENSION_CHECKS: Mapping[str, tuple[_Check, ...]] = {
    "findability": (
        (30, lambda ds, _: bool(ds.keywords)),
        (30, lambda ds, _: bool(ds.themes)),
        (20, lambda ds, _: bool(ds.spatial)),
        (20, lambda ds, _: ds.temporal is not None),
    ),
    "accessibility": (
        (
            50,
            lambda ds, _: (
                bool(ds.distributions)
                and all(d.access_url or d.download_url for d in ds.distributions)
            ),
        ),
        (20, lambda ds, _: any(d.download_url for d in ds.distributions)),
        (30, lambda _, f: f.link.state is LinkState.OK),
        (15, lambda _, f: f.link.state is LinkState.UNCHECKED),  # half credit until checked
    ),
    "interoperability": (
        (20, lambda ds, _: bool(ds.distributions) and all(_formats(ds))),
        (10, lambda ds, _: bool(ds.distributions) and all(d.media_type for d in ds.distributions)),
        (20, lambda ds, _: any(f in _NON_PROPRIETARY for f in _formats(ds))),
        (20, lambda _, f: f.stars >= 3),
        (
            30,
            lambda ds, f: (
                ProblemCode.UNKNOWN_CLASS_VALUE not in f.problem_codes
                and ds.format_class is not None
                and ds.resource_code is not None
            ),
        ),
    ),
    "reusability": (
        (30, lambda ds, _: _has_license(ds)),
        (
            20,
            lambda _, f: (
                not f.problem_codes
                & {ProblemCode.MISSING_SHARE_CONDITION, ProblemCode.MISSING_NOT_SHARED_BASIS}
            ),
        ),
        (30, lambda _, f: ProblemCode.MISSING_CONTACT not in f.problem_codes),
        (20, lambda ds, _: ds.department is not None),
    ),
    "contextuality": (
        (25, lambda ds, _: any(d.byte_size is not None for d in ds.distributions)),
        (25, lambda ds, _: ds.issued is not None),
        (25, lambda ds, _: ds.modified is not None),
        (25, lambda ds, _: bool((ds.description or "").strip())),
    ),
}


def assess(
    dataset: Dataset,
    *,
    now: datetime,
    link: LinkResult = UNCHECKED,
    grace_fraction: float = DEFAULT_GRACE_FRACTION,
) -> Quality:
    """Every indicator of ``dataset`` as of ``now``."""
    stars = openness(dataset)
    when = timeliness(dataset, now, grace_fraction)
    found = problems(dataset, stars, when, link)
    facts = _Facts(stars, link, frozenset(p.code for p in found))
    dims = {
        name: min(100, sum(points for points, check in checks if check(dataset, facts)))
        for name, checks in _DIMENSION_CHECKS.items()
    }
    total = sum(WEIGHTS.values())
    score = round(sum(dims[name] * weight for name, weight in WEIGHTS.items()) / total)
    return Quality(
        score=score,
        findability=dims["findability"],
        accessibility=dims["accessibility"],
        interoperability=dims["interoperability"],
        reusability=dims["reusability"],
        contextuality=dims["contextuality"],
        openness=stars,
        timeliness=when,
        links=link,
        problems=found,
    )
