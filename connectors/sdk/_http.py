"""HTTP helpers for connectors: bounded reads and status-to-error mapping."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from connectors.sdk._errors import FatalError, RetriableError, SourceUnavailable

DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024


async def read_capped(response: httpx.Response, max_bytes: int, *, source_id: str) -> bytes:
    """Read a streamed body, refusing it as soon as it passes ``max_bytes``."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise FatalError(
            f"response of {declared} bytes exceeds the {max_bytes}-byte cap",
            source_id=source_id,
            request=response.request,
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FatalError(
                f"response body exceeds the {max_bytes}-byte cap",
                source_id=source_id,
                request=response.request,
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    source_id: str,
    params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    allow_statuses: frozenset[int] = frozenset(),
) -> tuple[int, Any]:
    """GET ``url`` and decode a JSON body, mapping every failure to a ``ConnectorError``.

    Returns ``(status_code, decoded_body)``. Statuses in ``allow_statuses`` are returned
    rather than raised, for APIs whose error bodies carry meaning (CKAN's 404)::

        status, body = await get_json(client, f"{base}/api/3/action/package_show",
                                      params={"id": "abc"}, source_id="transport",
                                      allow_statuses=frozenset({404}))
    """
    request = client.build_request("GET", url, params=params, headers=headers)
    try:
        response = await client.send(request, stream=True)
    except httpx.TimeoutException as exc:
        raise SourceUnavailable(
            f"timed out: {type(exc).__name__}", source_id=source_id, request=request
        ) from exc
    except httpx.TransportError as exc:
        raise SourceUnavailable(
            f"connection failed: {type(exc).__name__}", source_id=source_id, request=request
        ) from exc
    except httpx.HTTPError as exc:  # too many redirects, invalid URL...
        raise FatalError(
            f"request failed: {type(exc).__name__}", source_id=source_id, request=request
        ) from exc
    try:
        status = response.status_code
        if status not in allow_statuses:
            if status == 429 or status >= 500:
                raise RetriableError(f"HTTP {status}", source_id=source_id, request=request)
            if status >= 400 or status < 200:
                raise FatalError(f"HTTP {status}", source_id=source_id, request=request)
        try:
            body = await read_capped(response, max_bytes, source_id=source_id)
        except httpx.TimeoutException as exc:
            raise SourceUnavailable(
                "timed out reading the body", source_id=source_id, request=request
            ) from exc
        except httpx.TransportError as exc:
            raise SourceUnavailable(
                f"connection failed reading the body: {type(exc).__name__}",
                source_id=source_id,
                request=request,
            ) from exc
        except httpx.HTTPError as exc:  # e.g. DecodingError from a bad gzip body
            raise FatalError(
                f"unreadable body: {type(exc).__name__}", source_id=source_id, request=request
            ) from exc
    finally:
        await response.aclose()
    try:
        return status, json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        kind = response.headers.get("content-type", "unknown content type")
        raise FatalError(
            f"invalid JSON ({kind}): {body[:80]!r}", source_id=source_id, request=request
        ) from exc
