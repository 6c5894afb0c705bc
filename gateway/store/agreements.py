"""The operation agreements' repository, their usage, and the issued grants' loader."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from gateway.access import AgreementGrant, IssuedGrants, RequestGrant
from gateway.store.access_requests import AccessRequestRepository, note_grant_change
from gateway.store.engine import Store, StoreError, unreachable
from gateway.store.outbox import append_event
from gateway.store.tables import agreement_usage, grant_changes, operation_agreements
from gateway.workflows import TransitionRefused
from gateway.workflows.agreements import (
    CREATED_EVENT,
    EVENTS,
    MACHINE,
    AgreementActor,
    AgreementStatus,
)
from schema.ids import encode_id
from schema.model import Sensitivity


def agreement_global_id(pk: int) -> str:
    return encode_id("OperationAgreement", "store", str(pk))


@dataclass(frozen=True, slots=True)
class NewAgreement:
    operator: str
    mode: str
    departments: tuple[str, ...]
    themes: tuple[str, ...]
    dataset_ids: tuple[str, ...]
    max_sensitivity: Sensitivity
    scenarios: tuple[str, ...]
    valid_from: date
    valid_until: date
    obligations: str
    created_by: str


@dataclass(frozen=True, slots=True)
class AgreementRecord:
    id: int
    status: AgreementStatus
    status_reason: str | None
    operator: str
    mode: str
    departments: tuple[str, ...]
    themes: tuple[str, ...]
    dataset_ids: tuple[str, ...]
    max_sensitivity: Sensitivity
    scenarios: tuple[str, ...]
    valid_from: date
    valid_until: date
    obligations: str
    created_at: datetime
    updated_at: datetime

    @property
    def global_id(self) -> str:
        return agreement_global_id(self.id)

    def grant(self) -> AgreementGrant:
        return AgreementGrant(
            agreement_id=self.global_id,
            operator=self.operator,
            mode=self.mode,
            departments=self.departments,
            themes=self.themes,
            dataset_ids=self.dataset_ids,
            max_sensitivity=self.max_sensitivity,
            scenarios=self.scenarios,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )


@dataclass(frozen=True, slots=True)
class Usage:
    requests: int
    datasets_returned: int
    by_scenario: tuple[tuple[str | None, int], ...]


def _record(row: sa.Row[Any]) -> AgreementRecord:
    m = row._mapping
    return AgreementRecord(
        id=int(m["id"]),
        status=AgreementStatus(m["status"]),
        status_reason=m["status_reason"],
        operator=m["operator"],
        mode=m["mode"],
        departments=tuple(m["departments"]),
        themes=tuple(m["themes"]),
        dataset_ids=tuple(m["dataset_ids"]),
        max_sensitivity=Sensitivity(m["max_sensitivity"]),
        scenarios=tuple(m["scenarios"]),
        valid_from=m["valid_from"],
        valid_until=m["valid_until"],
        obligations=m["obligations"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


class AgreementRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, new: NewAgreement, now: datetime) -> AgreementRecord:
        """A new agreement, ACTIVE from its creation (its dates still bound it)."""
        async with self.store.transaction() as conn:
            result = await conn.execute(
                operation_agreements.insert()
                .values(
                    status=AgreementStatus.ACTIVE.value,
                    status_reason=None,
                    operator=new.operator,
                    mode=new.mode,
                    departments=list(new.departments),
                    themes=list(new.themes),
                    dataset_ids=list(new.dataset_ids),
                    max_sensitivity=new.max_sensitivity.value,
                    scenarios=list(new.scenarios),
                    valid_from=new.valid_from,
                    valid_until=new.valid_until,
                    obligations=new.obligations,
                    created_by=new.created_by,
                    created_at=now,
                    updated_at=now,
                )
                .returning(*operation_agreements.c)
            )
            record = _record(result.one())
            await append_event(
                conn, CREATED_EVENT, record.global_id, {"status": record.status.value}, now=now
            )
            await note_grant_change(conn, record.global_id, now)
        return record

    async def get(self, pk: int) -> AgreementRecord | None:
        async with self.store.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(operation_agreements).where(operation_agreements.c.id == pk)
                )
            ).first()
        return None if row is None else _record(row)

    async def set_status(
        self,
        pk: int,
        event: str,
        actors: frozenset[AgreementActor],
        reason: str,
        now: datetime,
    ) -> AgreementRecord | None:
        """Fire ``event``; ``None`` if there is no such agreement; ``TransitionRefused``
        when the table refuses."""
        async with self.store.transaction() as conn:
            row = (
                await conn.execute(
                    sa.select(operation_agreements)
                    .where(operation_agreements.c.id == pk)
                    .with_for_update()
                )
            ).first()
            if row is None:
                return None
            status = _record(row).status
            target = MACHINE.transition(status, event, actors)
            result = await conn.execute(
                operation_agreements.update()
                .where(
                    operation_agreements.c.id == pk, operation_agreements.c.status == status.value
                )
                .values(status=target.value, status_reason=reason, updated_at=now)
                .returning(*operation_agreements.c)
            )
            changed = result.first()
            if changed is None:  # changed meanwhile (SQLite takes no row lock)
                raise TransitionRefused(
                    "the operation agreement changed meanwhile",
                    state=status,
                    event=event,
                    known=False,
                )
            record = _record(changed)
            await append_event(
                conn, EVENTS[event], record.global_id, {"status": record.status.value}, now=now
            )
            await note_grant_change(conn, record.global_id, now)
        return record

    async def page(
        self, operator: str | None, *, everyone: bool, first: int, before_id: int | None
    ) -> tuple[list[AgreementRecord], int, bool]:
        """Newest first: every agreement (bureau) or ``operator``'s own."""
        c = operation_agreements.c
        where: list[sa.ColumnElement[bool]] = []
        if not everyone:
            if operator is None:
                return [], 0, False
            where.append(c.operator == operator)
        async with self.store.connect() as conn:
            total = int(
                (
                    await conn.execute(
                        sa.select(sa.func.count()).select_from(operation_agreements).where(*where)
                    )
                ).scalar_one()
            )
            query = sa.select(operation_agreements).where(*where)
            if before_id is not None:
                query = query.where(c.id < before_id)
            rows = (await conn.execute(query.order_by(c.id.desc()).limit(first + 1))).all()
        records = [_record(r) for r in rows]
        return records[:first], total, len(records) > first

    async def active(self) -> list[AgreementGrant]:
        async with self.store.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(operation_agreements).where(
                        operation_agreements.c.status == AgreementStatus.ACTIVE.value
                    )
                )
            ).all()
        return [_record(r).grant() for r in rows]

    async def record_usage(
        self,
        uses: Sequence[tuple[int, int]],
        *,
        scenario: str | None,
        caller_id: str,
        request_id: str | None,
        now: datetime,
    ) -> None:
        """One usage row per (agreement pk, datasets returned under it) of one request."""
        if not uses:
            return
        try:
            await self._insert_usage(uses, scenario, caller_id, request_id, now)
        except (OSError, SQLAlchemyError) as exc:
            raise StoreError(unreachable(self.store.url, exc)) from None

    async def _insert_usage(
        self,
        uses: Sequence[tuple[int, int]],
        scenario: str | None,
        caller_id: str,
        request_id: str | None,
        now: datetime,
    ) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                agreement_usage.insert(),
                [
                    {
                        "agreement_id": pk,
                        "at": now,
                        "scenario": scenario,
                        "datasets_returned": count,
                        "caller_id": caller_id,
                        "request_id": request_id,
                    }
                    for pk, count in uses
                ],
            )

    async def usage(self, pk: int, start: datetime, end: datetime) -> Usage:
        """Requests and datasets returned under agreement ``pk`` in ``[start, end)``."""
        u = agreement_usage.c
        where = (u.agreement_id == pk, u.at >= start, u.at < end)
        async with self.store.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(u.scenario, sa.func.count(), sa.func.sum(u.datasets_returned))
                    .where(*where)
                    .group_by(u.scenario)
                    .order_by(u.scenario)
                )
            ).all()
        return Usage(
            requests=sum(int(r[1]) for r in rows),
            datasets_returned=sum(int(r[2] or 0) for r in rows),
            by_scenario=tuple((r[0], int(r[1])) for r in rows),
        )

    async def sweep(self, today: date, now: datetime) -> int:
        """Move agreements past ``valid_until`` to EXPIRED; how many."""
        c = operation_agreements.c
        async with self.store.connect() as conn:
            ended = (
                await conn.execute(
                    sa.select(c.id).where(
                        c.status.in_(
                            [AgreementStatus.ACTIVE.value, AgreementStatus.SUSPENDED.value]
                        ),
                        c.valid_until < today,
                    )
                )
            ).all()
        expired = 0
        for (pk,) in ended:
            try:
                await self.set_status(
                    int(pk), "expire", frozenset({AgreementActor.SYSTEM}), "validUntil passed", now
                )
            except TransitionRefused:  # another replica's sweep, or the bureau, was first
                continue
            expired += 1
        return expired


class IssuedGrantsLoader:
    """The store's issued grants for each request, reloaded only when ``grant_changes``
    moved: one ``SELECT max(id)`` per request, so an approval, a revocation or an agreement
    status change made on any replica applies to the very next request here."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._current = IssuedGrants(revision=-1)
        self._lock = asyncio.Lock()
        self._reads = FreshReads(self._read_revision)

    async def revision(self) -> int:
        """The newest ``grant_changes`` id, read after this call began (concurrent calls
        share reads; see ``FreshReads``)."""
        return await self._reads.read()

    async def _read_revision(self) -> int:
        async with self.store.connect() as conn:
            found = (await conn.execute(sa.select(sa.func.max(grant_changes.c.id)))).scalar()
        return int(found or 0)

    async def current(self) -> IssuedGrants:
        """The issued grants now; ``StoreError`` when the store cannot be read."""
        try:
            return await self._current_grants()
        except (OSError, SQLAlchemyError) as exc:
            raise StoreError(unreachable(self.store.url, exc)) from None

    async def _current_grants(self) -> IssuedGrants:
        revision = await self.revision()
        if revision == self._current.revision:
            return self._current
        async with self._lock:
            if revision != self._current.revision:
                self._current = await self._load(revision)
        return self._current

    async def _load(self, revision: int) -> IssuedGrants:
        requests: dict[str, list[RequestGrant]] = {}
        for grant in await AccessRequestRepository(self.store).approved():
            requests.setdefault(grant.caller_id, []).append(grant)
        agreements: dict[str, list[AgreementGrant]] = {}
        for agreement in await AgreementRepository(self.store).active():
            agreements.setdefault(agreement.operator, []).append(agreement)
        return IssuedGrants(
            revision=revision,
            requests={k: tuple(v) for k, v in requests.items()},
            agreements={k: tuple(v) for k, v in agreements.items()},
        )


class FreshReads:
    """Concurrent callers share reads, but nobody gets a read that began before they asked.

    A change committed before a request arrived must be seen by that request (a revocation
    applies at the very next request, on every replica). So a caller arriving while a read
    is in flight waits it out and takes the next read, which everyone who arrived meanwhile
    shares: under load one store round trip serves a whole wave of requests, and none is
    answered with an older view than a read of its own would give.
    """

    def __init__(self, read: Callable[[], Awaitable[int]]) -> None:
        self._read = read
        self._running: asyncio.Future[int] | None = None
        self._queued: asyncio.Future[int] | None = None

    async def read(self) -> int:
        if self._running is None:
            self._running = self._start()
            return await asyncio.shield(self._running)
        if self._queued is None:
            self._queued = asyncio.get_running_loop().create_future()
        return await asyncio.shield(self._queued)

    def _start(self) -> asyncio.Future[int]:
        task = asyncio.ensure_future(self._read())
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Future[int]) -> None:
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter may have gone
        self._running = None
        queued, self._queued = self._queued, None
        if queued is None:
            return
        self._running = self._start()
        self._running.add_done_callback(lambda done: _settle(queued, done))


def _settle(target: asyncio.Future[int], done: asyncio.Future[int]) -> None:
    if target.done():
        return
    if done.cancelled():
        target.cancel()
    elif (error := done.exception()) is not None:
        target.set_exception(error)
        target.exception()  # its waiters may all have gone
    else:
        target.set_result(done.result())
