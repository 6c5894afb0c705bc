"""RDF documents for the DCAT-AP connector: which syntax, parsing with rdflib, hydra paging.

``parse_graph`` turns a Turtle, JSON-LD or RDF/XML document into an rdflib graph, all or
nothing (``FatalError``), and never fetches a JSON-LD ``@context`` a document names;
``next_page_of`` finds the hydra link to the next page. The mapping of the graph is in
``connectors._dcat_rdf``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
from rdflib import Graph, Namespace
from rdflib.namespace import RDF
from rdflib.plugins.parsers.jsonld import to_rdf as jsonld_to_rdf
from rdflib.term import BNode, Node

from connectors.sdk import FatalError

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")

# Media types as servers label RDF documents, to rdflib parser names.
RDF_MEDIA_TYPES: Mapping[str, str] = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "text/n3": "n3",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/json": "json-ld",
    "application/rdf+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
}
# Labels that say nothing about the syntax: the body is sniffed.
_UNLABELLED = frozenset({"", "text/plain", "application/octet-stream", "binary/octet-stream"})

_ERROR_TEXT_MAX = 200


_ERROR_TEXT_MAX = 200


def next_page_of(graph: Graph, *, base: str | None = None) -> str | None:
    """``next_page`` over an already parsed graph."""
    pages = {
        node
        for kind in (HYDRA.PagedCollection, HYDRA.PartialCollectionView)
        for node in graph.subjects(RDF.type, kind)
    }
    for predicate in (HYDRA.next, HYDRA.nextPage):
        targets = sorted(
            text for page in pages for o in graph.objects(page, predicate) if (text := _text(o))
        )
        if targets:
            return urljoin(base, targets[0]) if base else targets[0]
    return None


def parse_graph(
    data: bytes,
    media_type: str,
    *,
    source_id: str | None,
    base: str | None = None,
    contexts: Mapping[str, Mapping[str, Any]] | None = None,
) -> Graph:
    """Parse an RDF document into a fresh graph, all or nothing (``FatalError``)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    syntax = rdf_syntax(media_type, data)
    if syntax is None or _is_html(data):
        # A login or error page where the catalogue should be (labelled or not).
        kind = "an HTML page" if _is_html(data) else media_type or "an unlabelled body"
        raise FatalError(
            f"the catalogue answered {kind}, not RDF "
            f"(expected Turtle, JSON-LD or RDF/XML): {_excerpt(data)}",
            source_id=source_id,
        )
    graph = Graph()
    try:
        if syntax == "json-ld":
            document = _inline_contexts(orjson.loads(data), contexts or {})
            # The JSON-LD plugin's own parse() wraps the graph in a deprecated
            # ConjunctiveGraph; to_rdf into a plain graph merges named graphs instead.
            jsonld_to_rdf(document, graph, base=base, version=1.1)
        else:
            graph.parse(data=data, format=syntax, publicID=base)
    except _RemoteContext as exc:
        raise FatalError(
            f"the JSON-LD document references the remote @context {exc.url!r}; the gateway "
            "does not fetch contexts: inline it or map it in the jsonld_contexts option",
            source_id=source_id,
        ) from None
    except Exception as exc:  # any parser failure means the document is not usable RDF
        raise FatalError(
            f"malformed {_SYNTAX_NAMES[syntax]}: {_error_text(exc)}", source_id=source_id
        ) from None
    return graph


def rdf_syntax(media_type: str, data: bytes = b"") -> str | None:
    """The rdflib parser name for ``media_type`` (sniffing ``data`` when unlabelled)."""
    kind = media_type.split(";", 1)[0].strip().lower()
    if kind in RDF_MEDIA_TYPES:
        return RDF_MEDIA_TYPES[kind]
    if kind.endswith("+json"):
        return "json-ld"
    if kind not in _UNLABELLED:
        return None
    head = data.lstrip()[:200]
    if head.startswith((b"{", b"[")):
        return "json-ld"
    if head.startswith((b"<?xml", b"<rdf:RDF")):
        return "xml"
    return None if _is_html(head) else "turtle"


def _is_html(data: bytes) -> bool:
    return data.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))


_SYNTAX_NAMES = {
    "turtle": "Turtle",
    "n3": "N3",
    "nt": "N-Triples",
    "json-ld": "JSON-LD",
    "xml": "RDF/XML",
}


def media_type_for_path(path: str) -> str | None:
    """The media type a catalogue path's extension names (``.ttl`` → ``text/turtle``)."""
    suffix = urlsplit(path).path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return {
        "ttl": "text/turtle",
        "n3": "text/n3",
        "nt": "application/n-triples",
        "jsonld": "application/ld+json",
        "json": "application/ld+json",
        "rdf": "application/rdf+xml",
        "xml": "application/rdf+xml",
        "owl": "application/rdf+xml",
    }.get(suffix)


# -- JSON-LD contexts -------------------------------------------------------------------


class _RemoteContext(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def _inline_contexts(node: Any, contexts: Mapping[str, Mapping[str, Any]]) -> Any:
    """``node`` with every ``@context``/``@import`` URL replaced by its configured context.

    rdflib would otherwise download a context named by URL while parsing.
    """
    if isinstance(node, list):
        return [_inline_contexts(item, contexts) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("@context", "@import"):
            value = _resolve_context(value, contexts)
        out[key] = _inline_contexts(value, contexts)
    return out


def _resolve_context(value: Any, contexts: Mapping[str, Mapping[str, Any]]) -> Any:
    if isinstance(value, list):
        return [_resolve_context(item, contexts) for item in value]
    if isinstance(value, str):
        known = contexts.get(value)
        if known is None:
            raise _RemoteContext(value)
        inner = known.get("@context", known)
        return _inline_contexts(inner, contexts)
    return value


def _text(node: Node | None) -> str | None:
    if node is None or isinstance(node, BNode):
        return None
    text = str(node).strip()
    return text or None


def _error_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= _ERROR_TEXT_MAX else text[: _ERROR_TEXT_MAX - 1] + "…"


def _excerpt(data: bytes) -> str:
    return repr(data[:80])
