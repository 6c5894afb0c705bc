"""/metrics: counters typed as counters, per-source latency histograms, process metrics."""

from __future__ import annotations

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
