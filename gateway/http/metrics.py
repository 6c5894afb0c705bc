"""Prometheus metrics for ``/metrics``: requests, sources, the upstream guard, the process.

Each ``Gateway`` owns its registry (tests build many gateways in one process). Counters are
exposed as counters (``_total``), latencies as histograms (``_seconds``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.federation import GuardState, SourceGuard

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Upper bounds as Histogram keeps them: the buckets, then +Inf.
_UPPER_BOUNDS = (*_LATENCY_BUCKETS, float("inf"))


class _Tally:
    """One histogram's observations as plain numbers, copied into it when /metrics is read.

    ``Histogram.observe`` takes a lock for the sum and another for the bucket, and every
    request observes its own latency and each source's. The running totals are added in
    the order ``observe`` would add them, so the values exposed are the same to the bit.
    ``histogram`` is an unlabelled Histogram or one child of a labelled one.
    """

    __slots__ = ("_histogram", "_counts", "_sum")

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram
        self._counts = [0] * len(_UPPER_BOUNDS)
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        # the first bound >= seconds, as Histogram.observe picks it
        self._counts[bisect_left(_UPPER_BOUNDS, seconds)] += 1
        self._sum += seconds

    def publish(self) -> None:
        # prometheus_client has no public way to set a histogram's state: its values are.
        self._histogram._sum.set(self._sum)
        for value, count in zip(self._histogram._buckets, self._counts, strict=True):
            value.set(float(count))


class _GuardCollector(Collector):
    def __init__(self, guards: Callable[[], Iterable[SourceGuard]]) -> None:
        self._guards = guards

    def collect(self) -> Iterable[Metric]:
        state = GaugeMetricFamily(
            "catalogue_source_state",
            "1 for the state each source is in (UP, DEGRADED, CIRCUIT_OPEN)",
            labels=["source", "state"],
        )
        cached = GaugeMetricFamily(
            "catalogue_source_cached_answers", "Upstream answers held", labels=["source"]
        )
        calls = CounterMetricFamily(
            "catalogue_source_upstream_calls", "Calls made to the platform", labels=["source"]
        )
        for guard in self._guards():
            report = guard.report()
            for value in GuardState:
                state.add_metric([guard.source_id, value.value], float(report.state is value))
            cached.add_metric([guard.source_id], report.cache_entries)
            calls.add_metric([guard.source_id], guard.upstream_calls)
        yield state
        yield cached
        yield calls


class GatewayMetrics:
    def __init__(self, guards: Callable[[], Iterable[SourceGuard]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "catalogue_graphql_requests",
            "GraphQL requests by HTTP status",
            ["status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "catalogue_graphql_request_seconds",
            "GraphQL request latency",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.source_calls = Counter(
            "catalogue_source_results",
            "Per-request outcome at each source",
            ["source", "status"],
            registry=self.registry,
        )
        self.source_latency = Histogram(
            "catalogue_source_request_seconds",
            "Time each source took to answer its part of a GraphQL request",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._by_status: dict[int, Any] = {}
        self._by_source: dict[tuple[str, str], Any] = {}
        self._requests_seen: dict[int, int] = {}
        self._sources_seen: dict[tuple[str, str], int] = {}
        self._latency = _Tally(self.latency)
        self._source_latency: dict[str, _Tally] = {}
        self.registry.register(_GuardCollector(guards))
        # process_* (CPU, memory, open files), python_info and python_gc_*: the default
        # registry's collectors, shared read-only by every gateway of the process.
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)

    def observe_request(self, status: int, seconds: float) -> None:
        self._requests_seen[status] = self._requests_seen.get(status, 0) + 1
        self._latency.observe(seconds)

    def observe_source(self, source_id: str, status: str) -> None:
        # A response-cache hit observes every source: counted in a plain dict here and
        # added to the Prometheus counters (a lock per increment) when they are read.
        key = (source_id, status)
        self._sources_seen[key] = self._sources_seen.get(key, 0) + 1

    def _add_seen(self) -> None:
        """Move the counts observed since the last read into the counters (``labels()``
        costs several microseconds: the children are kept, statuses and sources are few)."""
        seen, self._requests_seen = self._requests_seen, {}
        for status, count in seen.items():
            child = self._by_status.get(status)
            if child is None:
                child = self._by_status[status] = self.requests.labels(str(status))
            child.inc(count)
        sources, self._sources_seen = self._sources_seen, {}
        for key, count in sources.items():
            found = self._by_source.get(key)
            if found is None:
                found = self._by_source[key] = self.source_calls.labels(*key)
            found.inc(count)

    def observe_source_latency(self, source_id: str, seconds: float) -> None:
        tally = self._source_latency.get(source_id)
        if tally is None:  # the child made here, so sources are exposed in the same order
            tally = self._source_latency[source_id] = _Tally(self.source_latency.labels(source_id))
        tally.observe(seconds)

    def render(self) -> bytes:
        self._add_seen()
        self._latency.publish()
        for tally in self._source_latency.values():
            tally.publish()
        return generate_latest(self.registry)
