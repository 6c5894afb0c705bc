"""Response-cache benchmarks (issue 15, targets 1 and 5).

    python -m bench.response_cache hits [--rounds 3 --requests 5000 --concurrency 32]
    python -m bench.response_cache memory [--requests 100000 --max-entries 2000]

- ``hits``: the warm 20-dataset query over 8 simulated CKAN platforms
  (bench/ckan_upstreams.py), answered from the response cache, against the ceiling measured
  in the same run: a bare Starlette endpoint (same uvicorn, own process) returning the very
  bytes the gateway answers. Also the gateway with the response cache off (upstream cache
  warm) as the previous figure. Medians of ``--rounds`` rounds; target hit req/s >= 35% of
  the ceiling.
- ``memory``: bench.federation's memory scenario (varied requests, random filters, sorts,
  sizes, followed cursors) with the response cache on and ``--max-entries`` small enough
  that the warm-up fills it; the gateway's RSS after warm-up against its RSS at the end
  (target: < 50 MB growth).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import LoadResult, drive, peak_rss_mb, run_load
from bench.federation import memory_load
from bench.harness import (
    FAILURES,
    answer_bytes,
    ceiling,
    datasets_query,
    finish,
    gateway,
    platforms,
    report,
    session,
    write_config,
)


def cached_config(
    path: Path, urls: list[str], *, ttl: float, max_entries: int, cache_ttl: float
) -> Path:
    """bench.harness's config with ``graphql.response_cache`` set (ttl 0: off)."""
    settings = {"ttl_seconds": ttl, "max_entries": max_entries}
    return write_config(path, urls, cache_ttl=cache_ttl, response_cache=settings)


async def graphql_load(url: str, name: str, query: str, args: argparse.Namespace) -> LoadResult:
    """bench.harness's load, sending ``--accept-encoding`` (aiohttp's default asks for
    gzip, which the gateway's compression middleware then does on every answer while the
    bare endpoint never compresses)."""
    body = json.dumps({"query": query})
    headers = {"content-type": "application/json", "accept-encoding": args.accept_encoding}
    async with session(args.concurrency) as http:

        async def call() -> bool:
            try:
                async with http.post(url, data=body, headers=headers) as response:
                    payload = await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                FAILURES[f"{name}: {type(exc).__name__}"] += 1
                return False
            return response.status == 200 and b'"errors"' not in payload

        return await drive(name, call, concurrency=args.concurrency, requests=args.requests)


def run_hits(args: argparse.Namespace) -> None:
    query = datasets_query(args.first)
    bare, hit, off = (
        "bare Starlette, same bytes",
        "gateway, response-cache hit",
        ("gateway, response cache off (upstream warm)"),
    )
    runs: dict[str, list[LoadResult]] = {bare: [], hit: [], off: []}
    with tempfile.TemporaryDirectory() as name, platforms(args.sources, args.latency_ms) as urls:
        tmp = Path(name)
        on_cfg = cached_config(
            tmp / "on.yaml", urls, ttl=args.ttl, max_entries=10_000, cache_ttl=600
        )
        off_cfg = cached_config(tmp / "off.yaml", urls, ttl=0, max_entries=10_000, cache_ttl=600)
        for _ in range(args.rounds):
            with gateway(on_cfg) as (url, pid):
                body = asyncio.run(answer_bytes(url, query))
                result = run_load(graphql_load(url, name=hit, query=query, args=args))
                result.peak_rss_mb = peak_rss_mb(pid)
                runs[hit].append(result)
            with ceiling(body, tmp) as url:
                runs[bare].append(run_load(graphql_load(url, name=bare, query=query, args=args)))
            with gateway(off_cfg) as (url, pid):
                runs[off].append(run_load(graphql_load(url, name=off, query=query, args=args)))
    medians = report(
        f"{args.sources} CKAN sources at {args.latency_ms:g} ms, datasets(first: {args.first}) "
        f"({len(body)} bytes), {args.concurrency} clients, {args.requests} requests x "
        f"{args.rounds} rounds, response cache TTL {args.ttl:g} s, Accept-Encoding: "
        f"{args.accept_encoding}",
        runs,
    )
    ratios = {
        "hit_over_ceiling": medians[hit].rps / medians[bare].rps,
        "hit_over_cache_off": medians[hit].rps / medians[off].rps,
    }
    print(
        f"\nhit req/s / bare Starlette req/s: {ratios['hit_over_ceiling']:.2f} (target >= 0.35); "
        f"hit / response cache off: {ratios['hit_over_cache_off']:.1f}x"
    )
    finish(
        "response-cache-hits",
        args,
        {
            "answer_bytes": len(body),
            "ratios": ratios,
            "rps_rounds": {k: [r.rps for r in v] for k, v in runs.items()},
            "runs": {k: [r.as_dict() for r in v] for k, v in runs.items()},
        },
    )


def run_memory(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as name, platforms(args.sources, args.latency_ms) as urls:
        config = cached_config(
            Path(name) / "gateway.yaml",
            urls,
            ttl=args.ttl,
            max_entries=args.max_entries,
            cache_ttl=600,
        )
        with gateway(config) as (url, pid):
            outcome: dict[str, Any] = asyncio.run(memory_load(url, pid, args))
    growth = outcome["end_rss_mb"] - outcome["start_rss_mb"]
    samples = [mb for _, mb in outcome["rss_samples"] if mb is not None]
    print(
        f"\n{args.sources} CKAN sources at {args.latency_ms:g} ms, response cache TTL "
        f"{args.ttl:g} s max_entries {args.max_entries}, {args.concurrency} clients, "
        f"{outcome['requests']} varied requests in {outcome['seconds']:.0f} s "
        f"({outcome['rps']:.1f} req/s, p50 {outcome['p50_ms']:.1f} ms, {outcome['errors']} errors)"
    )
    print(
        f"gateway RSS after warm-up {outcome['start_rss_mb']:.1f} MB, at the end "
        f"{outcome['end_rss_mb']:.1f} MB, peak {outcome['peak_rss_mb']:.1f} MB, median of the "
        f"10 s samples {statistics.median(samples) if samples else float('nan'):.1f} MB: "
        f"growth {growth:+.1f} MB (target < 50)"
    )
    finish("response-cache-memory", args, {"growth_mb": growth, **outcome})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=["hits", "memory"])
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--first", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, help="hits: per round (5000); memory: 100000")
    parser.add_argument(
        "--accept-encoding", default="identity", help="hits: what the clients accept"
    )
    parser.add_argument("--ttl", type=float, default=10, help="graphql.response_cache.ttl_seconds")
    memory = parser.add_argument_group("memory")
    memory.add_argument("--max-entries", type=int, default=2000)
    memory.add_argument("--max-minutes", type=float, default=15)
    memory.add_argument("--warmup", type=int, default=5000)
    memory.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.requests is None:
        args.requests = 5000 if args.scenario == "hits" else 100_000
    (run_hits if args.scenario == "hits" else run_memory)(args)


if __name__ == "__main__":
    main()
