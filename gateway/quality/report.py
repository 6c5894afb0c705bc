"""Quality reports: who sees which department's figures, and the figures themselves.

``qualityReport``: bureau roles see every department; a department's members see their
own; anyone else is refused. ``/reports`` is public: anonymous callers see every
department's figures over the open directory; with credentials, bureau roles see every
department's full figures and a department's members their own department's full figures
(the others' over the open directory).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from gateway.access import Caller
from gateway.quality.repository import DepartmentRow, QualityRepository
from gateway.quality.sweep import figures_for

ALL, OPEN = "all", "open"


@dataclass(frozen=True, slots=True)
class DepartmentFigures:
    department: str
    name: str | None
    generated_at: datetime
    figures: dict[str, Any]  # figures.summary(...)


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    day: date
    department: str
    figures: dict[str, Any]


def graphql_scope(caller: Caller, bureau: bool) -> dict[str, str] | None:
    """Department -> scope for ``qualityReport``; ``{"*": ALL}`` for every department;
    ``None``: not for this caller."""
    if bureau:
        return {"*": ALL}
    if caller.department and not caller.anonymous:
        return {caller.department: ALL}
    return None


def page_scope(caller: Caller, bureau: bool) -> dict[str, str]:
    """Department -> scope for ``/reports`` (``"*"``: every other department)."""
    if bureau:
        return {"*": ALL}
    if caller.department and not caller.anonymous:
        return {caller.department: ALL, "*": OPEN}
    return {"*": OPEN}


def _scope_of(visible: dict[str, str], department: str) -> str | None:
    return visible.get(department, visible.get("*"))


class QualityReports:
    def __init__(self, repository: QualityRepository) -> None:
        self.repository = repository

    async def latest(
        self, visible: dict[str, str], departments: list[str] | None = None
    ) -> list[DepartmentFigures]:
        out = []
        for row in await self.repository.latest():
            shown = self._shown(row, visible, departments)
            if shown is not None:
                out.append(shown)
        return out

    async def history(
        self, visible: dict[str, str], days: int, now: datetime
    ) -> list[HistoryPoint]:
        """One point per department and day (the day's last sweep), oldest first."""
        since = now - timedelta(days=max(0, min(days, 3660)))
        last: dict[tuple[date, str], HistoryPoint] = {}
        for row in await self.repository.history(since):
            shown = self._shown(row, visible, None)
            if shown is not None:
                day = row.generated_at.date()
                last[(day, row.department)] = HistoryPoint(day, row.department, shown.figures)
        return [last[key] for key in sorted(last)]

    @staticmethod
    def _shown(
        row: DepartmentRow, visible: dict[str, str], departments: list[str] | None
    ) -> DepartmentFigures | None:
        if departments is not None and row.department not in departments:
            return None
        scope = _scope_of(visible, row.department)
        if scope is None:
            return None
        figures = figures_for(scope, dict(row.figures))
        if scope == OPEN and figures["datasets"] == 0:
            return None  # nothing of it is in the open directory
        return DepartmentFigures(row.department, row.name, row.generated_at, figures)
