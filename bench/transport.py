"""Which HTTP transport should the gateway use? Measure, don't guess.

    python -m bench.transport [--sources 8] [--latency-ms 50] [--concurrency 32] [--requests 1500]

Starts N upstreams (bench/upstream.py), then one raw fan-out endpoint per client
(bench/fanout.py) and drives each with the same concurrent load. The ratio column is each
client's p50 over the fastest one's, all measured in this run.
"""

from __future__ import annotations

import argparse
import asyncio

import aiohttp

from bench.common import (
    HEADER,
    LoadResult,
    child,
    drive,
    free_port,
    peak_rss_mb,
    save,
    wait_for_port,
)

CLIENTS = ["httpx", "httpx-aiohttp", "aiohttp"]


async def measure(url: str, name: str, concurrency: int, requests: int) -> LoadResult:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency * 2)
    ) as session:

        async def call() -> bool:
            async with session.get(url) as response:
                await response.read()
                return response.status == 200

        return await drive(name, call, concurrency=concurrency, requests=requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    results: dict[str, list[LoadResult]] = {c: [] for c in CLIENTS}
    with child(
        [
            "-m",
            "bench.upstream",
            "--sources",
            str(args.sources),
            "--latency-ms",
            str(args.latency_ms),
        ]
    ) as (_, urls):
        for _ in range(args.rounds):
            for client in CLIENTS:
                port = free_port()
                with child(
                    [
                        "-m",
                        "bench.fanout",
                        "--client",
                        client,
                        "--upstreams",
                        urls,
                        "--port",
                        str(port),
                    ]
                ) as (process, _):
                    wait_for_port(port)
                    result = asyncio.run(
                        measure(
                            f"http://127.0.0.1:{port}/", client, args.concurrency, args.requests
                        )
                    )
                    result.peak_rss_mb = peak_rss_mb(process.pid)
                    results[client].append(result)

    medians = {}
    for client, runs in results.items():
        runs.sort(key=lambda r: r.p50_ms)
        medians[client] = runs[len(runs) // 2]
    best = min(m.p50_ms for m in medians.values())
    print(
        f"\n{args.sources} upstreams at {args.latency_ms:g} ms, {args.concurrency} clients, "
        f"{args.requests} requests x {args.rounds} rounds (median round)"
    )
    print(HEADER + "  p50/best")
    for client in CLIENTS:
        print(medians[client].row() + f"  {medians[client].p50_ms / best:8.2f}")
    path = save(
        "transport",
        {"args": vars(args), "runs": {c: [r.as_dict() for r in rs] for c, rs in results.items()}},
    )
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    main()
