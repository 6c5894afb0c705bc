"""The federation engine: fan-out, merge, paging, copies, facets, sealed cursors, the per-source
guard (cache, coalescing, breaker) and the upstream HTTP client."""

from __future__ import annotations

from gateway.federation.cursor import CursorCodec, CursorError
from gateway.federation.http_client import TransportName, build_client
from gateway.federation.search import Edge, FederatedSearch, SearchRequest
from gateway.federation.sources import SourceReport, SourceStatus, request_deadline
from gateway.federation.tracing import TracedTransport, request_id
from gateway.federation.upstream import GuardConfig, GuardState, SourceGuard

__all__ = [
    "CursorCodec",
    "CursorError",
    "Edge",
    "FederatedSearch",
    "GuardConfig",
    "GuardState",
    "SearchRequest",
    "SourceGuard",
    "SourceReport",
    "SourceStatus",
    "TracedTransport",
    "TransportName",
    "build_client",
    "request_deadline",
    "request_id",
]
