"""The app's use of authentication, rate limits and query limits (HTTP statuses, headers)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from gateway.access.policy import Policy
from gateway.app import Gateway
from gateway.config import parse_config
from tests.gateway.conftest import asgi_client, make_dataset
from tests.gateway.http.test_limits import doubling
from tests.gateway.memory_connector import MemoryConnector

KEY = ec.generate_private_key(ec.SECP256R1())
JWK = {**ECAlgorithm.to_jwk(KEY.public_key(), as_dict=True), "kid": "k1"}
QUERY = {"query": "{ me { id department roles } }"}


def gateway(client: httpx.AsyncClient, **config: Any) -> Gateway:
    parsed = parse_config(
        {"sources": [{"id": "a", "connector": "ckan", "url": "http://127.0.0.1:9"}], **config}
    )
    connectors = [MemoryConnector(parsed.sources[0].settings, client, [make_dataset("a", 1)])]
    policy = Policy.parse({"jwt": {"issuer": "https://idp.test", "audience": "gw", "keys": [JWK]}})
    return Gateway(parsed, client=client, connectors=connectors, policy=policy)


def bearer(**claims: Any) -> dict[str, str]:
    now = int(time.time())
    payload = {
        "iss": "https://idp.test",
        "aud": "gw",
        "sub": "li",
        "dept": "health",
        "roles": ["staff"],
        "exp": now + 60,
        **claims,
    }
    signed = jwt.encode(payload, KEY, algorithm="ES256", headers={"kid": "k1"})
    return {"authorization": f"Bearer {signed}"}


async def test_a_valid_bearer_token_is_the_caller(http_client: httpx.AsyncClient) -> None:
    async with asgi_client(gateway(http_client)) as client:
        response = await client.post("/graphql", json=QUERY, headers=bearer())
    assert response.status_code == 200
    assert response.json()["data"]["me"] == {"id": "li", "department": "health", "roles": ["staff"]}


async def test_an_expired_token_is_401_with_a_bearer_challenge(
    http_client: httpx.AsyncClient,
) -> None:
    async with asgi_client(gateway(http_client)) as client:
        response = await client.post(
            "/graphql", json=QUERY, headers=bearer(exp=int(time.time()) - 3600)
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="the token has expired"'
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_over_the_rate_the_answer_is_429_with_retry_after(
    http_client: httpx.AsyncClient,
) -> None:
    limits = {"rate": {"anonymous": {"rate_per_second": 0.5, "burst": 2}}}
    async with asgi_client(gateway(http_client, limits=limits)) as client:
        statuses = [(await client.post("/graphql", json=QUERY)).status_code for _ in range(2)]
        refused = await client.post("/graphql", json=QUERY)
    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_too_costly_document_is_400(http_client: httpx.AsyncClient) -> None:
    limits = {"query": {"max_cost": 50}}
    query = {"query": "{ datasets(first: 60) { edges { cursor } } }"}
    async with asgi_client(gateway(http_client, limits=limits)) as client:
        response = await client.post("/graphql", json=query)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 61, "maxCost": 50}


async def test_a_too_costly_document_is_200_without_data_for_legacy_json(
    http_client: httpx.AsyncClient,
) -> None:
    limits = {"query": {"max_cost": 50}}
    query = {"query": "{ datasets(first: 60) { edges { cursor } } }"}
    async with asgi_client(gateway(http_client, limits=limits)) as client:
        response = await client.post("/graphql", json=query, headers={"accept": "application/json"})
    assert response.status_code == 200
    assert "data" not in response.json()


async def test_the_fragment_doubling_attack_is_refused_and_healthz_answers_meanwhile(
    http_client: httpx.AsyncClient,
) -> None:
    # Issue 10: an anonymous 899-byte document took 13-23 s to refuse, freezing /healthz.
    attack = {"query": "{ sources { ...F0 } }\n" + doubling(22)}
    async with asgi_client(gateway(http_client)) as client:
        *refused, health = await asyncio.gather(
            *(client.post("/graphql", json=attack) for _ in range(4)), client.get("/healthz")
        )
    assert health.status_code == 200
    for response in refused:
        assert response.status_code == 400
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": "TOO_MANY_ALIASES"}


async def test_duplicate_api_key_headers_are_401_over_http(http_client: httpx.AsyncClient) -> None:
    gw = gateway(http_client)
    async with asgi_client(gw) as client:
        response = await client.post(
            "/graphql", json=QUERY, headers=[("x-api-key", "a"), ("x-api-key", "b")]
        )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
