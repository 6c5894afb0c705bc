"""The request context: everything a resolver may use, built per request by the HTTP layer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from strawberry.dataloader import DataLoader

from gateway.access import (
    NO_ISSUED_GRANTS,
    GrantSet,
    IssuedGrants,
    Policy,
    Privilege,
    RateDecision,
    WorkflowSettings,
)
from gateway.access import Caller as CallerModel
from gateway.api.arguments import local_id_is_valid
from gateway.audit import AuditLog
from gateway.federation import FederatedSearch, SourceReport, SourceStatus
from gateway.quality import QualityAssessor, QualityReports
from gateway.quality.graphql import history_type
from gateway.store import DemandRepository, Store
from gateway.store import DepartmentDemands as DepartmentDemandFigures
from gateway.workflows import WorkingCalendar
from schema import graphql_quality as gql_quality
from schema import graphql_types as gql
from schema import model
from schema.ids import decode_id


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: str
    connector: str
    language: str | None = None  # what its records are written in, when they do not say


# A by-id lookup's answer, and the report of the (batched) call that gave it.
_ById = tuple[model.Dataset | None, SourceReport]


@dataclass(slots=True)
class RequestContext:
    """Everything a resolver may use; built per request by the HTTP layer."""

    engine: FederatedSearch
    caller: CallerModel
    grants: GrantSet
    purpose: str | None
    now: datetime
    sources: tuple[SourceInfo, ...]
    max_first: int = 100
    # Accept-Language, most wanted first (schema.lang.preferences)
    languages: tuple[str, ...] = ()
    assessor: QualityAssessor = field(default_factory=QualityAssessor)
    quality_reports: QualityReports | None = None
    # The workflows' services. store is None when the gateway keeps no state (a config
    # parsed without a file and without store.url): workflow resolvers then answer an error.
    store: Store | None = None
    audit: AuditLog | None = None
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    workflow_settings: WorkflowSettings = field(default_factory=WorkflowSettings)
    request_id: str | None = None
    # Call after committing outbox events: the dispatcher delivers them now, not at its poll.
    outbox_written: Callable[[], None] = lambda: None
    # The client's address (rate limits keyed by address) and the X-Demand-Receipt tokens
    # it sent (proof of having submitted a data demand; docs/workflows.md).
    client_address: str | None = None
    demand_receipts: tuple[str, ...] = ()
    # Set by a resolver that refuses for a rate limit: the HTTP layer answers 429.
    rate_limited: RateDecision | None = None
    # The store's issued grants this request was decided with, the policy (for ``me``),
    # and the calendar day in the gateway's time zone.
    issued: IssuedGrants = NO_ISSUED_GRANTS
    policy: Policy | None = None
    today: date | None = None
    # Datasets returned under each operation agreement (its global id -> count).
    agreement_hits: dict[str, int] = field(default_factory=dict)
    source_errors: list[dict[str, Any]] = field(default_factory=list)
    dataset_ids: list[str] = field(default_factory=list)
    source_reports: list[SourceReport] = field(default_factory=list)
    withheld: int = 0
    _loader: DataLoader[tuple[str, str], _ById] | None = None
    _reported: set[tuple[int, str]] = field(default_factory=set)
    _demand_figures: dict[str, DepartmentDemandFigures] | None = None
    _agreement_clauses: tuple[Any, ...] | None = None  # note_returned's, found once
    _languages: dict[str, str | None] | None = None  # source_language's

    async def department_demands(self, department: str) -> gql_quality.DepartmentDemands | None:
        """A department's open, overdue and late-answered data demands (its quality report);
        one store read per request, whatever the number of departments shown."""
        if self.store is None:
            return None
        if self._demand_figures is None:
            repository = DemandRepository(self.store)
            self._demand_figures = await repository.open_and_overdue_by_department(self.now)
        figures = self._demand_figures.get(department) or DepartmentDemandFigures()
        return gql_quality.DepartmentDemands(
            open=figures.open, overdue=figures.overdue, answered_late=figures.answered_late
        )

    def source_language(self, source_id: str) -> str | None:
        languages = self._languages
        if languages is None:  # once per request, not once per dataset
            languages = self._languages = {s.id: s.language for s in reversed(self.sources)}
        return languages.get(source_id)

    async def dataset_quality(self, dataset: model.Dataset) -> gql_quality.DatasetQuality:
        """``Dataset.quality``: computed only for the datasets that select it."""
        return await self.assessor.quality(dataset, self.now)

    async def quality_history(
        self, visible: dict[str, str], days: int
    ) -> list[gql_quality.QualityHistoryPoint]:
        if self.quality_reports is None:
            return []
        points = await self.quality_reports.history(visible, days, self.now)
        return [history_type(p) for p in points]

    def note_returned(self, dataset: model.Dataset) -> None:
        """Count ``dataset`` as returned (the audit's ``dataset_ids``; agreements' usage)."""
        self.dataset_ids.append(f"{dataset.source_id}/{dataset.local_id}")
        under = self._agreement_clauses
        if under is None:
            under = tuple(c for c in self.grants.clauses if c.grant_id.startswith("agreement:"))
            self._agreement_clauses = under
        if not under:
            return
        # Under an agreement: what only an agreement lets the caller use.
        for clause in self.grants.clauses:
            if clause in under or clause.privilege is not Privilege.USE:
                continue
            if clause.matches(dataset):
                return
        for clause in under:
            if clause.matches(dataset):
                name = clause.grant_id.removeprefix("agreement:")
                self.agreement_hits[name] = self.agreement_hits.get(name, 0) + 1
                return

    async def dataset_by_id(self, global_id: str, path: str) -> gql.Dataset | None:
        """The dataset a global id names, as the caller may see it (``dataset``, ``node``
        and ``DatasetCopy.dataset``). An unknown, malformed, foreign or invisible id all
        answer the same: null."""
        decoded = decode_id(global_id)
        if decoded is None or decoded[0] != "Dataset":
            return None
        _, source_id, local_id = decoded
        if self.engine.connector(source_id) is None or not local_id_is_valid(local_id):
            return None  # never sent to a platform: no dataset has such an id
        dataset, report = await self.load_dataset(source_id, local_id)
        if (id(report), path) not in self._reported:  # one batched call answers several ids
            self._reported.add((id(report), path))
            self.record_failures([report], path)
        return visible_dataset(self, dataset)

    def load_dataset(self, source_id: str, local_id: str) -> Awaitable[_ById]:
        """One dataset by id; the lookups of one request are batched per source."""
        if self._loader is None:
            self._loader = DataLoader(load_fn=self._load_datasets)
        return self._loader.load((source_id, local_id))

    async def _load_datasets(self, keys: list[tuple[str, str]]) -> list[_ById]:
        by_source: dict[str, list[str]] = {}
        for source_id, local_id in keys:
            by_source.setdefault(source_id, []).append(local_id)
        answers = await asyncio.gather(
            *(self.engine.get_many(source_id, ids) for source_id, ids in by_source.items())
        )
        found: dict[tuple[str, str], _ById] = {}
        for source_id, (datasets, report) in zip(by_source, answers, strict=True):
            for local_id, dataset in datasets.items():
                found[(source_id, local_id)] = (dataset, report)
        return [found[key] for key in keys]

    def record_failures(
        self, reports: list[SourceReport] | tuple[SourceReport, ...], path: str
    ) -> None:
        self.source_reports.extend(reports)
        for report in reports:
            if not report.failed:
                continue
            if report.rejected:  # the caller's query, not the platform, is at fault
                code, verb = "BAD_USER_INPUT", "could not run the query"
            elif report.status is SourceStatus.TIMEOUT:
                code, verb = "SOURCE_TIMEOUT", "did not answer in time"
            else:
                code, verb = "SOURCE_ERROR", "failed"
            self.source_errors.append(
                {
                    "message": f"source {report.source_id} {verb}: {report.message}",
                    "path": [path],
                    "extensions": {"code": code, "source": report.source_id},
                }
            )


def visible_dataset(ctx: RequestContext, dataset: model.Dataset | None) -> gql.Dataset | None:
    if dataset is None:
        return None
    access = ctx.grants.access(dataset)
    if access is None:
        ctx.withheld += 1
        return None
    ctx.note_returned(dataset)
    return gql.dataset_type(
        dataset,
        use=access.privilege is Privilege.USE,
        mask=access.mask,
        items=access.items,
        wanted=ctx.languages,
        source_language=ctx.source_language(dataset.source_id),
    )
