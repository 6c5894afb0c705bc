"""Scenario ``peer`` of bench.federation: Hive Gateway next to the gateway and a raw fan-out.

    python -m bench.federation peer [--search 数据] [--rounds 3] [--requests 1000]

See README.md in this folder for what runs and how to read the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.common import LoadResult, child, drive, free_port, peak_rss_mb, wait_for_port
from bench.harness import (
    FAR_FUTURE,
    WARMUP,
    datasets_query,
    distinct_load,
    finish,
    gateway,
    graphql_load,
    post_graphql,
    process,
    report,
    session,
    sim,
    upstream_total,
    write_config,
)
from bench.peer import hive
from bench.peer.cpu import CpuMark
from connectors.ckan import CkanConnector, CkanOptions
from connectors.sdk import DatasetFilter, SearchQuery, SourceSettings
from gateway.access.policy import ANONYMOUS, Policy
from gateway.demo.run import CKAN_OPTIONS


def capture_params(
    first: int, text: str | None, before: datetime | None = None
) -> list[tuple[str, str]]:
    """The package_search parameters the gateway sends to a source (anonymous caller),
    for a ``modifiedBefore`` bound when ``before`` is given."""
    return capture_many(first, text, [before])[0]


def capture_many(
    first: int, text: str | None, bounds: Sequence[datetime | None]
) -> list[list[tuple[str, str]]]:
    """``capture_params`` for each of ``bounds``, with one connector (the CKAN connector
    builds the filter query, so the peer is sent exactly what the gateway sends)."""
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json={"success": True, "result": {"count": 0, "results": []}})

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            options = CkanOptions.model_validate(CKAN_OPTIONS)
            settings = SourceSettings(id="x", url="http://x", options=options)
            connector = CkanConnector(settings, client)
            grants = Policy.default().grant_set(ANONYMOUS, None, datetime.now(UTC))
            for before in bounds:
                wanted = DatasetFilter(modified_before=before)
                visible = grants.visibility()
                query = SearchQuery(text=text, filter=wanted, limit=first, any_of=visible)
                await connector.search(query)

    asyncio.run(run())
    return [list(request.url.params.multi_items()) for request in captured]


def distinct_filters(first: int, text: str | None, first_step: int, count: int) -> list[str]:
    """The ``fq`` of the gateway's ``count`` requests of ``distinct_load`` from
    ``first_step``, in order (request ``n`` is bounded by ``FAR_FUTURE + first_step + n``
    seconds): the Hive Gateway's like-for-like load sends request ``n`` this filter."""
    bounds = [FAR_FUTURE + timedelta(seconds=first_step + n) for n in range(count)]
    return [dict(params)["fq"] for params in capture_many(first, text, bounds)]


async def hive_load(
    url: str, name: str, query: str, filters: Sequence[str], args: argparse.Namespace
) -> LoadResult:
    """The Hive Gateway document with ``$fq`` = ``filters[n]`` for request ``n`` (cycling)."""
    counter = itertools.count()

    def body() -> dict[str, Any]:
        return {"query": query, "variables": {"fq": filters[next(counter) % len(filters)]}}

    async with session(args.concurrency) as http:

        async def call() -> bool:
            return await post_graphql(http, url, name, body())

        return await drive(name, call, concurrency=args.concurrency, requests=args.requests)


# The bound in a captured fq, so that two distinct loads' requests compare by their form.
_BOUND = re.compile(r"metadata_modified:\[\* TO [^}]*\}")


async def request_forms(url: str) -> Counter[tuple[tuple[str, str], ...]]:
    """How often a platform received each form of package_search parameters lately (its
    1,000 most recent requests), a form being the parameters with any ``modifiedBefore``
    bound in ``fq`` replaced by a placeholder."""
    async with session() as http:
        stats = await sim(http, url, "/__sim__/stats")
    return Counter(
        tuple(sorted((k, _BOUND.sub("<bound>", str(v))) for k, v in item["params"].items()))
        for item in stats["recent"]
        if item["action"] == "package_search"
    )


def same_main_form(
    ours: Counter[tuple[tuple[str, str], ...]], theirs: Counter[tuple[tuple[str, str], ...]]
) -> bool:
    """Whether the gateway's and Hive's most frequent request forms are the same; prints
    the other forms (the gateway's follow-up pages, say) with their counts."""
    for who, forms in (("gateway", ours), ("Hive", theirs)):
        for form, count in forms.most_common()[1:4]:
            shown = {k: v if len(v) < 60 else v[:40] + "..." for k, v in form}
            print(f"{who} also sent x{count}: {shown}")
    return bool(ours) and bool(theirs) and ours.most_common(1)[0][0] == theirs.most_common(1)[0][0]


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
    same_fq = dict(params)["fq"]
    # Each distinct run starts past every earlier run's bounds, so the platforms' result
    # memo (keyed by q, fq and sort) answers none of its requests.
    fresh_steps = itertools.count(step=10**6)
    raw, ours, ours_same, ours_warm, peer, peer_distinct = (
        "raw aiohttp fan-out",
        "gateway, all distinct",
        "gateway, cache off",
        "gateway, cache warm",
        "Hive Gateway",
        "Hive Gateway, all distinct",
    )
    names = (raw, peer, peer_distinct, ours_same, ours_warm, ours)
    runs: dict[str, list[LoadResult]] = {name: [] for name in names}
    calls: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    # Per round: was the distinct loads' most frequent request to platform 0 of the same
    # form (same parameters, only the bound differing)? The like-for-like check.
    same_form: list[bool] = []
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        child(platform_args(args)) as (platform_proc, urls_json),
    ):
        urls = json.loads(urls_json)
        tmp = Path(tmp_name)
        off = without_sweep(write_config(tmp / "off.yaml", urls, cache_ttl=0))
        warm = without_sweep(write_config(tmp / "on.yaml", urls, cache_ttl=args.cache_ttl))
        supergraph = hive.compose(urls, params, tmp / "supergraph.graphql")
        hive_query = hive.query(len(urls), args.search, args.first)

        def measure(
            name: str,
            load: Callable[[], Coroutine[Any, Any, LoadResult]],
            pid: int | None,
            *,
            rss: bool = True,
        ) -> None:
            asyncio.run(upstream_total(urls, reset=True))
            before = CpuMark.now(pid, platform_proc.pid)
            result = asyncio.run(load())
            after = CpuMark.now(pid, platform_proc.pid)
            result.peak_rss_mb = peak_rss_mb(pid) if pid is not None and rss else None
            runs[name].append(result)
            cpu[name].append(before.per_request(after, result.requests + WARMUP))
            calls[name].append(asyncio.run(upstream_total(urls)) / (result.requests + WARMUP))

        for _ in range(args.rounds):
            port = free_port()
            argv = [sys.executable, "-m", "bench.fanout", "--client", "aiohttp"]
            argv += ["--upstreams", json.dumps(urls), "--port", str(port)]
            with process([*argv, "--params", json.dumps(params)], tmp / "fanout.log") as fan:
                wait_for_port(port)
                url = f"http://127.0.0.1:{port}/"
                measure(raw, partial(get_load, url, raw, args), fan.pid, rss=False)
            query = datasets_query(args.first, args.search)
            with gateway(off) as (url, pid):
                # What Hive Gateway is asked: the same query, no answer cache (in-flight
                # coalescing, on by default, shares upstream calls among identical ones).
                measure(ours_same, partial(graphql_load, url, ours_same, query, args), pid)
            with gateway(off) as (url, pid):
                load = partial(distinct_load, first_step=next(fresh_steps))
                measure(ours, partial(load, url, ours, args.search, args), pid)
            ours_sent = asyncio.run(request_forms(urls[0]))
            filters = distinct_filters(
                args.first, args.search, next(fresh_steps), args.requests + WARMUP
            )
            hive_port = free_port()
            with hive.serve(supergraph, tmp / "hive.log", hive_port) as pid:
                hive_url = f"http://127.0.0.1:{hive_port}/graphql"
                same = partial(hive_load, hive_url, peer, hive_query, [same_fq], args)
                measure(peer, same, pid)
                distinct = partial(hive_load, hive_url, peer_distinct, hive_query, filters, args)
                measure(peer_distinct, distinct, pid)
                hive_sent = asyncio.run(request_forms(urls[0]))
            same_form.append(same_main_form(ours_sent, hive_sent))
            with gateway(warm) as (url, pid):
                measure(ours_warm, partial(graphql_load, url, ours_warm, query, args), pid)
    medians = report(
        f"{args.sources} CKAN sources at {args.latency_ms:g} ms, search {args.search!r}, "
        f"{args.first} rows per source, {args.concurrency} clients, "
        f"{args.requests} requests x {args.rounds} rounds",
        runs,
    )
    peers = {"Hive": medians[peer], "Hive distinct": medians[peer_distinct]}
    ratios = print_ratios(medians, calls, medians[raw], peers)
    cpu_medians = print_cpu(cpu)
    answers = ", ".join("yes" if x else "NO" for x in same_form)
    print(
        "\nHive's distinct upstream requests of the same form as the gateway's "
        f"(the most frequent to platform 0, per round): {answers}"
    )
    finish(
        "peer",
        args,
        {
            "ratios": ratios,
            "upstream_calls_per_request": calls,
            "cpu_ms_per_request": cpu,
            "cpu_ms_per_request_median": cpu_medians,
            "same_upstream_request_form": same_form,
            "runs": {k: [r.as_dict() for r in v] for k, v in runs.items()},
        },
    )


def without_sweep(config: Path) -> Path:
    """``config`` with the quality sweep off: 10 s after start it pages through every
    platform's catalogue (100 rows, 2 requests a second per source), work Hive Gateway
    does not do, which would land in the gateway's and the platforms' CPU per request
    and in its upstream calls per request (as in ``bench.federation workers``)."""
    document = yaml.safe_load(config.read_text())
    document["quality"] = {"sweep_enabled": False}
    config.write_text(yaml.safe_dump(document, allow_unicode=True))
    return config


def platform_args(args: argparse.Namespace) -> list[str]:
    """``bench.ckan_upstreams`` (all platforms in one process, whose CPU is measured)."""
    argv = ["-m", "bench.ckan_upstreams", "--sources", str(args.sources)]
    return [*argv, "--latency-ms", str(args.latency_ms)]


def print_ratios(
    medians: dict[str, LoadResult],
    calls: dict[str, list[float]],
    base: LoadResult,
    peers: dict[str, LoadResult],
) -> dict[str, dict[str, float]]:
    """Each row's p50 and req/s over the raw fan-out's and over each of ``peers`` (label ->
    that Hive row's median), with its upstream calls per request."""
    ratios: dict[str, dict[str, float]] = {}
    heads = "".join(f" {'p50 / ' + label:>19} {'req/s / ' + label:>21}" for label in peers)
    print(f"\n{'':<30} {'p50 / raw':>10} {'req/s / raw':>12}{heads} {'upstream calls/req':>19}")
    for name, m in medians.items():
        r = {"p50_over_raw": m.p50_ms / base.p50_ms, "rps_over_raw": m.rps / base.rps}
        cells = ""
        for label, peer in peers.items():
            key = label.lower().replace(" ", "_")
            r[f"p50_over_{key}"] = m.p50_ms / peer.p50_ms
            r[f"rps_over_{key}"] = m.rps / peer.rps
            cells += f" {r[f'p50_over_{key}']:>19.2f} {r[f'rps_over_{key}']:>21.2f}"
        ratios[name] = r
        print(
            f"{name:<30} {r['p50_over_raw']:>10.2f} {r['rps_over_raw']:>12.2f}{cells} "
            f"{statistics.median(calls[name]):>19.2f}"
        )
    return ratios


def print_cpu(cpu: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """CPU ms per request of each process, median of rounds: on two shared cores the
    machine's total CPU per request, not the server's alone, bounds requests per second."""
    medians: dict[str, dict[str, float]] = {}
    print(
        f"\nCPU ms per request (median of rounds) {'server':>10} {'platforms':>10} "
        f"{'client':>10} {'total':>10}"
    )
    for name, rounds in cpu.items():
        if not rounds:
            continue
        m = {part: statistics.median(r[part] for r in rounds) for part in rounds[0]}
        medians[name] = m
        print(
            f"{name:<37} {m['server']:>10.1f} {m['platforms']:>10.1f} "
            f"{m['client']:>10.1f} {m['total']:>10.1f}"
        )
    return medians
