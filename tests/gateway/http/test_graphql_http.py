"""GraphQL over HTTP: status codes and media types as the spec's MUSTs and SHOULDs ask."""

from __future__ import annotations

import json

import pytest
from starlette.datastructures import Headers

from gateway.http.graphql_http import GRAPHQL_RESPONSE, JSON, header_values, negotiate
from tests.gateway.conftest import GatewayFactory, asgi_client, make_dataset

QUERY = "{ datasets(first: 2) { totalCount edges { node { title } } } }"


@pytest.fixture
def gateway(make_gateway: GatewayFactory):  # type: ignore[no-untyped-def]
    return make_gateway({"a": [make_dataset("a", i) for i in range(3)]})


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, GRAPHQL_RESPONSE),
        ("*/*", GRAPHQL_RESPONSE),
        ("application/json", JSON),
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json;q=0.5", JSON),
        ("application/graphql-response+json;q=0, application/json", JSON),
        ("text/html", None),
    ],
)
def test_accept_negotiation(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


async def test_post_answers_with_graphql_response_json(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.post("/graphql", json={"query": QUERY})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/graphql-response+json; charset=utf-8"
    assert response.json()["data"]["datasets"]["totalCount"] == 3


async def test_get_runs_queries(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.get(
            "/graphql",
            params={
                "query": "query Q($n: Int) { datasets(first: $n) { totalCount } }",
                "variables": json.dumps({"n": 1}),
                "operationName": "Q",
            },
            headers={"accept": "application/json"},
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"data": {"datasets": {"totalCount": 3}}}


async def test_mutation_over_get_is_405(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.get("/graphql", params={"query": "mutation { x }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("accept", "status"), [("application/graphql-response+json", 400), ("application/json", 200)]
)
async def test_unparsable_document(gateway, accept: str, status: int) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.post(
            "/graphql", json={"query": "{ datasets {"}, headers={"accept": accept}
        )
    assert response.status_code == status
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"].startswith("Syntax Error")
    assert body["errors"][0]["locations"]


@pytest.mark.parametrize(
    ("accept", "status"), [("application/graphql-response+json", 400), ("application/json", 200)]
)
async def test_invalid_document(gateway, accept: str, status: int) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.post(
            "/graphql", json={"query": "{ nope }"}, headers={"accept": accept}
        )
    assert response.status_code == status
    assert "data" not in response.json()
    assert "nope" in response.json()["errors"][0]["message"]


async def test_bad_variables_are_a_request_error(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.post(
            "/graphql",
            json={
                "query": "query Q($n: Int) { datasets(first: $n) { totalCount } }",
                "variables": {"n": "many"},
            },
        )
    assert response.status_code == 400
    assert "data" not in response.json()


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        (
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
            "not valid JSON",
        ),
        ({"content": b"[1]", "headers": {"content-type": "application/json"}}, 400, "JSON object"),
        ({"json": {"query": 42}}, 400, "query parameter"),
        ({"json": {"query": "{ me { id } }", "variables": [1]}}, 400, "variables"),
        (
            {
                "content": b"query=x",
                "headers": {"content-type": "application/x-www-form-urlencoded"},
            },
            415,
            "Content-Type",
        ),
        ({"content": b"{}", "headers": {}}, 415, "Content-Type"),
    ],
)
async def test_malformed_requests(gateway, kwargs, status: int, fragment: str) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.post("/graphql", **kwargs)
    assert response.status_code == status
    assert fragment in response.json()["errors"][0]["message"]
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)


async def test_unacceptable_accept_is_406(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.post(
            "/graphql", json={"query": QUERY}, headers={"accept": "application/xml"}
        )
    assert response.status_code == 406


async def test_other_methods_are_405(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.put("/graphql", json={"query": QUERY})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


async def test_oversized_body_is_413(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.post("/graphql", json={"query": "{ me { id } }" + " " * 2_000_000})
    assert response.status_code == 413


async def test_out_of_range_first_is_a_field_error_with_a_code(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.post(
            "/graphql", json={"query": "{ datasets(first: 5000) { totalCount } }"}
        )
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unknown_api_key_is_401_not_anonymous(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.post(
            "/graphql", json={"query": QUERY}, headers={"x-api-key": "wrong"}
        )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "wrong" not in response.text


async def test_health_endpoints(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["sources"][0]["id"] == "a"


@pytest.mark.parametrize(
    "body",
    [
        {"query": "query A { me { id } }", "operationName": "B"},
        {"query": "fragment F on Caller { id }"},
        {"query": "query A { me { id } } query B { me { id } }"},
    ],
    ids=["unknown-operation", "only-fragments", "ambiguous"],
)
async def test_documents_without_a_runnable_operation_are_request_errors(gateway, body) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.post("/graphql", json=body)
        legacy = await client.post("/graphql", json=body, headers={"accept": "application/json"})
    assert response.status_code == 400
    assert legacy.status_code == 200
    assert "data" not in response.json() and response.json()["errors"]


async def test_a_wrongly_typed_variable_is_explained_not_masked(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.post(
            "/graphql",
            json={"query": "query($id: ID!) { dataset(id: $id) { id } }", "variables": {"id": {}}},
        )
    message = response.json()["errors"][0]["message"]
    assert "Internal error" not in message
    assert "$id" in message


async def test_a_naive_datetime_filter_is_taken_as_utc(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        response = await client.post(
            "/graphql",
            json={
                "query": '{ datasets(filter: {modifiedAfter: "2024-01-02T00:00:00"}) '
                "{ totalCount } }"
            },
        )
    assert response.json() == {"data": {"datasets": {"totalCount": 2}}}


async def test_an_internal_error_is_masked_for_the_client_and_logged(  # type: ignore[no-untyped-def]
    gateway, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(gateway.engine, "departments", boom)
    async with asgi_client(gateway) as client:
        response = await client.post("/graphql", json={"query": "{ departments { id } }"})
    assert response.status_code == 200
    assert "hunter2" not in response.text
    assert response.json()["errors"][0]["message"] == "Internal error; it has been logged."
    assert "hunter2" in caplog.text


async def test_metrics_count_requests_and_report_sources(gateway) -> None:  # type: ignore[no-untyped-def]
    async with asgi_client(gateway) as client:
        await client.post("/graphql", json={"query": QUERY})
        await client.post("/graphql", json={"query": "{ nope }"})
        response = await client.get("/metrics")
    text = response.text
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'catalogue_graphql_requests_total{status="200"} 1.0' in text
    assert 'catalogue_graphql_requests_total{status="400"} 1.0' in text
    assert 'catalogue_source_results_total{source="a",status="OK"} 1.0' in text
    assert 'catalogue_source_state{source="a",state="UP"} 1.0' in text


def test_header_values_read_as_starlettes_headers_do() -> None:
    raw = [
        (b"accept", b"application/json"),
        (b"x-purpose", b"first"),
        (b"x-purpose", b"second"),
        (b"accept-language", b"zh-CN,\xe9n;q=0.5"),
    ]
    values = header_values({"headers": raw})
    headers = Headers(raw=raw)
    for name in ("accept", "x-purpose", "accept-language", "x-demand-receipt"):
        assert values.get(name) == headers.get(name)
