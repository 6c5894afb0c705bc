"""GraphQL types of the quality indicators and the quality report (no I/O here).

The gateway's ``gateway.quality`` package computes the figures and builds these objects;
``docs/quality.md`` documents every indicator and its weight.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.types import Info


@strawberry.enum(description="Whether a dataset was updated as often as it declares.")
class TimelinessStatus(enum.Enum):
    ON_TIME = "ON_TIME"
    OVERDUE = "OVERDUE"
    UNKNOWN = "UNKNOWN"


@strawberry.enum(description="What the background link checker found.")
class LinkStatus(enum.Enum):
    OK = "OK"
    BROKEN = "BROKEN"
    UNCHECKED = "UNCHECKED"


@strawberry.type(description="The declared update frequency against `modified`.")
class Timeliness:
    status: TimelinessStatus
    expected_by: datetime | None = strawberry.field(
        description="`modified` + one period of the frequency + the grace (10% by default)."
    )
    days_overdue: int | None = strawberry.field(description="Whole days past `expectedBy`.")


@strawberry.type(description="The download and access URLs, as last checked.")
class LinkCheck:
    status: LinkStatus
    checked_at: datetime | None
    http_status: int | None = strawberry.field(
        description="The worst HTTP status met (null when none answered)."
    )


@strawberry.type(description="A rule the metadata breaks.")
class QualityProblem:
    code: str = strawberry.field(
        description=(
            "MISSING_SHARE_CONDITION, MISSING_NOT_SHARED_BASIS, MISSING_CONTACT, "
            "MISSING_LICENSE, MISSING_UPDATE_FREQUENCY, MISSING_DESCRIPTION, "
            "NO_MACHINE_READABLE_FORMAT, OVERDUE, BROKEN_LINK, UNKNOWN_CLASS_VALUE"
        )
    )
    field: str | None
    message: str


@strawberry.type(description="Quality indicators of one dataset's metadata (0-100 each).")
class DatasetQuality:
    score: int = strawberry.field(description="Weighted sum of the five dimensions.")
    findability: int
    accessibility: int
    interoperability: int
    reusability: int
    contextuality: int
    openness: int = strawberry.field(
        description="Berners-Lee's five stars from the best distribution format (0: none)."
    )
    timeliness: Timeliness
    links: LinkCheck
    problems: list[QualityProblem]


@strawberry.type
class CountByValue:
    value: str
    count: int


@strawberry.type
class ProblemCount:
    code: str
    count: int


@strawberry.type(description="One department's figures in a quality report.")
class DepartmentQuality:
    department: str = strawberry.field(description="The department's id.")
    name: str | None
    datasets: int
    by_share_type: list[CountByValue]
    by_open_type: list[CountByValue]
    overdue: int
    broken_links: int
    machine_readable_share: float = strawberry.field(
        description="Share (0-1) of datasets with at least one 3-star (or better) format."
    )
    average_score: float
    problems: list[ProblemCount]

    @strawberry.field(
        description="Its open-data demands and error reports now (docs/workflows.md); null "
        "when the gateway keeps no store."
    )
    async def demands(self, info: Info[Any, None]) -> DepartmentDemands | None:
        figures: DepartmentDemands | None = await info.context.department_demands(self.department)
        return figures


@strawberry.type(description="A department's open-data demands, as its report shows them.")
class DepartmentDemands:
    open: int = strawberry.field(description="Assigned to it and not answered yet.")
    overdue: int = strawberry.field(description="Of those, past their deadline (dueAt).")
    answered_late: int = strawberry.field(description="Answered after their deadline.")


@strawberry.type(description="A department's figures on one day (the last sweep of that day).")
class QualityHistoryPoint:
    day: date
    department: str
    datasets: int
    overdue: int
    broken_links: int
    machine_readable_share: float
    average_score: float


@strawberry.type(description="Quality figures per department, from the last background sweep.")
class QualityReport:
    generated_at: datetime | None = strawberry.field(
        description="When the sweep the figures come from ended; null before the first one."
    )
    departments: list[DepartmentQuality]
    # The departments (and the scope of each) this viewer may see; used by history.
    visible: strawberry.Private[dict[str, str]]

    @strawberry.field(description="Each department's figures per day, the last `days` days.")
    async def history(self, info: Info[Any, None], days: int = 30) -> list[QualityHistoryPoint]:
        points: list[QualityHistoryPoint] = await info.context.quality_history(self.visible, days)
        return points
