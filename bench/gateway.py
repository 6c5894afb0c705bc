"""Gateway fan-out against its floor, measured in the same run.

    python -m bench.gateway [--sources 8] [--latency-ms 50] [--first 20]
                            [--concurrency 32] [--requests 1500] [--rounds 3]

Starts N simulated CKAN platforms (own process, real CKAN Action API, fixed latency), the
gateway (``catalogue-gateway serve``, own process) and the baseline: a plain asyncio +
httpx script (bench/fanout.py) that makes the *same* upstream requests the gateway makes
(captured from the CKAN connector) concurrently and does nothing else. Each is driven by
the same concurrent GraphQL/HTTP load; the report gives p50/p95/p99, requests per second
and the gateway's peak RSS, and the gateway's p50 over the baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import httpx
import yaml

from bench.common import (
    HEADER,
    LoadResult,
    child,
    drive,
    free_port,
    graphql_caller,
    peak_rss_mb,
    save,
    wait_for_port,
)
from connectors.ckan import CkanConnector, CkanOptions
from connectors.sdk import SearchQuery, SourceSettings
from gateway.access.policy import ANONYMOUS, Policy
from gateway.demo.run import CKAN_OPTIONS

QUERY = """{ datasets(first: %d) { totalCount edges { node { id title modified
  department { name } distributions { format downloadUrl } } } } }"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def upstream_params(first: int) -> list[tuple[str, str]]:
    """The package_search parameters the gateway sends for QUERY (anonymous caller)."""
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json={"success": True, "result": {"count": 0, "results": []}})

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            settings = SourceSettings(
                id="x", url="http://127.0.0.1", options=CkanOptions.model_validate(CKAN_OPTIONS)
            )
            connector = CkanConnector(settings, client)
            grants = Policy.default().grant_set(ANONYMOUS, None, datetime.now(UTC))
            await connector.search(SearchQuery(limit=first, any_of=grants.visibility()))

    asyncio.run(run())
    return list(captured[0].url.params.multi_items())


async def load(url: str, name: str, query: str | None, args: argparse.Namespace) -> LoadResult:
    connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        if query is None:

            async def call() -> bool:
                async with session.get(url) as response:
                    await response.read()
                    return response.status == 200

            return await drive(name, call, concurrency=args.concurrency, requests=args.requests)
        if not args.distinct:
            caller = graphql_caller(session, url, query)
        else:
            # Every request different (a unique modifiedBefore), so none is coalesced with
            # another: each costs the full fan-out, like the baseline's.
            counter = iter(range(10**9))
            distinct = query.replace("datasets(", "datasets(filter: {modifiedBefore: $t}, ")
            distinct = "query($t: DateTime) " + distinct

            async def caller() -> bool:
                stamp = f"2030-01-01T00:00:00.{next(counter) % 1_000_000:06d}+00:00"
                body = json.dumps({"query": distinct, "variables": {"t": stamp}})
                headers = {"content-type": "application/json"}
                async with session.post(url, data=body, headers=headers) as response:
                    payload = await response.json(content_type=None)
                    return response.status == 200 and "errors" not in payload

        return await drive(name, caller, concurrency=args.concurrency, requests=args.requests)


def per_request(
    before: tuple[float, float], server: int, platforms: int, result: LoadResult
) -> tuple[float, float]:
    """CPU ms per request used by the server and by the platforms since ``before``."""
    count = max(result.requests, 1)
    return (
        (cpu_seconds(server) - before[0]) * 1000 / count,
        (cpu_seconds(platforms) - before[1]) * 1000 / count,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--first", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--transport", choices=["aiohttp", "httpx"], default="aiohttp")
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="make every gateway request different, so none is coalesced with another",
    )
    args = parser.parse_args()

    params = json.dumps(upstream_params(args.first))
    runs: dict[str, list[LoadResult]] = {"baseline": [], "gateway": []}
    # CPU per request of the server under test and of the simulated platforms: on a
    # shared machine a steadier measure than latency (other load stretches the clock).
    cpu: dict[str, list[tuple[float, float]]] = {"baseline": [], "gateway": []}
    with (
        tempfile.TemporaryDirectory() as tmp,
        child(
            [
                "-m",
                "bench.ckan_upstreams",
                "--sources",
                str(args.sources),
                "--latency-ms",
                str(args.latency_ms),
            ]
        ) as (platforms, urls),
    ):
        config = Path(tmp) / "gateway.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "sources": [
                        {
                            "id": f"source-{i}",
                            "connector": "ckan",
                            "url": url,
                            "timeout_seconds": 5,
                            "options": CKAN_OPTIONS,
                            # The floor is measured without the gateway's answer cache;
                            # bench/federation.py measures the cache.
                            "upstream": {"cache_ttl_seconds": 0, "stale_ttl_seconds": 0},
                        }
                        for i, url in enumerate(json.loads(urls))
                    ]
                }
            )
        )
        for _ in range(args.rounds):
            port = free_port()
            with child(
                [
                    "-m",
                    "bench.fanout",
                    "--client",
                    "httpx-aiohttp",
                    "--upstreams",
                    urls,
                    "--port",
                    str(port),
                    "--params",
                    params,
                ],
                ready_line=None,
            ) as (fanout, _):
                wait_for_port(port)
                before = cpu_seconds(fanout.pid), cpu_seconds(platforms.pid)
                result = asyncio.run(
                    load(f"http://127.0.0.1:{port}/", "baseline (asyncio+httpx)", None, args)
                )
                runs["baseline"].append(result)
                cpu["baseline"].append(per_request(before, fanout.pid, platforms.pid, result))
            port = free_port()
            with child(
                [
                    "-m",
                    "gateway.cli",
                    "serve",
                    "--config",
                    str(config),
                    "--port",
                    str(port),
                    "--transport",
                    args.transport,
                ],
                ready_line=None,
            ) as (process, _):
                wait_for_port(port)
                before = cpu_seconds(process.pid), cpu_seconds(platforms.pid)
                result = asyncio.run(
                    load(f"http://127.0.0.1:{port}/graphql", "gateway", QUERY % args.first, args)
                )
                result.peak_rss_mb = peak_rss_mb(process.pid)
                runs["gateway"].append(result)
                cpu["gateway"].append(per_request(before, process.pid, platforms.pid, result))

    medians = {}
    for name, results in runs.items():
        ordered = sorted(results, key=lambda r: r.p50_ms)
        medians[name] = ordered[len(ordered) // 2]
    ratio = medians["gateway"].p50_ms / medians["baseline"].p50_ms
    print(
        f"\n{args.sources} CKAN sources at {args.latency_ms:g} ms, first: {args.first}, "
        f"{args.concurrency} concurrent clients, {args.requests} requests x {args.rounds} rounds"
    )
    print(HEADER)
    for result in medians.values():
        print(result.row())
    print(f"\ngateway p50 / baseline p50 = {ratio:.2f}")
    rps_ratio = medians["gateway"].rps / medians["baseline"].rps
    print(f"gateway req/s / baseline req/s = {rps_ratio:.2f}")
    for name, pairs in cpu.items():
        server = statistics.median(p[0] for p in pairs)
        upstream = statistics.median(p[1] for p in pairs)
        print(
            f"CPU ms per request, median of rounds: {name}: server {server:.1f}, "
            f"simulated platforms {upstream:.1f}"
        )
    path = save(
        "gateway",
        {
            "args": vars(args),
            "ratio_p50": ratio,
            "cpu_ms_per_request": cpu,
            "runs": {k: [r.as_dict() for r in v] for k, v in runs.items()},
        },
    )
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
