"""The link checker: HEAD then ranged GET, http(s) only, no private addresses unless
allowed, bounded concurrency, per-host spacing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from gateway.quality import LinkCheckSettings, LinkState
from gateway.quality import links as links_module
from gateway.quality.links import LinkChecker, is_public, worst

PUBLIC = {"data.example.gov.cn": ["203.0.113.10"], "files.example.org": ["198.51.100.7"]}


async def resolver(host: str) -> list[str]:
    addresses = {
        **PUBLIC,
        "intranet.example": ["10.1.2.3"],
        "metadata.example": ["169.254.169.254"],
        "mixed.example": ["203.0.113.11", "127.0.0.1"],
    }
    if host not in addresses:
        raise OSError("unknown host")
    return addresses[host]


# Documentation ranges (RFC 5737) are not "global"; the tests treat them as public hosts.
@pytest.fixture(autouse=True)
def documentation_ranges_are_public(monkeypatch: pytest.MonkeyPatch) -> None:
    real = links_module.is_public
    public = {a for addresses in PUBLIC.values() for a in addresses} | {"203.0.113.11"}
    monkeypatch.setattr(links_module, "is_public", lambda a: a in public or real(a))


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(assert_all_mocked=True, assert_all_called=False)


@pytest.fixture
async def client(router: respx.MockRouter) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as c:
        yield c


def checker(client: httpx.AsyncClient, **settings: object) -> LinkChecker:
    values: dict[str, object] = {"per_host_interval_seconds": 0, **settings}
    return LinkChecker(client, LinkCheckSettings.model_validate(values), resolver=resolver)


async def test_head_ok_is_ok_and_404_is_broken(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    router.head("https://data.example.gov.cn/a.csv").respond(200)
    router.head("https://data.example.gov.cn/gone.csv").respond(404)
    found = await checker(client).check(
        ["https://data.example.gov.cn/a.csv", "https://data.example.gov.cn/gone.csv"]
    )
    assert found["https://data.example.gov.cn/a.csv"].state is LinkState.OK
    gone = found["https://data.example.gov.cn/gone.csv"]
    assert (gone.state, gone.http_status) == (LinkState.BROKEN, 404)


async def test_a_refused_head_is_retried_as_a_one_byte_ranged_get(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    router.head("https://files.example.org/big.zip").respond(405)
    get = router.get("https://files.example.org/big.zip").respond(206, content=b"x")
    found = await checker(client).check(["https://files.example.org/big.zip"])
    assert found["https://files.example.org/big.zip"].state is LinkState.OK
    assert get.calls.last.request.headers["range"] == "bytes=0-0"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://data.example.gov.cn/a.csv",
        "file:///etc/passwd",
        "http://intranet.example/a.csv",
        "http://metadata.example/latest/meta-data",
        "http://mixed.example/a.csv",
        "http://127.0.0.1:8080/a.csv",
        "http://[::1]/a.csv",
        "http://nowhere.example/a.csv",
    ],
)
async def test_non_http_and_non_public_urls_are_never_asked(
    router: respx.MockRouter, client: httpx.AsyncClient, url: str
) -> None:
    found = await checker(client).check([url])
    assert found[url].state is LinkState.BROKEN and found[url].http_status is None
    assert router.calls.call_count == 0


async def test_private_addresses_are_asked_when_the_config_allows(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    router.head("http://intranet.example/a.csv").respond(200)
    found = await checker(client, allow_private_addresses=True).check(
        ["http://intranet.example/a.csv"]
    )
    assert found["http://intranet.example/a.csv"].state is LinkState.OK


async def test_a_redirect_to_a_private_address_is_refused(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    router.head("https://data.example.gov.cn/r").respond(
        302, headers={"location": "http://10.0.0.5/x"}
    )
    found = await checker(client).check(["https://data.example.gov.cn/r"])
    assert found["https://data.example.gov.cn/r"].state is LinkState.BROKEN
    assert router.calls.call_count == 1


async def test_no_more_than_concurrency_requests_are_in_flight(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    in_flight = peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        in_flight -= 1
        return httpx.Response(200)

    router.head(url__regex=r"https://data\.example\.gov\.cn/\d+").mock(side_effect=slow)
    urls = [f"https://data.example.gov.cn/{i}" for i in range(12)]
    found = await checker(client, concurrency=3).check(urls)
    assert all(r.state is LinkState.OK for r in found.values())
    assert peak == 3


async def test_one_host_is_asked_no_faster_than_the_configured_interval(
    router: respx.MockRouter, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [100.0]
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(links_module.asyncio, "sleep", fake_sleep)
    router.head(url__regex=r"https://data\.example\.gov\.cn/.*").respond(200)
    router.head(url__regex=r"https://files\.example\.org/.*").respond(200)
    settings = LinkCheckSettings(per_host_interval_seconds=2.0, concurrency=8)
    checker_ = LinkChecker(client, settings, resolver=resolver, clock=lambda: now[0])
    urls = [f"https://data.example.gov.cn/{i}" for i in range(3)] + ["https://files.example.org/x"]
    await checker_.check(urls)
    # Three asks of one host: two waits of the whole interval; the other host waits not.
    assert waits == [2.0, 2.0]


def test_only_global_unicast_addresses_are_public() -> None:
    assert is_public("8.8.8.8") and is_public("2001:4860:4860::8888")
    for address in (
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
    ):
        assert not is_public(address), address


def test_a_dataset_is_broken_when_any_of_its_urls_is() -> None:
    from datetime import UTC, datetime

    from gateway.quality.links import UrlCheck

    at = datetime(2026, 11, 1, tzinfo=UTC)
    ok = UrlCheck("a", LinkState.OK, 200, at)
    bad = UrlCheck("b", LinkState.BROKEN, 500, at)
    assert worst([ok, bad]) is not None and worst([ok, bad]).state is LinkState.BROKEN  # type: ignore[union-attr]
    assert worst([ok]).http_status == 200  # type: ignore[union-attr]
    assert worst([]) is None
