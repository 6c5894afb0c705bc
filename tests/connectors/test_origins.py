"""A source's credential goes only to its configured origin (issue 10, failure 4).

A REST source's key header went to another host through a next link and through a 302
redirect, and that host's records were served as the source's data; CKAN followed
redirects to any host. Now a link or redirect to another origin is refused unless the
source's ``allowed_origins`` names it, and then it is sent without credentials.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from connectors.ckan import CkanConnector, CkanOptions
from connectors.rest import RestConnector
from connectors.rest_config import RestOptions
from connectors.sdk import (
    FatalError,
    Origins,
    SearchQuery,
    SourceSettings,
    get_json,
    source_origins,
)
from tests.connectors.test_rest import APP_KEY, BASE, DEFAULTS, RESOURCES, inline_mapping, listing
from tests.connectors.test_rest import record as rest_record

EVIL = "https://collector.example.net"


@pytest.fixture
async def following_client(router: respx.MockRouter) -> AsyncIterator[httpx.AsyncClient]:
    """As the gateway's client: it follows redirects."""
    transport = httpx.MockTransport(router.async_handler)
    async with httpx.AsyncClient(transport=transport, follow_redirects=True) as c:
        yield c


def next_url_connector(client: httpx.AsyncClient, allowed: tuple[str, ...] = ()) -> RestConnector:
    document = copy.deepcopy(inline_mapping())  # AppKey in a header
    document["pagination"] = {"type": "next_url", "next": "data.next", "max_page_size": 2}
    document["search"]["params"] = {"keyword": "{text}", "size": "{limit}"}
    settings = SourceSettings(
        id="health-rest",
        url=BASE,
        defaults=DEFAULTS,
        options=RestOptions.model_validate(document),
        allowed_origins=allowed,
    )
    return RestConnector(settings, client)


def page(rows: list[Any], next_link: str | None) -> dict[str, Any]:
    body = listing(rows, 4)
    body["data"]["next"] = next_link
    return body


def keys_sent(route: respx.Route) -> list[str | None]:
    return [call.request.headers.get("AppKey") for call in route.calls]


@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "allowed-anonymous"])
async def test_a_next_link_to_another_origin_never_gets_the_key(
    router: respx.MockRouter, following_client: httpx.AsyncClient, allowed: bool
) -> None:
    home = router.get(RESOURCES).mock(
        return_value=httpx.Response(
            200, json=page([rest_record(resourceId="r0"), rest_record(resourceId="r1")], EVIL)
        )
    )
    elsewhere = router.get(EVIL).mock(
        return_value=httpx.Response(200, json=page([rest_record(resourceId="x")], None))
    )
    connector = next_url_connector(following_client, (EVIL,) if allowed else ())
    await connector.search(SearchQuery(limit=2))
    if not allowed:
        with pytest.raises(FatalError, match="link to another origin refused"):
            await connector.search(SearchQuery(offset=2, limit=2))
        assert elsewhere.call_count == 0
    else:
        found = await connector.search(SearchQuery(offset=2, limit=2))
        assert [d.local_id for d in found.datasets] == ["x"]
        assert keys_sent(elsewhere) == [None]
    assert keys_sent(home) == [APP_KEY]


@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "allowed-anonymous"])
async def test_a_redirect_to_another_origin_never_gets_the_key(
    router: respx.MockRouter, following_client: httpx.AsyncClient, allowed: bool
) -> None:
    router.get(RESOURCES).mock(
        return_value=httpx.Response(302, headers={"location": f"{EVIL}/steal?x=1"})
    )
    elsewhere = router.get(f"{EVIL}/steal").mock(
        return_value=httpx.Response(200, json=page([rest_record(resourceId="x")], None))
    )
    connector = next_url_connector(following_client, (EVIL,) if allowed else ())
    if not allowed:
        with pytest.raises(FatalError, match="redirect to another origin refused"):
            await connector.search(SearchQuery(limit=2))
        assert elsewhere.call_count == 0
    else:
        found = await connector.search(SearchQuery(limit=2))
        assert [d.local_id for d in found.datasets] == ["x"]
        assert keys_sent(elsewhere) == [None]
        assert "authorization" not in elsewhere.calls.last.request.headers


async def test_a_redirect_within_the_origin_keeps_the_key(
    router: respx.MockRouter, following_client: httpx.AsyncClient
) -> None:
    router.get(RESOURCES).mock(
        return_value=httpx.Response(301, headers={"location": f"{BASE}/api/v2/resources"})
    )
    moved = router.get(f"{BASE}/api/v2/resources").mock(
        return_value=httpx.Response(200, json=page([rest_record(resourceId="r0")], None))
    )
    found = await next_url_connector(following_client).search(SearchQuery(limit=2))
    assert [d.local_id for d in found.datasets] == ["r0"]
    assert keys_sent(moved) == [APP_KEY]


async def test_ckan_no_longer_follows_a_redirect_to_any_host(
    router: respx.MockRouter, following_client: httpx.AsyncClient
) -> None:
    ckan = "http://ckan.internal"
    router.get(f"{ckan}/api/3/action/package_search").mock(
        return_value=httpx.Response(302, headers={"location": f"{EVIL}/api/3/action/x"})
    )
    elsewhere = router.get(f"{EVIL}/api/3/action/x").mock(return_value=httpx.Response(200))
    settings = SourceSettings(id="ckan", url=ckan, options=CkanOptions())
    with pytest.raises(FatalError, match="redirect to another origin refused"):
        await CkanConnector(settings, following_client).search(SearchQuery())
    assert elsewhere.call_count == 0


async def test_the_gateway_declares_each_sources_origins_for_any_connector(
    router: respx.MockRouter, following_client: httpx.AsyncClient
) -> None:
    # A third-party connector that passes no origins: what the gateway declares applies.
    router.get(f"{EVIL}/x").mock(return_value=httpx.Response(200, json={}))

    async def call() -> Any:
        return await get_json(following_client, f"{EVIL}/x", source_id="s", headers={"X-Key": "k"})

    home = "https://platform.example.gov.cn"
    with (
        source_origins(Origins.of_url(home)),
        pytest.raises(FatalError, match="link to another origin refused"),
    ):
        await call()
    with source_origins(Origins.of_url(home, [EVIL])):
        await call()
    assert "x-key" not in router.calls.last.request.headers


def test_origins_compare_scheme_host_and_port() -> None:
    rules = Origins.of_url("https://Data.example.gov.cn/api", ["http://cdn.example.gov.cn:8080"])
    assert rules.decide("https://data.example.gov.cn:443/other") == "home"
    assert rules.decide("http://data.example.gov.cn/api") == "refused"  # another scheme
    assert rules.decide("https://data.example.gov.cn.evil.net/api") == "refused"
    assert rules.decide("http://cdn.example.gov.cn:8080/x") == "anonymous"
    assert rules.decide("http://cdn.example.gov.cn/x") == "refused"  # another port
