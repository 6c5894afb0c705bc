"""A raw fan-out endpoint: GET / calls every upstream concurrently and answers when all did.

    python -m bench.fanout --client httpx-aiohttp --upstreams '[...]' --port 8123

This is the floor for the gateway's fan-out (no parsing beyond JSON, no merge, no GraphQL),
with the HTTP client as the only variable: ``httpx`` (default transport),
``httpx-aiohttp`` (httpx API, aiohttp transport) or ``aiohttp``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
from aiohttp import web

PARAMS: list[tuple[str, str]] = [
    ("q", "公交"),
    ("rows", "20"),
    ("start", "0"),
    ("sort", "score desc, metadata_modified desc"),
]


def make_fetch(
    kind: str, params: list[tuple[str, str]]
) -> tuple[Callable[[str], Awaitable[int]], Callable[[], Awaitable[None]]]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
    if kind == "aiohttp":
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))

        async def fetch_aiohttp(url: str) -> int:
            async with session.get(url + "/api/3/action/package_search", params=params) as r:
                return len((await r.json())["result"]["results"])

        return fetch_aiohttp, session.close
    if kind == "httpx-aiohttp":
        from httpx_aiohttp import AiohttpTransport

        client = httpx.AsyncClient(transport=AiohttpTransport(limits=limits), timeout=10)
    else:
        client = httpx.AsyncClient(limits=limits, timeout=10)

    async def fetch_httpx(url: str) -> int:
        response = await client.get(url + "/api/3/action/package_search", params=params)
        return len(response.json()["result"]["results"])

    return fetch_httpx, client.aclose


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", choices=["httpx", "httpx-aiohttp", "aiohttp"], required=True)
    parser.add_argument("--upstreams", required=True, help="JSON list of base URLs")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--params", help="JSON list of [name, value] query parameters")
    args = parser.parse_args()
    upstreams = json.loads(args.upstreams)
    params = [tuple(p) for p in json.loads(args.params)] if args.params else PARAMS
    fetch, close = make_fetch(args.client, params)

    async def handle(request: web.Request) -> web.Response:
        counts = await asyncio.gather(*(fetch(u) for u in upstreams))
        return web.json_response({"data": {"rows": sum(counts)}})

    app = web.Application()
    app.router.add_route("*", "/", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port, backlog=1024).start()
    print("READY", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await close()


if __name__ == "__main__":
    asyncio.run(main())
