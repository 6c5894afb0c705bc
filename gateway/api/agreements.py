"""Operation agreements (授权运营) in GraphQL. Only bureau roles create or change them;
they are seen by bureau roles and by the operator's own callers."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.api.context import RequestContext
from gateway.api.errors import PublicError
from gateway.api.relay import encode_cursor, page_info, page_window
from gateway.api.workflow_common import audit, not_found, refused, required_text, store_of
from gateway.store import AgreementRecord, AgreementRepository, NewAgreement, store_pk
from gateway.workflows import AgreementActor, AgreementMode, AgreementStatus, TransitionRefused
from gateway.workflows import agreements as flow
from schema import graphql_types as gql
from schema.ids import decode_id

KIND = "OperationAgreement"

AgreementModeType = strawberry.enum(
    AgreementMode,
    name="AgreementMode",
    description="OVERALL (整体), SECTOR (分领域: departments, themes), SCENARIO (依场景).",
)
AgreementStatusType = strawberry.enum(
    AgreementStatus,
    name="AgreementStatus",
    description="ACTIVE grants its scope; SUSPENDED, TERMINATED (exit) and EXPIRED do not.",
)


@strawberry.input(description="A new agreement; it is ACTIVE from creation within its dates.")
class OperationAgreementInput:
    operator: strawberry.ID
    mode: AgreementModeType  # type: ignore[valid-type]
    departments: list[strawberry.ID] | None = None
    themes: list[str] | None = None
    dataset_ids: list[strawberry.ID] | None = None
    max_sensitivity: gql.Sensitivity | None = None  # type: ignore[valid-type]
    scenarios: list[str] | None = None
    valid_from: date
    valid_until: date
    obligations: str


@strawberry.type
class ScenarioUsage:
    scenario: str | None
    requests: int


@strawberry.type(description="Data accesses under an agreement in a period.")
class AgreementUsage:
    requests: int
    datasets_returned: int
    by_scenario: list[ScenarioUsage]


@strawberry.type(description="An authorization of an operator (授权运营).")
class OperationAgreement(gql.Node):
    id: strawberry.ID
    created_at: datetime
    updated_at: datetime
    status: AgreementStatusType  # type: ignore[valid-type]
    status_reason: str | None
    operator: str
    mode: AgreementModeType  # type: ignore[valid-type]
    departments: list[str]
    themes: list[str]
    dataset_ids: list[strawberry.ID]
    max_sensitivity: gql.Sensitivity  # type: ignore[valid-type]
    scenarios: list[str]
    valid_from: date
    valid_until: date = strawberry.field(description="The last valid day (inclusive).")
    obligations: str
    pk: strawberry.Private[int]

    @strawberry.field(
        description="Requests that returned data under this agreement, from `from` to `to` "
        "(calendar days, inclusive; default: the last 30 days)."
    )
    async def usage(
        self,
        info: Info[RequestContext, None],
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> AgreementUsage:
        ctx = info.context
        zone = ctx.calendar.zone
        last = to or ctx.calendar.today(ctx.now)
        first = from_ or last - timedelta(days=29)
        if last < first:
            raise PublicError("to is before from", "BAD_USER_INPUT", argument="to")
        start = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
        found = await AgreementRepository(store_of(ctx)).usage(self.pk, start, end)
        return AgreementUsage(
            requests=found.requests,
            datasets_returned=found.datasets_returned,
            by_scenario=[ScenarioUsage(scenario=s, requests=n) for s, n in found.by_scenario],
        )


@strawberry.type
class OperationAgreementEdge:
    cursor: str
    node: OperationAgreement


@strawberry.type
class OperationAgreementConnection:
    edges: list[OperationAgreementEdge]
    page_info: gql.PageInfo
    total_count: int


def to_type(record: AgreementRecord) -> OperationAgreement:
    return OperationAgreement(
        id=strawberry.ID(record.global_id),
        created_at=record.created_at,
        updated_at=record.updated_at,
        status=record.status,
        status_reason=record.status_reason,
        operator=record.operator,
        mode=AgreementMode(record.mode),
        departments=list(record.departments),
        themes=list(record.themes),
        dataset_ids=[strawberry.ID(i) for i in record.dataset_ids],
        max_sensitivity=record.max_sensitivity,
        scenarios=list(record.scenarios),
        valid_from=record.valid_from,
        valid_until=record.valid_until,
        obligations=record.obligations,
        pk=record.id,
    )


def _bureau(ctx: RequestContext) -> bool:
    return not ctx.caller.anonymous and ctx.workflow_settings.is_bureau(ctx.caller.roles)


def _may_see(ctx: RequestContext, record: AgreementRecord) -> bool:
    return _bureau(ctx) or (
        not ctx.caller.anonymous
        and ctx.caller.operator is not None
        and ctx.caller.operator == record.operator
    )


async def visible_agreement(ctx: RequestContext, global_id: str) -> AgreementRecord | None:
    pk = store_pk(global_id, KIND)
    if pk is None or ctx.caller.anonymous:
        return None
    record = await AgreementRepository(store_of(ctx)).get(pk)
    return record if record is not None and _may_see(ctx, record) else None


def _names(values: list[str] | list[strawberry.ID] | None, argument: str) -> tuple[str, ...]:
    names = tuple(OrderedDict.fromkeys(str(v).strip() for v in values or ()))
    if any(not n or len(n) > 2048 for n in names) or len(names) > 500:
        raise PublicError(
            f"{argument}: 1 to 500 non-blank names", "BAD_USER_INPUT", argument=argument
        )
    return names


def _new_agreement(ctx: RequestContext, value: OperationAgreementInput) -> NewAgreement:
    operator = required_text(str(value.operator), "operator", 256)
    mode = AgreementMode(value.mode)
    departments = _names(value.departments, "departments")
    themes = _names(value.themes, "themes")
    dataset_ids = _names(value.dataset_ids, "datasetIds")
    for dataset_id in dataset_ids:
        decoded = decode_id(dataset_id)
        if decoded is None or decoded[0] != "Dataset":
            raise PublicError(
                f"{dataset_id[:100]!r} is not a dataset id", "BAD_USER_INPUT", argument="datasetIds"
            )
    scenarios = _names(value.scenarios, "scenarios")
    if mode is AgreementMode.SCENARIO and not scenarios:
        raise PublicError(
            "a SCENARIO agreement needs scenarios", "BAD_USER_INPUT", argument="scenarios"
        )
    if mode is AgreementMode.SECTOR and not (departments or themes or dataset_ids):
        raise PublicError(
            "a SECTOR agreement needs departments, themes or datasetIds",
            "BAD_USER_INPUT",
            argument="departments",
        )
    if value.valid_until < value.valid_from:
        raise PublicError("validUntil is before validFrom", "BAD_USER_INPUT", argument="validUntil")
    return NewAgreement(
        operator=operator,
        mode=mode.value,
        departments=departments,
        themes=themes,
        dataset_ids=dataset_ids,
        max_sensitivity=value.max_sensitivity or gql.Sensitivity.L2,
        scenarios=scenarios,
        valid_from=value.valid_from,
        valid_until=value.valid_until,
        obligations=required_text(value.obligations, "obligations"),
        created_by=ctx.caller.id,
    )


@strawberry.type
class AgreementQuery:
    @strawberry.field(
        description="Agreements the caller may see (bureau: all; an operator's callers: its own)."
    )
    async def operation_agreements(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
    ) -> OperationAgreementConnection:
        ctx = info.context
        size, before = page_window(KIND, first, after, ctx.max_first)
        records: list[AgreementRecord] = []
        total, has_next = 0, False
        if not ctx.caller.anonymous:
            records, total, has_next = await AgreementRepository(store_of(ctx)).page(
                ctx.caller.operator, everyone=_bureau(ctx), first=size, before_id=before
            )
        return OperationAgreementConnection(
            edges=[
                OperationAgreementEdge(cursor=encode_cursor(KIND, r.id), node=to_type(r))
                for r in records
            ],
            page_info=page_info(KIND, [r.id for r in records], has_next, after),
            total_count=total,
        )

    @strawberry.field(description="One agreement, if the caller may see it.")
    async def operation_agreement(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> OperationAgreement | None:
        record = await visible_agreement(info.context, str(id))
        return None if record is None else to_type(record)


@strawberry.type
class AgreementMutation:
    @strawberry.mutation(description="Authorize an operator (bureau roles only).")
    async def create_operation_agreement(
        self, info: Info[RequestContext, None], input: OperationAgreementInput
    ) -> OperationAgreement:
        ctx = info.context
        store = store_of(ctx)
        if not _bureau(ctx):
            raise PublicError(
                "only the data administration bureau manages operation agreements", "NOT_ALLOWED"
            )
        record = await AgreementRepository(store).create(_new_agreement(ctx, input), ctx.now)
        ctx.outbox_written()
        await audit(
            ctx, flow.CREATED_EVENT, record.global_id, None, {"status": record.status.value}
        )
        return to_type(record)

    @strawberry.mutation(
        description="Suspend, resume (ACTIVE), terminate or expire an agreement (bureau roles "
        "only); a reason is required. Access stops at once."
    )
    async def set_operation_agreement_status(
        self,
        info: Info[RequestContext, None],
        id: strawberry.ID,
        status: AgreementStatusType,  # type: ignore[valid-type]
        reason: str,
    ) -> OperationAgreement:
        ctx = info.context
        store = store_of(ctx)
        text = required_text(reason, "reason")
        visible = await visible_agreement(ctx, str(id))
        if visible is None:
            raise not_found("operation agreement")
        if not _bureau(ctx):
            raise refused("operation agreement", "change")
        event = flow.EVENT_FOR_TARGET[AgreementStatus(status)]
        try:
            record = await AgreementRepository(store).set_status(
                visible.id, event, frozenset({AgreementActor.BUREAU}), text, ctx.now
            )
        except TransitionRefused:
            raise refused("operation agreement", "change") from None
        if record is None:
            raise not_found("operation agreement")
        ctx.outbox_written()
        await audit(
            ctx, flow.EVENTS[event], record.global_id, text, {"status": record.status.value}
        )
        return to_type(record)
