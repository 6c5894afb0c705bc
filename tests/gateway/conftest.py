from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gateway.access.policy import Policy
from gateway.app import Gateway, create_app
from gateway.config import parse_config
from schema.model import Dataset, Department, OpenType, Sensitivity, ShareType
from tests.gateway.memory_connector import MemoryConnector

BASE = datetime(2024, 1, 1, tzinfo=UTC)


def make_dataset(source: str, i: int, **overrides: Any) -> Dataset:
    values: dict[str, Any] = {
        "source_id": source,
        "local_id": f"{source}-{i}",
        "title": f"公交 {source} {i:03d}",
        "department": Department(source, f"{source} department"),
        "modified": BASE + timedelta(days=i),
        "share_type": ShareType.UNCONDITIONAL,
        "open_type": OpenType.OPEN,
        "sensitivity": Sensitivity.L1,
    }
    values.update(overrides)
    return Dataset(**values)


GatewayFactory = Callable[..., Gateway]


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(599))) as c:
        yield c


@pytest.fixture
def make_gateway(http_client: httpx.AsyncClient) -> GatewayFactory:
    def factory(
        sources: Mapping[str, Sequence[Dataset]],
        *,
        policy: Mapping[str, Any] | None = None,
        timeouts: Mapping[str, float] | None = None,
        connector_class: type[MemoryConnector] = MemoryConnector,
        push_down: bool = True,
    ) -> Gateway:
        config = parse_config(
            {
                "sources": [
                    {
                        "id": sid,
                        "connector": "ckan",
                        "url": "http://127.0.0.1:9",
                        "timeout_seconds": (timeouts or {}).get(sid, 1.0),
                    }
                    for sid in sources
                ]
            }
        )
        connectors = [
            connector_class(
                entry.settings, http_client, sources[entry.settings.id], push_down=push_down
            )
            for entry in config.sources
        ]
        return Gateway(
            config,
            client=http_client,
            connectors=connectors,
            policy=Policy.parse(policy) if policy is not None else Policy.default(),
        )

    return factory


def asgi_client(gateway: Gateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://gateway.test"
    )
