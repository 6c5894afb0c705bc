from __future__ import annotations

import errno
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from gateway.audit.log import AuditLog, verify
from schema.model import ShareType
from tests.gateway.conftest import GatewayFactory, asgi_client, make_dataset

POLICY = {
    "callers": [
        {
            "id": "analyst",
            "department": "a",
            "roles": ["staff"],
            "api_keys": ["sha256:" + __import__("hashlib").sha256(b"key-a").hexdigest()],
        }
    ],
}
QUERY = "query Find { datasets(first: 10) { edges { node { id } } } }"


async def test_every_request_is_audited_with_caller_datasets_withheld_and_sources(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    sources = {
        "a": [make_dataset("a", 1), make_dataset("a", 2)],
        "b": [make_dataset("b", 1, share_type=ShareType.NOT_SHARED, open_type="NOT_OPEN")],
    }
    gateway = make_gateway(sources, policy=POLICY, push_down=False)
    gateway.audit = AuditLog(tmp_path / "audit.log")
    async with asgi_client(gateway) as client:
        ok = await client.post(
            "/graphql",
            json={"query": QUERY, "operationName": "Find"},
            headers={"x-api-key": "key-a", "x-purpose": "p1"},
        )
        bad = await client.post("/graphql", json={"query": "{"}, headers={"x-api-key": "nope"})
    await gateway.aclose()

    assert ok.status_code == 200 and bad.status_code == 401
    lines = (tmp_path / "audit.log").read_text().splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["caller"] == "analyst" and first["purpose"] == "p1"
    assert first["operation"] == "Find" and first["outcome"] == "ok"
    assert sorted(first["dataset_ids"]) == ["a/a-1", "a/a-2"]
    assert first["withheld"] == 1
    assert {s["id"]: s["status"] for s in first["sources"]} == {"a": "OK", "b": "OK"}
    assert second["caller"] is None and second["outcome"] == "rejected"
    assert second["http_status"] == 401
    assert "key-a" not in "".join(lines) and "nope" not in "".join(lines)
    assert verify([tmp_path / "audit.log"]).ok


async def test_a_request_that_cannot_be_audited_answers_503_without_data(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    gateway = make_gateway({"a": [make_dataset("a", 1)]})
    gateway.audit = AuditLog(tmp_path / "audit.log")
    gateway.audit.inject_fault(OSError(errno.ENOSPC, "No space left on device"))
    async with asgi_client(gateway) as client:
        response = await client.post("/graphql", json={"query": QUERY})
    await gateway.aclose()

    assert response.status_code == 503
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"


async def test_the_graphiql_page_is_not_audited(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    gateway = make_gateway({"a": [make_dataset("a", 1)]})
    gateway.audit = AuditLog(tmp_path / "audit.log")
    async with asgi_client(gateway) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
    await gateway.aclose()

    assert page.status_code == 200
    assert not (tmp_path / "audit.log").exists()


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("method", "request_kwargs"),
    [
        pytest.param(
            "POST",
            {
                "content": '{"query": "{ me { id } }", "variables": {"v": ' + DEEP + "}}",
                "headers": {"content-type": "application/json"},
            },
            id="body",
        ),
        pytest.param(
            "POST",
            {"content": DEEP, "headers": {"content-type": "application/json"}},
            id="bare-body",
        ),
        pytest.param(
            "GET",
            {"params": {"query": "{ me { id } }", "variables": '{"v": ' + DEEP + "}"}},
            id="get-variables",
        ),
        pytest.param(
            "GET", {"params": {"query": "{ me { id } }", "extensions": DEEP}}, id="get-extensions"
        ),
    ],
)
async def test_deeply_nested_json_is_a_400_graphql_error_and_is_audited(
    make_gateway: GatewayFactory, tmp_path: Path, method: str, request_kwargs: dict[str, Any]
) -> None:
    gateway = make_gateway({"a": [make_dataset("a", 1)]})
    gateway.audit = AuditLog(tmp_path / "audit.log")
    async with asgi_client(gateway) as client:
        response = await client.request(method, "/graphql", **request_kwargs)
    await gateway.aclose()

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    [error] = response.json()["errors"]
    assert "nested more than 64 levels deep" in error["message"]
    [record] = (json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines())
    assert (record["http_status"], record["outcome"]) == (400, "rejected")


async def test_json_nested_within_the_limit_is_still_accepted(
    make_gateway: GatewayFactory,
) -> None:
    gateway = make_gateway({"a": [make_dataset("a", 1)]})
    nested = "[" * 60 + "]" * 60
    async with asgi_client(gateway) as client:
        response = await client.post(
            "/graphql",
            content='{"query": "{ me { id } }", "extensions": {"x": "[[[[", "y": ' + nested + "}}",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"id": "anonymous"}}}


async def test_a_gateway_without_an_audit_trail_says_so_loudly_at_start(
    make_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = make_gateway({"a": [make_dataset("a", 1)]})
    with caplog.at_level(logging.INFO, logger="gateway"):
        await gateway.start()
    await gateway.aclose()
    [record] = [r for r in caplog.records if "audit" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "requests are NOT recorded in an audit trail" in record.getMessage()
