"""The access requests' repository: rows in, state changes through the workflow's table.

Every change runs in one transaction with its outbox event (and, when it changes what the
store grants, a ``grant_changes`` row that tells every replica to reload); the state only
ever moves through ``gateway.workflows.access_requests.MACHINE``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.access import RequestGrant
from gateway.store.engine import Store
from gateway.store.outbox import append_event
from gateway.store.tables import access_requests, grant_changes
from gateway.workflows import TransitionRefused
from gateway.workflows.access_requests import (
    EVENTS,
    EXPIRING_EVENT,
    MACHINE,
    STAGE_OF,
    SUBMITTED_EVENT,
    AccessActor,
    AccessRequestState,
)
from schema.ids import encode_id

# The table events that change what the store grants.
_GRANT_EVENTS = frozenset({"approve", "revoke", "expire"})


def request_global_id(pk: int) -> str:
    return encode_id("AccessRequest", "store", str(pk))


@dataclass(frozen=True, slots=True)
class NewAccessRequest:
    requester_id: str
    requester_department: str | None
    provider_department: str
    dataset_ids: tuple[str, ...]
    purpose: str
    legal_basis: str
    fields: tuple[str, ...] | None
    privilege: str
    valid_from: date
    valid_until: date


@dataclass(frozen=True, slots=True)
class AccessRequestRecord:
    id: int
    state: AccessRequestState
    requester_id: str
    requester_department: str | None
    provider_department: str
    dataset_ids: tuple[str, ...]
    purpose: str
    legal_basis: str
    fields: tuple[str, ...] | None
    privilege: str
    mask: tuple[str, ...]
    valid_from: date
    valid_until: date
    steps: tuple[Mapping[str, Any], ...]
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def global_id(self) -> str:
        return request_global_id(self.id)

    def grant(self) -> RequestGrant:
        return RequestGrant(
            request_id=self.global_id,
            caller_id=self.requester_id,
            dataset_ids=self.dataset_ids,
            purpose=self.purpose,
            privilege=self.privilege,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            items=self.fields,
            mask=self.mask,
        )


@dataclass(frozen=True, slots=True)
class Change:
    """What a transition writes besides the state: the step, the next deadline, and
    (for an approval with conditions) narrower terms."""

    actor: str
    decision: str
    reason: str | None = None
    due_at: datetime | None = None
    terms: Mapping[str, Any] = field(default_factory=dict)  # fields, mask, valid_until


def _record(row: sa.Row[Any]) -> AccessRequestRecord:
    m = row._mapping
    return AccessRequestRecord(
        id=int(m["id"]),
        state=AccessRequestState(m["state"]),
        requester_id=m["requester_id"],
        requester_department=m["requester_department"],
        provider_department=m["provider_department"],
        dataset_ids=tuple(m["dataset_ids"]),
        purpose=m["purpose"],
        legal_basis=m["legal_basis"],
        fields=None if m["fields"] is None else tuple(m["fields"]),
        privilege=m["privilege"],
        mask=tuple(m["mask"]),
        valid_from=m["valid_from"],
        valid_until=m["valid_until"],
        steps=tuple(m["steps"]),
        due_at=m["due_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


async def note_grant_change(conn: AsyncConnection, subject: str, now: datetime) -> None:
    """Tell every replica the issued grants changed (in the change's own transaction)."""
    await conn.execute(grant_changes.insert().values(subject=subject, at=now))


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whose requests a listing may hold: the caller's own, its department's as provider
    (reviewers), or every one (bureau)."""

    caller_id: str
    provider_department: str | None = None
    bureau: bool = False


class AccessRequestRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def submit(
        self, requests: Sequence[NewAccessRequest], now: datetime, due_at: datetime
    ) -> list[AccessRequestRecord]:
        """Store the requests (one per providing department) in state SUBMITTED."""
        created = []
        async with self.store.transaction() as conn:
            for new in requests:
                step = {
                    "stage": "submission",
                    "actor": new.requester_id,
                    "decision": "SUBMIT",
                    "reason": None,
                    "at": now.isoformat(),
                }
                result = await conn.execute(
                    access_requests.insert()
                    .values(
                        state=AccessRequestState.SUBMITTED.value,
                        requester_id=new.requester_id,
                        requester_department=new.requester_department,
                        provider_department=new.provider_department,
                        dataset_ids=list(new.dataset_ids),
                        purpose=new.purpose,
                        legal_basis=new.legal_basis,
                        fields=None if new.fields is None else list(new.fields),
                        privilege=new.privilege,
                        mask=[],
                        valid_from=new.valid_from,
                        valid_until=new.valid_until,
                        steps=[step],
                        due_at=due_at,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(*access_requests.c)
                )
                record = _record(result.one())
                await append_event(
                    conn,
                    SUBMITTED_EVENT,
                    record.global_id,
                    {"state": record.state.value, "provider": record.provider_department},
                    now=now,
                )
                created.append(record)
        return created

    async def get(self, pk: int) -> AccessRequestRecord | None:
        async with self.store.connect() as conn:
            row = (
                await conn.execute(sa.select(access_requests).where(access_requests.c.id == pk))
            ).first()
        return None if row is None else _record(row)

    async def transition(
        self,
        pk: int,
        event: str,
        actors_of: Callable[[AccessRequestRecord], Collection[AccessActor]],
        change: Change,
        now: datetime,
        stage: str | None = None,
    ) -> AccessRequestRecord | None:
        """Fire ``event`` on request ``pk`` for whoever ``actors_of`` says the caller is;
        ``None`` when the caller may not see it (or it does not exist). Raises
        ``TransitionRefused`` when the table refuses."""
        async with self.store.transaction() as conn:
            row = (
                await conn.execute(
                    sa.select(access_requests).where(access_requests.c.id == pk).with_for_update()
                )
            ).first()
            if row is None:
                return None
            record = _record(row)
            parts = actors_of(record)
            if not parts:
                return None
            target = MACHINE.transition(record.state, event, parts)
            step = {
                "stage": stage or STAGE_OF.get(record.state, event),
                "actor": change.actor,
                "decision": change.decision,
                "reason": change.reason,
                "at": now.isoformat(),
            }
            values: dict[str, Any] = {
                "state": target.value,
                "steps": [*record.steps, step],
                "due_at": change.due_at,
                "updated_at": now,
                **change.terms,
            }
            # Guarded by the state read: a change committed meanwhile (SQLite takes no row
            # lock) leaves no row to update, and this one is refused.
            result = await conn.execute(
                access_requests.update()
                .where(access_requests.c.id == pk, access_requests.c.state == record.state.value)
                .values(**values)
                .returning(*access_requests.c)
            )
            row = result.first()
            if row is None:
                raise TransitionRefused(
                    "the access request changed meanwhile",
                    state=record.state,
                    event=event,
                    known=False,
                )
            updated = _record(row)
            await append_event(
                conn,
                EVENTS[event],
                updated.global_id,
                {"state": updated.state.value, "decision": change.decision},
                now=now,
            )
            if event in _GRANT_EVENTS:
                await note_grant_change(conn, updated.global_id, now)
        return updated

    async def page(
        self,
        viewer: Viewer,
        *,
        state: AccessRequestState | None,
        mine: bool,
        to_review: Collection[AccessRequestState] | None,
        first: int,
        before_id: int | None,
    ) -> tuple[list[AccessRequestRecord], int, bool]:
        """The viewer's requests, newest first: one page, the total and whether more follow.
        ``to_review``: only requests in these states the viewer acts on (not its own)."""
        c = access_requests.c
        where: list[sa.ColumnElement[bool]] = []
        if mine:
            where.append(c.requester_id == viewer.caller_id)
        elif to_review is not None:
            if not to_review:
                return [], 0, False
            where.append(c.state.in_([s.value for s in to_review]))
            if not viewer.bureau:
                where.append(c.provider_department == (viewer.provider_department or ""))
        elif not viewer.bureau:
            seen = [c.requester_id == viewer.caller_id]
            if viewer.provider_department is not None:
                seen.append(c.provider_department == viewer.provider_department)
            where.append(sa.or_(*seen))
        if state is not None:
            where.append(c.state == state.value)
        async with self.store.connect() as conn:
            total = int(
                (
                    await conn.execute(
                        sa.select(sa.func.count()).select_from(access_requests).where(*where)
                    )
                ).scalar_one()
            )
            query = sa.select(access_requests).where(*where)
            if before_id is not None:
                query = query.where(c.id < before_id)
            rows = (await conn.execute(query.order_by(c.id.desc()).limit(first + 1))).all()
        records = [_record(r) for r in rows]
        return records[:first], total, len(records) > first

    async def approved(self) -> list[RequestGrant]:
        """The grants of every APPROVED request (the issued grants' first half)."""
        async with self.store.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(access_requests).where(
                        access_requests.c.state == AccessRequestState.APPROVED.value
                    )
                )
            ).all()
        return [_record(r).grant() for r in rows]

    async def sweep(self, today: date, notice_until: date, now: datetime) -> tuple[int, int]:
        """Expire approved requests past ``valid_until``; announce those ending by
        ``notice_until`` (once each). The counts (expired, announced)."""
        c = access_requests.c
        approved = AccessRequestState.APPROVED.value
        async with self.store.connect() as conn:
            ending = (
                await conn.execute(
                    sa.select(c.id, c.valid_until, c.expiring_sent).where(
                        c.state == approved, c.valid_until <= notice_until
                    )
                )
            ).all()
        expired = announced = 0
        for pk, valid_until, sent in ending:
            if valid_until < today:
                try:
                    done = await self.transition(
                        int(pk),
                        "expire",
                        lambda _r: {AccessActor.SYSTEM},
                        Change(actor="gateway", decision="EXPIRE"),
                        now,
                        "expiry",
                    )
                except TransitionRefused:  # another replica's sweep, or a revocation, was first
                    continue
                expired += done is not None
            elif not sent:
                async with self.store.transaction() as conn:
                    marked = await conn.execute(
                        access_requests.update()
                        .where(c.id == pk, c.state == approved, c.expiring_sent.is_(False))
                        .values(expiring_sent=True)
                    )
                    if marked.rowcount:
                        await append_event(
                            conn,
                            EXPIRING_EVENT,
                            request_global_id(int(pk)),
                            {"state": approved, "valid_until": valid_until.isoformat()},
                            now=now,
                        )
                        announced += 1
        return expired, announced
