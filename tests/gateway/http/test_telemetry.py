"""Request ids, OpenTelemetry spans and logs: what an operator reads, checked end to end.

Spans go to the SDK's in-memory exporter; upstream calls go through the real CKAN
connector and the real ``TracedTransport`` to an ``httpx.MockTransport`` that keeps the
headers the platform received.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.app import Gateway, create_app
from gateway.config import parse_config
from gateway.federation import TracedTransport, build_client
from gateway.http import LoggingConfig, configure_logging, tracer_of
from gateway.http.telemetry import JsonFormatter

CKAN_SEARCH = (
    Path(__file__).parents[2] / "connectors" / "fixtures" / "ckan" / "package_search.json"
).read_bytes()
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN}-01"
SEARCH = '{ datasets(search: "secret-bus-words", first: 2) { totalCount } }'


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


class Platform:
    """A CKAN that answers every search with a recorded page and keeps what it was sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(
            200, content=CKAN_SEARCH, headers={"Content-Type": "application/json"}
        )


def traced_gateway(
    platform: Platform, provider: TracerProvider | None, extra: dict[str, object] | None = None
) -> tuple[Gateway, httpx.AsyncClient]:
    upstream = httpx.AsyncClient(
        transport=TracedTransport(httpx.MockTransport(platform), tracer_of(provider))
    )
    config = parse_config(
        {
            "sources": [{"id": "transport", "connector": "ckan", "url": "http://ckan.test"}],
            **(extra or {}),
        }
    )
    return Gateway(config, client=upstream, tracer_provider=provider), upstream


def asgi(gateway: Gateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://gateway.test"
    )


async def test_a_request_and_its_upstream_call_are_spans_of_the_callers_trace(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    platform = Platform()
    gateway, upstream = traced_gateway(platform, provider)
    async with upstream, asgi(gateway) as client:
        response = await client.post(
            "/graphql", json={"query": SEARCH}, headers={"traceparent": TRACEPARENT}
        )
    assert response.status_code == 200
    finished = exporter.get_finished_spans()
    server = next(s for s in finished if s.kind is SpanKind.SERVER)
    calls = [s for s in finished if s.kind is SpanKind.CLIENT]
    assert server.name == "POST /graphql"
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert server.parent is not None and format(server.parent.span_id, "016x") == PARENT_SPAN
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 200
    assert len(calls) == len(platform.requests) >= 1
    for call in calls:
        assert call.context.trace_id == server.context.trace_id
        assert call.parent is not None and call.parent.span_id == server.context.span_id
        assert call.attributes is not None
        assert call.attributes["server.address"] == "ckan.test"
        assert call.attributes["http.response.status_code"] == 200
        # the caller's search text travels in the query string: never in a span
        assert "secret-bus-words" not in json.dumps(dict(call.attributes))
    # the platform receives the trace context of its own call span
    sent = platform.requests[0].headers["traceparent"]
    assert sent == f"00-{TRACE_ID}-{format(calls[0].context.span_id, '016x')}-01"


async def test_the_request_id_is_returned_and_forwarded_to_the_platforms(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    platform = Platform()
    gateway, upstream = traced_gateway(platform, spans[0])
    async with upstream, asgi(gateway) as client:
        given = await client.post(
            "/graphql", json={"query": SEARCH}, headers={"X-Request-Id": "portal-42"}
        )
        made = await client.post("/graphql", json={"query": SEARCH.replace("2", "3")})
        bad = await client.get("/healthz", headers={"X-Request-Id": "two words"})
    assert given.headers["x-request-id"] == "portal-42"
    assert platform.requests[0].headers["x-request-id"] == "portal-42"
    made_id = made.headers["x-request-id"]
    assert made_id != "portal-42" and len(made_id) == 32
    assert platform.requests[-1].headers["x-request-id"] == made_id
    assert bad.headers["x-request-id"] not in ("two words", "")


async def test_with_tracing_off_no_span_is_recorded_but_the_trace_is_passed_on() -> None:
    platform = Platform()
    gateway, upstream = traced_gateway(platform, None)
    assert not gateway.config.tracing.enabled
    async with upstream, asgi(gateway) as client:
        response = await client.post(
            "/graphql", json={"query": SEARCH}, headers={"traceparent": TRACEPARENT}
        )
    assert response.status_code == 200
    assert platform.requests[0].headers["traceparent"] == TRACEPARENT


async def test_with_tracing_off_and_no_incoming_trace_no_trace_is_invented(
    caplog: pytest.LogCaptureFixture,
) -> None:
    platform = Platform()
    gateway, upstream = traced_gateway(platform, None)
    with caplog.at_level(logging.INFO, "gateway.access"):
        async with upstream, asgi(gateway) as client:
            response = await client.post(
                "/graphql", json={"query": SEARCH}, headers={"X-Request-Id": "portal-7"}
            )
    assert response.status_code == 200 and response.headers["x-request-id"] == "portal-7"
    assert "traceparent" not in platform.requests[0].headers
    assert platform.requests[0].headers["x-request-id"] == "portal-7"
    lines = [r for r in caplog.records if r.name == "gateway.access"]
    assert [r.http["status"] for r in lines] == [200]  # type: ignore[attr-defined]


def test_tracing_is_off_by_default_and_exports_over_otlp_when_on() -> None:
    off = Gateway(
        parse_config({"sources": [{"id": "a", "connector": "ckan", "url": "http://x.test"}]}),
        client=httpx.AsyncClient(),
    )
    assert off.tracer_provider is None
    on = Gateway(
        parse_config(
            {
                "sources": [{"id": "a", "connector": "ckan", "url": "http://x.test"}],
                "tracing": {
                    "enabled": True,
                    "otlp_endpoint": "http://collector.test:4318/v1/traces",
                    "service_name": "gateway-east",
                },
            }
        ),
        client=httpx.AsyncClient(),
    )
    provider = on.tracer_provider
    assert provider is not None
    try:
        assert provider.resource.attributes["service.name"] == "gateway-east"
        processor = provider._active_span_processor._span_processors[0]
        exporter = processor.span_exporter  # type: ignore[attr-defined]
        assert exporter._endpoint == "http://collector.test:4318/v1/traces"
    finally:
        provider.shutdown()


async def test_the_production_client_traces_its_calls(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    client = build_client("httpx", tracer=tracer_of(spans[0]))
    async with client:
        assert isinstance(client._transport, TracedTransport)


async def test_the_access_log_has_path_status_and_id_but_no_search_text(
    spans: tuple[TracerProvider, InMemorySpanExporter], caplog: pytest.LogCaptureFixture
) -> None:
    platform = Platform()
    gateway, upstream = traced_gateway(platform, spans[0])
    caplog.set_level(logging.INFO, logger="gateway.access")
    async with upstream, asgi(gateway) as client:
        response = await client.get(
            "/graphql", params={"query": SEARCH}, headers={"X-Request-Id": "r-1"}
        )
    assert response.status_code == 200
    lines = [r for r in caplog.records if r.name == "gateway.access"]
    assert len(lines) == 1
    assert '"GET /graphql" 200' in lines[0].getMessage()
    assert "r-1" in lines[0].getMessage()
    assert lines[0].http["path"] == "/graphql"  # type: ignore[attr-defined]
    assert "secret-bus-words" not in caplog.text


async def test_the_access_log_can_be_switched_off(caplog: pytest.LogCaptureFixture) -> None:
    gateway, upstream = traced_gateway(Platform(), None, {"logging": {"access_log": False}})
    caplog.set_level(logging.INFO, logger="gateway.access")
    async with upstream, asgi(gateway) as client:
        await client.get("/healthz")
    assert not [r for r in caplog.records if r.name == "gateway.access"]


def test_json_logs_are_one_object_a_line_with_the_request() -> None:
    record = logging.LogRecord("gateway.access", logging.INFO, __file__, 1, "%s ok", ("GET",), None)
    record.http = {"path": "/graphql", "status": 200}
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "INFO"
    assert entry["logger"] == "gateway.access"
    assert entry["message"] == "GET ok"
    assert entry["http"] == {"path": "/graphql", "status": 200}


def test_configure_logging_sets_the_level_and_the_format() -> None:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    httpx_level = logging.getLogger("httpx").level
    try:
        configure_logging(LoggingConfig(level="WARNING", format="json"))
        assert root.level == logging.WARNING
        assert isinstance(root.handlers[-1].formatter, JsonFormatter)
        # httpx would log upstream URLs, search text included
        assert logging.getLogger("httpx").level == logging.WARNING
        configure_logging(LoggingConfig(level="DEBUG", format="text"))
        assert root.level == logging.DEBUG
        assert not isinstance(root.handlers[-1].formatter, JsonFormatter)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        root.setLevel(saved[0])
        logging.getLogger("httpx").setLevel(httpx_level)
        for handler in saved[1]:
            root.addHandler(handler)


def test_the_log_handler_writes_to_stderr_as_it_is_when_a_record_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from gateway.http.telemetry import StderrHandler

    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    handler.emit(logging.makeLogRecord({"msg": "one"}))
    first.close()  # e.g. a test runner's capture of an earlier test
    monkeypatch.setattr("sys.stderr", second)
    handler.emit(logging.makeLogRecord({"msg": "two"}))
    assert second.getvalue() == "two\n"


async def test_a_crash_marks_the_span_failed_without_quoting_the_exception(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    from gateway.http import RequestTelemetry

    async def crash(request: Request) -> None:
        raise RuntimeError(f"failed on {request.query_params['q']}")

    provider, exporter = spans
    app = RequestTelemetry(
        Starlette(routes=[Route("/boom", crash)]), tracer=tracer_of(provider), access_log=False
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://gateway.test",
    ) as client:
        response = await client.get("/boom", params={"q": "secret-bus-words"})
    assert response.status_code == 500
    [server] = exporter.get_finished_spans()
    assert not server.status.is_ok
    assert server.attributes is not None and server.attributes["error.type"] == "RuntimeError"
    assert not server.events  # no exception event carrying the message
    assert "secret-bus-words" not in repr(server.to_json())


def test_text_logs_read_as_the_standard_formatter_writes_them() -> None:
    from gateway.http.telemetry import TEXT_FORMAT, TextFormatter

    ours, standard = TextFormatter(), logging.Formatter(TEXT_FORMAT)
    for created in (1_764_000_000.0, 1_764_000_000.25, 1_764_000_000.999, 1_764_000_001.5, 0.5):
        record = logging.LogRecord("gateway.access", logging.INFO, __file__, 1, "x %d", (1,), None)
        record.created, record.msecs = created, int((created - int(created)) * 1000)
        assert ours.format(record) == standard.format(record)
    assert ours.formatTime(record, "%Y") == standard.formatTime(record, "%Y")


@pytest.mark.parametrize(
    "client", [("10.0.0.7", 5123), None, ("", 0)], ids=["client", "none", "empty"]
)
def test_the_access_record_formats_as_logger_info_would_write_it(
    client: tuple[str, int] | None, caplog: pytest.LogCaptureFixture
) -> None:
    """``_log_access`` makes the record itself (no stack walk): the same message and the
    same ``http`` fields as ``Logger.info`` with the arguments it was given before."""
    from gateway.http.telemetry import ACCESS_LOG, TEXT_FORMAT, TextFormatter, _log_access

    caplog.set_level(logging.INFO, logger="gateway.access")
    _log_access(client, "POST", "/graphql", 200, 12.3456, "r-1")
    ACCESS_LOG.info(
        '%s "%s %s" %d %.1fms %s',
        client[0] if client else "-",
        "POST",
        "/graphql",
        200,
        12.3456,
        "r-1",
        extra={
            "http": {
                "client": client[0] if client else None,
                "method": "POST",
                "path": "/graphql",
                "status": 200,
                "duration_ms": 12.3,
                "request_id": "r-1",
            }
        },
    )
    ours, standard = [r for r in caplog.records if r.name == "gateway.access"]
    for record in (ours, standard):
        record.created, record.msecs = 1_764_000_000.0, 0.0
    for formatter in (TextFormatter(), logging.Formatter(TEXT_FORMAT), JsonFormatter()):
        assert formatter.format(ours) == formatter.format(standard)
    assert ours.http == standard.http  # type: ignore[attr-defined]
    assert (ours.levelno, ours.name) == (standard.levelno, standard.name)


async def test_the_request_id_and_trace_are_read_from_the_first_headers() -> None:
    from gateway.http.telemetry import _id_and_trace

    def scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
        return {"headers": list(headers)}

    assert _id_and_trace(scope()) == ("", False)
    assert _id_and_trace(scope((b"x-request-id", b"a"), (b"x-request-id", b"b"))) == ("a", False)
    assert _id_and_trace(scope((b"x-request-id", b"x" * 70))) == ("x" * 64, False)
    assert _id_and_trace(scope((b"traceparent", TRACEPARENT.encode()))) == ("", True)
    assert _id_and_trace(scope((b"x-request-id", b""), (b"x-request-id", b"b"))) == ("", False)
