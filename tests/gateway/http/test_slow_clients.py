"""Slow clients are cut off: headers (at the server) and bodies (where they are read)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.audit.log import AuditLog
from gateway.config import ServerConfig
from gateway.http import bounded_http_protocol
from tests.gateway.conftest import GatewayFactory, asgi_client, make_dataset

# --- bodies ------------------------------------------------------------------------------


async def test_a_body_that_stops_arriving_is_a_408_graphql_error_and_audited(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    gateway = make_gateway({"a": [make_dataset("a", 1)]})
    gateway.config = dataclasses.replace(
        gateway.config, server=ServerConfig(body_timeout_seconds=0.2)
    )
    gateway.audit = AuditLog(tmp_path / "audit.log")
    never = asyncio.Event()

    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"query": "{ me '
        await never.wait()  # the client stops sending, connection open
        yield b'{ id } }"}'

    async with asgi_client(gateway) as client:
        response = await client.post(
            "/graphql", content=trickle(), headers={"content-type": "application/json"}
        )
    await gateway.aclose()

    assert response.status_code == 408
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    [error] = response.json()["errors"]
    assert error["message"] == "the request body did not arrive within 0.2 s; send it at once"
    [record] = (json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines())
    assert (record["http_status"], record["outcome"]) == (408, "rejected")


# --- headers -----------------------------------------------------------------------------


async def slow(request: Request) -> PlainTextResponse:
    await asyncio.sleep(float(request.query_params.get("for", "0")))
    return PlainTextResponse("done")


@pytest.fixture(params=[H11Protocol, HttpToolsProtocol], ids=["h11", "httptools"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, int]]:
    app = Starlette(routes=[Route("/slow", slow)])
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        http=bounded_http_protocol(0.3, base=request.param),
    )
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    while not instance.started:
        await asyncio.sleep(0.01)
    host, port = instance.servers[0].sockets[0].getsockname()[:2]
    yield host, port
    instance.should_exit = True
    await task


async def exchange(address: tuple[str, int], *parts: bytes, pause: float = 0) -> bytes:
    """Send ``parts`` (``pause`` seconds apart), then read until the server closes."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(pause)
        return await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()


async def test_headers_that_never_finish_are_answered_408_and_the_connection_closed(
    server: Any,
) -> None:
    answer = await exchange(server, b"GET /slow HTTP/1.1\r\nHost: gateway.test\r\nX-A: 1\r\n")
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert answer.endswith(b"the request headers did not arrive in time")


async def test_a_request_slower_than_the_header_deadline_is_not_cut_off(server: Any) -> None:
    # The deadline covers the headers only: a handler taking longer still answers, and
    # the next request on the same connection is served too.
    request = b"GET /slow?for=0.6 HTTP/1.1\r\nHost: gateway.test\r\n\r\n"
    closing = b"GET /slow HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n"
    answer = await exchange(server, request, closing, pause=0.8)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert b"408" not in answer
