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


def build_client(
    transport: TransportName = "aiohttp",
    *,
    max_connections: int = 200,
    timeout_seconds: float = 30.0,
    tracer: trace.Tracer | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` with the chosen transport; per-source deadlines sit on top.

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

        return httpx.AsyncClient(
            transport=TracedTransport(AiohttpTransport(limits=limits, trust_env=False), tracer),
            timeout=timeout,
            headers=headers,
            follow_redirects=True,
            max_redirects=5,
            trust_env=False,
        )
    return httpx.AsyncClient(
        transport=TracedTransport(httpx.AsyncHTTPTransport(limits=limits, trust_env=False), tracer),
        timeout=timeout,
        headers=headers,
        follow_redirects=True,
        max_redirects=5,
        trust_env=False,
    )
