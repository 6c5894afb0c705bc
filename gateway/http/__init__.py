"""The HTTP side of the app: GraphQL over HTTP, GraphiQL and its assets, query limits, metrics,
middleware (request ids, tracing, access log, CORS, compression) and logging."""

from __future__ import annotations

from gateway.http.answers import NOT_CACHEABLE, CachedAnswers, Lookup
from gateway.http.graphiql import (
    GRAPHIQL_ASSET_PREFIX,
    graphiql_page,
    graphiql_static_app,
    wants_graphiql,
)
from gateway.http.health import readiness
from gateway.http.limits import LimitsConfig, QueryLimits
from gateway.http.metrics import CONTENT_TYPE, GatewayMetrics
from gateway.http.middleware import (
    CompressionConfig,
    CorsConfig,
    RequestResponse,
    build_middleware,
)
from gateway.http.response_cache import (
    CachedAnswer,
    LocalAnswers,
    RedisAnswers,
    ResponseCache,
    sources_complete,
)
from gateway.http.slow_clients import bounded_http_protocol
from gateway.http.telemetry import (
    LoggingConfig,
    RequestTelemetry,
    TracingConfig,
    build_tracer_provider,
    configure_logging,
    tracer_of,
)
from gateway.http.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Webhook,
    WebhookDispatcher,
    sign,
    verify_signature,
)

__all__ = [
    "CONTENT_TYPE",
    "CachedAnswer",
    "CachedAnswers",
    "CompressionConfig",
    "CorsConfig",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "GRAPHIQL_ASSET_PREFIX",
    "GatewayMetrics",
    "LimitsConfig",
    "LocalAnswers",
    "Lookup",
    "LoggingConfig",
    "NOT_CACHEABLE",
    "QueryLimits",
    "RedisAnswers",
    "RequestResponse",
    "RequestTelemetry",
    "ResponseCache",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TracingConfig",
    "Webhook",
    "WebhookDispatcher",
    "bounded_http_protocol",
    "build_middleware",
    "build_tracer_provider",
    "configure_logging",
    "graphiql_page",
    "graphiql_static_app",
    "readiness",
    "sign",
    "sources_complete",
    "tracer_of",
    "verify_signature",
    "wants_graphiql",
]
