"""The GraphQL schema: the ``Query`` root and its resolvers over the federation engine."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, Info

from connectors.sdk import DatasetFilter, FacetName, Sort
from gateway.access import Privilege
from gateway.api.access_requests import AccessRequestMutation, AccessRequestQuery, visible_request
from gateway.api.access_requests import to_type as request_type
from gateway.api.agreements import AgreementMutation, AgreementQuery, visible_agreement
from gateway.api.agreements import to_type as agreement_type
from gateway.api.arguments import ArgumentProblem, datasets_problems
from gateway.api.compiled import Plans, execution_context_for
from gateway.api.context import RequestContext, visible_dataset
from gateway.api.demands import DemandMutation, DemandQuery, demand_node
from gateway.api.errors import PublicError
from gateway.api.prepared import PreparedSchema
from gateway.api.selections import SelectionMemo
from gateway.federation import (
    CursorError,
    Edge,
    SearchRequest,
    SourceReport,
)
from gateway.http import QueryLimits
from gateway.quality import graphql_scope
from gateway.quality.graphql import quality_report
from schema import graphql_quality as gql_quality
from schema import graphql_types as gql
from schema.built_on_read import built_on_read
from schema.ids import decode_id

log = logging.getLogger("gateway.api")


def bad_user_input(problems: list[ArgumentProblem]) -> PublicError:
    """One error for every problem with the arguments, naming each argument."""
    return PublicError(
        "invalid arguments: " + "; ".join(f"{p.argument} {p.message}" for p in problems),
        "BAD_USER_INPUT",
        argument=problems[0].argument,
        problems=[{"argument": p.argument, "message": p.message} for p in problems],
    )


_visible = visible_dataset


def _context(info: Info[RequestContext, None]) -> RequestContext:
    return info.context


def _to_filter(value: gql.DatasetFilter | None) -> tuple[DatasetFilter, tuple[str, ...]]:
    if value is None:
        return DatasetFilter(), ()
    return (
        DatasetFilter(
            departments=tuple(value.departments or ()),
            themes=tuple(value.themes or ()),
            keywords=tuple(value.keywords or ()),
            formats=tuple(value.formats or ()),
            share_types=tuple(value.share_types or ()),
            open_types=tuple(value.open_types or ()),
            max_sensitivity=value.max_sensitivity,
            modified_after=_aware(value.modified_after),
            modified_before=_aware(value.modified_before),
            identifiers=tuple(value.identifiers or ()),
        ),
        tuple(value.sources or ()),
    )


def _cursor(edge: Edge) -> str:
    return edge.cursor


def _start_cursor(edges: tuple[Edge, ...]) -> str | None:
    return edges[0].cursor if edges else None


def _facets(facets: Mapping[FacetName, tuple[tuple[str, int], ...]]) -> gql.DatasetFacets:
    return gql.DatasetFacets(
        departments=gql.facet_values(facets.get(FacetName.DEPARTMENTS, ())),
        themes=gql.facet_values(facets.get(FacetName.THEMES, ())),
        formats=gql.facet_values(facets.get(FacetName.FORMATS, ())),
        share_types=gql.facet_values(facets.get(FacetName.SHARE_TYPES, ())),
        open_types=gql.facet_values(facets.get(FacetName.OPEN_TYPES, ())),
    )


def _source_results(reports: tuple[SourceReport, ...]) -> list[gql.SourceResult]:
    return [
        gql.SourceResult(
            source=gql.SourceRef(id=strawberry.ID(r.source_id)),
            status=gql.SourceStatus(r.status.value),
            latency_ms=round(r.latency_ms, 1) if r.latency_ms is not None else None,
            matched=r.matched,
            message=r.message,
        )
        for r in reports
    ]


def _aware(value: datetime | None) -> datetime | None:
    """Filters compare with UTC timestamps; a time without a zone is taken as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# What a selection asks for, per selection (gateway/api/selections.py).
_SELECTIONS = SelectionMemo()


def _selects(info: Info[RequestContext, None], name: str) -> bool:
    """Whether the current field's selection (fragments included) asks for ``name``."""
    return _SELECTIONS.selects(info._raw_info, name)


async def _workflow_node(ctx: RequestContext, kind: str, global_id: str) -> gql.Node | None:
    """An access request or agreement by id, as ``accessRequest`` / ``operationAgreement``
    answer (null for whoever may not see it)."""
    if ctx.store is None:
        return None
    if kind == "AccessRequest":
        request = await visible_request(ctx, global_id)
        return None if request is None else request_type(ctx, request)
    agreement = await visible_agreement(ctx, global_id)
    return None if agreement is None else agreement_type(agreement)


async def _lookup(ctx: RequestContext, global_id: str, path: str) -> gql.Dataset | None:
    return await ctx.dataset_by_id(global_id, path)


@strawberry.type
class Query:
    @strawberry.field(description="Search every source the caller may see, merged and paged.")
    async def datasets(
        self,
        info: Info[RequestContext, None],
        search: str | None = None,
        filter: gql.DatasetFilter | None = None,
        sort: gql.DatasetSort | None = gql.DatasetSort.RELEVANCE,
        first: int | None = 20,
        after: str | None = None,
    ) -> gql.DatasetConnection:
        ctx = _context(info)
        first = 20 if first is None else first
        sort = sort or gql.DatasetSort.RELEVANCE
        problems = datasets_problems(
            search=search, filter=filter, first=first, max_first=ctx.max_first, after=after
        )
        if problems:  # before any platform is asked
            raise bad_user_input(problems)
        dataset_filter, sources = _to_filter(filter)
        request = SearchRequest(
            text=(search or "").strip() or None,
            filter=dataset_filter,
            sources=sources,
            sort=Sort(sort.value),
            first=first,
            after=after,
            # Upstream facet counting costs every platform work; ask only when selected.
            want_facets=_selects(info, "facets"),
        )
        try:
            result = await ctx.engine.search(request, ctx.grants)
        except CursorError as exc:
            raise PublicError(str(exc), "BAD_CURSOR", argument="after") from None
        ctx.record_failures(result.sources, "datasets")
        ctx.withheld += result.withheld
        edges = []
        for edge in result.edges:
            ctx.note_returned(edge.dataset)
            node = gql.dataset_type(
                edge.dataset,
                use=edge.access.privilege is Privilege.USE,
                mask=edge.access.mask,
                wanted=ctx.languages,
                source_language=ctx.source_language(edge.dataset.source_id),
                items=edge.access.items,
            )
            edges.append(gql.DatasetEdge(node=node, encode_cursor=functools.partial(_cursor, edge)))
        return built_on_read(
            gql.DatasetConnection,
            {
                "edges": edges,
                "page_info": built_on_read(
                    gql.PageInfo,
                    {
                        "has_next_page": result.has_next_page,
                        "has_previous_page": after is not None,
                        "end_cursor": result.end_cursor,
                    },
                    {"start_cursor": functools.partial(_start_cursor, result.edges)},
                ),
                "total_count": result.total_count,
                "total_count_is_exact": result.total_count_is_exact,
            },
            # Most queries select neither: built only when read.
            {
                "facets": functools.partial(_facets, result.facets),
                "sources": functools.partial(_source_results, result.sources),
            },
        )

    @strawberry.field(description="One dataset by its global id; null if absent or not visible.")
    async def dataset(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> gql.Dataset | None:
        return await _lookup(_context(info), str(id), "dataset")

    @strawberry.field(description="Any object by its global id (Relay).")
    async def node(self, info: Info[RequestContext, None], id: strawberry.ID) -> gql.Node | None:
        ctx = _context(info)
        decoded = decode_id(str(id))
        if decoded is not None and decoded[0] in ("AccessRequest", "OperationAgreement"):
            return await _workflow_node(ctx, decoded[0], str(id))
        if decoded is not None and decoded[0] == "DataDemand":
            return await demand_node(ctx, str(id))
        return await _lookup(ctx, str(id), "node")

    @strawberry.field(description="Every publishing department the sources know.")
    async def departments(self, info: Info[RequestContext, None]) -> list[gql.Department]:
        ctx = _context(info)
        found, reports = await ctx.engine.departments()
        ctx.record_failures(reports, "departments")
        return [gql.Department(id=strawberry.ID(d.id), name=d.name) for d in found]

    @strawberry.field(description="The connected department platforms.")
    def sources(self, info: Info[RequestContext, None]) -> list[gql.Source]:
        ctx = _context(info)
        out = []
        for s in ctx.sources:
            guard = ctx.engine.guard(s.id).report()
            out.append(
                gql.Source(
                    id=strawberry.ID(s.id),
                    connector=s.connector,
                    state=guard.state.value,
                    last_error=guard.last_error,
                    latency_p50_ms=(
                        round(guard.latency_p50_ms, 1) if guard.latency_p50_ms is not None else None
                    ),
                )
            )
        return out

    @strawberry.field(
        description=(
            "Quality figures per department from the background sweep: bureau roles see "
            "every department, a department's members their own (docs/quality.md)."
        )
    )
    async def quality_report(
        self, info: Info[RequestContext, None], departments: list[strawberry.ID] | None = None
    ) -> gql_quality.QualityReport:
        ctx = _context(info)
        bureau = ctx.workflow_settings.is_bureau(ctx.caller.roles)
        visible = graphql_scope(ctx.caller, bureau)
        if visible is None:
            raise PublicError(
                "qualityReport is for bureau roles and a department's members",
                "FORBIDDEN",
            )
        if ctx.quality_reports is None:
            raise PublicError("quality reports need the store (store.url)", "UNAVAILABLE")
        wanted = [str(d) for d in departments] if departments is not None else None
        return await quality_report(ctx.quality_reports, visible, wanted)

    @strawberry.field(description="The caller, the declared purpose and the grants in force.")
    def me(self, info: Info[RequestContext, None]) -> gql.Caller:
        ctx = _context(info)
        return gql.Caller(
            id=ctx.caller.id,
            anonymous=ctx.caller.anonymous,
            department=ctx.caller.department,
            roles=list(ctx.caller.roles),
            purpose=ctx.purpose,
            grants=_grants_of(ctx),
        )


def _grants_of(ctx: RequestContext) -> list[gql.EffectiveGrant]:
    """Built-in scopes in force, then every grant naming the caller, in force or not."""
    built_in = [
        gql.EffectiveGrant(
            id=c.grant_id,
            privilege=c.privilege.value,
            valid_until=c.valid_until.isoformat() if c.valid_until else None,
        )
        for c in ctx.grants.clauses
        if ctx.policy is None or c.grant_id in ("public", "own-department")
    ]
    if ctx.policy is None:  # a context built without its policy: the clauses in force
        return built_in
    described = ctx.policy.describe_grants(ctx.caller, ctx.purpose, ctx.now, ctx.issued, ctx.today)
    return built_in + [
        gql.EffectiveGrant(
            id=g.id,
            privilege=g.privilege.value,
            valid_from=g.valid_from.isoformat() if g.valid_from else None,
            valid_until=g.valid_until.isoformat() if g.valid_until else None,
            scenarios=list(g.scenarios),
            origin=g.origin,
            in_force=g.in_force,
        )
        for g in described
    ]


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    # GraphQLErrors (ours, variable coercion, validation) are meant for the client.
    if original is None or isinstance(original, GraphQLError):
        return False
    log.error("internal error in %s", error.path, exc_info=original)
    return True


class _Schema(strawberry.Schema):
    """strawberry logs every GraphQL error with a traceback; most are the caller's (a bad
    argument, a query that does not validate) and say nothing about the gateway. Those go
    to the debug log; an unexpected error is logged in full by ``_should_mask``."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if error.original_error is None or isinstance(error.original_error, GraphQLError):
                log.debug("caller error: %s", error.message)


class _PreparedSchema(PreparedSchema, _Schema):
    """The fast path's schema: prepared operations (gateway/api/prepared.py), errors logged
    as ``_Schema`` logs them."""


def _mask_errors() -> MaskErrors:
    return MaskErrors(
        should_mask_error=_should_mask,
        error_message="Internal error; it has been logged.",
    )


# Built once: ValidationCache keys on the validation rule classes, which QueryLimits
# creates once (a limiter built per request would make every lookup a miss).
_DEFAULT_LIMITS = QueryLimits()


def build_schema(
    *, introspection: bool = True, limits: QueryLimits | None = None, fast_path: bool = True
) -> strawberry.Schema:
    """The gateway's schema. ``fast_path`` completes answers through compiled plans
    (gateway/api/compiled.py) and runs a document strawberry already accepted on
    graphql-core directly (gateway/api/prepared.py); ``False`` leaves every request to
    strawberry and every field to graphql-core, the oracle the fast path is tested
    against."""
    limits = limits or _DEFAULT_LIMITS
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        _mask_errors,
        *limits.extensions(),
        # A fresh extension per request; their LRU caches live at module level.
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    query = merge_types("Query", (Query, AccessRequestQuery, AgreementQuery, DemandQuery))
    mutation = merge_types("Mutation", (AccessRequestMutation, AgreementMutation, DemandMutation))
    config = StrawberryConfig(scalar_map=gql.SCALAR_MAP)
    common: dict[str, Any] = {
        "query": query,
        "mutation": mutation,
        "types": [gql.Dataset],
        "extensions": extensions,
        "config": config,
    }
    if not fast_path:
        return _Schema(**common)
    return _PreparedSchema(
        **common,
        execution_context_class=execution_context_for(Plans()),
        limits=limits,
        mask_errors=_mask_errors,
    )


schema = build_schema()
