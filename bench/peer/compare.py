"""Scenario ``peer`` of bench.federation: Hive Gateway next to the gateway and a raw fan-out.

    python -m bench.federation peer [--search 数据] [--rounds 3] [--requests 1000]

See README.md in this folder for what runs and how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from bench.common import LoadResult, drive, free_port, peak_rss_mb, wait_for_port
from bench.harness import (
    WARMUP,
    datasets_query,
    distinct_load,
    finish,
    gateway,
    graphql_load,
    platforms,
    process,
    report,
    session,
    upstream_total,
    write_config,
)
from bench.peer import hive
from connectors.ckan import CkanConnector, CkanOptions
from connectors.sdk import SearchQuery, SourceSettings
from gateway.access.policy import ANONYMOUS, Policy
from gateway.demo.run import CKAN_OPTIONS


def capture_params(first: int, text: str | None) -> list[tuple[str, str]]:
    """The package_search parameters the gateway sends to a source (anonymous caller)."""
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json={"success": True, "result": {"count": 0, "results": []}})

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            options = CkanOptions.model_validate(CKAN_OPTIONS)
            settings = SourceSettings(id="x", url="http://x", options=options)
            grants = Policy.default().grant_set(ANONYMOUS, None, datetime.now(UTC))
            query = SearchQuery(text=text, limit=first, any_of=grants.visibility())
            await CkanConnector(settings, client).search(query)

    asyncio.run(run())
    return list(captured[0].url.params.multi_items())


async def get_load(url: str, name: str, args: argparse.Namespace) -> LoadResult:
    async with session(args.concurrency) as http:

        async def call() -> bool:
            async with http.get(url) as response:
                await response.read()
                return response.status == 200

        return await drive(name, call, concurrency=args.concurrency, requests=args.requests)


def run_peer(args: argparse.Namespace) -> None:
    if not hive.installed():
        raise SystemExit("Hive Gateway is not installed: run `npm ci` in bench/peer")
    params = capture_params(args.first, args.search)
    raw, ours, ours_same, ours_warm, peer = (
        "raw aiohttp fan-out",
        "gateway, all distinct",
        "gateway, cache off",
        "gateway, cache warm",
        "Hive Gateway",
    )
    runs: dict[str, list[LoadResult]] = {
        raw: [],
        peer: [],
        ours_same: [],
        ours_warm: [],
        ours: [],
    }
    calls: dict[str, list[float]] = {name: [] for name in runs}
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        platforms(args.sources, args.latency_ms) as urls,
    ):
        tmp = Path(tmp_name)
        off = write_config(tmp / "off.yaml", urls, cache_ttl=0)
        warm = write_config(tmp / "on.yaml", urls, cache_ttl=args.cache_ttl)
        supergraph = hive.compose(urls, params, tmp / "supergraph.graphql")
        hive_query = hive.query(len(urls), args.search, args.first)

        def measure(
            name: str, load: Callable[[], Coroutine[Any, Any, LoadResult]], pid: int | None
        ) -> None:
            asyncio.run(upstream_total(urls, reset=True))
            result = asyncio.run(load())
            result.peak_rss_mb = peak_rss_mb(pid) if pid is not None else None
            runs[name].append(result)
            calls[name].append(asyncio.run(upstream_total(urls)) / (result.requests + WARMUP))

        for _ in range(args.rounds):
            port = free_port()
            argv = [sys.executable, "-m", "bench.fanout", "--client", "aiohttp"]
            argv += ["--upstreams", json.dumps(urls), "--port", str(port)]
            with process([*argv, "--params", json.dumps(params)], tmp / "fanout.log"):
                wait_for_port(port)
                measure(raw, partial(get_load, f"http://127.0.0.1:{port}/", raw, args), None)
            query = datasets_query(args.first, args.search)
            with gateway(off) as (url, pid):
                # What Hive Gateway is asked: the same query, no answer cache (in-flight
                # coalescing, on by default, shares upstream calls among identical ones).
                measure(ours_same, partial(graphql_load, url, ours_same, query, args), pid)
            with gateway(off) as (url, pid):
                measure(ours, partial(distinct_load, url, ours, args.search, args), pid)
            hive_port = free_port()
            with hive.serve(supergraph, tmp / "hive.log", hive_port) as pid:
                hive_url = f"http://127.0.0.1:{hive_port}/graphql"
                measure(peer, partial(graphql_load, hive_url, peer, hive_query, args), pid)
            with gateway(warm) as (url, pid):
                measure(ours_warm, partial(graphql_load, url, ours_warm, query, args), pid)
    medians = report(
        f"{args.sources} CKAN sources at {args.latency_ms:g} ms, search {args.search!r}, "
        f"{args.first} rows per source, {args.concurrency} clients, "
        f"{args.requests} requests x {args.rounds} rounds",
        runs,
    )
    base, hive_m = medians[raw], medians[peer]
    ratios = {}
    print(
        f"\n{'':<30} {'p50 / raw':>10} {'req/s / raw':>12} {'p50 / Hive':>11} "
        f"{'req/s / Hive':>13} {'upstream calls/request':>23}"
    )
    for name, m in medians.items():
        ratios[name] = {
            "p50_over_raw": m.p50_ms / base.p50_ms,
            "rps_over_raw": m.rps / base.rps,
            "p50_over_hive": m.p50_ms / hive_m.p50_ms,
            "rps_over_hive": m.rps / hive_m.rps,
        }
        r = ratios[name]
        print(
            f"{name:<30} {r['p50_over_raw']:>10.2f} {r['rps_over_raw']:>12.2f} "
            f"{r['p50_over_hive']:>11.2f} {r['rps_over_hive']:>13.2f} "
            f"{statistics.median(calls[name]):>23.2f}"
        )
    finish(
        "peer",
        args,
        {
            "ratios": ratios,
            "upstream_calls_per_request": calls,
            "runs": {k: [r.as_dict() for r in v] for k, v in runs.items()},
        },
    )
