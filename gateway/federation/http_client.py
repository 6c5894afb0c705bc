"""The upstream HTTP client every connector receives.

httpx stays the client API, but its default transport serialises under concurrency
(encode/httpx#3215); the gateway defaults to the aiohttp transport of ``httpx-aiohttp``,
which ``bench/transport.py`` measures against the default on the same upstreams.
"""

from __future__ import annotations

from typing import Literal

import httpx
from opentelemetry import trace

from gateway.federation.tracing import TracedTransport

TransportName = Literal["aiohttp", "httpx"]

USER_AGENT = "catalogue-gateway/0.1"


class _KeepsNone(httpx.Cookies):
    """A cookie store that keeps nothing a platform sets."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class UpstreamClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` without a cookie store.

    The one client serves every source and every caller. A platform's session cookie,
    kept, would go back with every later request to its origin: with another source's
    requests on the same platform (another department's API key, say) and with every
    caller's. Each platform is sent only the credentials its source's config gives.
    Not parsing every answer for ``Set-Cookie`` also saves ~3% of a request's CPU.
    """

    _no_cookies = _KeepsNone()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("the gateway's upstream client keeps no cookies")


def build_client(
    transport: TransportName = "aiohttp",
    *,
    max_connections: int = 200,
    timeout_seconds: float = 30.0,
    tracer: trace.Tracer | None = None,
) -> httpx.AsyncClient:
    """An ``UpstreamClient`` with the chosen transport; per-source deadlines sit on top.

    Every call goes through :class:`TracedTransport` (a span when ``tracer`` records, and
    always the caller's ``traceparent`` and ``X-Request-Id`` forwarded to the platform).
    """
    tracer = tracer or trace.NoOpTracer()
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=100)
    timeout = httpx.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds))
    # Only encodings read_capped can inflate within the response cap.
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate",
    }
    if transport == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return UpstreamClient(
            transport=TracedTransport(AiohttpTransport(limits=limits, trust_env=False), tracer),
            timeout=timeout,
            headers=headers,
            follow_redirects=True,
            max_redirects=5,
            trust_env=False,
        )
    return UpstreamClient(
        transport=TracedTransport(httpx.AsyncHTTPTransport(limits=limits, trust_env=False), tracer),
        timeout=timeout,
        headers=headers,
        follow_redirects=True,
        max_redirects=5,
        trust_env=False,
    )
