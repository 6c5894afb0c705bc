"""From the indicators (``gateway.quality.indicators``) to their GraphQL objects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from gateway.quality.indicators import (
    DEFAULT_GRACE_FRACTION,
    UNCHECKED,
    LinkResult,
    Quality,
    assess,
)
from gateway.quality.report import DepartmentFigures, HistoryPoint, QualityReports
from schema import graphql_quality as gq
from schema.model import Dataset

# The link checker's last result for a dataset (``source_id``, ``local_id``), if any.
LinkLookup = Callable[[str, str], Awaitable[LinkResult | None]]


@dataclass(frozen=True, slots=True)
class QualityAssessor:
    """Computes ``Dataset.quality`` for the resolver; only called when it is selected."""

    grace_fraction: float = DEFAULT_GRACE_FRACTION
    links: LinkLookup | None = None

    async def quality(self, dataset: Dataset, now: datetime) -> gq.DatasetQuality:
        link = UNCHECKED
        if self.links is not None:
            link = await self.links(dataset.source_id, dataset.local_id) or UNCHECKED
        return quality_type(assess(dataset, now=now, link=link, grace_fraction=self.grace_fraction))


def quality_type(q: Quality) -> gq.DatasetQuality:
    return gq.DatasetQuality(
        score=q.score,
        findability=q.findability,
        accessibility=q.accessibility,
        interoperability=q.interoperability,
        reusability=q.reusability,
        contextuality=q.contextuality,
        openness=q.openness,
        timeliness=gq.Timeliness(
            status=gq.TimelinessStatus(q.timeliness.status.value),
            expected_by=q.timeliness.expected_by,
            days_overdue=q.timeliness.days_overdue,
        ),
        links=gq.LinkCheck(
            status=gq.LinkStatus(q.links.state.value),
            checked_at=q.links.checked_at,
            http_status=q.links.http_status,
        ),
        problems=[
            gq.QualityProblem(code=p.code.value, field=p.field, message=p.message)
            for p in q.problems
        ],
    )


def department_type(shown: DepartmentFigures) -> gq.DepartmentQuality:
    f = shown.figures
    return gq.DepartmentQuality(
        department=shown.department,
        name=shown.name,
        datasets=f["datasets"],
        by_share_type=[gq.CountByValue(value=k, count=v) for k, v in f["by_share_type"].items()],
        by_open_type=[gq.CountByValue(value=k, count=v) for k, v in f["by_open_type"].items()],
        overdue=f["overdue"],
        broken_links=f["broken_links"],
        machine_readable_share=f["machine_readable_share"],
        average_score=f["average_score"],
        problems=[gq.ProblemCount(code=k, count=v) for k, v in f["problems"].items()],
    )


def history_type(point: HistoryPoint) -> gq.QualityHistoryPoint:
    f = point.figures
    return gq.QualityHistoryPoint(
        day=point.day,
        department=point.department,
        datasets=f["datasets"],
        overdue=f["overdue"],
        broken_links=f["broken_links"],
        machine_readable_share=f["machine_readable_share"],
        average_score=f["average_score"],
    )


async def quality_report(
    reports: QualityReports, visible: dict[str, str], departments: list[str] | None
) -> gq.QualityReport:
    shown = await reports.latest(visible, departments)
    return gq.QualityReport(
        generated_at=max((s.generated_at for s in shown), default=None),
        departments=[department_type(s) for s in shown],
        visible=visible,
    )
