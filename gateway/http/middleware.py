"""The app's HTTP middleware: telemetry, CORS and response compression, in that order.

``server.cors`` lets a browser app on another origin call the API; nothing is allowed
unless configured. Compression (zstd, Brotli or gzip, whichever the client accepts, in that
order of preference) applies to GraphQL answers, the GraphiQL assets and the other text
answers above ``server.compression.minimum_bytes``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from opentelemetry import trace
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette_compress import CompressMiddleware, add_compress_type

from gateway.http.telemetry import RequestTelemetry

# starlette-compress knows application/json but not the GraphQL-over-HTTP media type.
add_compress_type("application/graphql-response+json")

_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


class CorsConfig(BaseModel):
    """``server.cors``: which browser origins may call the API (none by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ("GET", "POST")
    allow_headers: tuple[str, ...] = (
        "Content-Type",
        "Accept",
        "Authorization",
        "X-API-Key",
        "X-Purpose",
        "X-Request-Id",
        "traceparent",
    )
    allow_credentials: bool = False
    max_age_seconds: int = Field(default=600, ge=0, le=86_400)

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin != "*" and not (
                origin.startswith(("http://", "https://")) and "/" not in origin.split("://")[1]
            ):
                raise ValueError(
                    f"{origin!r} is not an origin; write scheme://host[:port] "
                    "(no path, no trailing slash) or *"
                )
        return value

    @field_validator("allow_methods")
    @classmethod
    def _methods(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        upper = tuple(m.upper() for m in value)
        unknown = [m for m in upper if m not in _METHODS and m != "*"]
        if unknown:
            raise ValueError(f"unknown HTTP method(s): {', '.join(unknown)}")
        return upper


class CompressionConfig(BaseModel):
    """``server.compression``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    minimum_bytes: int = Field(default=500, ge=0, le=10_000_000)


def build_middleware(
    *,
    cors: CorsConfig,
    compression: CompressionConfig,
    tracer: trace.Tracer,
    access_log: bool,
) -> list[Middleware]:
    """The middleware stack, outermost first."""
    stack = [Middleware(RequestTelemetry, tracer=tracer, access_log=access_log)]
    if cors.allow_origins:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors.allow_origins),
                allow_methods=list(cors.allow_methods),
                allow_headers=list(cors.allow_headers),
                allow_credentials=cors.allow_credentials,
                expose_headers=["X-Request-Id", "Retry-After"],
                max_age=cors.max_age_seconds,
            )
        )
    if compression.enabled:
        stack.append(Middleware(CompressMiddleware, minimum_size=compression.minimum_bytes))
    return stack


@dataclass(frozen=True, slots=True)
class RequestResponse:
    """``endpoint`` as a plain ASGI app. Starlette wraps an endpoint function in a second
    exception-handling layer that only repeats ExceptionMiddleware's (the app adds no
    handlers of its own), and /graphql is the path where every microsecond of a
    response-cache hit shows."""

    endpoint: Callable[[Request], Awaitable[Response]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.endpoint(Request(scope, receive, send))
        await response(scope, receive, send)
