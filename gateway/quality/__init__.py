"""Quality indicators, link checking, reports and catalogue exports."""

from __future__ import annotations

from gateway.quality.graphql import LinkLookup, QualityAssessor
from gateway.quality.indicators import (
    DEFAULT_GRACE_FRACTION,
    WEIGHTS,
    LinkResult,
    LinkState,
    ProblemCode,
    Quality,
    Timeliness,
    assess,
)
from gateway.quality.settings import LinkCheckSettings, QualitySettings

__all__ = [
    "DEFAULT_GRACE_FRACTION",
    "WEIGHTS",
    "LinkCheckSettings",
    "LinkLookup",
    "LinkResult",
    "LinkState",
    "ProblemCode",
    "Quality",
    "QualityAssessor",
    "QualitySettings",
    "Timeliness",
    "assess",
]
