"""CORS and response compression, as a browser app on another origin meets them."""

from __future__ import annotations

import gzip
import json
from typing import Any

import brotli
import httpx
import pytest
import zstandard

from gateway.app import Gateway, create_app
from gateway.config import parse_config
from gateway.http import GRAPHIQL_ASSET_PREFIX
from tests.gateway.conftest import make_dataset
from tests.gateway.memory_connector import MemoryConnector

APP_ORIGIN = "https://portal.example.gov"
QUERY = "{ datasets(first: 50) { totalCount edges { node { id title description } } } }"


def gateway_with(http_client: httpx.AsyncClient, server: dict[str, Any]) -> Gateway:
    config = parse_config(
        {
            "server": server,
            "sources": [{"id": "a", "connector": "ckan", "url": "http://127.0.0.1:9"}],
        }
    )
    records = [make_dataset("a", i, description="公交线路站点 " * 20) for i in range(50)]
    connector = MemoryConnector(config.sources[0].settings, http_client, records)
    return Gateway(config, client=http_client, connectors=[connector])


def client_of(gateway: Gateway) -> httpx.AsyncClient:
    # httpx would decode the body itself; ask for raw bytes to see what was on the wire.
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://gateway.test"
    )


CORS = {"cors": {"allow_origins": [APP_ORIGIN], "allow_headers": ["Content-Type", "X-API-Key"]}}


async def test_preflight_from_an_allowed_origin_is_answered(
    http_client: httpx.AsyncClient,
) -> None:
    async with client_of(gateway_with(http_client, CORS)) as client:
        response = await client.options(
            "/graphql",
            headers={
                "Origin": APP_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-api-key",
            },
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "x-api-key" in response.headers["access-control-allow-headers"].lower()


async def test_an_answer_to_an_allowed_origin_names_it_and_exposes_the_request_id(
    http_client: httpx.AsyncClient,
) -> None:
    async with client_of(gateway_with(http_client, CORS)) as client:
        response = await client.post(
            "/graphql", json={"query": "{ sources { id } }"}, headers={"Origin": APP_ORIGIN}
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


async def test_another_origin_or_header_is_refused(http_client: httpx.AsyncClient) -> None:
    async with client_of(gateway_with(http_client, CORS)) as client:
        other = await client.options(
            "/graphql",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        header = await client.options(
            "/graphql",
            headers={
                "Origin": APP_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-secret-thing",
            },
        )
        simple = await client.post(
            "/graphql",
            json={"query": "{ sources { id } }"},
            headers={"Origin": "https://evil.example"},
        )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert header.status_code == 400
    assert "access-control-allow-origin" not in simple.headers


async def test_nothing_is_allowed_by_default(http_client: httpx.AsyncClient) -> None:
    async with client_of(gateway_with(http_client, {})) as client:
        preflight = await client.options(
            "/graphql", headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST"}
        )
        answer = await client.post(
            "/graphql", json={"query": "{ sources { id } }"}, headers={"Origin": APP_ORIGIN}
        )
    assert preflight.status_code == 405
    assert not any(h.startswith("access-control-") for h in preflight.headers)
    assert not any(h.startswith("access-control-") for h in answer.headers)


def test_an_origin_with_a_path_is_a_config_error() -> None:
    from gateway.problems import ConfigError

    with pytest.raises(ConfigError, match=r"server\.cors\.allow_origins"):
        parse_config(
            {
                "server": {"cors": {"allow_origins": ["https://portal.example.gov/"]}},
                "sources": [{"id": "a", "connector": "ckan", "url": "http://127.0.0.1:9"}],
            }
        )


DECODERS = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda body: zstandard.ZstdDecompressor().decompressobj().decompress(body),
}


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
async def test_graphql_answers_are_compressed_when_the_client_accepts_it(
    http_client: httpx.AsyncClient, encoding: str
) -> None:
    async with client_of(gateway_with(http_client, {})) as client:
        plain = await client.post("/graphql", json={"query": QUERY})
        request = client.build_request(
            "POST", "/graphql", json={"query": QUERY}, headers={"Accept-Encoding": encoding}
        )
        response = await client.send(request, stream=True)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == encoding
    assert "accept-encoding" in response.headers["vary"].lower()
    assert len(raw) < len(plain.content) / 3
    assert json.loads(DECODERS[encoding](raw)) == plain.json()


async def test_the_graphiql_script_is_compressed(http_client: httpx.AsyncClient) -> None:
    async with client_of(gateway_with(http_client, {})) as client:
        request = client.build_request(
            "GET", f"{GRAPHIQL_ASSET_PREFIX}/graphiql.min.js", headers={"Accept-Encoding": "gzip"}
        )
        response = await client.send(request, stream=True)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert len(raw) < len(gzip.decompress(raw)) / 2


async def test_no_compression_without_accept_encoding_or_when_switched_off(
    http_client: httpx.AsyncClient,
) -> None:
    async with client_of(gateway_with(http_client, {})) as client:
        request = client.build_request(
            "POST", "/graphql", json={"query": QUERY}, headers={"Accept-Encoding": "identity"}
        )
        identity = await client.send(request)
    off = gateway_with(http_client, {"compression": {"enabled": False}})
    async with client_of(off) as client:
        request = client.build_request(
            "POST", "/graphql", json={"query": QUERY}, headers={"Accept-Encoding": "gzip"}
        )
        switched_off = await client.send(request)
    assert "content-encoding" not in identity.headers
    assert "content-encoding" not in switched_off.headers
    assert switched_off.json()["data"]["datasets"]["totalCount"] == 50
