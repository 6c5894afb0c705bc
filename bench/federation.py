"""Federation benchmarks: a hung source, deep pages, the upstream cache, memory, a peer.

    python -m bench.federation hung|deep-page|cache|memory|peer|workers|fast-path|all [options]

Every scenario starts N simulated CKAN platforms (bench/ckan_upstreams.py, own process,
fixed latency) and the gateway (``catalogue-gateway serve``, own process, a generated
gateway.yaml), measures, prints medians over rounds and a ratio to a baseline measured in
the same run, and saves the raw numbers under bench/results/.

- ``hung``: one of the sources never answers (``POST /__sim__/fault {"mode": "hang"}``),
  its deadline ``--deadline``; the gateway's p99 against that deadline + 100 ms and against
  the healthy gateway's p99, and how many answers reported a *healthy* source failing.
- ``deep-page``: page 1 and page 50 of one query (walked with ``endCursor``): upstream
  requests (``GET /__sim__/stats``) and bytes (the recorded requests replayed against the
  simulators) for the page-50 request over the page-1 request.
- ``cache``: requests per second with a warm upstream cache over the cache switched off.
- ``memory``: ``--requests`` varied requests (bounded set of documents and searches,
  random filters, sorts, sizes and followed cursors); the gateway's RSS after warm-up
  against its RSS at the end.
- ``workers``: ``serve --workers 2`` against one process on the warm query (upstream cache
  warm, response cache off), requests per second of each, alternating per round.
- ``fast-path``: the warm 20-dataset query (upstream cache warm, response cache off, so
  every request executes) with the execution fast path (``graphql.fast_path``, compiled
  completion plans) over the same gateway with it off (plain graphql-core): req/s and p50,
  and against a bare Starlette endpoint answering the same bytes (bench.harness's
  ``ceiling``, as in bench.response_cache), also scaled to the issue's machine (whose
  ceiling was ~13,000 req/s).
- ``workers`` and ``fast-path`` send ``--accept-encoding`` (default identity: aiohttp's
  default would have the gateway compress every answer, which the ceiling never does).
- ``peer``: Hive Gateway (bench/peer/) over the same platforms next to the gateway and a
  raw aiohttp fan-out (bench/fanout.py); needs ``npm ci`` in bench/peer first.

The upstream cache is switched per run through the generated gateway.yaml
(``sources[].upstream.cache_ttl_seconds``; 0 = off), see ``upstream_settings``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench import wrk as bench_wrk
from bench.common import (
    LoadResult,
    drive,
    peak_rss_mb,
    percentile,
    rss_mb,
    run_load,
)
from bench.harness import (
    ROW_FIELDS,
    WARMUP,
    answer_bytes,
    ceiling,
    datasets_query,
    finish,
    gateway,
    graphql_load,
    mix_load,
    platforms,
    post_graphql,
    report,
    session,
    sim,
    upstream_total,
    write_config,
)
from bench.peer.compare import run_peer
from bench.peer.cpu import tree_cpu

SCENARIOS = ("hung", "deep-page", "cache", "memory", "peer", "workers", "fast-path")
# Why requests failed, by contender and reason; printed and saved with each scenario.
# -- the gateway under test -------------------------------------------------------------


# -- hung -------------------------------------------------------------------------------


async def hung_load(
    url: str, name: str, hung_id: str, args: argparse.Namespace
) -> tuple[LoadResult, Counter[str]]:
    """Drive the gateway; count per-source statuses (the hung one apart)."""
    query = datasets_query(args.first, extra="sources { source { id } status message }")
    body = json.dumps({"query": query})
    statuses: Counter[str] = Counter()
    async with session(args.concurrency) as http:

        async def call() -> bool:
            async with http.post(url, data=body, headers={"content-type": "application/json"}) as r:
                payload = await r.json(content_type=None)
            data = (payload.get("data") or {}).get("datasets")
            if r.status != 200 or data is None:
                statuses["failed requests"] += 1
                return False
            for source in data["sources"]:
                stale = (source["message"] or "").startswith("served an earlier answer")
                status = "STALE" if stale else source["status"]
                if source["source"]["id"] == hung_id:
                    statuses[f"hung source {status}"] += 1
                elif status != "OK":
                    statuses["healthy source not OK"] += 1
            return True

        result = await drive(name, call, concurrency=args.concurrency, requests=args.requests)
    return result, statuses


def run_hung(args: argparse.Namespace) -> None:
    hung = args.hung_source
    hung_id = f"source-{hung}"
    runs: dict[str, list[LoadResult]] = {
        "healthy": [],
        "hung, breaker off": [],
        "hung, breaker on": [],
    }
    counts: dict[str, Counter[str]] = {name: Counter() for name in runs}
    with tempfile.TemporaryDirectory() as tmp, platforms(args.sources, args.latency_ms) as urls:
        timeouts = {hung: args.deadline}
        configs = {
            "healthy": write_config(
                Path(tmp) / "off.yaml", urls, cache_ttl=0, timeouts=timeouts, breaker=False
            ),
            "hung, breaker off": Path(tmp) / "off.yaml",
            "hung, breaker on": write_config(
                Path(tmp) / "on.yaml", urls, cache_ttl=0, timeouts=timeouts
            ),
        }

        async def set_fault(mode: str) -> None:
            async with session() as http:
                await sim(http, urls[hung], "/__sim__/fault", {"mode": mode})

        for _ in range(args.rounds):
            for name, config in configs.items():
                # A fresh gateway per phase: no breaker state or stale answers carried over.
                asyncio.run(set_fault("ok" if name == "healthy" else "hang"))
                with gateway(config) as (url, _):
                    result, statuses = asyncio.run(hung_load(url, name, hung_id, args))
                runs[name].append(result)
                counts[name] += statuses
        asyncio.run(set_fault("ok"))

    medians = report(
        f"{args.sources} CKAN sources at {args.latency_ms:g} ms, {hung_id} hung with a "
        f"{args.deadline:g} s deadline, {args.concurrency} clients, "
        f"{args.requests} requests x {args.rounds} rounds",
        runs,
    )
    bound_ms = args.deadline * 1000 + 100
    ratios = {}
    for name in ("hung, breaker off", "hung, breaker on"):
        ratios[name] = {
            "p99_over_deadline_plus_100ms": medians[name].p99_ms / bound_ms,
            "p99_over_healthy_p99": medians[name].p99_ms / medians["healthy"].p99_ms,
        }
        print(
            f"{name}: p99 {medians[name].p99_ms:.0f} ms = "
            f"{ratios[name]['p99_over_deadline_plus_100ms']:.2f} x (deadline + 100 ms), "
            f"{ratios[name]['p99_over_healthy_p99']:.2f} x healthy p99; "
            f"statuses {dict(counts[name])}"
        )
    healthy_errors = sum(c["healthy source not OK"] for c in counts.values())
    print(f"answers where a non-hung source reported an error: {healthy_errors} (target 0)")
    finish(
        "hung",
        args,
        {
            "ratios": ratios,
            "statuses": {k: dict(v) for k, v in counts.items()},
            "runs": {k: [r.as_dict() for r in v] for k, v in runs.items()},
        },
    )


# -- deep page --------------------------------------------------------------------------


async def upstream_work(
    http: aiohttp.ClientSession, urls: list[str], make_request: Callable[[], Awaitable[object]]
) -> dict[str, float]:
    """Upstream requests, rows asked and bytes answered for one gateway request."""
    await asyncio.gather(*(sim(http, u, "/__sim__/stats/reset", {}) for u in urls))
    started = time.perf_counter()
    await make_request()
    latency_ms = (time.perf_counter() - started) * 1000
    stats = await asyncio.gather(*(sim(http, u, "/__sim__/stats") for u in urls))
    requests = rows = size = 0
    for url, stat in zip(urls, stats, strict=True):
        if stat["total"] > len(stat["recent"]):
            raise RuntimeError("more upstream calls than the simulator keeps to replay")
        for call in stat["recent"]:
            requests += 1
            rows += int(call["params"].get("rows", 10))
            path = f"/api/3/action/{call['action']}"
            async with http.get(url + path, params=call["params"]) as response:
                size += len(await response.read())
    return {"requests": requests, "rows": rows, "bytes": size, "latency_ms": latency_ms}


async def deep_page(url: str, urls: list[str], args: argparse.Namespace) -> dict[str, Any]:
    query = (
        f"query($after: String) {{ datasets(first: {args.first}, after: $after) "
        "{ edges { node { id } } pageInfo { hasNextPage endCursor } } }"
    )
    async with session() as http:

        async def page(after: str | None) -> dict[str, Any]:
            body = {"query": query, "variables": {"after": after}}
            async with http.post(url, json=body) as response:
                payload = await response.json(content_type=None)
            if "errors" in payload:
                raise RuntimeError(f"the gateway answered errors: {payload['errors']}")
            datasets: dict[str, Any] = payload["data"]["datasets"]
            return datasets

        after: str | None = None
        seen: set[str] = set()
        for number in range(1, args.page):
            data = await page(after)
            seen.update(e["node"]["id"] for e in data["edges"])
            if not data["pageInfo"]["hasNextPage"]:
                raise RuntimeError(f"only {number} pages; use fewer pages or more sources")
            after = data["pageInfo"]["endCursor"]
        last = await page(after)
        repeated = sum(e["node"]["id"] in seen for e in last["edges"])
        rounds: list[dict[str, dict[str, float]]] = []
        for _ in range(args.rounds):
            first = await upstream_work(http, urls, lambda: page(None))
            deep = await upstream_work(http, urls, lambda: page(after))
            rounds.append({"page 1": first, f"page {args.page}": deep})
    return {"rounds": rounds, "page_rows": len(last["edges"]), "repeated_ids": repeated}


def run_deep_page(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, platforms(args.sources, args.latency_ms) as urls:
        config = write_config(Path(tmp) / "gateway.yaml", urls, cache_ttl=0, public_sees_all=True)
        with gateway(config) as (url, _):
            outcome = asyncio.run(deep_page(url, urls, args))
    deep_name = f"page {args.page}"
    print(
        f"\n{args.sources} CKAN sources at {args.latency_ms:g} ms, first: {args.first}, upstream "
        f"cache off, {args.rounds} rounds (page {args.page}: {outcome['page_rows']} rows, "
        f"{outcome['repeated_ids']} already seen on earlier pages)"
    )
    print(f"{'request':<12} {'upstream requests':>18} {'rows asked':>11} {'bytes':>10} {'ms':>8}")
    medians: dict[str, dict[str, float]] = {}
    for name in ("page 1", deep_name):
        medians[name] = {
            key: statistics.median(r[name][key] for r in outcome["rounds"])
            for key in ("requests", "rows", "bytes", "latency_ms")
        }
        m = medians[name]
        print(
            f"{name:<12} {m['requests']:>18.0f} {m['rows']:>11.0f} {m['bytes']:>10.0f} "
            f"{m['latency_ms']:>8.1f}"
        )
    ratios = {
        key: medians[deep_name][key] / medians["page 1"][key]
        for key in ("requests", "bytes", "latency_ms")
    }
    print(
        f"\npage {args.page} / page 1: upstream requests {ratios['requests']:.2f}, "
        f"bytes {ratios['bytes']:.2f}, latency {ratios['latency_ms']:.2f} (target <= 1.5)"
    )
    finish("deep-page", args, {"ratios": ratios, "medians": medians, **outcome})


# -- cache ------------------------------------------------------------------------------


def run_cache(args: argparse.Namespace) -> None:
    query = datasets_query(args.first)
    cold, warm, cold_mix, warm_mix = (
        "cache off, same query",
        "cache warm, same query",
        f"cache off, mix of {args.mix} queries",
        f"cache warm, mix of {args.mix} queries",
    )
    runs: dict[str, list[LoadResult]] = {cold: [], warm: [], cold_mix: [], warm_mix: []}
    calls: dict[str, list[float]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory() as tmp, platforms(args.sources, args.latency_ms) as urls:
        off = write_config(Path(tmp) / "off.yaml", urls, cache_ttl=0)
        on = write_config(Path(tmp) / "on.yaml", urls, cache_ttl=args.cache_ttl)
        loads = {
            cold: (off, partial(graphql_load, name=cold, query=query, args=args)),
            warm: (on, partial(graphql_load, name=warm, query=query, args=args)),
            cold_mix: (off, partial(mix_load, name=cold_mix, args=args, prefill=False)),
            warm_mix: (on, partial(mix_load, name=warm_mix, args=args, prefill=True)),
        }
        for _ in range(args.rounds):
            for name, (config, load) in loads.items():
                with gateway(config) as (url, pid):
                    asyncio.run(upstream_total(urls, reset=True))
                    # drive() warms up first: the warm gateway's cache fills there.
                    result = asyncio.run(load(url))
                    result.peak_rss_mb = peak_rss_mb(pid)
                    total = asyncio.run(upstream_total(urls))
                runs[name].append(result)
                calls[name].append(total / (result.requests + WARMUP))
    medians = report(
        f"{args.sources} CKAN sources at {args.latency_ms:g} ms, datasets(first: {args.first}), "
        f"{args.concurrency} clients, {args.requests} requests x {args.rounds} rounds",
        runs,
    )
    for name, values in calls.items():
        print(f"{name:<34} {statistics.median(values):6.3f} upstream calls per request")
    ratios = {
        "mix_warm_over_cache_off": medians[warm_mix].rps / medians[cold_mix].rps,
        "same_query_warm_over_cache_off": medians[warm].rps / medians[cold].rps,
    }
    print(
        f"\nwarm req/s / cache-off req/s: mix of {args.mix} queries "
        f"{ratios['mix_warm_over_cache_off']:.1f} (target >= 5); same query "
        f"{ratios['same_query_warm_over_cache_off']:.1f} (in-flight coalescing already "
        "shares the cold fan-out)"
    )
    finish(
        "cache",
        args,
        {
            "ratios": ratios,
            "upstream_calls_per_request": calls,
            "runs": {k: [r.as_dict() for r in v] for k, v in runs.items()},
        },
    )


# -- workers ----------------------------------------------------------------------------


async def warm_every_worker(url: str, query: str, concurrency: int) -> None:
    """Enough concurrent requests that each worker has answered the query (its own upstream
    cache is warm) before ``drive`` measures."""
    async with session(concurrency) as http:
        body = {"query": query}
        for _ in range(3):
            await asyncio.gather(
                *(post_graphql(http, url, "warm-up", body) for _ in range(concurrency))
            )


def workers_load(
    url: str, name: str, query: str, args: argparse.Namespace, *, wrk: bool
) -> tuple[LoadResult, float]:
    """One measured run of the workers scenario and the driver's CPU seconds: wrk for
    ``args.seconds`` (the answer checked once first, as wrk reads no body), or the Python
    driver for ``args.requests``."""
    if wrk:
        asyncio.run(check_answer(url, query, args.accept_encoding))
        body = json.dumps({"query": query}).encode()
        run = bench_wrk.wrk_load(
            url,
            name,
            body,
            concurrency=args.concurrency,
            seconds=args.seconds,
            accept_encoding=args.accept_encoding,
        )
        return run.result, run.cpu_seconds
    started = time.process_time()
    result = run_load(graphql_load(url, name, query, args, accept_encoding=args.accept_encoding))
    return result, time.process_time() - started


async def check_answer(url: str, query: str, accept_encoding: str) -> None:
    """Raise unless the gateway answers ``query`` with data and no errors."""
    headers = {"accept-encoding": accept_encoding}
    async with session() as http, http.post(url, json={"query": query}, headers=headers) as r:
        body = await r.read()
        if r.status != 200 or b'"errors"' in body or b'"data"' not in body:
            raise RuntimeError(f"the gateway did not answer the query: {body[:300]!r}")


def run_workers(args: argparse.Namespace) -> None:
    """``serve --workers 2`` against ``serve`` (one process) on the warm query, the response
    cache off (it measures execution), same run, alternating per round."""
    query = datasets_query(args.first)
    use_wrk = args.driver == "wrk" or (args.driver == "auto" and bench_wrk.installed())
    driver = f"wrk, {args.seconds:g} s a run" if use_wrk else f"{args.requests} requests"
    names = {1: "serve, 1 worker", 2: f"serve --workers {args.workers}"}
    runs: dict[str, list[LoadResult]] = {name: [] for name in names.values()}
    cpu: dict[str, list[tuple[float, float]]] = {name: [] for name in names.values()}
    with tempfile.TemporaryDirectory() as tmp, platforms(args.sources, args.latency_ms) as urls:
        config = write_config(Path(tmp) / "workers.yaml", urls, cache_ttl=args.cache_ttl)
        document = yaml.safe_load(config.read_text())
        document["graphql"] = {
            "cursor_secret": "bench-" + "0" * 32,
            "response_cache": {"ttl_seconds": 0},
        }
        document["quality"] = {"sweep_enabled": False}  # no background sweep mid-measure
        config.write_text(yaml.safe_dump(document, allow_unicode=True))
        for _ in range(args.rounds):
            for workers, name in ((1, names[1]), (args.workers, names[2])):
                with gateway(config, workers=workers) as (url, pid):
                    asyncio.run(warm_every_worker(url, query, args.concurrency))
                    gateway_cpu = tree_cpu(pid)
                    result, driver_cpu = workers_load(url, name, query, args, wrk=use_wrk)
                    cpu[name].append(
                        (
                            (tree_cpu(pid) - gateway_cpu) / result.requests * 1000,
                            driver_cpu / result.requests * 1000,
                        )
                    )
                    runs[name].append(result)
    medians = report(
        f"{args.sources} CKAN sources at {args.latency_ms:g} ms, upstream cache warm, "
        f"response cache off, datasets(first: {args.first}), {args.concurrency} clients, "
        f"{driver} x {args.rounds} rounds, Accept-Encoding: "
        f"{args.accept_encoding}; 2 cores shared with the load driver and the simulators",
        runs,
    )
    ratio = medians[names[2]].rps / medians[names[1]].rps
    # Each round measures both back to back: the ratio within a round is less exposed to
    # load that comes and goes on a shared machine than the ratio of the two medians.
    paired = [b.rps / a.rps for a, b in zip(runs[names[1]], runs[names[2]], strict=True)]
    print(
        f"\n{args.workers} workers req/s / 1 worker req/s: {ratio:.2f} (medians); per round "
        f"{', '.join(f'{r:.2f}' for r in paired)}, median {statistics.median(paired):.2f} "
        "(target >= 1.6)"
    )
    for name, pairs in cpu.items():
        server = statistics.median(p[0] for p in pairs)
        driver = statistics.median(p[1] for p in pairs)
        print(f"{name:<34} CPU ms per request: gateway {server:.2f}, load driver {driver:.2f}")
    finish(
        "workers",
        args,
        {
            "ratio": ratio,
            "paired_ratios": paired,
            "cpu_ms_per_request": cpu,
            "cpu_count": os.cpu_count(),
            "runs": {k: [r.as_dict() for r in v] for k, v in runs.items()},
        },
    )


# -- fast-path --------------------------------------------------------------------------


# The issue's 1,000 req/s was set on a machine whose bare Starlette endpoint answered
# ~13,000 req/s; fast-path scales its figure by this run's ceiling to compare.
ISSUE_CEILING_RPS = 13_000


def run_fast_path(args: argparse.Namespace) -> None:
    query = datasets_query(args.first)
    off, on = "fast path off (graphql-core)", "fast path on (compiled plans)"
    bare = "bare Starlette, same bytes"
    runs: dict[str, list[LoadResult]] = {off: [], on: [], bare: []}
    load = partial(graphql_load, query=query, args=args, accept_encoding=args.accept_encoding)
    with tempfile.TemporaryDirectory() as tmp, platforms(args.sources, args.latency_ms) as urls:
        configs = {
            name: write_config(
                Path(tmp) / f"fast-path-{flag}.yaml",
                urls,
                cache_ttl=args.cache_ttl,
                # Response cache off: every request is executed (a cache miss's cost).
                graphql={"fast_path": flag, "response_cache": {"ttl_seconds": 0}},
            )
            for name, flag in ((off, False), (on, True))
        }
        for _ in range(args.rounds):
            for name, config in configs.items():  # interleaved: both see the same machine
                with gateway(config) as (url, pid):
                    # drive() warms up first: the upstream cache fills there.
                    result = run_load(load(url, name=name))
                    result.peak_rss_mb = peak_rss_mb(pid)
                    body = asyncio.run(answer_bytes(url, query))
                runs[name].append(result)
            with ceiling(body, Path(tmp)) as url:
                runs[bare].append(run_load(load(url, name=bare)))
    medians = report(
        f"{args.sources} CKAN sources at {args.latency_ms:g} ms, upstream cache warm, response "
        f"cache off, datasets(first: {args.first}), {args.concurrency} clients, "
        f"{args.requests} requests x {args.rounds} rounds, Accept-Encoding: {args.accept_encoding}",
        runs,
    )
    ratios = {
        "rps_on_over_off": medians[on].rps / medians[off].rps,
        "p50_on_over_off": medians[on].p50_ms / medians[off].p50_ms,
        "rps_on_over_ceiling": medians[on].rps / medians[bare].rps,
    }
    normalised = ratios["rps_on_over_ceiling"] * ISSUE_CEILING_RPS
    print(
        f"\nfast path on / off: req/s {ratios['rps_on_over_off']:.2f}x, "
        f"p50 {ratios['p50_on_over_off']:.2f}x; on / bare Starlette: "
        f"{ratios['rps_on_over_ceiling']:.3f}\nfast path on: {medians[on].rps:.0f} req/s here, "
        f"{normalised:.0f} req/s normalised (x {ISSUE_CEILING_RPS:,} / this run's ceiling "
        f"{medians[bare].rps:.0f}; target: >= 1,000)"
    )
    finish(
        "fast-path",
        args,
        {
            "ratios": ratios,
            "normalised_rps_on": normalised,
            "runs": {k: [r.as_dict() for r in v] for k, v in runs.items()},
        },
    )


# -- memory -----------------------------------------------------------------------------

SEARCHES = (
    None, "数据", "公交", "交通", "统计", "环境", "医疗", "教育", "企业", "人口", "道路",
    "空气", "学校", "地铁", "停车", "水质", "就业", "2024", "2025", "实时", "bus", "air",
)  # fmt: skip
SORTS = ("RELEVANCE", "MODIFIED_DESC", "MODIFIED_ASC", "TITLE_ASC")
FORMATS = ("CSV", "JSON", "XLSX", "API", "XML", "PDF")
DEPARTMENTS = ("transport", "health", "education", "environment", "market", "statistics")
SELECTIONS = (
    "edges { node { id title } }",
    f"edges {{ node {{ {ROW_FIELDS} }} }}",
    "edges { cursor node { id title keywords themes modified } }",
    "totalCount totalCountIsExact edges { node { id identifier title } }",
    "facets { departments { value count } formats { value count } } edges { node { id } }",
    "sources { source { id } status latencyMs matched } edges { node { id title } }",
)


def memory_request(rng: random.Random, cursors: dict[str, str]) -> dict[str, Any]:
    """A random request from a bounded space; follows a stored cursor 40% of the time."""
    selection = rng.randrange(len(SELECTIONS))
    filters: dict[str, Any] = {}
    if rng.random() < 0.3:
        filters["formats"] = [rng.choice(FORMATS)]
    if rng.random() < 0.2:
        filters["departments"] = rng.sample(DEPARTMENTS, rng.randint(1, 2))
    variables = {
        "search": rng.choice(SEARCHES),
        "sort": rng.choice(SORTS),
        "first": rng.choice((5, 10, 20, 50)),
        "filter": filters or None,
    }
    key = json.dumps([selection, variables], sort_keys=True)
    if key in cursors and rng.random() < 0.4:
        variables["after"] = cursors[key]
    document = (
        "query($search: String, $sort: DatasetSort, $first: Int, $filter: DatasetFilter, "
        "$after: String) { datasets(search: $search, sort: $sort, first: $first, "
        f"filter: $filter, after: $after) {{ {SELECTIONS[selection]} "
        "pageInfo { hasNextPage endCursor } } }"
    )
    return {"key": key, "body": {"query": document, "variables": variables}}


async def memory_load(url: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    cursors: dict[str, str] = {}
    latencies: list[float] = []
    errors = 0
    samples: list[tuple[float, float | None]] = []

    async with session(args.concurrency) as http:

        async def one() -> bool:
            request = memory_request(rng, cursors)
            async with http.post(url, json=request["body"]) as response:
                payload = await response.json(content_type=None)
            data = (payload.get("data") or {}).get("datasets")
            if data is None:
                return False
            info = data["pageInfo"]
            if info["hasNextPage"] and info["endCursor"]:
                cursors[request["key"]] = info["endCursor"]
            else:
                cursors.pop(request["key"], None)
            return "errors" not in payload

        for _ in range(args.warmup):
            await one()
        start_rss = rss_mb(pid)
        started = time.perf_counter()
        deadline = started + args.max_minutes * 60
        remaining = args.requests

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                t0 = time.perf_counter()
                try:
                    ok = await one()
                except (aiohttp.ClientError, TimeoutError, ValueError):
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += not ok

        async def sampler() -> None:
            while True:
                samples.append((time.perf_counter() - started, rss_mb(pid)))
                await asyncio.sleep(10)

        sampling = asyncio.create_task(sampler())
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        sampling.cancel()
        seconds = time.perf_counter() - started
        end_rss = rss_mb(pid)
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": seconds,
        "rps": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "start_rss_mb": start_rss,
        "end_rss_mb": end_rss,
        "peak_rss_mb": peak_rss_mb(pid),
        "rss_samples": samples,
        "queries_with_a_next_page": len(cursors),
    }


def run_memory(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, platforms(args.sources, args.latency_ms) as urls:
        config = write_config(Path(tmp) / "gateway.yaml", urls, cache_ttl=args.cache_ttl)
        with gateway(config) as (url, pid):
            outcome = asyncio.run(memory_load(url, pid, args))
    growth = outcome["end_rss_mb"] - outcome["start_rss_mb"]
    print(
        f"\n{args.sources} CKAN sources at {args.latency_ms:g} ms, upstream cache TTL "
        f"{args.cache_ttl:g} s, {args.concurrency} clients, {outcome['requests']} varied requests "
        f"in {outcome['seconds']:.0f} s ({outcome['rps']:.1f} req/s, p50 "
        f"{outcome['p50_ms']:.1f} ms, p99 {outcome['p99_ms']:.1f} ms, {outcome['errors']} errors)"
    )
    print(
        f"gateway RSS after warm-up {outcome['start_rss_mb']:.1f} MB, at the end "
        f"{outcome['end_rss_mb']:.1f} MB, peak {outcome['peak_rss_mb']:.1f} MB: growth "
        f"{growth:+.1f} MB (target < 50), end / start = "
        f"{outcome['end_rss_mb'] / outcome['start_rss_mb']:.2f}"
    )
    finish("memory", args, {"growth_mb": growth, **outcome})


# -- command line -----------------------------------------------------------------------


RUNNERS = {
    "hung": run_hung,
    "deep-page": run_deep_page,
    "cache": run_cache,
    "memory": run_memory,
    "peer": run_peer,
    "workers": run_workers,
    "fast-path": run_fast_path,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=[*SCENARIOS, "all"])
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--first", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, help="default: 8 for hung, else 32")
    parser.add_argument("--requests", type=int, help="per round; default by scenario")
    hung = parser.add_argument_group("hung")
    hung.add_argument("--hung-source", type=int, default=0, help="index of the hung source")
    hung.add_argument("--deadline", type=float, default=0.5, help="its timeout_seconds")
    deep = parser.add_argument_group("deep-page")
    deep.add_argument("--page", type=int, default=50)
    cache = parser.add_argument_group("cache, memory, peer, fast-path")
    cache.add_argument("--mix", type=int, default=64, help="cache: queries in the mix")
    cache.add_argument(
        "--cache-ttl", type=float, default=600, help="upstream cache TTL where it is on"
    )
    memory = parser.add_argument_group("memory")
    memory.add_argument("--max-minutes", type=float, default=15)
    memory.add_argument("--warmup", type=int, default=2000)
    memory.add_argument("--seed", type=int, default=2026)
    workers = parser.add_argument_group("workers")
    workers.add_argument("--workers", type=int, default=2, help="serve --workers N against 1")
    workers.add_argument(
        "--driver",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="workers: the load driver (auto: wrk when installed, it costs the shared cores "
        "least; python: --requests requests from bench.common's driver)",
    )
    workers.add_argument("--seconds", type=float, default=10, help="workers: a wrk run's length")
    workers.add_argument(
        "--accept-encoding",
        default="identity",
        help="workers, fast-path: what the clients accept (identity: no compression, as the "
        "bare ceiling)",
    )
    peer = parser.add_argument_group("peer")
    peer.add_argument("--search", default="数据", help="search text for the peer comparison")
    args = parser.parse_args()
    explicit = {"concurrency": args.concurrency, "requests": args.requests}
    defaults = {
        "hung": (8, 400),
        "deep-page": (1, 1),
        "cache": (32, 1000),
        "memory": (32, 100_000),
        "peer": (32, 1000),
        "workers": (32, 1500),
        "fast-path": (32, 1500),
    }
    for scenario in SCENARIOS if args.scenario == "all" else (args.scenario,):
        concurrency, requests = defaults[scenario]
        args.concurrency = explicit["concurrency"] or concurrency
        args.requests = explicit["requests"] or requests
        print(f"\n=== {scenario} ===", flush=True)
        RUNNERS[scenario](args)


if __name__ == "__main__":
    main()
