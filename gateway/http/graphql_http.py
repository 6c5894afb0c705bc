"""GraphQL over HTTP, as the GraphQL-over-HTTP specification asks (MUSTs and SHOULDs).

- POST with ``Content-Type: application/json``; GET with ``query``, ``variables``,
  ``operationName`` in the URL, for queries only (a mutation over GET is 405).
- The response media type is negotiated from ``Accept``: ``application/graphql-response+json``
  (preferred, and assumed when ``Accept`` is absent or ``*/*``) or ``application/json``;
  anything else is 406.
- With ``application/graphql-response+json``, a request that fails before execution
  (unparsable JSON, bad parameters, a document that does not parse or validate) is 400;
  an executed request is 200, with partial data and errors. With ``application/json``,
  every well-formed request is 200, as the spec asks for legacy clients.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cachetools import LRUCache
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError
from starlette.requests import Request
from starlette.responses import Response

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
MAX_BODY_BYTES = 1024 * 1024
# GraphQL variables are shallow; deeper JSON is refused before it reaches anything recursive.
MAX_JSON_DEPTH = 64


@dataclass(frozen=True, slots=True)
class GraphQLParams:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


class RequestError(Exception):
    """The HTTP request is not a well-formed GraphQL-over-HTTP request."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def header_values(scope: Mapping[str, Any]) -> dict[str, str]:
    """An ASGI request's headers by (lower-case) name, each name's first value, as
    starlette's ``Headers.get`` reads them."""
    found: dict[str, str] = {}
    for name, value in reversed(scope["headers"]):
        found[name.decode("latin-1")] = value.decode("latin-1")
    return found


def negotiate(accept: str | None) -> str | None:
    """Pick the response media type from ``Accept``; ``None`` if nothing acceptable."""
    if not accept or not accept.strip():
        return GRAPHQL_RESPONSE
    best: tuple[float, int, str] | None = None
    for order, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media in ("*/*", "application/*", GRAPHQL_RESPONSE):
            chosen = GRAPHQL_RESPONSE
        elif media == JSON:
            chosen = JSON
        else:
            continue
        candidate = (quality, -order, chosen)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best else None


def encode(payload: Mapping[str, Any]) -> bytes:
    return orjson.dumps(payload)


def respond(
    payload: Mapping[str, Any],
    status: int,
    media_type: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        encode(payload),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers=dict(headers or {}),
    )


def error_payload(message: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if code:
        error["extensions"] = {"code": code}
    return {"errors": [error]}


def _parse_json(text: str | bytes | bytearray, what: str) -> Any:
    """Parse JSON, refusing documents nested deeper than ``MAX_JSON_DEPTH`` with a 400."""
    if _too_deep(text):
        raise RequestError(
            400, f"{what} is nested more than {MAX_JSON_DEPTH} levels deep; flatten it"
        )
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise RequestError(400, f"{what} is not valid JSON") from None


def _too_deep(text: str | bytes | bytearray) -> bool:
    """Whether JSON text nests deeper than ``MAX_JSON_DEPTH``. Text is no deeper than its
    count of opening brackets (those in strings included), so the usual request (a GraphQL
    document's braces are a few dozen) needs no closer look."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if data.count(b"[") + data.count(b"{") <= MAX_JSON_DEPTH:
        return False
    return _nesting(data) > MAX_JSON_DEPTH


def _nesting(text: str | bytes | bytearray) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets in strings skipped).

    Done before parsing, in C-speed passes (``json.loads`` would recurse once per level).
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if b"[" not in data and b"{" not in data:
        return 0
    brackets = _STRING.sub(b"", data).translate(_BRACKETS_ONLY, _NOT_BRACKETS)
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKETS_ONLY = bytes(range(256))
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _parse_json_param(value: str | None, name: str) -> Any:
    if value is None or value == "":
        return None
    return _parse_json(value, f"the {name} parameter")


def _validated(raw: Any) -> GraphQLParams:
    if not isinstance(raw, dict):
        raise RequestError(400, "the request body must be a JSON object")
    query = raw.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(400, "the query parameter is required and must be a string")
    variables = raw.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "variables must be a JSON object")
    operation_name = raw.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "operationName must be a string")
    extensions = raw.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "extensions must be a JSON object")
    return GraphQLParams(query, variables, operation_name)


async def read_params(request: Request, *, body_timeout: float = 30.0) -> GraphQLParams:
    """Extract the GraphQL parameters, or raise ``RequestError`` with the right status.

    A body that has not fully arrived ``body_timeout`` seconds after reading began is a
    408: a client sending a byte at a time must not hold the request open for ever.
    """
    if request.method == "GET":
        params = request.query_params
        return _validated(
            {
                "query": params.get("query"),
                "variables": _parse_json_param(params.get("variables"), "variables"),
                "operationName": params.get("operationName"),
                "extensions": _parse_json_param(params.get("extensions"), "extensions"),
            }
        )
    if request.method != "POST":
        raise RequestError(405, "use GET or POST", {"Allow": "GET, POST"})
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media != JSON:
        raise RequestError(
            415, "POST requests must have Content-Type: application/json", {"Accept-Post": JSON}
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestError(413, f"the request body exceeds {MAX_BODY_BYTES} bytes")
    body = bytearray()
    try:
        async with asyncio.timeout(body_timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise RequestError(413, f"the request body exceeds {MAX_BODY_BYTES} bytes")
    except TimeoutError:
        raise RequestError(
            408,
            f"the request body did not arrive within {body_timeout:g} s; send it at once",
            {"Connection": "close"},
        ) from None
    return _validated(_parse_json(body, "the request body"))


# Documents repeat (a front-end sends the same few): their operation types are kept,
# for documents short enough that the bound holds memory too (512 x 16 KB).
_OPERATION_TYPES: LRUCache[tuple[str, str | None], OperationType] = LRUCache(maxsize=512)
_CACHED_DOCUMENT_CHARS = 16_384


def operation_type(params: GraphQLParams) -> OperationType | GraphQLError:
    """The type of the operation that would run, or the error that stops it running.

    A syntax error, a document without an operation, several operations without an
    ``operationName``, or an unknown ``operationName`` are request errors.
    """
    key = (params.query, params.operation_name)
    known = _OPERATION_TYPES.get(key)
    if known is not None:
        return known
    found = _operation_type(params)
    if isinstance(found, OperationType) and len(params.query) <= _CACHED_DOCUMENT_CHARS:
        _OPERATION_TYPES[key] = found
    return found


def _operation_type(params: GraphQLParams) -> OperationType | GraphQLError:
    try:
        document = parse(params.query, no_location=False, max_tokens=20_000)
    except GraphQLSyntaxError as exc:
        return exc
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if params.operation_name:
        named = [o for o in operations if o.name and o.name.value == params.operation_name]
        if not named:
            return GraphQLError(f'Unknown operation named "{params.operation_name}".')
        operations = named
    if not operations:
        return GraphQLError("The document contains no operation to run.")
    if len(operations) > 1:
        return GraphQLError("Must provide operation name if query contains multiple operations.")
    return operations[0].operation
