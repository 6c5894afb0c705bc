"""GraphQL for open-data demands and error reports (DESIGN.md, docs/workflows.md).

Public: anyone lists and reads demands and the ranking; the contact details (and the
purpose) of a demand are filled in only for its submitter, the reviewers of the department
it is assigned to and the bureau, on every path that returns a ``DataDemand`` (lists, by
id, ``node``, every mutation's answer); everyone else gets null.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import strawberry
from strawberry.types import Info

from gateway.api.context import RequestContext
from gateway.api.demand_desk import (
    DemandDesk,
    SubmissionLimited,
    Viewer,
    demand_global_id,
    demand_id_of,
    overdue,
)
from gateway.api.errors import PublicError
from gateway.api.relay import encode_cursor, page_info, page_window
from gateway.store import DemandFilter, DemandRecord, DemandRepository
from gateway.workflows.demands import (
    LIMITS,
    Contact,
    DemandAnswer,
    DemandDraft,
    Problem,
)
from gateway.workflows.demands import DemandDecision as DemandDecisionModel
from gateway.workflows.demands import DemandKind as DemandKindModel
from gateway.workflows.demands import DemandState as DemandStateModel
from schema import graphql_types as gql

DemandKind = strawberry.enum(
    DemandKindModel, name="DemandKind", description="An open-data demand or an error report."
)
DemandState = strawberry.enum(
    DemandStateModel, name="DemandState", description="RECEIVED -> ASSIGNED -> ANSWERED -> CLOSED."
)
DemandDecision = strawberry.enum(
    DemandDecisionModel, name="DemandDecision", description="How a department answers."
)

_KIND = "DataDemand"


@strawberry.type(description="A department's answer to a data demand.")
class DataDemandAnswer:
    decision: DemandDecision  # type: ignore[valid-type]
    reason: str | None
    planned_date: date | None
    answered_at: datetime
    late: bool = strawberry.field(description="Given at or after the deadline (dueAt).")
    dataset_ids: strawberry.Private[tuple[str, ...]]

    @strawberry.field(description="The datasets it points to, as far as the viewer may see them.")
    async def datasets(self, info: Info[RequestContext, None]) -> list[gql.Dataset]:
        lookups = (info.context.dataset_by_id(i, "datasets") for i in self.dataset_ids)
        found = await asyncio.gather(*lookups)  # one batched call per source
        return [dataset for dataset in found if dataset is not None]


@strawberry.type(description="An open-data demand or error report from the public.")
class DataDemand(gql.Node):
    id: strawberry.ID
    kind: DemandKind  # type: ignore[valid-type]
    state: DemandState  # type: ignore[valid-type]
    title: str
    description: str
    department: gql.Department | None = strawberry.field(description="Assigned to.")
    themes: list[str]
    answer: DataDemandAnswer | None
    support_count: int = strawberry.field(
        description="1 for the submitter + each distinct supporter."
    )
    due_at: datetime = strawberry.field(
        description="The current stage's deadline (assignment, then answer), in working days."
    )
    overdue: bool = strawberry.field(description="Past dueAt and not answered yet.")
    created_at: datetime
    updated_at: datetime
    contact: gql.ContactPoint | None = strawberry.field(
        description="Only for the submitter, the assigned department's reviewers and the "
        "bureau; null for everyone else."
    )
    purpose: str | None = strawberry.field(description="Seen by the same callers as contact.")
    receipt: str | None = strawberry.field(
        description="Returned once, by submitDataDemand: send it in the X-Demand-Receipt "
        "header to act as the submitter (read the contact, close the demand). Null elsewhere."
    )
    dataset_id: strawberry.Private[str | None]

    @strawberry.field(description="The dataset named, as far as the viewer may see it.")
    async def dataset(self, info: Info[RequestContext, None]) -> gql.Dataset | None:
        if self.dataset_id is None:
            return None
        return await info.context.dataset_by_id(self.dataset_id, "dataset")


@strawberry.type
class DataDemandEdge:
    cursor: str
    node: DataDemand


@strawberry.type
class DataDemandConnection:
    edges: list[DataDemandEdge]
    page_info: gql.PageInfo
    total_count: int


@strawberry.type(description="A theme by the summed support of its open demands.")
class ThemeRank:
    theme: str
    support_count: int
    demands: int


@strawberry.type
class DepartmentRank:
    department: gql.Department
    support_count: int
    demands: int


@strawberry.type
class DatasetRank:
    dataset: gql.Dataset
    support_count: int
    demands: int


@strawberry.type(description="The priority-opening list: what the public asks for most.")
class DemandRanking:
    themes: list[ThemeRank]
    departments: list[DepartmentRank]
    datasets: list[DatasetRank] = strawberry.field(description="Only datasets the viewer may see.")


@strawberry.input
class ContactInput:
    email: str
    name: str | None = None
    phone: str | None = None


@strawberry.input
class DataDemandInput:
    title: str
    description: str
    contact: ContactInput
    kind: DemandKind | None = DemandKindModel.OPEN_DATA  # type: ignore[valid-type]
    dataset_id: strawberry.ID | None = None
    department: strawberry.ID | None = None
    themes: list[str] | None = None
    purpose: str | None = None


@strawberry.input
class DemandAnswerInput:
    decision: DemandDecision  # type: ignore[valid-type]
    reason: str | None = None
    planned_date: date | None = None
    dataset_ids: list[strawberry.ID] | None = None


@strawberry.input
class DataDemandFilter:
    kind: DemandKind | None = None  # type: ignore[valid-type]
    state: DemandState | None = None  # type: ignore[valid-type]
    department: strawberry.ID | None = None


def demand_view(
    ctx: RequestContext, record: DemandRecord, receipt: str | None = None
) -> DataDemand:
    """The demand as ``ctx``'s caller may see it: the one place contact details are let out."""
    # The submission's own answer (it carries the receipt) goes to the submitter.
    private = receipt is not None or Viewer.of(ctx).reads_contact(record)
    answer = None
    if record.answer_decision is not None and record.answered_at is not None:
        answer = DataDemandAnswer(
            decision=DemandDecisionModel(record.answer_decision),
            reason=record.answer_reason,
            planned_date=record.answer_planned_date,
            answered_at=record.answered_at,
            late=bool(record.answer_late),
            dataset_ids=record.answer_dataset_ids,
        )
    contact = record.contact
    return DataDemand(
        id=strawberry.ID(demand_global_id(record.id)),
        kind=DemandKindModel(record.kind),
        state=DemandStateModel(record.state),
        title=record.title,
        description=record.description,
        department=(
            gql.Department(
                id=strawberry.ID(record.department),
                name=record.department_name or record.department,
            )
            if record.department
            else None
        ),
        themes=list(record.themes),
        answer=answer,
        support_count=record.support_count,
        due_at=record.due_at,
        overdue=overdue(record, ctx.now),
        created_at=record.created_at,
        updated_at=record.updated_at,
        contact=(
            gql.ContactPoint(
                name=contact.get("name"), email=contact.get("email"), phone=contact.get("phone")
            )
            if private
            else None
        ),
        purpose=record.purpose if private else None,
        receipt=receipt,
        dataset_id=record.dataset_id,
    )


async def demand_node(ctx: RequestContext, global_id: str) -> DataDemand | None:
    """``node(id)`` for a demand's id: null when there is no such demand."""
    if ctx.store is None:
        return None
    demand_id = demand_id_of(global_id)
    if demand_id is None:
        return None
    record = await DemandRepository(ctx.store).get(demand_id)
    return demand_view(ctx, record) if record is not None else None


def _bad_input(problems: list[Problem], prefix: str = "") -> PublicError:
    listed = "; ".join(f"{prefix}{p.field} {p.message}" for p in problems)
    return PublicError(
        f"the input is not valid: {listed}",
        "BAD_USER_INPUT",
        problems=[{"field": prefix + p.field, "message": p.message} for p in problems],
    )


async def _department(ctx: RequestContext, department_id: str, argument: str) -> tuple[str, str]:
    """The department's (id, name) as the sources list it; BAD_USER_INPUT if unknown."""
    departments, reports = await ctx.engine.departments()
    for department in departments:
        if department.id == department_id:
            return department.id, department.name
    failed = [r.source_id for r in reports if r.failed]
    hint = f" (sources {', '.join(failed)} did not answer: try again)" if failed else ""
    raise PublicError(
        f"no department has this id; the departments query lists them{hint}",
        "BAD_USER_INPUT",
        argument=argument,
    )


async def _visible_dataset(
    ctx: RequestContext, global_id: str, path: str, argument: str
) -> gql.Dataset:
    """A dataset the caller may discover; a hidden one answers exactly like a missing one."""
    dataset = await ctx.dataset_by_id(global_id, path) if len(global_id) <= 512 else None
    if dataset is None:
        raise PublicError("no dataset has this id", "BAD_USER_INPUT", argument=argument)
    return dataset


@strawberry.type
class DemandQuery:
    @strawberry.field(
        description="Every data demand and error report, newest first: public, without "
        "contact details."
    )
    async def data_demands(
        self,
        info: Info[RequestContext, None],
        filter: DataDemandFilter | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> DataDemandConnection:
        ctx = info.context
        desk = DemandDesk.of(ctx)
        count, after_id = page_window(_KIND, first, after, ctx.max_first)
        where = DemandFilter(
            kind=filter.kind.value if filter and filter.kind else None,
            state=filter.state.value if filter and filter.state else None,
            department=str(filter.department) if filter and filter.department else None,
        )
        page = await desk.repository.page(where, count, after_id)
        edges = [
            DataDemandEdge(cursor=encode_cursor(_KIND, r.id), node=demand_view(ctx, r))
            for r in page.records
        ]
        return DataDemandConnection(
            edges=edges,
            page_info=page_info(_KIND, [r.id for r in page.records], page.has_next, after),
            total_count=page.total,
        )

    @strawberry.field(description="One data demand by id; null if there is none.")
    async def data_demand(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> DataDemand | None:
        DemandDesk.of(info.context)
        return await demand_node(info.context, str(id))

    @strawberry.field(
        description="The most-supported themes, departments and datasets (summed supportCount "
        "of their demands that are not CLOSED): the priority-opening list."
    )
    async def demand_ranking(
        self, info: Info[RequestContext, None], first: int | None = 10
    ) -> DemandRanking:
        ctx = info.context
        desk = DemandDesk.of(ctx)
        count = 10 if first is None else first
        if not 0 <= count <= ctx.max_first:
            raise PublicError(
                f"first must be between 0 and {ctx.max_first}", "BAD_USER_INPUT", argument="first"
            )
        themes, departments, datasets = await desk.repository.ranking(count)
        # Batches of `count` lines, one batched lookup per source each; the lines the viewer
        # may not see are dropped (looking up only what is needed keeps the audit exact).
        visible: list[DatasetRank] = []
        for start in range(0, len(datasets), max(count, 1)):
            if len(visible) >= count:
                break
            batch = datasets[start : start + count]
            found = await asyncio.gather(
                *(ctx.dataset_by_id(line.value, "demandRanking") for line in batch)
            )
            visible += [
                DatasetRank(dataset=dataset, support_count=line.support_count, demands=line.demands)
                for line, dataset in zip(batch, found, strict=True)
                if dataset is not None
            ]
        visible = visible[:count]
        return DemandRanking(
            themes=[
                ThemeRank(theme=t.value, support_count=t.support_count, demands=t.demands)
                for t in themes
            ],
            departments=[
                DepartmentRank(
                    department=gql.Department(id=strawberry.ID(d.value), name=d.name or d.value),
                    support_count=d.support_count,
                    demands=d.demands,
                )
                for d in departments
            ],
            datasets=visible,
        )


@strawberry.type
class DemandMutation:
    @strawberry.mutation(
        description="Ask for data to be opened, or report an error in published data. "
        "Anonymous callers are limited per address (workflows.demands.anonymous_per_hour)."
    )
    async def submit_data_demand(
        self, info: Info[RequestContext, None], input: DataDemandInput
    ) -> DataDemand:
        ctx = info.context
        desk = DemandDesk.of(ctx)
        draft = DemandDraft.of(
            kind=DemandKindModel(input.kind or DemandKindModel.OPEN_DATA),
            title=input.title,
            description=input.description,
            themes=input.themes,
            purpose=input.purpose,
            contact=Contact(input.contact.name, input.contact.email, input.contact.phone),
        )
        problems = draft.problems()
        if problems:
            raise _bad_input(problems, "input.")
        try:
            await desk.check_quota(ctx.caller, ctx.client_address, ctx.now)
            department = None
            dataset_id = str(input.dataset_id) if input.dataset_id else None
            if dataset_id is not None:
                dataset = await _visible_dataset(
                    ctx, dataset_id, "submitDataDemand", "input.datasetId"
                )
                if dataset.department is not None:
                    department = (str(dataset.department.id), dataset.department.name)
            if input.department:
                named = await _department(ctx, str(input.department), "input.department")
                if department is not None and named[0] != department[0]:
                    raise PublicError(
                        "the dataset is published by another department; leave department "
                        "out, or name the dataset's",
                        "BAD_USER_INPUT",
                        argument="input.department",
                    )
                department = named
            record, receipt = await desk.submit(
                ctx.caller,
                draft,
                dataset_id=dataset_id,
                department=department,
                client_address=ctx.client_address,
                now=ctx.now,
            )
        except SubmissionLimited as limited:
            ctx.rate_limited = limited.decision
            seconds = limited.decision.retry_after_header
            raise PublicError(
                f"too many anonymous data demands from this address; retry in {seconds} s "
                "or authenticate",
                "RATE_LIMITED",
                retryAfter=int(seconds),
            ) from None
        return demand_view(ctx, record, receipt=receipt)

    @strawberry.mutation(description="Support a demand: one support per authenticated caller.")
    async def support_data_demand(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> DataDemand:
        ctx = info.context
        record = await DemandDesk.of(ctx).support(ctx.caller, str(id), ctx.now)
        return demand_view(ctx, record)

    @strawberry.mutation(description="Assign (or reassign) a demand to a department: bureau roles.")
    async def assign_data_demand(
        self, info: Info[RequestContext, None], id: strawberry.ID, department: strawberry.ID
    ) -> DataDemand:
        ctx = info.context
        desk, viewer = DemandDesk.of(ctx), Viewer.of(ctx)
        desk.refused_unless(viewer, await desk.load(str(id)), "assign")
        named = await _department(ctx, str(department), "department")
        record = await desk.assign(viewer, str(id), named, ctx.now)
        return demand_view(ctx, record)

    @strawberry.mutation(
        description="Answer a demand: the reviewers of the department it is assigned to. "
        "WILL_OPEN needs plannedDate, ALREADY_AVAILABLE datasetIds, DECLINED a reason; "
        "CORRECTED answers error reports."
    )
    async def answer_data_demand(
        self, info: Info[RequestContext, None], id: strawberry.ID, input: DemandAnswerInput
    ) -> DataDemand:
        ctx = info.context
        desk, viewer = DemandDesk.of(ctx), Viewer.of(ctx)
        current = await desk.load(str(id))
        desk.refused_unless(viewer, current, "answer")
        answer = DemandAnswer(
            decision=DemandDecisionModel(input.decision),
            reason=(input.reason or "").strip() or None,
            planned_date=input.planned_date,
            dataset_ids=tuple(dict.fromkeys(str(i) for i in input.dataset_ids or ())),
        )
        problems = answer.problems(DemandKindModel(current.kind), ctx.calendar.today(ctx.now))
        if problems:
            raise _bad_input(problems, "input.")
        await asyncio.gather(
            *(
                _visible_dataset(ctx, dataset_id, "answerDataDemand", "input.datasetIds")
                for dataset_id in answer.dataset_ids
            )
        )
        record = await desk.answer(viewer, str(id), answer, ctx.now)
        return demand_view(ctx, record)

    @strawberry.mutation(
        description="Close a demand: its submitter once it is answered, or the bureau (an "
        "unanswered one with a reason: a duplicate, spam)."
    )
    async def close_data_demand(
        self, info: Info[RequestContext, None], id: strawberry.ID, reason: str | None = None
    ) -> DataDemand:
        ctx = info.context
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > LIMITS.reason:
            raise PublicError(f"reason is longer than {LIMITS.reason} characters", "BAD_USER_INPUT")
        record = await DemandDesk.of(ctx).close(Viewer.of(ctx), str(id), reason, ctx.now)
        return demand_view(ctx, record)


__all__ = [
    "DataDemand",
    "DemandMutation",
    "DemandQuery",
    "demand_node",
    "demand_view",
]
