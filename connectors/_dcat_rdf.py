"""RDF for the DCAT-AP connector: parsing documents with rdflib and mapping DCAT-AP graphs.

``parse_graph`` turns a Turtle, JSON-LD or RDF/XML document into an rdflib graph, all or
nothing; ``DcatMapper`` maps its ``dcat:Dataset`` nodes to canonical datasets (the table
is in ``connectors.dcat``); ``next_page_of`` finds the hydra link to the next page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import orjson
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS
from rdflib.plugins.parsers.jsonld import to_rdf as jsonld_to_rdf
from rdflib.term import Node

from connectors._directory import DCAT_DIRECTORY_PREDICATES, dcat_directory_fields
from connectors.sdk import FatalError, SourceSettings
from schema import vocab
from schema.model import (
    ContactPoint,
    Dataset,
    Department,
    Distribution,
    Temporal,
    UpdateFrequency,
)

log = logging.getLogger("connectors.dcat")

CGW = Namespace("https://catalogue-gateway.example/ns#")

"""The gateway's own terms for what DCAT-AP has no property for (share type, sensitivity).

``.example`` is reserved (RFC 2606), so these never clash with a real vocabulary; a
platform using other predicates names them in the ``predicates`` option.
"""

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SCHEMA = Namespace("http://schema.org/")
LOCN = Namespace("http://www.w3.org/ns/locn#")

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
EU_THEME = EU_AUTHORITY + "data-theme/"
IANA_MEDIA_TYPES = (
    "http://www.iana.org/assignments/media-types/",
    "https://www.iana.org/assignments/media-types/",
)

# EU data-theme codes as readable theme ids (the gateway's ``themes`` filter values).
EU_THEMES: Mapping[str, str] = {
    "AGRI": "agriculture",
    "ECON": "economy",
    "EDUC": "education",
    "ENER": "energy",
    "ENVI": "environment",
    "GOVE": "government",
    "HEAL": "health",
    "INTR": "international",
    "JUST": "justice",
    "REGI": "regions",
    "SOCI": "society",
    "TECH": "science",
    "TRAN": "transport",
    "OP_DATPRO": "provisional",
}

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


# -- mapping ------------------------------------------------------------------------------


class DcatMapper:
    """Maps the ``dcat:Dataset`` nodes of a graph to canonical datasets.

    ``languages`` ranks language tags (primary subtag); the predicate tuples (full URIs)
    name where share type, share condition, sensitivity and (after ``dct:accessRights``)
    the open type are read.
    """

    def __init__(
        self,
        settings: SourceSettings,
        *,
        languages: Iterable[str],
        share_type: Iterable[str],
        share_condition: Iterable[str],
        sensitivity: Iterable[str],
        open_type: Iterable[str],
        directory: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.settings = settings
        self._languages = tuple(lang.lower() for lang in languages)
        self._share_type = tuple(map(URIRef, share_type))
        self._share_condition = tuple(map(URIRef, share_condition))
        self._sensitivity = tuple(map(URIRef, sensitivity))
        self._open_type = (DCTERMS.accessRights, *map(URIRef, open_type))
        self._directory = {
            name: tuple(map(URIRef, preds))
            for name, preds in {**DCAT_DIRECTORY_PREDICATES, **(directory or {})}.items()
        }

    def datasets(self, graph: Graph) -> list[Dataset]:
        """Every mappable dataset, in a stable order (by ``local_id``); duplicates once."""
        found: dict[str, Dataset] = {}
        for node in set(graph.subjects(RDF.type, DCAT.Dataset)):
            try:
                dataset = self.dataset(graph, node)
            except Exception as exc:  # one hostile record never fails the document
                log.warning(
                    "source %s: skipped dcat:Dataset %s: %s: %s",
                    self.settings.id,
                    _name(node),
                    type(exc).__name__,
                    exc,
                )
                continue
            if dataset is None:
                continue
            if dataset.local_id in found:
                log.warning(
                    "source %s: skipped a second dcat:Dataset with identifier %r (%s)",
                    self.settings.id,
                    dataset.local_id,
                    _name(node),
                )
                continue
            found[dataset.local_id] = dataset
        return [found[key] for key in sorted(found)]

    def dataset(self, g: Graph, node: Node) -> Dataset | None:
        """One dataset, or ``None`` (with a warning) when it lacks a title or an id."""
        identifier = _first(sorted(_text(o) or "" for o in g.objects(node, DCTERMS.identifier)))
        local_id = identifier or (str(node) if isinstance(node, URIRef) else None)
        if local_id is None:
            log.warning(
                "source %s: skipped a dcat:Dataset without dct:identifier or URI", self.settings.id
            )
            return None
        title = self.text(g, node, DCTERMS.title)
        if title is None:
            log.warning(
                "source %s: skipped dcat:Dataset %s: it has no dct:title",
                self.settings.id,
                _name(node),
            )
            return None
        defaults = self.settings.defaults
        start, end = None, None
        temporal = self.value(g, node, DCTERMS.temporal)
        if temporal is not None:
            start = _timestamp(self.value(g, temporal, DCAT.startDate, SCHEMA.startDate))
            end = _timestamp(self.value(g, temporal, DCAT.endDate, SCHEMA.endDate))
        return Dataset(
            source_id=self.settings.id,
            local_id=local_id,
            title=title,
            identifier=identifier,
            description=self.text(g, node, DCTERMS.description),
            keywords=self.keywords(g, node),
            themes=tuple(sorted({t for o in g.objects(node, DCAT.theme) if (t := _theme(o))})),
            department=self.department(g, node) or self.settings.department,
            issued=_timestamp(self.value(g, node, DCTERMS.issued)),
            modified=_timestamp(self.value(g, node, DCTERMS.modified)),
            update_frequency=self.vocabulary(
                g, node, (DCTERMS.accrualPeriodicity,), vocab.parse_update_frequency
            )
            or UpdateFrequency.UNKNOWN,
            share_type=self.vocabulary(g, node, self._share_type, vocab.parse_share_type)
            or defaults.share_type,
            share_condition=self.text(g, node, *self._share_condition),
            open_type=self.vocabulary(g, node, self._open_type, vocab.parse_open_type)
            or defaults.open_type,
            sensitivity=self.vocabulary(g, node, self._sensitivity, vocab.parse_sensitivity)
            or defaults.sensitivity,
            license=self.license(g, node),
            landing_page=_text(self.value(g, node, DCAT.landingPage)),
            contact_point=self.contact(g, node),
            distributions=self.distributions(g, node),
            spatial=self.spatial(g, node),
            temporal=Temporal(start, end) if start or end else None,
            **dcat_directory_fields(self, g, node, self._directory),
        )

    # -- values ---------------------------------------------------------------------------

    def _rank(self, literal: Literal) -> int:
        lang = (literal.language or "").lower()
        if not lang:
            return len(self._languages)
        primary = lang.split("-", 1)[0]
        if primary in self._languages:
            return self._languages.index(primary)
        return len(self._languages) + 1

    def text(self, g: Graph, node: Node, *predicates: URIRef) -> str | None:
        """The preferred-language non-empty literal of the first predicate that has one."""
        for predicate in predicates:
            literals = [o for o in g.objects(node, predicate) if isinstance(o, Literal)]
            ranked = sorted((self._rank(o), str(o).strip()) for o in literals if str(o).strip())
            if ranked:
                return ranked[0][1]
        return None

    def value(self, g: Graph, node: Node, *predicates: URIRef) -> Node | None:
        """One object of the first predicate that has one (the smallest, for stability)."""
        for predicate in predicates:
            objects = sorted(
                g.objects(node, predicate), key=lambda o: (isinstance(o, BNode), str(o))
            )
            if objects:
                return objects[0]
        return None

    def keywords(self, g: Graph, node: Node) -> tuple[str, ...]:
        literals = [o for o in g.objects(node, DCAT.keyword) if isinstance(o, Literal)]
        ordered = sorted((self._rank(o), str(o).strip()) for o in literals)
        return tuple(dict.fromkeys(text for _, text in ordered if text))

    def vocabulary(self, g: Graph, node: Node, predicates: Iterable[URIRef], parse: Any) -> Any:
        """The first value a vocabulary parser knows: a literal, a URI (whole, or its last
        segment, e.g. ``.../frequency/MONTHLY``) or a labelled node (``rdfs:label``)."""
        for predicate in predicates:
            for obj in sorted(g.objects(node, predicate), key=str):
                candidates = [str(obj)] if not isinstance(obj, BNode) else []
                if isinstance(obj, URIRef):
                    candidates.append(_last_segment(str(obj)))
                if not isinstance(obj, Literal):
                    candidates += [str(o) for o in g.objects(obj, RDFS.label)]
                    candidates += [str(o) for o in g.objects(obj, SKOS.prefLabel)]
                for candidate in candidates:
                    parsed = parse(candidate)
                    if parsed is not None:
                        return parsed
        return None

    def department(self, g: Graph, node: Node) -> Department | None:
        agent = self.value(g, node, DCTERMS.publisher)
        if agent is None:
            return None
        if isinstance(agent, Literal):
            label = str(agent).strip()
            return Department(id=_slug(label), name=label) if label else None
        name = self.text(g, agent, FOAF.name, SKOS.prefLabel, RDFS.label)
        notation = _first(sorted(str(o) for o in g.objects(agent, SKOS.notation)))
        key = notation or (_last_segment(str(agent)) if isinstance(agent, URIRef) else name)
        dept_id = _slug(key or "")
        if not dept_id:
            return None
        code = self.text(g, agent, DCTERMS.identifier)
        return Department(id=dept_id, name=name or dept_id, code=code)

    def contact(self, g: Graph, node: Node) -> ContactPoint | None:
        card = self.value(g, node, DCAT.contactPoint)
        if card is None or isinstance(card, Literal):
            return None
        name = self.text(g, card, VCARD.fn, VCARD["organization-name"])
        email = _strip_scheme(self.value(g, card, VCARD.hasEmail), "mailto:")
        phone_node = self.value(g, card, VCARD.hasTelephone)
        if isinstance(phone_node, BNode):  # vcard:hasTelephone [ vcard:hasValue <tel:...> ]
            phone_node = self.value(g, phone_node, VCARD.hasValue)
        phone = _strip_scheme(phone_node, "tel:")
        if name is None and email is None and phone is None:
            return None
        return ContactPoint(name=name, email=email, phone=phone)

    def license(self, g: Graph, node: Node) -> str | None:
        holder = self.value(g, node, DCTERMS.license)
        if holder is None:  # DCAT-AP puts the licence on distributions
            for dist in sorted(g.objects(node, DCAT.distribution), key=str):
                holder = self.value(g, dist, DCTERMS.license)
                if holder is not None:
                    break
        if holder is None:
            return None
        if isinstance(holder, BNode):
            return self.text(g, holder, DCTERMS.title, RDFS.label)
        return _text(holder)

    def spatial(self, g: Graph, node: Node) -> str | None:
        place = self.value(g, node, DCTERMS.spatial)
        if place is None:
            return None
        if isinstance(place, Literal):
            return _text(place)
        label = self.text(g, place, SKOS.prefLabel, RDFS.label, LOCN.geographicName, DCTERMS.title)
        return label or (str(place) if isinstance(place, URIRef) else None)

    def distributions(self, g: Graph, node: Node) -> tuple[Distribution, ...]:
        out = [
            self.distribution(g, d)
            for d in g.objects(node, DCAT.distribution)
            if not isinstance(d, Literal)
        ]
        return tuple(
            sorted(
                out,
                key=lambda d: tuple(
                    str(v or "")
                    for v in (d.title, d.access_url, d.download_url, d.format, d.media_type)
                ),
            )
        )

    def distribution(self, g: Graph, dist: Node) -> Distribution:
        media_type = _media_type(self.value(g, dist, DCAT.mediaType))
        fmt_node = self.value(g, dist, DCTERMS["format"])
        fmt: str | None = None
        if isinstance(fmt_node, URIRef):
            uri = str(fmt_node)
            if uri.startswith(IANA_MEDIA_TYPES):
                media_type = media_type or _media_type(fmt_node)
            else:
                fmt = _last_segment(uri)
        elif isinstance(fmt_node, BNode):  # DCAT-AP 1: [ a dct:IMT; rdf:value; rdfs:label ]
            fmt = self.text(g, fmt_node, RDFS.label)
            media_type = media_type or _text(self.value(g, fmt_node, RDF.value))
        elif fmt_node is not None:
            fmt = _text(fmt_node)
        return Distribution(
            title=self.text(g, dist, DCTERMS.title),
            format=fmt.upper() if fmt else None,
            media_type=media_type,
            access_url=_text(self.value(g, dist, DCAT.accessURL)),
            download_url=_text(self.value(g, dist, DCAT.downloadURL)),
            byte_size=_byte_size(self.value(g, dist, DCAT.byteSize)),
        )


# -- helpers ------------------------------------------------------------------------------


def _first(values: Iterable[str]) -> str | None:
    return next((v for v in values if v), None)


def _text(node: Node | None) -> str | None:
    if node is None or isinstance(node, BNode):
        return None
    text = str(node).strip()
    return text or None


def _name(node: Node) -> str:
    return str(node) if isinstance(node, URIRef) else "(blank node)"


def _last_segment(uri: str) -> str:
    """``.../file-type/CSV`` → ``CSV``; ``http://x/org#transport`` → ``transport``."""
    parts = urlsplit(uri)
    if parts.fragment:
        return unquote(parts.fragment)
    segments = [s for s in parts.path.split("/") if s]
    if segments:
        return unquote(segments[-1])
    return uri.rstrip("/").rsplit(":", 1)[-1]


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[^\W_]+", text.lower()))


def _theme(node: Node) -> str | None:
    if isinstance(node, URIRef):
        uri = str(node)
        code = _last_segment(uri)
        if uri.startswith(EU_THEME):
            return EU_THEMES.get(code.upper(), code.lower())
        return code or None
    return _text(node) if isinstance(node, Literal) else None


_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(Z|[+-]\d{2}:\d{2})?")


def _timestamp(node: Node | None) -> datetime | None:
    """``xsd:dateTime``, ``xsd:date``, ``xsd:gYearMonth``, ``xsd:gYear`` lexical forms
    (typed or not; a date is its first moment); naive = UTC; anything else ``None``."""
    text = _text(node)
    if text is None:
        return None
    match = _PARTIAL_DATE.fullmatch(text)
    try:
        if match is None:
            parsed = datetime.fromisoformat(text)
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        # Not fromisoformat: it reads the zone of "2021-05-06+08:00" as a time of day.
        year, month, day, zone = match.groups()
        tz = UTC if zone in (None, "Z") else datetime.strptime(zone, "%z").tzinfo
        return datetime(int(year), int(month or 1), int(day or 1), tzinfo=tz)
    except ValueError:
        return None


def _byte_size(node: Node | None) -> int | None:
    text = _text(node)
    if text is None:
        return None
    try:
        size = Decimal(text)
    except InvalidOperation:
        return None
    if not size.is_finite() or size < 0 or size != size.to_integral_value():
        return None
    return int(size)


def _media_type(node: Node | None) -> str | None:
    text = _text(node)
    if text is None:
        return None
    for prefix in IANA_MEDIA_TYPES:
        if text.startswith(prefix):
            return text[len(prefix) :] or None
    return text


def _strip_scheme(node: Node | None, scheme: str) -> str | None:
    text = _text(node)
    if text is None:
        return None
    if text.lower().startswith(scheme):
        text = unquote(text[len(scheme) :]).strip()
    return text or None


def _error_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= _ERROR_TEXT_MAX else text[: _ERROR_TEXT_MAX - 1] + "…"


def _excerpt(data: bytes) -> str:
    return repr(data[:80])
