"""What every upstream call carries: a span, the trace context and the request id.

:class:`TracedTransport` wraps the transport of the client every connector receives, so
no connector has to know about tracing: each call to a platform becomes a CLIENT span,
child of the span of the GraphQL request that caused it, and the platform receives
``traceparent`` (W3C Trace Context) and the request's ``X-Request-Id``::

    client = httpx.AsyncClient(transport=TracedTransport(inner, tracer))

The span names the method and host; its attributes hold the path but never the query
string, where the caller's search text travels.
"""

from __future__ import annotations

import contextvars

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

#: The ``X-Request-Id`` of the request being answered (set by the HTTP layer).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "catalogue_request_id", default=None
)

PROPAGATOR = TraceContextTextMapPropagator()


class TracedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that traces each call and forwards the trace and request id."""

    def __init__(self, inner: httpx.AsyncBaseTransport, tracer: trace.Tracer) -> None:
        self.inner = inner
        self.tracer = tracer
        # Tracing off: a no-op span would only carry the caller's trace context, which
        # is injected from the current context as it is (no span, no context switch).
        self._records = not isinstance(tracer, trace.NoOpTracer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._records:
            _pass_on(request)
            return await self.inner.handle_async_request(request)
        url = request.url
        with self.tracer.start_as_current_span(
            f"{request.method} {url.host}",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": request.method,
                "server.address": url.host,
                "server.port": url.port or (443 if url.scheme == "https" else 80),
                "url.scheme": url.scheme,
                "url.path": url.path,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            _pass_on(request)
            try:
                response = await self.inner.handle_async_request(request)
            except Exception as exc:
                span.set_status(StatusCode.ERROR, type(exc).__name__)
                span.set_attribute("error.type", type(exc).__name__)
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(StatusCode.ERROR)
            return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _pass_on(request: httpx.Request) -> None:
    """Give ``request`` the current trace context and the request id being answered."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    for name, value in carrier.items():
        request.headers[name] = value
    current = request_id.get()
    if current is not None and "x-request-id" not in request.headers:
        request.headers["X-Request-Id"] = current
