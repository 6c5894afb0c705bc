"""What anyone may read about a source's failure: a classified reason, never the details.

A connector's error text may quote an upstream body, an internal URL, or another caller's
search text and grant filter (a CKAN error echoes ``q`` and ``fq``). Public surfaces
(``sources { lastError }``, ``/readyz``, a search's ``sources { message }`` and errors)
carry only ``reason(error)``: a kind (timeout, connection failed, HTTP status, invalid
JSON...) and a few known, safe details picked out of the message. The operator's log keeps
the whole story.
"""

from __future__ import annotations

import re

from connectors.sdk import (
    ConnectorError,
    FatalError,
    GatewayError,
    NotSupported,
    RetriableError,
    SourceUnavailable,
)

__all__ = ["reason", "safe_details"]

# Phrases connectors and the SDK write that name no record, URL, body or query.
_SAFE_DETAILS = re.compile(
    r"HTTP \d{3}|invalid JSON|timed out|connection failed|exceeds the \d+-byte cap"
    r"|(?:link|redirect) to another origin refused|redirect not followed|does not decompress"
    r"|rejected the query|not supported|refused"
    r"|malformed (?:Turtle|RDF/XML|JSON-LD|N3|RDF|JSON)|not RDF|first \d+ matches"
    r"|narrow the query"
)


def safe_details(message: str) -> list[str]:
    """The known, safe phrases in ``message``, each once, in order."""
    return list(dict.fromkeys(m.group(0) for m in _SAFE_DETAILS.finditer(message)))


def _with_details(kind: str, message: str) -> str:
    details = [d for d in safe_details(message) if d != kind]
    return f"{kind} ({', '.join(details)})" if details else kind


def reason(error: BaseException | str) -> str:
    """The public reason for ``error`` (an exception, or a health check's message).

    >>> reason(FatalError("invalid JSON (text/html): b'<html>internal.example'"))
    'the answer could not be used (invalid JSON)'
    """
    if isinstance(error, str):
        return _with_details("the platform is not healthy", error)
    if isinstance(error, TimeoutError):
        return "timed out"
    message = getattr(error, "message", None) or ""
    if isinstance(error, SourceUnavailable):
        return "timed out" if "timed out" in message else _with_details("unavailable", message)
    if isinstance(error, NotSupported):
        return _with_details("the platform cannot answer this query", message)
    if isinstance(error, RetriableError):
        return _with_details("the platform failed", message)
    if isinstance(error, FatalError | ConnectorError):
        return _with_details("the answer could not be used", message)
    if isinstance(error, GatewayError):
        return "failed"
    return "internal error in the connector"
