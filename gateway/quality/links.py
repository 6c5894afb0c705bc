"""The background link checker: is each download/access URL of a dataset still there?

``LinkChecker.check(urls)`` asks each URL once (``HEAD``, then a one-byte ranged ``GET``
when the server refuses ``HEAD``), with at most ``concurrency`` requests in flight and at
least ``per_host_interval_seconds`` between two requests to one host. Only ``http`` and
``https`` URLs are asked, and never one whose host resolves to a private, loopback,
link-local or otherwise non-public address unless ``allow_private_addresses`` is set: the
checker must not become a way to probe the gateway's own network. A refused URL is not
asked at all and counts as BROKEN (``http_status`` None). Redirects are not followed
blindly: each hop is checked the same way (at most five).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx

from gateway.quality.indicators import LinkResult, LinkState
from gateway.quality.settings import LinkCheckSettings

log = logging.getLogger("gateway.quality.links")

# host -> its addresses; injected in tests, getaddrinfo otherwise.
Resolver = Callable[[str], Awaitable[list[str]]]
_MAX_REDIRECTS = 5
_RETRY_WITH_GET = frozenset({400, 403, 405, 406, 501})


async def system_resolver(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True, slots=True)
class UrlCheck:
    url: str
    state: LinkState
    http_status: int | None
    checked_at: datetime
    reason: str | None = None


class LinkChecker:
    """Checks URLs politely; ``check`` answers one ``UrlCheck`` per distinct URL."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: LinkCheckSettings,
        *,
        resolver: Resolver = system_resolver,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.settings = settings
        self.resolver = resolver
        self.clock = clock
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    async def check(self, urls: Iterable[str]) -> dict[str, UrlCheck]:
        distinct = list(dict.fromkeys(urls))
        results = await asyncio.gather(*(self._check(url) for url in distinct))
        return dict(zip(distinct, results, strict=True))

    async def _check(self, url: str) -> UrlCheck:
        async with self._slots:
            current = url
            for _ in range(_MAX_REDIRECTS + 1):
                refused = await self._refusal(current)
                if refused is not None:
                    return self._result(url, LinkState.BROKEN, None, refused)
                try:
                    response = await self._ask(current)
                except httpx.HTTPError as exc:
                    return self._result(url, LinkState.BROKEN, None, type(exc).__name__)
                if response.is_redirect and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                status = response.status_code
                state = LinkState.OK if status < 400 else LinkState.BROKEN
                return self._result(url, state, status, None)
            return self._result(url, LinkState.BROKEN, None, "too many redirects")

    async def _refusal(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "not an http(s) URL"
        if self.settings.allow_private_addresses:
            return None
        try:
            addresses = await self.resolver(parts.hostname)
        except OSError:
            return "the host does not resolve"
        if not addresses or not all(is_public(a) for a in addresses):
            return "the host is not a public address"
        return None

    async def _ask(self, url: str) -> httpx.Response:
        host = urlsplit(url).netloc  # one server: host and port
        timeout = self.settings.timeout_seconds
        await self._polite(host)
        response = await self.client.head(url, timeout=timeout)
        if response.status_code in _RETRY_WITH_GET:
            await self._polite(host)
            async with self.client.stream(
                "GET", url, headers={"Range": "bytes=0-0"}, timeout=timeout
            ) as streamed:
                response = streamed  # the body is never read
        return response

    async def _polite(self, host: str) -> None:
        """Wait until ``per_host_interval_seconds`` have passed since this host's last ask."""
        lock = self._hosts.setdefault(host, asyncio.Lock())
        async with lock:
            last = self._last.get(host)
            if last is not None:
                wait = last + self.settings.per_host_interval_seconds - self.clock()
                if wait > 0:
                    await asyncio.sleep(wait)
            self._last[host] = self.clock()

    def _result(
        self, url: str, state: LinkState, status: int | None, reason: str | None
    ) -> UrlCheck:
        return UrlCheck(url, state, status, datetime.now(UTC), reason)


def worst(checks: Iterable[UrlCheck]) -> LinkResult | None:
    """A dataset's link result: BROKEN if any of its URLs is, else OK; None without URLs."""
    found = list(checks)
    if not found:
        return None
    broken = [c for c in found if c.state is LinkState.BROKEN]
    pick = broken[0] if broken else found[0]
    checked = max(c.checked_at for c in found)
    return LinkResult(pick.state, checked, pick.http_status)
