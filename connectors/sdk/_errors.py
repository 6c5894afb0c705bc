"""The gateway's error hierarchy, drawn once::

    GatewayError
    ├── ConfigError                (gateway.config: bad configuration, lists every problem)
    ├── AuthError                  (gateway.auth: bad or expired credential)
    └── ConnectorError             (a source failed; carries ``source_id``)
        ├── SourceUnavailable      (timeout, refused connection: the platform did not answer)
        ├── RetriableError         (429, 5xx: may succeed if tried again)
        ├── FatalError             (4xx, invalid or oversized body: retrying will not help)
        └── NotSupported           (the connector cannot do what was asked)

Connector authors raise the ``ConnectorError`` subclasses; the federation engine turns
them into a source status (``TIMEOUT`` for ``SourceUnavailable`` caused by a deadline,
``ERROR`` otherwise) and a GraphQL error, and the answer carries the other sources' data.
"""

from __future__ import annotations

import httpx


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""


class ConnectorError(GatewayError):
    """A source could not answer. ``request`` is the upstream request, when there was one.

    >>> raise FatalError("package_search answered 400", source_id="transport")
    """

    def __init__(
        self,
        message: str,
        *,
        source_id: str | None = None,
        request: httpx.Request | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source_id = source_id
        self.request = _redacted(request) if request is not None else None

    def __str__(self) -> str:
        return f"{self.source_id}: {self.message}" if self.source_id else self.message


class SourceUnavailable(ConnectorError):
    """The platform did not answer in time or refused the connection."""


class RetriableError(ConnectorError):
    """A transient failure (HTTP 429 or 5xx); an idempotent request may be retried."""


class FatalError(ConnectorError):
    """A failure retrying will not fix: HTTP 4xx, a malformed or oversized response."""


class NotSupported(ConnectorError):
    """The connector does not support the operation (e.g. get-by-id)."""


_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie"})


def _redacted(request: httpx.Request) -> httpx.Request:
    """A copy of ``request`` safe to log: credentials in headers are replaced."""
    if not any(name.lower() in _SECRET_HEADERS for name in request.headers):
        return request
    headers = [
        (name, "[redacted]" if name.lower() in _SECRET_HEADERS else value)
        for name, value in request.headers.multi_items()
    ]
    return httpx.Request(request.method, request.url, headers=headers)
