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
