"""The quality sweep's figures and the link checker's results, in the store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gateway.quality.indicators import LinkResult, LinkState
from gateway.store import (
    Store,
    quality_dataset_links,
    quality_department_figures,
    quality_sweep_sources,
    quality_sweeps,
)

# Per department: {"all": counts, "open": counts}; see gateway.quality.figures.
Figures = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class DepartmentRow:
    sweep_id: int
    department: str
    name: str | None
    generated_at: datetime
    figures: Mapping[str, Any]


class QualityRepository:
    """Sweeps (resumable per source), department figures and their history, link results."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- sweeps ---------------------------------------------------------------------------

    async def resume_or_start(self, now: datetime) -> tuple[int, set[str]]:
        """The unfinished sweep (and the sources it already did), else a new one."""
        async with self.store.transaction() as conn:
            row = (
                await conn.execute(
                    sa.select(quality_sweeps.c.id)
                    .where(quality_sweeps.c.finished_at.is_(None))
                    .order_by(quality_sweeps.c.id.desc())
                    .limit(1)
                )
            ).first()
            if row is None:
                result = await conn.execute(quality_sweeps.insert().values(started_at=now))
                key = result.inserted_primary_key
                assert key is not None
                return int(key[0]), set()
            sweep_id = int(row.id)
            done = await conn.execute(
                sa.select(quality_sweep_sources.c.source_id).where(
                    quality_sweep_sources.c.sweep_id == sweep_id
                )
            )
            return sweep_id, {r.source_id for r in done}

    async def source_done(
        self, sweep_id: int, source_id: str, figures: Figures, now: datetime
    ) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                quality_sweep_sources.insert().values(
                    sweep_id=sweep_id, source_id=source_id, finished_at=now, figures=figures
                )
            )

    async def finish(
        self, sweep_id: int, now: datetime, merge: Any, names: Mapping[str, str]
    ) -> None:
        """Merge the sources' figures per department (``merge(list) -> figures``) and close
        the sweep, in one transaction."""
        async with self.store.transaction() as conn:
            rows = await conn.execute(
                sa.select(quality_sweep_sources.c.figures).where(
                    quality_sweep_sources.c.sweep_id == sweep_id
                )
            )
            per_department: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                for department, figures in row.figures.items():
                    per_department.setdefault(department, []).append(figures)
            for department, parts in per_department.items():
                await conn.execute(
                    quality_department_figures.insert().values(
                        sweep_id=sweep_id,
                        department=department,
                        name=names.get(department),
                        generated_at=now,
                        figures=merge(parts),
                    )
                )
            await conn.execute(
                quality_sweeps.update()
                .where(quality_sweeps.c.id == sweep_id)
                .values(finished_at=now)
            )

    # -- reports --------------------------------------------------------------------------

    async def latest(self) -> list[DepartmentRow]:
        """Every department's figures of the last finished sweep."""
        async with self.store.connect() as conn:
            last = (
                await conn.execute(
                    sa.select(sa.func.max(quality_sweeps.c.id)).where(
                        quality_sweeps.c.finished_at.is_not(None)
                    )
                )
            ).scalar()
            if last is None:
                return []
            rows = await conn.execute(
                sa.select(quality_department_figures)
                .where(quality_department_figures.c.sweep_id == last)
                .order_by(quality_department_figures.c.department)
            )
            return [_row(r) for r in rows]

    async def history(self, since: datetime) -> list[DepartmentRow]:
        """Department figures of every finished sweep since ``since``, oldest first."""
        async with self.store.connect() as conn:
            rows = await conn.execute(
                sa.select(quality_department_figures)
                .where(quality_department_figures.c.generated_at >= since)
                .order_by(
                    quality_department_figures.c.generated_at,
                    quality_department_figures.c.department,
                )
            )
            return [_row(r) for r in rows]

    # -- links ----------------------------------------------------------------------------

    async def save_links(self, results: Iterable[tuple[str, str, LinkResult]]) -> None:
        rows = [
            {
                "source_id": source_id,
                "local_id": local_id,
                "state": result.state.value,
                "http_status": result.http_status,
                "checked_at": result.checked_at,
            }
            for source_id, local_id, result in results
            if result.checked_at is not None
        ]
        if not rows:
            return
        table = quality_dataset_links
        async with self.store.transaction() as conn:
            keys = [(r["source_id"], r["local_id"]) for r in rows]
            await conn.execute(
                table.delete().where(sa.tuple_(table.c.source_id, table.c.local_id).in_(keys))
            )
            await conn.execute(table.insert(), rows)

    async def link(self, source_id: str, local_id: str) -> LinkResult | None:
        table = quality_dataset_links
        async with self.store.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(table).where(
                        table.c.source_id == source_id, table.c.local_id == local_id
                    )
                )
            ).first()
        if row is None:
            return None
        return LinkResult(LinkState(row.state), row.checked_at, row.http_status)


def _row(row: Any) -> DepartmentRow:
    return DepartmentRow(row.sweep_id, row.department, row.name, row.generated_at, row.figures)
