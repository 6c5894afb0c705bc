"""The gateway's error hierarchy, drawn once::

    GatewayError
    ├── ConfigError                (gateway.config: bad configuration, lists every problem)
    ├── AuthError                  (gateway.auth: bad or expired credential)
    └── ConnectorError             (a source failed; carries ``source_id``)
        ├── SourceUnavailable      (timeout, refused connection: the platform did not answer)
        ├── RetriableError         (429, 5xx: may succeed if tried again)
        ├── FatalError             (4xx, invalid or oversized body: retrying will not help)
        │   └── QueryRejected      (the platform refused the caller's query as invalid)
        └── NotSupported           (the connector cannot do what was asked)

Connector authors raise the ``ConnectorError`` subclasses; the federation engine turns
them into a source status (``TIMEOUT`` for ``SourceUnavailable`` caused by a deadline,
``ERROR`` otherwise) and a GraphQL error, and the answer carries the other sources' data.

Two of them say the request, not the platform, is at fault: ``QueryRejected`` and
``NotSupported``. They never count towards the source's circuit breaker, are never
cached, and never show the source as unhealthy; every other ``ConnectorError`` does.
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


class QueryRejected(FatalError):
    """The platform refused the query because of what the caller asked: its "bad query"
    answer (CKAN's 400/409 search errors, Socrata's and OpenDataSoft's 400 bodies, a REST
    mapping's ``bad_query`` statuses and codes). The platform is well; the caller's
    input is not, so this never counts against the source.

    Raise it only for an answer to a request that carries the caller's input (a search,
    a lookup by the caller's id), never for a listing or health probe the connector
    builds alone: a platform that rejects those is misconfigured or unwell::

        if status == 400 and body.get("error_code") == "ODSQLError":
            raise QueryRejected(f"OpenDataSoft rejected the query: {message}",
                                source_id=self.source_id, request=request)
    """


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
