"""The strawberry schema: Query (and Mutation) resolvers, grouped by domain."""

from __future__ import annotations

from gateway.api.schema import RequestContext, SourceInfo, build_schema, schema

__all__ = [
    "RequestContext",
    "SourceInfo",
    "build_schema",
    "schema",
]
