"""The data demands' desk: each step of a demand's life as one unit of work.

A step checks the transition table (``gateway.workflows.demands.MACHINE``), writes the
change and its outbox event in one transaction, then writes the audit record::

    desk = DemandDesk.of(ctx)                                  # the request's services
    record = await desk.assign(caller, demand_id, ("transport", "交通运输局"), now)

It knows nothing of GraphQL types; its refusals are ``PublicError``s with the codes the API
documents (docs/workflows.md). The demo seeds its demands through it too.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.access import (
    Caller,
    RateDecision,
    WorkflowSettings,
    address_key,
    window_decision,
)
from gateway.api.context import RequestContext
from gateway.api.errors import PublicError
from gateway.audit import AuditLog, AuditUnavailable, record_workflow
from gateway.store import (
    DemandRecord,
    DemandRepository,
    NewDemand,
    StaleDemand,
    Store,
    append_event,
    client_hash,
    receipt_hash,
)
from gateway.workflows import TransitionRefused, WorkingCalendar
from gateway.workflows.demands import (
    CONTACT_READERS,
    MACHINE,
    OPEN_STATES,
    DemandActor,
    DemandAnswer,
    DemandDraft,
    DemandState,
)
from schema.ids import decode_id, encode_id

log = logging.getLogger("gateway.workflows")

ANONYMOUS_WINDOW = timedelta(hours=1)
RECEIPT_PREFIX = "ddr_"

# One message per step, the same whether the step does not exist from that state or the
# caller may not take it (TransitionRefused.known): a refusal reveals nothing more.
REFUSALS = {
    "assign": "only the data administration bureau may assign a data demand, and only "
    "before it is answered",
    "answer": "only the reviewers of the department a data demand is assigned to may answer "
    "it, once, while it is ASSIGNED",
    "close": "a data demand is closed by its submitter once it is answered, or by the data "
    "administration bureau",
}


class SubmissionLimited(Exception):
    """The client's anonymous submissions reached ``workflows.demands.anonymous_per_hour``."""

    def __init__(self, decision: RateDecision) -> None:
        super().__init__(f"retry in {decision.retry_after_header} s")
        self.decision = decision


def demand_id_of(global_id: str) -> int | None:
    decoded = decode_id(global_id)
    if decoded is None or decoded[:2] != ("DataDemand", "demand") or not decoded[2].isdigit():
        return None
    return int(decoded[2])


def demand_global_id(demand_id: int) -> str:
    return encode_id("DataDemand", "demand", str(demand_id))


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who looks at or acts on demands in one request."""

    caller: Caller
    settings: WorkflowSettings
    receipt_hashes: frozenset[str] = frozenset()

    @classmethod
    def of(cls, ctx: RequestContext) -> Viewer:
        return cls(
            ctx.caller,
            ctx.workflow_settings,
            frozenset(receipt_hash(r) for r in ctx.demand_receipts),
        )

    def actors(self, record: DemandRecord) -> frozenset[DemandActor]:
        caller, found = self.caller, set()
        if not caller.anonymous:
            if self.settings.is_bureau(caller.roles):
                found.add(DemandActor.BUREAU)
            if (
                record.department is not None
                and caller.department == record.department
                and self.settings.is_reviewer(caller.roles)
            ):
                found.add(DemandActor.REVIEWER)
            if record.submitter_id is not None and record.submitter_id == caller.id:
                found.add(DemandActor.SUBMITTER)
        if record.receipt_sha256 in self.receipt_hashes:
            found.add(DemandActor.SUBMITTER)
        return frozenset(found)

    def reads_contact(self, record: DemandRecord) -> bool:
        return not self.actors(record).isdisjoint(CONTACT_READERS)


def overdue(record: DemandRecord, now: datetime) -> bool:
    return DemandState(record.state) in OPEN_STATES and now >= record.due_at


class DemandDesk:
    def __init__(
        self,
        store: Store,
        *,
        audit: AuditLog | None,
        calendar: WorkingCalendar,
        settings: WorkflowSettings,
        request_id: str | None = None,
        committed: Callable[[], None] = lambda: None,
    ) -> None:
        self.repository = DemandRepository(store)
        self.store = store
        self.audit = audit
        self.calendar = calendar
        self.settings = settings
        self.request_id = request_id
        self.committed = committed

    @classmethod
    def of(cls, ctx: RequestContext) -> DemandDesk:
        if ctx.store is None:
            raise PublicError(
                "this gateway keeps no store, so it takes no data demands; "
                "its operator sets store.url (docs/store.md)",
                "STORE_UNAVAILABLE",
            )
        return cls(
            ctx.store,
            audit=ctx.audit,
            calendar=ctx.calendar,
            settings=ctx.workflow_settings,
            request_id=ctx.request_id,
            committed=ctx.outbox_written,
        )

    async def load(self, global_id: str) -> DemandRecord:
        demand_id = demand_id_of(global_id)
        record = await self.repository.get(demand_id) if demand_id is not None else None
        if record is None:
            raise PublicError("no data demand has this id", "NOT_FOUND", argument="id")
        return record

    # -- submission ----------------------------------------------------------------------

    async def check_quota(self, caller: Caller, client_address: str | None, now: datetime) -> None:
        """Refuse an anonymous client over its hourly quota before any other work."""
        key = self._anonymous_key(caller, client_address)
        if key is not None:
            async with self.store.transaction() as conn:
                await self._take_slot(conn, key, now, record=False)

    async def submit(
        self,
        caller: Caller,
        draft: DemandDraft,
        *,
        dataset_id: str | None,
        department: tuple[str, str] | None,
        client_address: str | None,
        now: datetime,
    ) -> tuple[DemandRecord, str]:
        """Store a checked submission (``dataset_id`` visible to ``caller``, ``department``
        known, both resolved by the caller); the demand and its receipt, shown only once."""
        receipt = RECEIPT_PREFIX + secrets.token_urlsafe(24)
        routed = department is not None
        state = DemandState.RECEIVED
        if routed:
            state = MACHINE.transition(state, "assign", {DemandActor.ROUTING})
        days = self.settings.deadlines
        due = self.calendar.due_at(now, days.demand_answer if routed else days.demand_assignment)
        key = self._anonymous_key(caller, client_address)
        async with self.store.transaction() as conn:
            if key is not None:
                await self._take_slot(conn, key, now, record=True)
            demand_id = await self.repository.insert(
                conn,
                NewDemand(
                    kind=draft.kind.value,
                    state=state.value,
                    title=draft.title,
                    description=draft.description,
                    dataset_id=dataset_id,
                    department=department[0] if department else None,
                    department_name=department[1] if department else None,
                    themes=draft.themes,
                    purpose=draft.purpose,
                    contact={
                        "name": draft.contact.name,
                        "email": draft.contact.email,
                        "phone": draft.contact.phone,
                    },
                    submitter_id=None if caller.anonymous else caller.id,
                    receipt_sha256=receipt_hash(receipt),
                    due_at=due,
                    assigned_at=now if routed else None,
                    now=now,
                ),
            )
            subject = demand_global_id(demand_id)
            submitted = {"id": subject, "kind": draft.kind.value, "state": "RECEIVED"}
            await append_event(conn, "data_demand.submitted", subject, submitted, now=now)
            if routed:
                assigned = self._assigned_payload(subject, department)
                await append_event(conn, "data_demand.assigned", subject, assigned, now=now)
        self.committed()
        details = {**submitted, "dataset": dataset_id}
        await self._audit("data_demand.submitted", subject, caller, None, details)
        if routed:
            await self._audit(
                "data_demand.assigned", subject, caller, "routed on submission", assigned
            )
        record = await self.repository.get(demand_id)
        assert record is not None
        return record, receipt

    def _anonymous_key(self, caller: Caller, client_address: str | None) -> str | None:
        if not caller.anonymous:
            return None
        if self.settings.demands.anonymous_per_hour == 0:
            raise PublicError(
                "this gateway takes data demands from authenticated callers only",
                "UNAUTHENTICATED",
            )
        return client_hash(address_key(client_address))

    async def _take_slot(
        self, conn: AsyncConnection, key: str, now: datetime, *, record: bool
    ) -> None:
        earlier = await self.repository.anonymous_submissions(conn, key, now, ANONYMOUS_WINDOW)
        decision = window_decision(
            [moment.timestamp() for moment in earlier],
            self.settings.demands.anonymous_per_hour,
            ANONYMOUS_WINDOW.total_seconds(),
            now.timestamp(),
        )
        if not decision.allowed:
            raise SubmissionLimited(decision)
        if record:
            await self.repository.add_anonymous_submission(conn, key, now)

    # -- steps -----------------------------------------------------------------------------

    async def support(self, caller: Caller, global_id: str, now: datetime) -> DemandRecord:
        """Count ``caller``'s support once (the submitter already counts)."""
        if caller.anonymous:
            raise PublicError(
                "authenticate (API key or bearer token) to support a data demand: "
                "one support per caller",
                "UNAUTHENTICATED",
            )
        record = await self.load(global_id)
        if record.state == DemandState.CLOSED:
            raise PublicError("a closed data demand takes no more support", "BAD_USER_INPUT")
        if record.submitter_id == caller.id:
            return record
        subject = demand_global_id(record.id)
        async with self.store.transaction() as conn:
            added = await self.repository.add_supporter(conn, record.id, caller.id, now)
            if added:
                payload = {"id": subject, "state": record.state}
                await append_event(conn, "data_demand.supported", subject, payload, now=now)
        if added:
            self.committed()
            await self._audit("data_demand.supported", subject, caller, None, payload)
        return await self.load(global_id)

    async def assign(
        self, viewer: Viewer, global_id: str, department: tuple[str, str], now: datetime
    ) -> DemandRecord:
        record = await self.load(global_id)
        due = self.calendar.due_at(now, self.settings.deadlines.demand_answer)
        values = {
            "department": department[0],
            "department_name": department[1],
            "assigned_at": now,
            "due_at": due,
        }
        payload = self._assigned_payload(demand_global_id(record.id), department)
        return await self._step(
            viewer, record, "assign", "data_demand.assigned", values, payload, None, now
        )

    async def answer(
        self, viewer: Viewer, global_id: str, answer: DemandAnswer, now: datetime
    ) -> DemandRecord:
        """Answer (``answer`` checked by the caller: ``DemandAnswer.problems``); late when
        given at or after the deadline."""
        record = await self.load(global_id)
        late = now >= record.due_at
        values = {
            "answer_decision": answer.decision.value,
            "answer_reason": answer.reason,
            "answer_planned_date": answer.planned_date,
            "answer_dataset_ids": list(answer.dataset_ids),
            "answered_at": now,
            "answered_by": viewer.caller.id,
            "answer_late": late,
        }
        payload = {
            "id": demand_global_id(record.id),
            "state": DemandState.ANSWERED.value,
            "decision": answer.decision.value,
            "late": late,
        }
        return await self._step(
            viewer, record, "answer", "data_demand.answered", values, payload, answer.reason, now
        )

    async def close(
        self, viewer: Viewer, global_id: str, reason: str | None, now: datetime
    ) -> DemandRecord:
        record = await self.load(global_id)
        actors = viewer.actors(record)
        if record.state != DemandState.ANSWERED and DemandActor.BUREAU in actors and not reason:
            raise PublicError(
                "closing an unanswered data demand needs a reason",
                "BAD_USER_INPUT",
                argument="reason",
            )
        payload = {"id": demand_global_id(record.id), "state": DemandState.CLOSED.value}
        return await self._step(
            viewer,
            record,
            "close",
            "data_demand.closed",
            {"close_reason": reason},
            payload,
            reason,
            now,
        )

    def refused_unless(self, viewer: Viewer, record: DemandRecord, event: str) -> None:
        """Raise the step's refusal unless ``viewer`` may take ``event`` on ``record`` now
        (checked before slow work such as dataset lookups)."""
        try:
            MACHINE.transition(DemandState(record.state), event, viewer.actors(record))
        except TransitionRefused:
            raise PublicError(REFUSALS[event], "FORBIDDEN") from None

    async def _step(
        self,
        viewer: Viewer,
        record: DemandRecord,
        event: str,
        outbox_event: str,
        values: Mapping[str, Any],
        payload: Mapping[str, Any],
        reason: str | None,
        now: datetime,
    ) -> DemandRecord:
        try:
            target = MACHINE.transition(DemandState(record.state), event, viewer.actors(record))
        except TransitionRefused:
            raise PublicError(REFUSALS[event], "FORBIDDEN") from None
        subject = demand_global_id(record.id)
        try:
            async with self.store.transaction() as conn:
                await self.repository.update(conn, record, now, state=target.value, **values)
                await append_event(conn, outbox_event, subject, payload, now=now)
        except StaleDemand:
            raise PublicError(
                "the data demand changed while you acted on it; read it again and retry",
                "CONFLICT",
            ) from None
        self.committed()
        await self._audit(outbox_event, subject, viewer.caller, reason, payload)
        updated = await self.repository.get(record.id)
        assert updated is not None
        return updated

    @staticmethod
    def _assigned_payload(subject: str, department: tuple[str, str] | None) -> dict[str, Any]:
        return {
            "id": subject,
            "state": DemandState.ASSIGNED.value,
            "department": department[0] if department else None,
        }

    async def _audit(
        self,
        event: str,
        subject: str,
        actor: Caller,
        reason: str | None,
        details: Mapping[str, Any],
    ) -> None:
        try:
            await record_workflow(
                self.audit,
                event,
                subject,
                actor,
                reason,
                request_id=self.request_id,
                details=details,
            )
        except AuditUnavailable as exc:
            log.error("data demand %s: %s committed but not audited: %s", subject, event, exc)
            raise PublicError(
                "the change was saved but the audit log is unavailable; the operator is told",
                "AUDIT_UNAVAILABLE",
            ) from None
