"""A load driver that costs its machine little: wrk (Debian's package ``wrk``).

The benchmarks share two cores with what they measure, so the driver's own CPU per
request lowers every figure, and lowers most those that need both cores (two gateway
workers). The Python driver (``bench.common.drive`` on uvloop) spends ~0.26 ms of CPU a
request; wrk, written in C, a fraction of that. ``wrk_load`` sends one POST body over
``concurrency`` connections from one thread, for ``seconds``, and reads wrk's own
summary (written by the Lua ``done`` hook below) into a ``LoadResult``.

wrk counts a request failed on a socket error, a timeout or a status other than 2xx and
3xx; it does not read the bodies (a Lua ``response`` hook would cost more than the driver
saves), so callers check the answer once with the Python client before measuring.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import LoadResult

# Lua for wrk: the request, then one JSON line of results. Percentiles are microseconds.
_SCRIPT = """
wrk.method = "POST"
wrk.body = io.open(os.getenv("BENCH_WRK_BODY"), "rb"):read("*a")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept-Encoding"] = os.getenv("BENCH_WRK_ENCODING")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_WRK {"requests": %d, "errors": %d, "duration_us": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d}\\n',
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout,
    summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99)))
end
"""


def installed() -> bool:
    return shutil.which("wrk") is not None


@dataclass(frozen=True)
class WrkRun:
    result: LoadResult
    cpu_seconds: float  # wrk's own user + system CPU


def wrk_load(
    url: str,
    name: str,
    body: bytes,
    *,
    concurrency: int,
    seconds: float,
    accept_encoding: str = "identity",
) -> WrkRun:
    """``concurrency`` connections POSTing ``body`` to ``url`` for ``seconds``."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk); or --driver python")
    with tempfile.TemporaryDirectory() as tmp:
        script, payload = Path(tmp) / "post.lua", Path(tmp) / "body.json"
        script.write_text(_SCRIPT)
        payload.write_bytes(body)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [
                wrk,
                "--threads",
                "1",
                "--connections",
                str(concurrency),
                "--duration",
                f"{max(1, round(seconds))}s",
                "--timeout",
                "60s",
                "--script",
                str(script),
                url,
            ],
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "BENCH_WRK_BODY": str(payload),
                "BENCH_WRK_ENCODING": accept_encoding,
            },
            check=False,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_WRK ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    figures = json.loads(line.removeprefix("BENCH_WRK "))
    duration = figures["duration_us"] / 1e6
    result = LoadResult(
        name=name,
        requests=figures["requests"],
        errors=figures["errors"],
        seconds=duration,
        p50_ms=figures["p50_us"] / 1000,
        p95_ms=figures["p95_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        rps=figures["requests"] / duration,
    )
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return WrkRun(result, cpu)
