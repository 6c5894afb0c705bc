"""The strawberry schema: Query (and Mutation) resolvers, grouped by domain."""

from __future__ import annotations

from gateway.api.context import RequestContext, SourceInfo
from gateway.api.schema import build_schema, schema

__all__ = [
    "RequestContext",
    "SourceInfo",
    "build_schema",
    "schema",
]
