"""Shared pieces of the benchmarks: a load driver, statistics, child processes, RSS.

Every benchmark reports medians and a ratio to a baseline measured in the same run, since
these machines are shared and noisy. Nothing here is used by the test suite.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

try:  # the gateway's own dependency on Linux and macOS (pyproject.toml)
    import uvloop
except ImportError:  # pragma: no cover - Windows
    uvloop = None  # type: ignore[assignment]

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class LoadResult:
    name: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float
    peak_rss_mb: float | None = None

    def row(self) -> str:
        rss = f"{self.peak_rss_mb:7.1f}" if self.peak_rss_mb is not None else "      -"
        return (
            f"{self.name:<34} {self.p50_ms:8.1f} {self.p95_ms:8.1f} {self.p99_ms:8.1f} "
            f"{self.rps:8.1f} {self.errors:6d} {rss}"
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


HEADER = (
    f"{'scenario':<34} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
    f"{'req/s':>8} {'errors':>6} {'RSS MB':>7}"
)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def run_load(main: Coroutine[Any, Any, T]) -> T:
    """Run a load driver's coroutine on uvloop where it is installed (as the gateway's
    ``serve`` does): the driver shares the 2 cores with what it measures, and asyncio's
    pure-Python loop cost it ~0.7 ms of CPU per request, a third of what one gateway
    worker spends answering."""
    if uvloop is None:
        return asyncio.run(main)
    return uvloop.run(main)


async def drive(
    name: str,
    one_request: Callable[[], Awaitable[bool]],
    *,
    concurrency: int,
    requests: int,
    warmup: int = 20,
) -> LoadResult:
    """Run ``requests`` calls of ``one_request`` from ``concurrency`` workers."""
    for _ in range(warmup):
        await one_request()
    latencies: list[float] = []
    errors = 0
    remaining = requests

    async def worker() -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            ok = await one_request()
            latencies.append((time.perf_counter() - started) * 1000)
            if not ok:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return LoadResult(
        name=name,
        requests=len(latencies),
        errors=errors,
        seconds=seconds,
        p50_ms=statistics.median(latencies),
        p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99),
        rps=len(latencies) / seconds,
    )


def graphql_caller(
    session: aiohttp.ClientSession, url: str, query: str, headers: dict[str, str] | None = None
) -> Callable[[], Awaitable[bool]]:
    body = json.dumps({"query": query})
    request_headers = {"content-type": "application/json", **(headers or {})}

    async def call() -> bool:
        async with session.post(url, data=body, headers=request_headers) as response:
            payload = await response.json(content_type=None)
            return response.status == 200 and "errors" not in payload

    return call


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@contextmanager
def child(
    args: list[str], ready_line: str | None = "READY", timeout: float = 60
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start ``python args...``; yield it and the rest of its first line after ``ready_line``.

    With ``ready_line=None`` it yields at once (wait for a port instead).
    """
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE if ready_line is not None else subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + timeout
        if ready_line is None:
            yield process, ""
            return
        assert process.stdout is not None
        while True:
            line = process.stdout.readline()
            if line.startswith(ready_line):
                yield process, line[len(ready_line) :].strip()
                break
            if not line and process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args} did not start")
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for_port(port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def save(name: str, payload: dict[str, object]) -> Path:
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    return path
