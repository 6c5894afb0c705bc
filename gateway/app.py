"""The Starlette application: ``/graphql``, ``/healthz``, ``/readyz``."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from graphql import GraphQLError, OperationType
from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route

from connectors.sdk import Connector
from gateway.access import (
    NO_ISSUED_GRANTS,
    Authenticator,
    AuthError,
    Caller,
    GrantFingerprints,
    IssuedGrants,
    Policy,
    PolicyHolder,
    RateLimiter,
    RateLimits,
    SharedRateLimiter,
)
from gateway.api import RequestContext, SourceInfo, build_schema
from gateway.audit import AuditEvent, AuditLog, AuditUnavailable, Outcome
from gateway.config import GatewayConfig
from gateway.federation import (
    CursorCodec,
    FederatedSearch,
    SourceGuard,
    TransportName,
    build_client,
    request_deadline,
    request_id,
)
from gateway.http import CONTENT_TYPE as METRICS_CONTENT_TYPE
from gateway.http import (
    GRAPHIQL_ASSET_PREFIX,
    NOT_CACHEABLE,
    CachedAnswers,
    GatewayMetrics,
    LocalAnswers,
    QueryLimits,
    RedisAnswers,
    RequestResponse,
    ResponseCache,
    Webhook,
    WebhookDispatcher,
    build_middleware,
    build_tracer_provider,
    graphiql_page,
    graphiql_static_app,
    readiness,
    sources_complete,
    tracer_of,
    wants_graphiql,
)
from gateway.http import graphql_http as http
from gateway.quality import (
    LinkChecker,
    QualityAssessor,
    QualityReports,
    QualityRepository,
    QualitySweep,
    page_scope,
)
from gateway.quality.exports import EXPORTS
from gateway.quality.exports.http import Admitted, CatalogueExports
from gateway.quality.page import CSP, report_page
from gateway.store import (
    AgreementRepository,
    IssuedGrantsLoader,
    OutboxRepository,
    Redis,
    Store,
    StoreError,
    open_shared_redis,
    open_store,
    store_pk,
    sweep_workflows,
)
from gateway.workflows import WorkingCalendar
from schema.lang import preferences

log = logging.getLogger("gateway")

# How often the workflow sweep moves expired requests and agreements (access itself stops
# at the date, checked per request).
SWEEP_INTERVAL_SECONDS = 600

DEFAULT_QUERY = """\
# Search every connected department platform at once.
query FirstSearch {
  datasets(search: "公交", first: 10) {
    totalCount
    totalCountIsExact
    facets { departments { value count } formats { value count } }
    sources { source { id } status latencyMs matched message }
    edges {
      node {
        id
        title
        department { name }
        source { id }
        modified
        shareType
        openType
        sensitivity
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""


class Gateway:
    """Owns the connectors, the engine and the policy for one running app."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        client: httpx.AsyncClient | None = None,
        transport: TransportName = "aiohttp",
        policy: Policy | None = None,
        cursor_secret: bytes | None = None,
        headers_hint: dict[str, str] | None = None,
        connectors: Sequence[Connector] | None = None,
        audit: AuditLog | None = None,
        tracer_provider: TracerProvider | None = None,
        store: Store | None = None,
    ) -> None:
        self.config = config
        self._owns_tracer_provider = tracer_provider is None
        self.tracer_provider = tracer_provider or build_tracer_provider(config.tracing)
        self.tracer = tracer_of(self.tracer_provider)
        self._owns_client = client is None
        self.client = client or build_client(transport, tracer=self.tracer)
        self.connectors = (
            list(connectors)
            if connectors is not None
            else [entry.connector_class(entry.settings, self.client) for entry in config.sources]
        )
        self.engine = FederatedSearch(
            self.connectors,
            CursorCodec(cursor_secret or _cursor_secret(config)),
            guards={
                entry.settings.id: SourceGuard(entry.settings.id, entry.upstream)
                for entry in config.sources
            },
        )
        self.metrics = GatewayMetrics(
            lambda: [self.engine.guard(c.source_id) for c in self.connectors]
        )
        if policy is not None:
            self.policies = PolicyHolder(policy)
        elif config.policy_path is not None:
            self.policies = PolicyHolder.load(config.policy_path)
        else:
            self.policies = PolicyHolder(Policy.default())
        self.authenticator = Authenticator(self.client)
        self.assessor = QualityAssessor(grace_fraction=config.quality.grace_fraction)
        self.exports = CatalogueExports(self.engine, self.admit, lambda: self.audit)
        # Local buckets; start() swaps in Redis-shared ones when shared.redis_url is set.
        self.rate_limiter: RateLimits | None = (
            RateLimiter(config.limits.rate) if config.limits.rate else None
        )
        self.shared_redis: Redis | None = None
        self.schema = build_schema(
            introspection=config.graphql.introspection,
            fast_path=config.graphql.fast_path,
            limits=QueryLimits(config.limits.query, max_first=config.graphql.max_first),
        )
        self.sources = tuple(
            SourceInfo(entry.settings.id, entry.connector_name, entry.language)
            for entry in config.sources
        )
        self.headers_hint = headers_hint
        if audit is None and config.audit.path is not None:
            audit = AuditLog(
                config.audit.path,
                fsync=config.audit.fsync,
                fsync_interval=config.audit.fsync_interval_seconds,
                rotate_bytes=int(config.audit.rotate_mb * 2**20),
            )
        self.audit = audit
        # An injected store belongs to the caller; one opened from store.url, to the gateway.
        self.store = store
        self._owns_store = store is None
        self.calendar = WorkingCalendar(config.server.time_zone)
        self.webhooks: tuple[Webhook, ...] = config.notifications.build()
        self.dispatcher: WebhookDispatcher | None = None
        self._dispatching: asyncio.Task[None] | None = None
        self.quality_reports: QualityReports | None = None
        self.issued: IssuedGrantsLoader | None = None
        # The moment a request is decided at (tests move it to try deadlines and expiry).
        self.clock: Callable[[], datetime] = _utc_now
        self._sweeping: asyncio.Task[None] | None = None  # the workflows' expiry sweep
        self._quality_sweeping: asyncio.Task[None] | None = None
        self.response_cache = self._response_cache()
        self.answers = CachedAnswers(self.response_cache)
        self.fingerprints = GrantFingerprints()

    def _response_cache(self) -> ResponseCache | None:
        """``graphql.response_cache``, in this process until ``start`` finds a shared Redis;
        never kept longer than the shortest upstream cache (``None``: switched off)."""
        settings = self.config.graphql.response_cache
        ttl = min(
            [settings.ttl_seconds]
            + [self.engine.guard(c.source_id).config.cache_ttl_seconds for c in self.connectors]
        )
        if ttl <= 0:
            return None
        return ResponseCache(ttl, LocalAnswers(ttl, settings.max_entries))

    async def start(self) -> None:
        """Open the audit log and the store, start the outbox dispatcher, then let the
        connectors begin their background loads (catalogues served from a local index). A
        gateway that cannot audit, or whose store is unreachable or behind the code, does
        not start."""
        if self.audit is not None:
            await self.audit.open()
        elif self.config.audit.enabled:
            for warning in self.config.warnings:
                log.warning("%s", warning)
        else:
            log.info("audit: disabled by configuration (audit: {enabled: false})")
        await self._open_shared()
        if self.store is None and self.config.store_url is not None:
            self.store = await open_store(
                self.config.store_url, upgrade_schema=self.config.store_upgrades_at_start
            )
        if self.store is not None:
            self.dispatcher = WebhookDispatcher(
                OutboxRepository(self.store), self.webhooks, self.client
            )
            self._dispatching = asyncio.create_task(self.dispatcher.run(), name="outbox")
            self.issued = IssuedGrantsLoader(self.store)
            self._sweeping = asyncio.create_task(self._sweep_forever(), name="workflow-sweep")
            self.use_quality_store(self.store)
            if self.config.quality.sweep_enabled:
                self._quality_sweeping = asyncio.create_task(
                    self.quality_sweep().run_forever(), name="quality-sweep"
                )

        for connector in self.connectors:
            await connector.start()

    async def _open_shared(self) -> None:
        """Connect to ``shared.redis_url`` (an unreachable one stops the start: a wrong URL
        shows at once) and share the rate-limit buckets and the response cache through it."""
        url = self.config.shared.redis_url
        if url is None or self.shared_redis is not None:
            return
        self.shared_redis = await open_shared_redis(url.get_secret_value())
        prefix = self.config.shared.key_prefix
        if self.config.limits.rate is not None:
            self.rate_limiter = SharedRateLimiter(
                self.config.limits.rate, self.shared_redis, prefix=prefix
            )
        if self.response_cache is not None:
            self.response_cache.answers = RedisAnswers(
                self.shared_redis, prefix=f"{prefix}response:"
            )

    async def sweep_workflows(self, now: datetime | None = None) -> None:
        """Expire access requests and agreements past their last day, announce the access
        requests about to expire. Access stops at the date itself whether or not this ran
        (grants are checked per request); the sweep moves the states and tells people."""
        if self.store is None:
            return
        await sweep_workflows(self.store, self.calendar, now or self.clock())
        self.outbox_written()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep_workflows()
            except Exception:  # a failed sweep is retried at the next one
                log.exception("the workflow sweep failed")
            await asyncio.sleep(SWEEP_INTERVAL_SECONDS)

    def use_quality_store(self, store: Store) -> None:
        """Reports and link results from ``store`` (``start`` calls it)."""
        repository = QualityRepository(store)
        self.quality_reports = QualityReports(repository)
        self.assessor = QualityAssessor(
            grace_fraction=self.config.quality.grace_fraction, links=repository.link
        )

    def quality_sweep(self) -> QualitySweep:
        """The background sweep over every source (also ``catalogue-gateway quality sweep``)."""
        assert self.store is not None
        settings = self.config.quality
        anonymous = Caller(id="anonymous", anonymous=True)
        public = self.policies.current.grant_set(anonymous, None, datetime.now(UTC))
        return QualitySweep(
            self.connectors,
            QualityRepository(self.store),
            settings,
            public,
            LinkChecker(self.client, settings.links),
        )

    def outbox_written(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()

    async def aclose(self) -> None:
        for task in (self._sweeping, self._quality_sweeping, self._dispatching):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._sweeping = self._quality_sweeping = self._dispatching = None
        await asyncio.gather(*(c.aclose() for c in self.connectors), return_exceptions=True)
        if self.audit is not None:
            await self.audit.aclose()
        if self.store is not None and self._owns_store:
            await self.store.aclose()
            self.store = None
        if self.shared_redis is not None:
            await self.shared_redis.aclose()
            self.shared_redis = None
        if self._owns_client:
            await self.client.aclose()
        if self._owns_tracer_provider and self.tracer_provider is not None:
            self.tracer_provider.shutdown()  # flushes the spans still queued

    @property
    def policy(self) -> Policy:
        """The policy in force now (it may be reloaded while the gateway runs)."""
        return self.policies.current

    async def authenticate(self, request: Request, policy: Policy) -> Caller | http.RequestError:
        try:
            return await self.authenticator.authenticate(request.headers, policy)
        except AuthError as exc:
            return http.RequestError(exc.status, exc.message, exc.headers)

    async def graphql(self, request: Request) -> Response:
        # RequestTelemetry set it (from the client's X-Request-Id, or a new one).
        rid = request_id.get() or uuid.uuid4().hex
        started = time.perf_counter()
        if request.method == "GET" and wants_graphiql(request):
            return self._graphiql()  # a page for browsers, not a GraphQL request: not audited
        event = AuditEvent(rid)
        response = await self._graphql(request, event)
        if self.audit is not None:
            event.http_status = response.status_code
            event.latency_ms = (time.perf_counter() - started) * 1000
            try:
                await self.audit.record(event)
            except AuditUnavailable as exc:
                log.error("request %s refused: %s", rid, exc)
                response = http.respond(
                    http.error_payload(
                        "the request could not be recorded in the audit log, so it was not "
                        "answered; try again later",
                        "AUDIT_UNAVAILABLE",
                    ),
                    503,
                    http.negotiate(request.headers.get("accept")) or http.JSON,
                    {"Retry-After": "5"},
                )
        response.headers["X-Request-Id"] = rid
        response.headers.append("Vary", "Accept-Language")  # titles follow it (schema.lang)
        self.metrics.observe_request(response.status_code, time.perf_counter() - started)
        for source_id, status in event.sources.items():
            self.metrics.observe_source(source_id, status)
        return response

    async def admit(self, request: Request) -> Admitted | Response:
        """Authentication, rate limit and grants for the non-GraphQL endpoints (exports,
        reports): the same decisions as ``/graphql``, errors as JSON."""
        policy = self.policies.current
        caller = await self.authenticate(request, policy)
        if isinstance(caller, http.RequestError):
            code = "UNAUTHENTICATED" if caller.status == 401 else "AUTH_UNAVAILABLE"
            return JSONResponse(
                http.error_payload(caller.message, code), caller.status, caller.headers
            )
        if self.rate_limiter is not None:
            client = request.client.host if request.client else None
            decision = await self.rate_limiter.decide(caller, client)
            if not decision.allowed:
                return JSONResponse(
                    http.error_payload(
                        f"too many requests; retry in {decision.retry_after_header} s",
                        "RATE_LIMITED",
                    ),
                    429,
                    {"Retry-After": decision.retry_after_header},
                )
        purpose = (request.headers.get("x-purpose") or "").strip()[:128] or None
        return Admitted(caller, policy.grant_set(caller, purpose, datetime.now(UTC)), purpose)

    async def reports(self, request: Request) -> Response:
        """``/reports``: public (the open directory's figures); with credentials, what
        that caller may see (see gateway.quality.report)."""
        started = time.perf_counter()
        admitted = await self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        caller = admitted.caller
        event = AuditEvent((request.headers.get("x-request-id") or uuid.uuid4().hex)[:64])
        event.set_caller(caller)
        event.purpose, event.operation = admitted.purpose, "reports"
        bureau = self.policies.current.workflows.is_bureau(caller.roles)
        visible = page_scope(caller, bureau)
        items, history = [], []
        if self.quality_reports is not None:
            items = await self.quality_reports.latest(visible)
            history = await self.quality_reports.history(visible, 30, datetime.now(UTC))
        if bureau:
            viewer = "全部部门（数据管理机构）"
        elif caller.department and not caller.anonymous:
            viewer = f"本部门 {caller.department} 全部数据，其他部门开放目录"
        else:
            viewer = "开放目录"
        html = report_page(
            items,
            history,
            viewer=viewer,
            generated_at=max((i.generated_at for i in items), default=None),
        )
        if self.audit is not None:
            event.outcome, event.http_status = Outcome.OK, 200
            event.latency_ms = (time.perf_counter() - started) * 1000
            try:
                await self.audit.record(event)
            except AuditUnavailable:
                return JSONResponse(
                    http.error_payload("the request could not be audited", "AUDIT_UNAVAILABLE"),
                    503,
                    {"Retry-After": "5"},
                )
        return HTMLResponse(html, headers={"Content-Security-Policy": CSP})

    def _graphiql(self) -> Response:
        if not self.config.graphql.graphiql:
            return JSONResponse({"errors": [{"message": "GraphiQL is disabled"}]}, 404)
        return graphiql_page(
            "/graphql", default_query=DEFAULT_QUERY, headers_hint=self.headers_hint
        )

    async def _graphql(self, request: Request, event: AuditEvent) -> Response:
        """Answer one GraphQL request, filling in ``event`` (outcome: rejected unless run)."""
        sent = http.header_values(request.scope)  # one pass, not one scan per header read
        media = http.negotiate(sent.get("accept"))
        if media is None:
            return http.respond(
                http.error_payload(
                    "cannot answer in any media type the Accept header allows; "
                    "accept application/graphql-response+json or application/json"
                ),
                406,
                http.JSON,
            )
        legacy = media == http.JSON
        policy = self.policies.current  # one policy for the whole request
        generation = self.policies.generation
        caller = await self.authenticate(request, policy)
        if isinstance(caller, http.RequestError):
            code = "UNAUTHENTICATED" if caller.status == 401 else "AUTH_UNAVAILABLE"
            return http.respond(
                http.error_payload(caller.message, code), caller.status, media, caller.headers
            )
        event.set_caller(caller)
        address = request.client
        client = address.host if address else None
        if self.rate_limiter is not None:
            decision = await self.rate_limiter.decide(caller, client)
            if not decision.allowed:
                return http.respond(
                    http.error_payload(
                        f"too many requests; retry in {decision.retry_after_header} s",
                        "RATE_LIMITED",
                    ),
                    429,
                    media,
                    {"Retry-After": decision.retry_after_header},
                )
        purpose = (sent.get("x-purpose") or "").strip()[:128] or None
        event.purpose = purpose
        try:
            params = await http.read_params(
                request, body_timeout=self.config.server.body_timeout_seconds
            )
        except http.RequestError as exc:
            return http.respond(http.error_payload(exc.message), exc.status, media, exc.headers)
        event.set_document(params.query, params.operation_name)
        plan = self.answers.plan(params, sent)

        operation = http.operation_type(params)
        if isinstance(operation, GraphQLError):
            return http.respond({"errors": [operation.formatted]}, 200 if legacy else 400, media)
        if request.method == "GET" and operation is not OperationType.QUERY:
            return http.respond(
                http.error_payload("only queries may be sent with GET; use POST"),
                405,
                media,
                {"Allow": "POST"},
            )
        now = self.clock()
        today = self.calendar.today(now)
        try:
            issued = await self._issued_grants(caller)
        except StoreError as exc:
            log.error("request %s refused: %s", event.request_id, exc)
            return http.respond(
                http.error_payload(
                    "the grants issued by the workflows cannot be read now; try again later",
                    "STORE_UNAVAILABLE",
                ),
                503,
                media,
                {"Retry-After": "5"},
            )
        languages = preferences(sent.get("accept-language"))
        found = NOT_CACHEABLE
        if plan is not None:
            found = await self.answers.lookup(
                plan,
                params,
                media_type=media,
                languages=languages,
                grant_fingerprint=self.fingerprints.of(policy, caller, purpose, now, issued, today),
                policy_generation=generation,
                grant_revision=issued.revision,
            )
        if found.answer is not None:
            if found.answer.agreement_hits:
                scope = _UsageScope(caller, purpose, now)
                await self._record_agreement_use(dict(found.answer.agreement_hits), scope, event)
            return self.answers.replay(found.answer, event)
        context = RequestContext(
            engine=self.engine,
            caller=caller,
            grants=policy.grant_set(caller, purpose, now, issued, today),
            purpose=purpose,
            now=now,
            issued=issued,
            policy=policy,
            today=today,
            sources=self.sources,
            max_first=self.config.graphql.max_first,
            languages=languages,
            assessor=self.assessor,
            quality_reports=self.quality_reports,
            store=self.store,
            audit=self.audit,
            calendar=self.calendar,
            workflow_settings=policy.workflows,
            request_id=event.request_id,
            outbox_written=self.outbox_written,
            client_address=client,
            demand_receipts=_receipts(sent.get("x-demand-receipt")),
        )
        with request_deadline(self.config.graphql.request_timeout_seconds):
            result = await self.schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
            )
        payload: dict[str, Any] = {}
        errors: list[Any] = [e.formatted for e in result.errors or ()]
        errors += context.source_errors
        not_executed = (
            result.data is None
            and bool(result.errors)
            and all(e.path is None for e in result.errors or ())
        )
        if not not_executed:
            payload["data"] = result.data
        if errors:
            payload["errors"] = errors
        status = 400 if not_executed and not legacy else 200
        headers: dict[str, str] = {}
        if context.rate_limited is not None:  # a resolver refused for a rate limit
            status = 429
            headers["Retry-After"] = context.rate_limited.retry_after_header
        event.dataset_ids = context.dataset_ids
        event.withheld = context.withheld
        event.add_sources(context.source_reports)
        for report in context.source_reports:
            if report.latency_ms is not None:
                self.metrics.observe_source_latency(report.source_id, report.latency_ms / 1000)
        if context.agreement_hits:
            await self._record_agreement_use(context.agreement_hits, context, event)
        event.outcome = Outcome.of(
            executed=not not_executed, has_data=result.data is not None, has_errors=bool(errors)
        )
        response = http.respond(payload, status, media, headers)
        await self.answers.keep(
            found.key,
            response,
            event,
            media_type=media,
            complete=not errors
            and context.rate_limited is None
            and sources_complete(context.source_reports),
            agreement_hits=context.agreement_hits,
        )
        return response

    async def _issued_grants(self, caller: Caller) -> IssuedGrants:
        # Issued grants belong to a caller id or an operator: none can apply to the
        # anonymous caller, so its requests (most of a public portal's) skip the read.
        if self.store is None or caller.anonymous:
            return NO_ISSUED_GRANTS
        if self.issued is None or self.issued.store is not self.store:
            self.issued = IssuedGrantsLoader(self.store)
        return await self.issued.current()

    async def _record_agreement_use(
        self, hits: dict[str, int], context: RequestContext | _UsageScope, event: AuditEvent
    ) -> None:
        """Accesses under an agreement: named in the audit record and counted in the store
        (the agreement's ``usage``)."""
        event.agreements = sorted(hits)
        if self.store is None:
            return
        uses = []
        for global_id, count in sorted(hits.items()):
            pk = store_pk(global_id, "OperationAgreement")
            if pk is not None:
                uses.append((pk, count))
        try:
            await AgreementRepository(self.store).record_usage(
                uses,
                scenario=context.purpose,
                caller_id=context.caller.id,
                request_id=event.request_id,
                now=context.now,
            )
        except StoreError as exc:  # the audit record still names the agreement
            log.error("usage of %s not counted: %s", event.agreements, exc)

    async def metrics_endpoint(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=METRICS_CONTENT_TYPE)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        return await readiness(self.engine, self.connectors)


def create_app(gateway: Gateway) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            await gateway.start()  # a gateway that cannot audit does not start
            async with gateway.policies.watching():  # policy file polling and SIGHUP
                yield
        finally:
            await gateway.aclose()

    routes = [
        Route(
            "/graphql",
            RequestResponse(gateway.graphql),
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        ),
        Mount(GRAPHIQL_ASSET_PREFIX, app=graphiql_static_app(), name="graphiql-static"),
        Route("/healthz", gateway.healthz, methods=["GET"]),
        Route("/readyz", gateway.readyz, methods=["GET"]),
        Route("/metrics", gateway.metrics_endpoint, methods=["GET"]),
        Route("/reports", gateway.reports, methods=["GET"]),
        *(
            Route(export.path, functools.partial(gateway.exports.respond, kind=kind))
            for kind, export in EXPORTS.items()
        ),
    ]
    server = gateway.config.server
    middleware = build_middleware(
        cors=server.cors,
        compression=server.compression,
        tracer=gateway.tracer,
        access_log=gateway.config.logging.access_log,
    )
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.gateway = gateway
    return app


@dataclass(frozen=True, slots=True)
class _UsageScope:
    """Who used an agreement, for what and when (a replayed cache hit has no context)."""

    caller: Caller
    purpose: str | None
    now: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _receipts(header: str | None) -> tuple[str, ...]:
    """The data demand receipts of ``X-Demand-Receipt`` (comma-separated, a bounded few)."""
    if not header:
        return ()
    return tuple(part.strip() for part in header.split(",") if 0 < len(part.strip()) <= 100)[:20]


def _cursor_secret(config: GatewayConfig) -> bytes:
    configured = config.graphql.cursor_secret
    if configured is None:
        return secrets.token_bytes(32)
    return configured.get_secret_value().encode()
