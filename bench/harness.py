"""The plumbing every federation benchmark shares: the generated gateway config, the gateway
and simulated platforms in their own processes, GraphQL loads, upstream counters, reports.

``bench.federation`` (the scenarios) and ``bench.peer.compare`` build on it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.common import (
    HEADER,
    ROOT,
    LoadResult,
    child,
    drive,
    free_port,
    save,
    wait_for_port,
)
from gateway.config import SourceConfig
from gateway.demo.run import CKAN_OPTIONS

# The ceiling: the same server stack as ``catalogue-gateway serve`` (uvicorn, its default
# loop and HTTP implementation), no middleware, one route answering fixed bytes.
CEILING_APP = """\
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = Path(sys.argv[1]).read_bytes()
MEDIA = "application/graphql-response+json; charset=utf-8"


async def answer(request):
    await request.body()
    return Response(BODY, media_type=MEDIA)


app = Starlette(routes=[Route("/graphql", answer, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
FAILURES: Counter[str] = Counter()
WARMUP = 20  # requests bench.common.drive makes before it measures
ROW_FIELDS = "id title modified department { name } distributions { format downloadUrl }"


def upstream_settings(cache_ttl: float | None, *, breaker: bool = True) -> dict[str, Any]:
    """The per-source keys that set the upstream cache TTL (0 = off) and the breaker.

    Read from the config model, so the script follows the gateway's key names; ``None``
    keeps the gateway's default TTL. ``breaker=False`` raises the breaker's failure
    threshold to its maximum, so every request waits out a failing source's deadline.
    """
    fields = SourceConfig.model_fields
    if "upstream" in fields:
        model = fields["upstream"].annotation
        names = getattr(model, "model_fields", {})
        settings: dict[str, Any] = {}
        if cache_ttl is not None:
            settings["cache_ttl_seconds"] = cache_ttl
        if not breaker and "breaker_failures" in names:
            limits = [getattr(m, "le", None) for m in names["breaker_failures"].metadata]
            settings["breaker_failures"] = next((x for x in limits if x is not None), 10**6)
        return {"upstream": settings} if settings else {}
    if "cache_ttl_seconds" in fields and cache_ttl is not None:
        return {"cache_ttl_seconds": cache_ttl}
    if cache_ttl is not None:
        print("warning: this gateway has no upstream cache setting; the cache stays as built")
    return {}


def write_config(
    path: Path,
    urls: list[str],
    *,
    cache_ttl: float | None,
    timeouts: dict[int, float] | None = None,
    breaker: bool = True,
    public_sees_all: bool = False,
    response_cache: dict[str, float] | None = None,
    graphql: dict[str, Any] | None = None,
) -> Path:
    """A gateway.yaml over ``urls``. The response cache is off unless ``response_cache``
    gives its settings: the scenarios here measure the path behind it (bench.response_cache
    measures it)."""
    sources = [
        {
            "id": f"source-{i}",
            "connector": "ckan",
            "url": url,
            "timeout_seconds": (timeouts or {}).get(i, 5.0),
            "options": CKAN_OPTIONS,
            **upstream_settings(cache_ttl, breaker=breaker),
        }
        for i, url in enumerate(urls)
    ]
    document: dict[str, Any] = {
        "sources": sources,
        # the graphql: section (fast_path, response_cache...); response_cache= wins
        "graphql": {
            "response_cache": {"ttl_seconds": 0},
            **(graphql or {}),
            **({"response_cache": response_cache} if response_cache else {}),
        },
    }
    if public_sees_all:
        # Every shared dataset for anonymous callers: enough distinct records for deep pages
        # (the platforms repeat three catalogues, whose copies merge into one record).
        public = {"open_types": ["OPEN", "CONDITIONAL", "NOT_OPEN"], "max_sensitivity": "L4"}
        policy = path.with_name(path.stem + "-policy.yaml")
        policy.write_text(yaml.safe_dump({"public": public}))
        document["policy"] = str(policy)
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


@contextmanager
def process(
    argv: list[str], log: Path, *, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` with its output in ``log``; stop it on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def gateway(config: Path, *, workers: int = 1) -> Iterator[tuple[str, int]]:
    """A running gateway (``serve --workers N`` when ``workers`` > 1); yields its /graphql
    URL and pid (the supervisor's when there are several workers)."""
    port = free_port()
    log = config.with_suffix(f".{port}.log")
    argv = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)]
    if workers > 1:
        argv += ["--workers", str(workers)]
    with process([*argv, "--port", str(port)], log) as proc:
        try:
            wait_for_port(port)
        except RuntimeError:
            raise RuntimeError(f"gateway did not start:\n{log.read_text()[-2000:]}") from None
        yield f"http://127.0.0.1:{port}/graphql", proc.pid


@contextmanager
def platforms(sources: int, latency_ms: float) -> Iterator[list[str]]:
    args = ["-m", "bench.ckan_upstreams", "--sources", str(sources)]
    with child([*args, "--latency-ms", str(latency_ms)]) as (_, urls):
        yield json.loads(urls)


async def sim(session: aiohttp.ClientSession, url: str, path: str, body: object = None) -> Any:
    method = session.post if body is not None else session.get
    async with method(url + path, json=body) as response:
        return await response.json(content_type=None)


def session(concurrency: int = 64) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency * 2, force_close=False)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120))


def datasets_query(first: int, search: str | None = None, extra: str = "") -> str:
    args = f"first: {first}" + (
        f", search: {json.dumps(search, ensure_ascii=False)}" if search else ""
    )
    return f"{{ datasets({args}) {{ totalCount edges {{ node {{ {ROW_FIELDS} }} }} {extra} }} }}"


def median_result(results: list[LoadResult]) -> LoadResult:
    return sorted(results, key=lambda r: r.p50_ms)[len(results) // 2]


def report(title: str, runs: dict[str, list[LoadResult]]) -> dict[str, LoadResult]:
    medians = {name: median_result(results) for name, results in runs.items() if results}
    print(f"\n{title}\n{HEADER}")
    for result in medians.values():
        print(result.row())
    return medians


def finish(name: str, args: argparse.Namespace, payload: dict[str, Any]) -> None:
    for failure, count in FAILURES.most_common(10):
        print(f"failed x{count}: {failure}")
    payload = {
        "args": vars(args),
        "load_average_at_end": os.getloadavg(),
        "failures": dict(FAILURES),
        **payload,
    }
    FAILURES.clear()
    print(f"raw results: {save(f'federation-{name}', payload)}")


async def post_graphql(
    http: aiohttp.ClientSession,
    url: str,
    name: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> bool:
    """One GraphQL request; a failed one is counted in ``FAILURES`` with its reason."""
    try:
        async with http.post(url, json=body, headers=headers) as response:
            raw = await response.read()
            # Decoded only to say what went wrong: the driver shares the cores it measures.
            if response.status == 200 and b'"errors"' not in raw:
                return True
            payload = json.loads(raw)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        FAILURES[f"{name}: {type(exc).__name__}: {str(exc)[:160]}"] += 1
        return False
    errors = payload.get("errors") if isinstance(payload, dict) else [{"message": "not JSON"}]
    for error in errors or ():
        FAILURES[f"{name}: HTTP {response.status}: {str(error.get('message'))[:160]}"] += 1
    return response.status == 200 and not errors


async def graphql_load(
    url: str, name: str, query: str, args: argparse.Namespace, *, accept_encoding: str | None = None
) -> LoadResult:
    """``args.requests`` requests for ``query``. ``accept_encoding`` replaces aiohttp's
    default (gzip, deflate, br): with it the gateway compresses every answer, which a bare
    endpoint never does (bench.response_cache sends ``identity`` for the same reason)."""
    headers = {"accept-encoding": accept_encoding} if accept_encoding else None
    async with session(args.concurrency) as http:
        return await drive(
            name,
            partial(post_graphql, http, url, name, {"query": query}, headers),
            concurrency=args.concurrency,
            requests=args.requests,
        )


async def upstream_total(urls: list[str], *, reset: bool = False) -> int:
    """Upstream calls the platforms have counted (and optionally reset the counts)."""
    path = "/__sim__/stats/reset" if reset else "/__sim__/stats"
    async with session() as http:
        stats = await asyncio.gather(*(sim(http, u, path, {} if reset else None) for u in urls))
    return sum(int(s["total"]) for s in stats)


async def distinct_load(
    url: str, name: str, search: str | None, args: argparse.Namespace, *, first_step: int = 0
) -> LoadResult:
    """Like ``graphql_load``, but no two requests can share upstream work.

    Each request carries a ``modifiedBefore`` bound past every record, one second later
    each time: every upstream request differs (the bound is pushed down to CKAN) while the
    rows stay the same, so neither the cache nor coalescing can answer one request with
    another's upstream calls. Request ``n`` is bounded by ``FAR_FUTURE + first_step + n``
    seconds: a run that starts past every earlier run's bounds cannot be answered from
    the platforms' own result memo either.
    """
    return await _bounded_load(
        url, name, args, search=search, mix=None, prefill=False, first_step=first_step
    )


async def mix_load(url: str, name: str, args: argparse.Namespace, *, prefill: bool) -> LoadResult:
    """``args.mix`` different queries (``modifiedBefore`` bounds, as in ``distinct_load``),
    asked in turn. With more queries in the mix than clients, no two requests in flight
    are the same, so cache off means every request asks every platform; ``prefill`` asks
    each query once before measuring, so a warm cache then holds the whole mix."""
    return await _bounded_load(url, name, args, search=None, mix=args.mix, prefill=prefill)


async def _bounded_load(
    url: str,
    name: str,
    args: argparse.Namespace,
    *,
    search: str | None,
    mix: int | None,
    prefill: bool,
    first_step: int = 0,
) -> LoadResult:
    """Requests whose ``modifiedBefore`` bound moves one second each time from
    ``FAR_FUTURE + first_step`` seconds (cycling through ``mix`` bounds when given)."""
    text = f", search: {json.dumps(search, ensure_ascii=False)}" if search else ""
    query = (
        f"query($before: DateTime) {{ datasets(first: {args.first}{text}, "
        "filter: {modifiedBefore: $before}) "
        f"{{ totalCount edges {{ node {{ {ROW_FIELDS} }} }} }} }}"
    )
    counter = itertools.count()
    async with session(args.concurrency) as http:

        def body() -> dict[str, Any]:
            step = next(counter)
            before = FAR_FUTURE + timedelta(seconds=first_step + (step % mix if mix else step))
            return {"query": query, "variables": {"before": before.isoformat()}}

        for _ in range(mix if prefill and mix else 0):
            await post_graphql(http, url, name, body())

        async def call() -> bool:
            return await post_graphql(http, url, name, body())

        return await drive(name, call, concurrency=args.concurrency, requests=args.requests)


@contextmanager
def ceiling(body: bytes, tmp: Path) -> Iterator[str]:
    """``CEILING_APP`` answering ``body`` in its own process; yields its /graphql URL."""
    answer, script = tmp / "answer.json", tmp / "ceiling.py"
    answer.write_bytes(body)
    script.write_text(CEILING_APP)
    port = free_port()
    with process([sys.executable, str(script), str(answer), str(port)], tmp / "ceiling.log") as _:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/graphql"


async def answer_bytes(url: str, query: str) -> bytes:
    """The gateway's answer to ``query`` (decompressed), for the ceiling to return."""
    async with session() as http, http.post(url, json={"query": query}) as response:
        body = await response.read()
        if response.status != 200 or b'"errors"' in body:
            raise RuntimeError(f"the gateway did not answer the query: {body[:300]!r}")
        return body
