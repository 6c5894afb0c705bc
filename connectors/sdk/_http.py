"""HTTP helpers for connectors: bounded reads, retries and status-to-error mapping.

httpx logs every request's URL at INFO; a search URL carries the caller's search text
and filters, which the operator's log at INFO must not keep. ``_HideQueryStrings``
(installed on the ``httpx`` logger when the SDK is imported) cuts the query string out
of those records: ``GET http://ckan/api/3/action/package_search?[query hidden]``.
"""

from __future__ import annotations

import functools
import logging
import re
import urllib.parse
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from cachetools import LRUCache

from connectors.sdk._errors import ConnectorError, FatalError, RetriableError, SourceUnavailable
from connectors.sdk._origins import Origins
from connectors.sdk._retry import DEFAULT_RETRY, RetryPolicy, send_with_retry

DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024

Params = Mapping[str, Any] | list[tuple[str, Any]] | None

# Parsing a URL is a visible share of a request's CPU when queries carry long filters
# (bench/gateway.py); the same page of the same query recurs, so parsed URLs are reused.
_URLS: LRUCache[tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = LRUCache(maxsize=1024)


class _HideQueryStrings(logging.Filter):
    """Drops the query string of every URL in the ``httpx`` logger's records."""

    _QUERY = re.compile(r"(https?://[^\s?#\"']*)\?[^\s#\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = self._QUERY.sub(r"\1?[query hidden]", message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


logging.getLogger("httpx").addFilter(_HideQueryStrings("query strings"))


def _param(value: Any) -> str:
    """A query value as httpx writes it (``True`` -> ``true``, ``None`` -> empty)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def _url(url: str, params: Params) -> httpx.URL:
    items = params.items() if isinstance(params, Mapping) else (params or ())
    key = (url, tuple((str(k), _param(v)) for k, v in items))
    cached = _URLS.get(key)
    if cached is None:
        if not key[1]:
            cached = httpx.URL(url)
        elif "?" not in url and "#" not in url:
            # httpx's own parameter encoding re-parses and re-quotes a long query (a CKAN
            # fq) several times over: encode it once, and attach it to the parsed base.
            cached = _attach(url, urlencode(key[1]), encoded=True)
        else:
            # Merged, not replaced: a next-page link keeps the query string it came with.
            cached = httpx.URL(url).copy_merge_params(list(key[1]))
        _URLS[key] = cached
    return cached


# Values longer than this are encoded a clause at a time (``urlencode``).
_LONG_VALUE = 128
_CLAUSE_GLUE = urllib.parse.quote_plus(" +")
# Names and short values (rows=20, a sort, a search term) recur, and so do long clauses
# (a caller's visibility): their encodings are kept, fewer of the long ones.
_short = functools.lru_cache(maxsize=4096)(urllib.parse.quote_plus)
_long = functools.lru_cache(maxsize=256)(urllib.parse.quote_plus)


def urlencode(pairs: tuple[tuple[str, str], ...]) -> str:
    """``urllib.parse.urlencode(pairs)``, reusing the encoding of long values' clauses.

    A CKAN ``fq`` is ``+clause +clause ...``: the caller's visibility clause (1-2 KB) the
    same on every request, a bound or a search term that differs. Percent-encoding works
    one character at a time, so a value's encoding is its pieces' encodings joined, and
    the pieces of a long value (split where `` +`` begins a clause) are encoded once.
    """
    return "&".join(f"{_short(k)}={_encoded_value(v)}" for k, v in pairs)


def _encoded_value(value: str) -> str:
    if len(value) <= _LONG_VALUE:
        return _short(value)
    return _CLAUSE_GLUE.join(map(_encoded_clause, value.split(" +")))


def _encoded_clause(clause: str) -> str:
    return _short(clause) if len(clause) <= _LONG_VALUE else _long(clause)


_BASES: LRUCache[str, httpx.URL] = LRUCache(maxsize=256)
# What ``urllib.parse.urlencode`` writes: unreserved characters, ``%XX``, ``+ = &``.
_ENCODED_QUERY = re.compile(r"(?:[A-Za-z0-9_.~+=&-]|%[0-9A-Fa-f]{2})*")


def with_query(url: str, query: str) -> httpx.URL:
    """``url`` (no query, no fragment) with ``query``, as ``httpx.URL(f"{url}?{query}")``.

    httpx checks and re-quotes a URL one character at a time in Python: for a search whose
    query string differs on every request (a CKAN ``fq`` of 1-2 KB) that was the largest
    single cost of a distinct request (about a quarter of its CPU in a profile). A query
    ``urlencode`` wrote is printable ASCII that httpx's quoting leaves as it is, so it is
    set on the base URL parsed once, checked by one regular expression; anything else,
    or an httpx whose parsed form is not the named tuple relied on, takes the full parse.
    """
    return _attach(url, query, encoded=False)


def _attach(url: str, query: str, *, encoded: bool) -> httpx.URL:
    """``with_query``; ``encoded`` says ``urlencode`` wrote ``query``, whose characters
    are then known to be those ``_ENCODED_QUERY`` allows (checking 2 KB costs ~0.1 ms)."""
    base = _BASES.get(url)
    if base is None:
        base = _BASES[url] = httpx.URL(url)
    reference: Any = getattr(base, "_uri_reference", None)
    replace = getattr(reference, "_replace", None)
    if (
        replace is None
        or getattr(reference, "query", "") is not None
        or getattr(reference, "fragment", "") is not None
        or (not encoded and _ENCODED_QUERY.fullmatch(query) is None)
    ):
        return httpx.URL(f"{url}?{query}")
    built = httpx.URL(base)
    built._uri_reference = replace(query=query)
    return built


def build_url(url: str, params: Params = None) -> httpx.URL:
    """``url`` with ``params`` encoded, as ``get_json`` sends it (parsed once, then reused)."""
    return _url(url, params)


async def read_capped(response: httpx.Response, max_bytes: int, *, source_id: str) -> bytes:
    """Read a streamed body, refusing it as soon as it passes ``max_bytes``.

    The cap applies to the decoded body: gzip and deflate are inflated here a bounded
    slice at a time, so a small compressed "bomb" cannot balloon in memory first.
    """

    def too_big(what: str = "response body") -> FatalError:
        return FatalError(
            f"{what} exceeds the {max_bytes}-byte cap",
            source_id=source_id,
            request=response.request,
        )

    declared = response.headers.get("content-length")
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_big(f"response of {declared} bytes")
    if response.is_stream_consumed:  # already in memory (e.g. a mock transport's answer)
        if len(response.content) > max_bytes:
            raise too_big()
        return response.content
    chunks: list[bytes] = []
    size = 0
    if encoding in ("gzip", "x-gzip", "deflate"):
        # wbits 47: detect a gzip or zlib header (servers label both as these).
        inflater = zlib.decompressobj(47)
        try:
            async for raw in response.aiter_raw():
                pending = raw
                while pending:
                    data = inflater.decompress(pending, max_bytes - size + 1)
                    pending = inflater.unconsumed_tail
                    size += len(data)
                    if size > max_bytes:
                        raise too_big()
                    chunks.append(data)
        except zlib.error as exc:
            raise FatalError(
                f"the {encoding} body does not decompress",
                source_id=source_id,
                request=response.request,
            ) from exc
        return b"".join(chunks)
    stream = response.aiter_raw() if encoding in ("", "identity") else response.aiter_bytes()
    async for chunk in stream:
        size += len(chunk)
        if size > max_bytes:
            raise too_big()
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class JsonResponse:
    """A decoded JSON answer: status, body, headers and the URL that answered."""

    status: int
    body: Any
    headers: httpx.Headers
    url: httpx.URL


async def get_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    source_id: str,
    params: Params = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    allow_statuses: frozenset[int] = frozenset(),
    retry: RetryPolicy | None = DEFAULT_RETRY,
    deadline: float | None = None,
    auth: httpx.Auth | None = None,
    origins: Origins | None = None,
) -> tuple[int, Any]:
    """GET ``url`` and decode a JSON body, mapping every failure to a ``ConnectorError``.

    Returns ``(status_code, decoded_body)``. Statuses in ``allow_statuses`` are returned
    rather than raised, for APIs whose error bodies carry meaning (CKAN's 404)::

        status, body = await get_json(client, f"{base}/api/3/action/package_show",
                                      params={"id": "abc"}, source_id="transport",
                                      allow_statuses=frozenset({404}))

    Transient failures (429, 502-504, dropped connections) are retried under ``retry``
    (``None``: never), without sleeping past ``deadline`` (a loop time; see
    ``source_deadline``). ``auth`` is an ``httpx.Auth`` such as ``ApiKeyAuth``; it (and
    ``headers``) go only to the source's own origin (``origins``, see ``Origins``): a link
    or redirect elsewhere is refused unless allowed, and then sent without them.
    """
    answer = await fetch_json(
        client,
        url,
        source_id=source_id,
        params=params,
        headers=headers,
        max_bytes=max_bytes,
        allow_statuses=allow_statuses,
        retry=retry,
        deadline=deadline,
        auth=auth,
        origins=origins,
    )
    return answer.status, answer.body


async def fetch_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    source_id: str,
    params: Params = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    allow_statuses: frozenset[int] = frozenset(),
    retry: RetryPolicy | None = DEFAULT_RETRY,
    deadline: float | None = None,
    auth: httpx.Auth | None = None,
    origins: Origins | None = None,
) -> JsonResponse:
    """``get_json`` that also returns the response headers and URL (for ``Link`` paging).

    >>> answer = await fetch_json(client, url, source_id="transport")
    >>> answer.status, answer.body, answer.headers.get("link")
    """
    request = client.build_request("GET", _url(url, params), headers=headers)
    try:
        response = await send_with_retry(
            client, request, retry=retry, deadline=deadline, auth=auth, origins=origins
        )
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
    except ConnectorError as exc:  # raised by an auth flow (e.g. the token endpoint refused)
        if exc.source_id is None:
            exc.source_id = source_id
        raise
    try:
        status = response.status_code
        if status not in allow_statuses:
            if status == 429 or status >= 500:
                raise RetriableError(f"HTTP {status}", source_id=source_id, request=request)
            if status >= 400 or status < 200:
                raise FatalError(f"HTTP {status}", source_id=source_id, request=request)
            if 300 <= status < 400:
                # The gateway's client follows redirects; one that reached here was not
                # followed (a loop cut short, or a client configured not to).
                where = response.headers.get("location", "nowhere")
                raise FatalError(
                    f"HTTP {status} redirect to {where[:200]} not followed",
                    source_id=source_id,
                    request=request,
                )
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
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        kind = response.headers.get("content-type", "unknown content type")
        # text, not a bytes repr: this message reaches /readyz and the logs
        start = " ".join(body[:80].decode("utf-8", "replace").split())
        raise FatalError(
            f'invalid JSON ({kind}), starting "{start}"', source_id=source_id, request=request
        ) from exc
    return JsonResponse(status, decoded, response.headers, response.url)
