"""A gateway serving data demands on a real loopback socket, over the demo's CKAN platforms,
on each store (SQLite, PostgreSQL), with its audit log and a real webhook receiver.

    async with demand_gateway(platforms, store_url, tmp_path) as gw:
        answer = await gw.call(SUBMIT, {"input": {...}}, key=None)
        gw.now = gw.now + timedelta(days=3)          # the requests' clock
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from gateway.access import Policy, hash_api_key
from gateway.app import Gateway, create_app
from gateway.audit import AuditLog
from gateway.config import parse_config
from gateway.demo.run import SOURCE_SETTINGS
from simulators.platforms import PlatformServer
from tests.gateway.http.webhook_receiver import Receiver, webhook_receiver

WEBHOOK_SECRET = "a-webhook-secret-for-demands"

# Callers by API key (the key is the caller's id prefixed "key-").
CALLERS: dict[str, dict[str, Any]] = {
    "bureau": {"roles": ["data-bureau"]},
    "transport-reviewer": {"department": "transport", "roles": ["data-reviewer"]},
    "health-reviewer": {"department": "health", "roles": ["data-reviewer"]},
    "transport-analyst": {"department": "transport", "roles": ["government-staff"]},
    "citizen-a": {},
    "citizen-b": {},
    "citizen-c": {},
}


def policy(**workflows: Any) -> Policy:
    return Policy.parse(
        {
            "public": {"open_types": ["OPEN"], "max_sensitivity": "L1"},
            "callers": [
                {"id": cid, "api_keys": [hash_api_key(f"key-{cid}")], **extra}
                for cid, extra in CALLERS.items()
            ],
            "grants": [
                {
                    "id": "staff-unconditional",
                    "to": {"roles": ["government-staff"]},
                    "allow": {"share_types": ["UNCONDITIONAL"], "max_sensitivity": "L2"},
                    "privilege": "use",
                }
            ],
            "workflows": {
                "bureau_roles": ["data-bureau"],
                "reviewer_roles": ["data-reviewer"],
                **workflows,
            },
        }
    )


@dataclass
class DemandGateway:
    url: str
    client: httpx.AsyncClient
    gateway: Gateway
    receiver: Receiver
    audit_path: Path
    now: datetime

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        receipt: str | None = None,
    ) -> httpx.Response:
        headers = {}
        if key:
            headers["x-api-key"] = f"key-{key}"
        if receipt:
            headers["x-demand-receipt"] = receipt
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def call(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        receipt: str | None = None,
    ) -> dict[str, Any]:
        response = await self.post(query, variables, key=key, receipt=receipt)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        receipt: str | None = None,
    ) -> dict[str, Any]:
        body = await self.call(query, variables, key=key, receipt=receipt)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def events(self, count: int) -> list[dict[str, Any]]:
        """The first ``count`` webhook deliveries (waits for them to arrive)."""
        async with asyncio.timeout(10):
            while len(self.receiver.received) < count:
                self.receiver.arrived.clear()
                await self.receiver.arrived.wait()
        return [json.loads(r.body) for r in self.receiver.received]


@asynccontextmanager
async def demand_gateway(
    platforms: dict[str, PlatformServer],
    store_url: str,
    tmp_path: Path,
    now: datetime = datetime(2026, 9, 29, 2, 0, tzinfo=UTC),
    **workflows: Any,
) -> AsyncIterator[DemandGateway]:
    async with webhook_receiver() as receiver:
        config = parse_config(
            {
                "sources": [
                    {
                        "id": pid,
                        "connector": "ckan",
                        "url": server.url,
                        "timeout_seconds": 10.0,  # a loaded CI machine can stall for seconds
                        **SOURCE_SETTINGS[pid],
                    }
                    for pid, server in platforms.items()
                ],
                "store": {"url": store_url},
                "notifications": {
                    "webhooks": [
                        {"url": receiver.url, "secret": WEBHOOK_SECRET, "events": ["data_demand.*"]}
                    ]
                },
            }
        )
        audit_path = tmp_path / "audit.log"
        gateway = Gateway(
            config,
            transport="aiohttp",
            policy=policy(**workflows),
            cursor_secret=b"demand-tests",
            audit=AuditLog(audit_path),
        )
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(gateway), host="127.0.0.1", port=0, log_level="warning", access_log=False
            )
        )
        serving = asyncio.create_task(server.serve())
        try:
            async with asyncio.timeout(20):
                while not server.started:
                    if serving.done():
                        serving.result()
                    await asyncio.sleep(0.02)
            port = server.servers[0].sockets[0].getsockname()[1]
            url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                gw = DemandGateway(url, client, gateway, receiver, audit_path, now)
                gateway.clock = lambda: gw.now
                yield gw
        finally:
            server.should_exit = True
            await serving
