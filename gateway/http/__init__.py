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
from gateway.http.slow_clients import bounded_http_protocol

__all__ = [
    "CONTENT_TYPE",
    "GRAPHIQL_ASSET_PREFIX",
    "GatewayMetrics",
    "LimitsConfig",
    "QueryLimits",
    "bounded_http_protocol",
    "graphiql_page",
    "graphiql_static_app",
    "wants_graphiql",
]
