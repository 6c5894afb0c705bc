"""Request ids, tracing and logs: what an operator reads when something goes wrong.

:class:`RequestTelemetry` is the outermost piece of the app's middleware. For each HTTP
request it

- takes the client's ``X-Request-Id`` (or makes one), returns it in the response and
  makes it the id the upstream calls carry (``gateway.federation.request_id``);
- opens a SERVER span, continuing the trace of an incoming ``traceparent``;
- writes one access-log line (logger ``gateway.access``) with the method, the *path*, the
  status and the duration. Never the query string: a GET carries the GraphQL document and
  the caller's search text there.

Tracing is off unless ``tracing.enabled``; spans then go to an OTLP/HTTP collector
(``tracing.otlp_endpoint``, or the standard ``OTEL_EXPORTER_OTLP_*`` variables). Logs are
plain text or one JSON object a line (``logging.format: json``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any, Literal

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.federation import request_id
from gateway.federation.tracing import PROPAGATOR

ACCESS_LOG = logging.getLogger("gateway.access")
TRACER_NAME = "catalogue-gateway"

_NO_SPAN = nullcontext(trace.INVALID_SPAN)

# Printable ASCII, no spaces: safe to log, to return and to forward as a header.
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,64}$")


class TracingConfig(BaseModel):
    """The ``tracing:`` section of gateway.yaml (OpenTelemetry; off by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    service_name: str = Field(default="catalogue-gateway", min_length=1)
    # OTLP over HTTP, e.g. http://otel-collector:4318/v1/traces. Unset: the exporter reads
    # OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT (default localhost).
    otlp_endpoint: str | None = Field(default=None, pattern=r"^https?://")
    otlp_headers: dict[str, str] = Field(default_factory=dict)
    # Share of new traces kept; a request that arrives with a sampled traceparent is kept.
    sample_ratio: float = Field(default=1.0, ge=0, le=1)


class LoggingConfig(BaseModel):
    """The ``logging:`` section of gateway.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"
    access_log: bool = True


def build_tracer_provider(config: TracingConfig) -> TracerProvider | None:
    """A provider exporting to OTLP/HTTP, or ``None`` when tracing is off."""
    if not config.enabled:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(
        resource=Resource.create({"service.name": config.service_name}),
        sampler=ParentBased(TraceIdRatioBased(config.sample_ratio)),
    )
    exporter = OTLPSpanExporter(endpoint=config.otlp_endpoint, headers=config.otlp_headers or None)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def tracer_of(provider: trace.TracerProvider | None) -> trace.Tracer:
    """The gateway's tracer; a no-op one (which still passes ``traceparent`` on) when off."""
    if provider is None:
        return trace.NoOpTracer()
    return provider.get_tracer(TRACER_NAME)


class RequestTelemetry:
    """ASGI middleware: request id, SERVER span and access log for each HTTP request."""

    def __init__(self, app: ASGIApp, *, tracer: trace.Tracer, access_log: bool = True) -> None:
        self.app = app
        self.tracer = tracer
        self.access_log = access_log
        self._no_op = isinstance(tracer, trace.NoOpTracer)

    def _server_span(
        self, scope: Scope, traced: bool, rid: str
    ) -> AbstractContextManager[trace.Span]:
        if self._no_op and not traced:
            # A no-op tracer's span only carries an incoming trace on to the upstream calls;
            # without one there is nothing to carry (the same empty context either way).
            return _NO_SPAN
        method: str = scope["method"]
        path: str = scope["path"]
        return self.tracer.start_as_current_span(
            f"{method} {path}",
            context=PROPAGATOR.extract(Headers(scope=scope)),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": path,
                "url.scheme": scope.get("scheme", "http"),
                "gateway.request_id": rid,
            },
            # an exception's text may quote the request (search text): type only
            record_exception=False,
            set_status_on_exception=False,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given, traced = _id_and_trace(scope)
        rid = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        method: str = scope["method"]
        path: str = scope["path"]
        status = 500
        started = time.perf_counter()
        token = request_id.set(rid)
        try:
            with self._server_span(scope, traced, rid) as span:

                async def send_with_id(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                        MutableHeaders(scope=message).setdefault("X-Request-Id", rid)
                        span.set_attribute("http.response.status_code", status)
                        if status >= 500:
                            span.set_status(StatusCode.ERROR)
                    await send(message)

                try:
                    await self.app(scope, receive, send_with_id)
                except Exception as exc:
                    span.set_status(StatusCode.ERROR, type(exc).__name__)
                    span.set_attribute("error.type", type(exc).__name__)
                    raise
        finally:
            request_id.reset(token)
            if self.access_log:
                elapsed_ms = (time.perf_counter() - started) * 1000
                _log_access(scope.get("client"), method, path, status, elapsed_ms, rid)


def _id_and_trace(scope: Scope) -> tuple[str, bool]:
    """The client's ``X-Request-Id`` (its first 64 characters, ``""`` if none) and whether
    a ``traceparent`` came: one pass over the raw headers (names are lower case in ASGI)."""
    given, traced = None, False
    for name, value in scope["headers"]:
        if name == b"x-request-id" and given is None:
            given = value.decode("latin-1")
        elif name == b"traceparent":
            traced = True
    return (given or "")[:64], traced


def _log_access(
    client: tuple[str, int] | None, method: str, path: str, status: int, ms: float, rid: str
) -> None:
    """One access-log line, the record made here: ``Logger.info`` would walk the stack for
    the caller's file, line and function on every request, which no format here prints
    (``pathname`` is this file, ``funcName`` this function, ``lineno`` 0)."""
    if not ACCESS_LOG.isEnabledFor(logging.INFO):
        return
    host = client[0] if client else None
    record = ACCESS_LOG.makeRecord(
        ACCESS_LOG.name,
        logging.INFO,
        __file__,
        0,
        '%s "%s %s" %d %.1fms %s',
        (client[0] if client else "-", method, path, status, ms, rid),
        None,
        "_log_access",
        {
            "http": {
                "client": host,
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(ms, 1),
                "request_id": rid,
            }
        },
    )
    ACCESS_LOG.handle(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request and the trace."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            entry["http"] = http
        rid = request_id.get()
        if rid is not None:
            entry["request_id"] = rid
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = format(context.trace_id, "032x")
            entry["span_id"] = format(context.span_id, "016x")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """``logging.Formatter`` with ``TEXT_FORMAT``; the local time of the last second it
    formatted is kept (one access-log line a request asked ``strftime`` for each)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._second: int | None = None
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = second
        if self.default_msec_format:
            return self.default_msec_format % (self._stamp, record.msecs)
        return self._stamp


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a record is emitted, as logging's own
    last-resort handler does: whoever swaps stderr later (a test runner's capture, a
    daemon's redirect) never leaves the handler writing to a closed stream."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # always the current sys.stderr


def configure_logging(config: LoggingConfig) -> None:
    """Set the root logger's level and format (text or JSON) for the whole process."""
    handler = StderrHandler()
    json_lines = config.format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(config.level)
    # httpx logs each upstream URL at INFO, query string and so search text included;
    # upstream calls are traced and counted instead.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
