"""/metrics: counters typed as counters, per-source latency histograms, process metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gateway.http import GatewayMetrics
from tests.gateway.conftest import GatewayFactory, asgi_client, make_dataset

QUERY = "{ datasets(first: 2) { totalCount } }"


async def test_metrics_types_source_latency_and_process(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(
        {"a": [make_dataset("a", i) for i in range(3)], "b": [make_dataset("b", 1)]}
    )
    async with asgi_client(gateway) as client:
        await client.post("/graphql", json={"query": QUERY})
        await client.post("/graphql", json={"query": QUERY.replace("2", "1")})
        response = await client.get("/metrics")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}

    calls = families["catalogue_source_upstream_calls"]
    assert calls.type == "counter"
    assert {s.labels["source"]: s.value for s in calls.samples if s.name.endswith("_total")} == {
        "a": 2.0,
        "b": 2.0,
    }
    assert families["catalogue_graphql_requests"].type == "counter"
    assert families["catalogue_source_results"].type == "counter"

    latency = families["catalogue_source_request_seconds"]
    assert latency.type == "histogram"
    counts = {s.labels["source"]: s.value for s in latency.samples if s.name.endswith("_count")}
    assert counts == {"a": 2.0, "b": 2.0}

    assert families["process_resident_memory_bytes"].samples[0].value > 0
    assert "python_info" in families


def test_request_and_source_counts_add_up_across_reads() -> None:
    metrics = GatewayMetrics(list)

    def counts() -> dict[tuple[str, ...], float]:
        text = metrics.render().decode()
        return {
            (s.name, *s.labels.values()): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name in ("catalogue_graphql_requests_total", "catalogue_source_results_total")
        }

    for status in (200, 200, 429):
        metrics.observe_request(status, 0.01)
    metrics.observe_source("a", "OK")
    metrics.observe_source("a", "OK")
    metrics.observe_source("b", "TIMEOUT")
    assert counts() == {
        ("catalogue_graphql_requests_total", "200"): 2.0,
        ("catalogue_graphql_requests_total", "429"): 1.0,
        ("catalogue_source_results_total", "a", "OK"): 2.0,
        ("catalogue_source_results_total", "b", "TIMEOUT"): 1.0,
    }
    metrics.observe_request(200, 0.01)
    metrics.observe_source("a", "OK")
    assert counts() == {  # read again: counted once each, nothing lost or doubled
        ("catalogue_graphql_requests_total", "200"): 3.0,
        ("catalogue_graphql_requests_total", "429"): 1.0,
        ("catalogue_source_results_total", "a", "OK"): 3.0,
        ("catalogue_source_results_total", "b", "TIMEOUT"): 1.0,
    }


def test_latency_histograms_expose_what_prometheus_observe_would() -> None:
    """The tallied latencies (copied in when /metrics is read) against the same values
    given to ``Histogram.observe``: same buckets, counts and sums, across two reads."""
    metrics = GatewayMetrics(list)
    registry = CollectorRegistry()
    buckets = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
    plain = Histogram("catalogue_graphql_request_seconds", "r", buckets=buckets, registry=registry)
    per_source = Histogram(
        "catalogue_source_request_seconds", "s", ["source"], buckets=buckets, registry=registry
    )

    def histograms(text: str) -> dict[tuple[str, ...], float]:
        return {
            (s.name, *s.labels.values()): s.value
            for f in text_string_to_metric_families(text)
            if f.name in ("catalogue_graphql_request_seconds", "catalogue_source_request_seconds")
            for s in f.samples
            if not s.name.endswith("_created")
        }

    rounds = (
        [0.0, 0.01, 0.0100001, 0.3, 1.0, 9.99, 10.0, 10.5, 123.4, 0.1 + 0.2],
        [0.025, 0.07, 2.5000001, 0.004],
    )
    for values in rounds:
        for i, seconds in enumerate(values):
            metrics.observe_request(200, seconds)
            plain.observe(seconds)
            source = "b" if i % 3 else "a"
            metrics.observe_source_latency(source, seconds * 1.7)
            per_source.labels(source).observe(seconds * 1.7)
        expected = histograms(generate_latest(registry).decode())
        assert histograms(metrics.render().decode()) == expected
        assert len(expected) == 3 * (len(buckets) + 3)  # buckets, +Inf, count, sum each
