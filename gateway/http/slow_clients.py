"""Deadlines for clients that send slowly: request headers and request bodies.

A client that sends its headers a byte at a time (slowloris) holds a connection for as
long as it likes; uvicorn bounds header *size* and idle keep-alive time, not how long
headers may take. ``bounded_http_protocol(seconds)`` is uvicorn's HTTP protocol with a
deadline: a connection whose request line and headers are not complete that many seconds
after it opened (or after the previous response) is answered ``408`` and closed::

    uvicorn.run(app, http=bounded_http_protocol(10.0), ...)

The body has its own deadline, enforced where it is read (``graphql_http.read_params``):
a body not complete within ``server.body_timeout_seconds`` is a 408 GraphQL error.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

try:  # uvicorn prefers httptools when it is installed; so do we
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    _BASE: type[Any] = HttpToolsProtocol
except ImportError:  # pragma: no cover - depends on the environment
    _BASE = H11Protocol

__all__ = ["bounded_http_protocol"]

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: 42\r\n\r\n"
    b"the request headers did not arrive in time"
)


def bounded_http_protocol(header_timeout: float, base: type[Any] = _BASE) -> type[Any]:
    """uvicorn's HTTP protocol class (``base``) with a deadline on request headers."""

    class HeaderDeadlineProtocol(base):  # type: ignore[misc]
        _deadline: asyncio.TimerHandle | None = None
        _served: object = None  # the request cycle in progress when the deadline was set

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._deadline is not None and self.cycle is not self._served:
                self._disarm()  # the headers are in: a new request cycle began

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this connection gets the same deadline

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._served = self.cycle
            self._deadline = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _headers_too_slow(self) -> None:
            self._deadline = None
            waiting = self.cycle is None or self.cycle.response_complete
            if self.cycle is not self._served or not waiting or self.transport.is_closing():
                return  # a request is in progress (pipelined), or the connection is ending
            self.transport.write(_TIMEOUT_RESPONSE)
            self.transport.close()

    HeaderDeadlineProtocol.__name__ = f"HeaderDeadline{base.__name__}"
    return HeaderDeadlineProtocol
