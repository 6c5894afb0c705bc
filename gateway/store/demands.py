"""The data demands' repository: demands, their themes and supporters, the anonymous
submission window.

Reads open their own connection; writes take the caller's connection, so a state change
and its outbox event (``append_event``) commit together::

    async with repository.store.transaction() as conn:
        await repository.update(conn, demand, state="ASSIGNED", ...)
        await append_event(conn, "data_demand.assigned", subject, {...})

``update`` compares the row's ``version`` with the one read: a change based on a stale read
raises ``StaleDemand`` instead of overwriting someone else's (two reviewers answering at
once, on two replicas). States are plain strings here; their rules live in
``gateway.workflows.demands``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.engine import Store
from gateway.store.tables import (
    data_demand_anonymous_submissions,
    data_demand_supporters,
    data_demand_themes,
    data_demands,
)


class StaleDemand(Exception):
    """The demand changed since it was read; read it again and retry."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _DemandFields:
    """What a demand is submitted with: the columns of ``data_demands`` set at insert
    (``themes`` live in ``data_demand_themes``)."""

    kind: str
    state: str
    title: str
    description: str
    dataset_id: str | None
    department: str | None
    department_name: str | None
    themes: tuple[str, ...]
    purpose: str | None
    contact: Mapping[str, str | None]
    submitter_id: str | None
    receipt_sha256: str
    due_at: datetime
    assigned_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DemandRecord(_DemandFields):
    """A stored demand as read: every column of ``data_demands`` and its themes."""

    id: int
    support_count: int
    answer_decision: str | None
    answer_reason: str | None
    answer_planned_date: date | None
    answer_dataset_ids: tuple[str, ...]
    answered_at: datetime | None
    answered_by: str | None
    answer_late: bool | None
    close_reason: str | None
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDemand(_DemandFields):
    """A demand to insert; ``now`` is its creation time."""

    now: datetime


@dataclass(frozen=True, slots=True)
class DemandFilter:
    kind: str | None = None
    state: str | None = None
    department: str | None = None


@dataclass(frozen=True, slots=True)
class DemandPage:
    records: list[DemandRecord]
    has_next: bool
    total: int


@dataclass(frozen=True, slots=True)
class Ranked:
    """One line of the ranking: a theme, department or dataset id and its demands' sum."""

    value: str
    support_count: int
    demands: int
    name: str | None = None


@dataclass(slots=True)
class DepartmentDemands:
    """A department's figures for its quality report."""

    open: int = 0  # assigned to it, not answered yet
    overdue: int = 0  # of those, past their deadline
    answered_late: int = 0  # answered after the deadline
    open_ids: list[int] = field(default_factory=list)


def receipt_hash(receipt: str) -> str:
    return hashlib.sha256(receipt.encode("utf-8", "surrogatepass")).hexdigest()


def client_hash(address_key: str) -> str:
    return hashlib.sha256(b"data-demand-client:" + address_key.encode()).hexdigest()


_RANKED_STATES = ("RECEIVED", "ASSIGNED", "ANSWERED")  # a CLOSED demand asks nothing more


class DemandRepository:
    """Demands in the store (one aggregate: a demand with its themes and supporters)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reads ------------------------------------------------------------------------

    async def get(self, demand_id: int) -> DemandRecord | None:
        async with self.store.connect() as conn:
            found = await self._records(conn, data_demands.c.id == demand_id)
        return found[0] if found else None

    async def page(self, where: DemandFilter, first: int, after_id: int | None) -> DemandPage:
        """Newest first; ``after_id`` continues after that demand (keyset paging)."""
        conditions = _conditions(where)
        async with self.store.connect() as conn:
            total = await conn.scalar(
                sa.select(sa.func.count()).select_from(data_demands).where(*conditions)
            )
            if after_id is not None:
                conditions.append(data_demands.c.id < after_id)
            records = await self._records(conn, *conditions, limit=first + 1)
        return DemandPage(records[:first], len(records) > first, int(total or 0))

    async def ranking(self, first: int) -> tuple[list[Ranked], list[Ranked], list[Ranked]]:
        """Themes, departments and dataset ids by the summed support of their demands that
        are not CLOSED; ties by number of demands, then by value. Datasets: up to
        ``4 * first`` lines, for the caller to drop those the viewer may not see."""
        live = data_demands.c.state.in_(_RANKED_STATES)
        support = sa.func.sum(data_demands.c.support_count)
        count = sa.func.count(data_demands.c.id)
        theme = data_demand_themes.c.theme
        department = data_demands.c.department
        dataset = data_demands.c.dataset_id
        async with self.store.connect() as conn:
            themes = await conn.execute(
                sa.select(theme, support, count)
                .select_from(data_demand_themes.join(data_demands))
                .where(live)
                .group_by(theme)
                .order_by(support.desc(), count.desc(), theme)
                .limit(first)
            )
            departments = await conn.execute(
                sa.select(department, sa.func.max(data_demands.c.department_name), support, count)
                .where(live, department.is_not(None))
                .group_by(department)
                .order_by(support.desc(), count.desc(), department)
                .limit(first)
            )
            datasets = await conn.execute(
                sa.select(dataset, support, count)
                .where(live, dataset.is_not(None))
                .group_by(dataset)
                .order_by(support.desc(), count.desc(), dataset)
                .limit(4 * first)
            )
            return (
                [Ranked(r[0], int(r[1]), int(r[2])) for r in themes],
                [Ranked(r[0], int(r[2]), int(r[3]), name=r[1]) for r in departments],
                [Ranked(r[0], int(r[1]), int(r[2])) for r in datasets],
            )

    async def open_and_overdue_by_department(self, now: datetime) -> dict[str, DepartmentDemands]:
        """Per department: its open (assigned, unanswered) demands, how many of them are
        overdue at ``now``, and how many it answered late (for the quality report)."""
        figures: dict[str, DepartmentDemands] = {}
        async with self.store.connect() as conn:
            rows = await conn.execute(
                sa.select(
                    data_demands.c.id,
                    data_demands.c.department,
                    data_demands.c.state,
                    data_demands.c.due_at,
                    data_demands.c.answer_late,
                )
                .where(
                    data_demands.c.department.is_not(None),
                    sa.or_(
                        data_demands.c.state == "ASSIGNED",
                        data_demands.c.answer_late.is_(True),
                    ),
                )
                .order_by(data_demands.c.id)
            )
            for row in rows:
                entry = figures.setdefault(row.department, DepartmentDemands())
                if row.state == "ASSIGNED":
                    entry.open += 1
                    entry.open_ids.append(row.id)
                    entry.overdue += now >= row.due_at
                if row.answer_late:
                    entry.answered_late += 1
        return figures

    async def has_supported(self, demand_id: int, supporter_id: str) -> bool:
        async with self.store.connect() as conn:
            found = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(data_demand_supporters)
                .where(
                    data_demand_supporters.c.demand_id == demand_id,
                    data_demand_supporters.c.supporter_id == supporter_id,
                )
            )
        return bool(found)

    # -- writes (in the caller's transaction) ----------------------------------------

    async def insert(self, conn: AsyncConnection, new: NewDemand) -> int:
        result = await conn.execute(
            data_demands.insert().values(**_row_values(new)).returning(data_demands.c.id)
        )
        demand_id = int(result.scalar_one())
        if new.themes:
            await conn.execute(
                data_demand_themes.insert(),
                [{"demand_id": demand_id, "theme": theme} for theme in new.themes],
            )
        return demand_id

    async def update(
        self, conn: AsyncConnection, demand: DemandRecord, now: datetime, **values: Any
    ) -> None:
        """Change ``demand`` as read; ``StaleDemand`` if someone changed it meanwhile."""
        result = await conn.execute(
            data_demands.update()
            .where(data_demands.c.id == demand.id, data_demands.c.version == demand.version)
            .values(**values, updated_at=now, version=demand.version + 1)
        )
        if result.rowcount != 1:
            raise StaleDemand(f"data demand {demand.id} changed meanwhile")

    async def add_supporter(
        self, conn: AsyncConnection, demand_id: int, supporter_id: str, now: datetime
    ) -> bool:
        """Count ``supporter_id``'s support once; whether it is new."""
        insert = (postgresql.insert if self.store.dialect == "postgresql" else sqlite.insert)(
            data_demand_supporters
        )
        result = await conn.execute(
            insert.values(demand_id=demand_id, supporter_id=supporter_id, at=now)
            .on_conflict_do_nothing()
            .returning(data_demand_supporters.c.demand_id)
        )
        if result.first() is None:
            return False
        await conn.execute(
            data_demands.update()
            .where(data_demands.c.id == demand_id)
            .values(
                support_count=data_demands.c.support_count + 1,
                updated_at=now,
                version=data_demands.c.version + 1,
            )
        )
        return True

    async def anonymous_submissions(
        self, conn: AsyncConnection, client_key: str, now: datetime, window: timedelta
    ) -> list[datetime]:
        """The moments of ``client_key``'s anonymous submissions within ``window`` before
        ``now`` (older rows of every client are deleted). On PostgreSQL the client's key is
        locked until the transaction ends, so concurrent submissions count one by one."""
        if self.store.dialect == "postgresql":
            lock = int.from_bytes(bytes.fromhex(client_key[:16]), "big", signed=True)
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock)))
        table = data_demand_anonymous_submissions
        await conn.execute(table.delete().where(table.c.at <= now - window))
        rows = await conn.execute(
            sa.select(table.c.at).where(table.c.client_key == client_key).order_by(table.c.at)
        )
        return [row.at for row in rows]

    async def add_anonymous_submission(
        self, conn: AsyncConnection, client_key: str, now: datetime
    ) -> None:
        await conn.execute(
            data_demand_anonymous_submissions.insert().values(client_key=client_key, at=now)
        )

    # -- helpers ------------------------------------------------------------------------

    async def _records(
        self, conn: AsyncConnection, *conditions: Any, limit: int | None = None
    ) -> list[DemandRecord]:
        query = sa.select(data_demands).where(*conditions).order_by(data_demands.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        rows = (await conn.execute(query)).mappings().all()
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        themes: dict[int, list[str]] = {}
        theme_rows = await conn.execute(
            sa.select(data_demand_themes.c.demand_id, data_demand_themes.c.theme)
            .where(data_demand_themes.c.demand_id.in_(ids))
            .order_by(data_demand_themes.c.theme)
        )
        for demand_id, theme in theme_rows:
            themes.setdefault(demand_id, []).append(theme)
        return [_record(row, themes.get(row["id"], ())) for row in rows]


def _conditions(where: DemandFilter) -> list[Any]:
    conditions: list[Any] = []
    if where.kind is not None:
        conditions.append(data_demands.c.kind == where.kind)
    if where.state is not None:
        conditions.append(data_demands.c.state == where.state)
    if where.department is not None:
        conditions.append(data_demands.c.department == where.department)
    return conditions


# The one mapping between the dataclasses and the table: fields and columns share their names
# (tests/gateway/store/test_demands_repository.py proves the two lists equal).
_SUBMITTED = tuple(f.name for f in fields(_DemandFields) if f.name != "themes")
_READ_AS_IS = tuple(
    f.name
    for f in fields(DemandRecord)
    if f.name not in {"themes", "contact", "answer_dataset_ids"}
)


def _row_values(new: NewDemand) -> dict[str, Any]:
    """The ``data_demands`` row of a new demand: its own fields and the starting counters."""
    values: dict[str, Any] = {name: getattr(new, name) for name in _SUBMITTED}
    values["contact"] = dict(new.contact)
    values.update(support_count=1, created_at=new.now, updated_at=new.now, version=1)
    return values


def _record(row: sa.RowMapping, themes: Sequence[str]) -> DemandRecord:
    return DemandRecord(
        **{name: row[name] for name in _READ_AS_IS},
        themes=tuple(themes),
        contact=dict(row["contact"] or {}),
        answer_dataset_ids=tuple(row["answer_dataset_ids"] or ()),
    )
