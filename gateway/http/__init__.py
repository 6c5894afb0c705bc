"""The HTTP side of the app: GraphQL over HTTP, GraphiQL and its assets, query limits, metrics."""

from __future__ import annotations

from gateway.http.graphiql import (
    GRAPHIQL_ASSET_PREFIX,
    graphiql_page,
    graphiql_static_app,
    wants_graphiql,
)
from gateway.http.limits import LimitsConfig, QueryLimits
from gateway.http.metrics import CONTENT_TYPE, GatewayMetrics
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
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "GRAPHIQL_ASSET_PREFIX",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "GatewayMetrics",
    "LimitsConfig",
    "QueryLimits",
    "Webhook",
    "WebhookDispatcher",
    "graphiql_page",
    "graphiql_static_app",
    "sign",
    "verify_signature",
    "wants_graphiql",
]
