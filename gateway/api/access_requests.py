"""Access requests (按需共享) in GraphQL: requestAccess, withdraw, review, revoke, and the
queries. The workflow's table is ``gateway.workflows.access_requests.MACHINE``; the rows
live in ``gateway.store.AccessRequestRepository``."""

from __future__ import annotations

import enum
from collections import OrderedDict
from datetime import date, datetime

import strawberry
from strawberry.types import Info

from gateway.access import MASKABLE_FIELDS
from gateway.api.context import RequestContext
from gateway.api.errors import PublicError
from gateway.api.relay import encode_cursor, page_info, page_window
from gateway.api.workflow_common import (
    audit,
    not_found,
    refused,
    required_text,
    signed_in,
    store_of,
)
from gateway.store import (
    AccessRequestRecord,
    AccessRequestRepository,
    Change,
    NewAccessRequest,
    Viewer,
    store_pk,
)
from gateway.workflows import AccessRequestState, TransitionRefused
from gateway.workflows import access_requests as flow
from schema import graphql_types as gql

KIND = "AccessRequest"
MAX_DATASETS = 100

AccessRequestStateType = strawberry.enum(
    AccessRequestState,
    name="AccessRequestState",
    description="SUBMITTED -> PROVIDER_REVIEW -> APPROVED | REJECTED; also WITHDRAWN, "
    "EXPIRED, REVOKED.",
)


@strawberry.enum(description="discover: metadata only; use: also access URLs and data items.")
class Privilege(enum.Enum):
    DISCOVER = "discover"
    USE = "use"


@strawberry.enum(description="A review: PASS (the bureau forwards), then the provider's answer.")
class ReviewDecision(enum.Enum):
    PASS = "PASS"
    APPROVE = "APPROVE"
    APPROVE_WITH_CONDITIONS = "APPROVE_WITH_CONDITIONS"
    REJECT = "REJECT"


@strawberry.input(description="What to ask for: datasets, purpose (X-Purpose) and period.")
class AccessRequestInput:
    dataset_ids: list[strawberry.ID]
    purpose: str
    legal_basis: str
    fields: list[str] | None = None
    privilege: Privilege = Privilege.USE
    valid_from: date | None = None
    valid_until: date


@strawberry.input(description="Conditions of an APPROVE_WITH_CONDITIONS.")
class AccessConditionsInput:
    mask: list[str] | None = None
    fields: list[str] | None = None
    valid_until: date | None = None


@strawberry.type
class Requester:
    id: str
    department: str | None


@strawberry.type(description="One step of a request's history.")
class AccessStep:
    stage: str
    actor: str
    decision: str
    reason: str | None
    at: datetime


@strawberry.type(description="A request for access to datasets of one providing department.")
class AccessRequest(gql.Node):
    id: strawberry.ID
    created_at: datetime
    updated_at: datetime
    state: AccessRequestStateType  # type: ignore[valid-type]
    requester: Requester
    provider_department: str
    purpose: str
    legal_basis: str
    fields: list[str] | None
    privilege: Privilege
    mask: list[str]
    valid_from: date
    valid_until: date = strawberry.field(description="The last valid day (inclusive).")
    steps: list[AccessStep]
    due_at: datetime | None = strawberry.field(description="The current stage's deadline.")
    overdue: bool
    dataset_ids: strawberry.Private[tuple[str, ...]]

    @strawberry.field(description="The requested datasets, as the viewer may see them.")
    async def datasets(self, info: Info[RequestContext, None]) -> list[gql.Dataset]:
        found = [await info.context.dataset_by_id(i, "datasets") for i in self.dataset_ids]
        return [d for d in found if d is not None]


@strawberry.type
class AccessRequestEdge:
    cursor: str
    node: AccessRequest


@strawberry.type
class AccessRequestConnection:
    edges: list[AccessRequestEdge]
    page_info: gql.PageInfo
    total_count: int


def to_type(ctx: RequestContext, record: AccessRequestRecord) -> AccessRequest:
    due = record.due_at
    return AccessRequest(
        id=strawberry.ID(record.global_id),
        created_at=record.created_at,
        updated_at=record.updated_at,
        state=record.state,
        requester=Requester(id=record.requester_id, department=record.requester_department),
        provider_department=record.provider_department,
        purpose=record.purpose,
        legal_basis=record.legal_basis,
        fields=None if record.fields is None else list(record.fields),
        privilege=Privilege(record.privilege),
        mask=list(record.mask),
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        steps=[
            AccessStep(
                stage=str(s["stage"]),
                actor=str(s["actor"]),
                decision=str(s["decision"]),
                reason=s.get("reason"),
                at=datetime.fromisoformat(str(s["at"])),
            )
            for s in record.steps
        ],
        due_at=due,
        overdue=due is not None and ctx.calendar.overdue(due, ctx.now),
        dataset_ids=record.dataset_ids,
    )


def _parts(ctx: RequestContext, record: AccessRequestRecord) -> frozenset[flow.AccessActor]:
    return flow.actors(
        ctx.caller, ctx.workflow_settings, record.requester_id, record.provider_department
    )


async def visible_request(ctx: RequestContext, global_id: str) -> AccessRequestRecord | None:
    """The request ``global_id`` names if the caller may see it; else ``None`` (as for an
    id that does not exist)."""
    pk = store_pk(global_id, KIND)
    if pk is None or ctx.caller.anonymous:
        return None
    record = await AccessRequestRepository(store_of(ctx)).get(pk)
    if record is None or not flow.can_see(_parts(ctx, record)):
        return None
    return record


async def _requested_datasets(
    ctx: RequestContext, ids: list[strawberry.ID]
) -> dict[str, list[str]]:
    """The requested ids grouped by providing department, in the order given. An id the
    caller cannot discover answers exactly like one that does not exist."""
    unique = list(OrderedDict.fromkeys(str(i) for i in ids))
    if not unique:
        raise PublicError("name at least one dataset", "BAD_USER_INPUT", argument="datasetIds")
    if len(unique) > MAX_DATASETS:
        raise PublicError(
            f"at most {MAX_DATASETS} datasets per request", "BAD_USER_INPUT", argument="datasetIds"
        )
    by_department: dict[str, list[str]] = {}
    for global_id in unique:
        dataset = await ctx.dataset_by_id(global_id, "requestAccess")
        if dataset is None:
            raise PublicError(
                f"no dataset with id {global_id[:100]!r}", "BAD_USER_INPUT", argument="datasetIds"
            )
        if dataset.department is None:
            raise PublicError(
                f"dataset {global_id[:100]!r} names no providing department to ask",
                "BAD_USER_INPUT",
                argument="datasetIds",
            )
        by_department.setdefault(str(dataset.department.id), []).append(global_id)
    return by_department


def _period(ctx: RequestContext, valid_from: date | None, valid_until: date) -> tuple[date, date]:
    today = ctx.today or ctx.calendar.today(ctx.now)
    start = valid_from or today
    if start < today:
        raise PublicError("validFrom is in the past", "BAD_USER_INPUT", argument="validFrom")
    if valid_until < start:
        raise PublicError("validUntil is before validFrom", "BAD_USER_INPUT", argument="validUntil")
    return start, valid_until


def _items(values: list[str] | None, argument: str) -> tuple[str, ...] | None:
    if values is None:
        return None
    items = tuple(OrderedDict.fromkeys(v.strip() for v in values))
    if not items or any(not i or len(i) > 200 for i in items) or len(items) > 500:
        raise PublicError(
            f"{argument} must name 1 to 500 data items", "BAD_USER_INPUT", argument=argument
        )
    return items


@strawberry.type
class AccessRequestQuery:
    @strawberry.field(description="One access request, if the caller may see it.")
    async def access_request(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> AccessRequest | None:
        ctx = info.context
        record = await visible_request(ctx, str(id))
        return None if record is None else to_type(ctx, record)

    @strawberry.field(
        description="Access requests the caller may see, newest first. mine: its own; "
        "toReview: those waiting for the caller's review (bureau or provider)."
    )
    async def access_requests(
        self,
        info: Info[RequestContext, None],
        state: AccessRequestStateType | None = None,  # type: ignore[valid-type]
        mine: bool = False,
        to_review: bool = False,
        first: int | None = 20,
        after: str | None = None,
    ) -> AccessRequestConnection:
        ctx = info.context
        size, before = page_window(KIND, first, after, ctx.max_first)
        if ctx.caller.anonymous:
            return AccessRequestConnection(
                edges=[], page_info=page_info(KIND, [], False, after), total_count=0
            )
        settings = ctx.workflow_settings
        bureau = settings.is_bureau(ctx.caller.roles)
        reviewer = settings.is_reviewer(ctx.caller.roles)
        review_states: list[AccessRequestState] | None = None
        if to_review:
            review_states = []
            if bureau:
                review_states.append(AccessRequestState.SUBMITTED)
            elif reviewer:
                review_states.append(AccessRequestState.PROVIDER_REVIEW)
        viewer = Viewer(ctx.caller.id, ctx.caller.department if reviewer else None, bureau=bureau)
        records, total, has_next = await AccessRequestRepository(store_of(ctx)).page(
            viewer,
            state=None if state is None else AccessRequestState(state),
            mine=mine,
            to_review=review_states,
            first=size,
            before_id=before,
        )
        return AccessRequestConnection(
            edges=[
                AccessRequestEdge(cursor=encode_cursor(KIND, r.id), node=to_type(ctx, r))
                for r in records
            ],
            page_info=page_info(KIND, [r.id for r in records], has_next, after),
            total_count=total,
        )


async def _fire(
    ctx: RequestContext,
    global_id: str,
    event: str,
    verb: str,
    change: Change,
    reason: str | None = None,
) -> AccessRequest:
    pk = store_pk(global_id, KIND)
    if pk is None or ctx.caller.anonymous:
        raise not_found("access request")
    try:
        record = await AccessRequestRepository(store_of(ctx)).transition(
            pk, event, lambda r: _parts(ctx, r), change, ctx.now
        )
    except TransitionRefused:
        raise refused("access request", verb) from None
    if record is None:
        raise not_found("access request")
    ctx.outbox_written()
    await audit(
        ctx,
        flow.EVENTS[event],
        record.global_id,
        reason,
        {"state": record.state.value, "decision": change.decision},
    )
    return to_type(ctx, record)


@strawberry.type
class AccessRequestMutation:
    @strawberry.mutation(
        description="Ask for datasets: one request per providing department, each SUBMITTED "
        "to the bureau's compliance review."
    )
    async def request_access(
        self, info: Info[RequestContext, None], input: AccessRequestInput
    ) -> list[AccessRequest]:
        ctx = info.context
        signed_in(ctx)
        store = store_of(ctx)
        purpose = required_text(input.purpose, "purpose", 128)
        legal_basis = required_text(input.legal_basis, "legalBasis")
        fields = _items(input.fields, "fields")
        start, end = _period(ctx, input.valid_from, input.valid_until)
        by_department = await _requested_datasets(ctx, input.dataset_ids)
        due = ctx.calendar.due_at(ctx.now, ctx.workflow_settings.deadlines.compliance_review)
        records = await AccessRequestRepository(store).submit(
            [
                NewAccessRequest(
                    requester_id=ctx.caller.id,
                    requester_department=ctx.caller.department,
                    provider_department=department,
                    dataset_ids=tuple(ids),
                    purpose=purpose,
                    legal_basis=legal_basis,
                    fields=fields,
                    privilege=input.privilege.value,
                    valid_from=start,
                    valid_until=end,
                )
                for department, ids in by_department.items()
            ],
            ctx.now,
            due,
        )
        ctx.outbox_written()
        for record in records:
            await audit(
                ctx,
                flow.SUBMITTED_EVENT,
                record.global_id,
                None,
                {"state": record.state.value, "provider": record.provider_department},
            )
        return [to_type(ctx, r) for r in records]

    @strawberry.mutation(description="The requester withdraws a request still under review.")
    async def withdraw_access_request(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> AccessRequest:
        ctx = info.context
        change = Change(actor=ctx.caller.id, decision="WITHDRAW")
        return await _fire(ctx, str(id), "withdraw", "withdraw", change)

    @strawberry.mutation(
        description="PASS (bureau: compliant, forward to the provider), APPROVE, "
        "APPROVE_WITH_CONDITIONS (with conditions) or REJECT (with a reason)."
    )
    async def review_access_request(
        self,
        info: Info[RequestContext, None],
        id: strawberry.ID,
        decision: ReviewDecision,
        reason: str | None = None,
        conditions: AccessConditionsInput | None = None,
    ) -> AccessRequest:
        ctx = info.context
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > 4000:
            raise PublicError("reason is longer than 4000 characters", "BAD_USER_INPUT")
        if decision is ReviewDecision.REJECT:
            reason = required_text(reason, "reason")
        if conditions is not None and decision is not ReviewDecision.APPROVE_WITH_CONDITIONS:
            raise PublicError(
                "conditions go with APPROVE_WITH_CONDITIONS",
                "BAD_USER_INPUT",
                argument="conditions",
            )
        event = {"PASS": "pass", "REJECT": "reject"}.get(decision.value, "approve")
        due = None
        terms: dict[str, object] = {}
        if decision is ReviewDecision.PASS:
            due = ctx.calendar.due_at(ctx.now, ctx.workflow_settings.deadlines.provider_review)
        if decision is ReviewDecision.APPROVE_WITH_CONDITIONS:
            terms = await _conditions(ctx, str(id), conditions)
        change = Change(
            actor=ctx.caller.id, decision=decision.value, reason=reason, due_at=due, terms=terms
        )
        verb = "review" if decision is ReviewDecision.PASS else decision.value.lower().split("_")[0]
        return await _fire(ctx, str(id), event, verb, change, reason)

    @strawberry.mutation(
        description="End an approved grant now (the provider's reviewers or the bureau); "
        "a reason is required."
    )
    async def revoke_access(
        self, info: Info[RequestContext, None], id: strawberry.ID, reason: str
    ) -> AccessRequest:
        ctx = info.context
        text = required_text(reason, "reason")
        change = Change(actor=ctx.caller.id, decision="REVOKE", reason=text)
        return await _fire(ctx, str(id), "revoke", "revoke", change, text)


async def _conditions(
    ctx: RequestContext, global_id: str, conditions: AccessConditionsInput | None
) -> dict[str, object]:
    """The narrower terms an approval with conditions writes (checked against the request)."""
    if conditions is None or (
        conditions.mask is None and conditions.fields is None and conditions.valid_until is None
    ):
        raise PublicError(
            "APPROVE_WITH_CONDITIONS needs conditions (mask, fields or validUntil)",
            "BAD_USER_INPUT",
            argument="conditions",
        )
    record = await visible_request(ctx, global_id)
    if record is None:
        raise not_found("access request")
    terms: dict[str, object] = {}
    if conditions.mask is not None:
        unknown = sorted(set(conditions.mask) - MASKABLE_FIELDS)
        if unknown:
            raise PublicError(
                f"cannot mask {', '.join(unknown)}; maskable: {', '.join(sorted(MASKABLE_FIELDS))}",
                "BAD_USER_INPUT",
                argument="conditions.mask",
            )
        terms["mask"] = sorted(set(conditions.mask))
    fields = _items(conditions.fields, "conditions.fields")
    if fields is not None:
        if record.fields is not None and not set(fields) <= set(record.fields):
            raise PublicError(
                "conditions.fields may only narrow the requested data items",
                "BAD_USER_INPUT",
                argument="conditions.fields",
            )
        terms["fields"] = list(fields)
    if conditions.valid_until is not None:
        if not record.valid_from <= conditions.valid_until <= record.valid_until:
            raise PublicError(
                "conditions.validUntil must fall within the requested period",
                "BAD_USER_INPUT",
                argument="conditions.validUntil",
            )
        terms["valid_until"] = conditions.valid_until
    return terms
