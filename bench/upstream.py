"""N tiny upstreams on loopback that answer after a fixed latency with a fixed JSON body.

    python -m bench.upstream --sources 8 --latency-ms 50 --rows 20
prints ``READY <json list of base URLs>``. Used by bench/transport.py, where the upstream
must cost as little as possible so the client transport is what gets measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from aiohttp import web


def body(rows: int) -> bytes:
    results = [
        {
            "id": f"id-{i}",
            "name": f"dataset-{i}",
            "title": f"公交数据 {i}",
            "notes": "x" * 200,
            "metadata_modified": "2024-05-06T09:10:11.654321",
            "extras": [],
            "resources": [],
            "tags": [],
            "groups": [],
            "organization": None,
        }
        for i in range(rows)
    ]
    return json.dumps(
        {"help": "", "success": True, "result": {"count": 1000, "results": results}},
        ensure_ascii=False,
    ).encode()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--rows", type=int, default=20)
    args = parser.parse_args()
    payload = body(args.rows)

    async def handle(request: web.Request) -> web.Response:
        await asyncio.sleep(args.latency_ms / 1000)
        return web.Response(body=payload, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    urls = []
    for _ in range(args.sources):
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        urls.append(f"http://127.0.0.1:{port}")
    print("READY", json.dumps(urls), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
