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
from gateway.quality.links import LinkChecker
from gateway.quality.report import QualityReports, graphql_scope, page_scope
from gateway.quality.repository import QualityRepository
from gateway.quality.settings import LinkCheckSettings, QualitySettings
from gateway.quality.sweep import QualitySweep

__all__ = [
    "DEFAULT_GRACE_FRACTION",
    "WEIGHTS",
    "LinkCheckSettings",
    "LinkChecker",
    "LinkLookup",
    "LinkResult",
    "LinkState",
    "ProblemCode",
    "Quality",
    "QualityAssessor",
    "QualityReports",
    "QualityRepository",
    "QualitySettings",
    "QualitySweep",
    "Timeliness",
    "assess",
    "graphql_scope",
    "page_scope",
]
