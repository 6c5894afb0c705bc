"""Upstream error text never reaches a public surface (issue 10, failure 3).

``{ sources { lastError } }`` (anonymous) and unauthenticated ``/readyz`` showed raw
upstream body bytes, internal URLs, and another caller's search text and grant filter (a
CKAN error echoing ``q`` and ``fq``). They carry a classified reason; the details go to
the operator's log, and not even there the search text at INFO (httpx logs URLs at INFO).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from connectors.sdk import FatalError, RetriableError, SourceUnavailable, get_json
from gateway.app import Gateway
from gateway.config import parse_config
from gateway.federation.reasons import reason
from tests.gateway.conftest import asgi_client

SECRET_TEXT = "salary-of-zhang-san"
INTERNAL = "10.20.30.40"
FQ = "organization:public-security"


def ckan_platform(request: httpx.Request) -> httpx.Response:
    """A CKAN that fails the way the attack found: a 409 echoing q and fq, an HTML 500
    page naming internal hosts, and a check that fails with the same details."""
    if request.url.path.endswith("package_search"):
        q = request.url.params.get("q", "")
        if "html" in q:
            return httpx.Response(
                200,
                text=f"<html>proxy {INTERNAL} error for {q}</html>",
                headers={"content-type": "text/html"},
            )
        return httpx.Response(
            409,
            json={
                "success": False,
                "error": {
                    "__type": "Search Query Error",
                    "message": f"Search error: q={q} fq={request.url.params.get('fq')}",
                },
            },
        )
    return httpx.Response(
        503, text=f"upstream http://{INTERNAL}:8080/internal said no to {SECRET_TEXT}"
    )


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    config = parse_config(
        {"sources": [{"id": "ckan", "connector": "ckan", "url": "http://ckan.test"}]}
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(ckan_platform)) as client:
        gateway = Gateway(config, client=client)
        yield gateway
        await gateway.aclose()


def assert_nothing_leaks(text: str) -> None:
    for secret in (SECRET_TEXT, INTERNAL, FQ, "<html", "ckan.test", "package_search"):
        assert secret not in text


@pytest.mark.parametrize(
    ("search", "last_error"),
    [
        # CKAN's 409 Search Query Error blames the query: the caller's error, which leaves
        # the source's health alone (issue 16), so there is no last error to show at all.
        (SECRET_TEXT, None),
        (f"html {SECRET_TEXT}", "the answer could not be used (invalid JSON)"),
    ],
)
async def test_last_error_and_readyz_carry_a_reason_never_the_upstream_text(
    gateway: Gateway, search: str, last_error: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    query = "query($q: String) { datasets(search: $q) { totalCount sources { message } } }"
    async with asgi_client(gateway) as client:
        searched = await client.post("/graphql", json={"query": query, "variables": {"q": search}})
        sources = await client.post("/graphql", json={"query": "{ sources { id lastError } }"})
        ready = await client.get("/readyz")
    assert "errors" in searched.json()
    assert_nothing_leaks(searched.text)
    [source] = sources.json()["data"]["sources"]
    assert source["lastError"] == last_error
    assert_nothing_leaks(sources.text)
    [probe] = ready.json()["sources"]
    assert probe["status"] == "DOWN"
    assert probe["message"] == "the platform is not healthy (HTTP 503)"
    assert_nothing_leaks(ready.text)
    # The operator's log keeps the details (at WARNING), for whoever runs the gateway.
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    if last_error is None:
        # A rejected query is the caller's: its echo of the search text stays below INFO.
        assert not any(SECRET_TEXT in message for message in warnings)
    else:
        assert any(INTERNAL in message or SECRET_TEXT in message for message in warnings)


async def test_httpx_logs_no_search_text_at_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    async with httpx.AsyncClient(transport=transport) as client:
        await get_json(
            client,
            "http://ckan.test/api/3/action/package_search",
            source_id="ckan",
            params={"q": SECRET_TEXT, "fq": FQ},
        )
    logged = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert logged, "httpx logs each request at INFO"
    assert all(SECRET_TEXT not in m and "organization" not in m for m in logged)
    assert any("package_search?[query hidden]" in m for m in logged)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TimeoutError(), "timed out"),
        (SourceUnavailable("timed out: ReadTimeout"), "timed out"),
        (SourceUnavailable(f"connection failed: to {INTERNAL}"), "unavailable (connection failed)"),
        (RetriableError(f"HTTP 503 from http://{INTERNAL}/x"), "the platform failed (HTTP 503)"),
        (
            FatalError(f"invalid JSON (text/html): b'<html>{INTERNAL}'"),
            "the answer could not be used (invalid JSON)",
        ),
        (FatalError(f"CKAN said: {SECRET_TEXT}"), "the answer could not be used"),
        (RuntimeError(f"boom {SECRET_TEXT}"), "internal error in the connector"),
    ],
)
def test_each_failure_is_classified(error: BaseException, expected: str) -> None:
    assert reason(error) == expected
