"""Mapping DCAT-AP graphs: ``DcatMapper`` maps the ``dcat:Dataset`` nodes of an rdflib
graph to canonical datasets (the table is in ``connectors.dcat``; parsing the documents is
``connectors._dcat_document``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote, urlsplit

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS
from rdflib.term import Node

from connectors._directory import DCAT_DIRECTORY_PREDICATES, dcat_directory_fields
from connectors._formats import format_name, is_media_type
from connectors._rdf_languages import title_language, translations
from connectors.sdk import SourceSettings
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

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SCHEMA = Namespace("http://schema.org/")
LOCN = Namespace("http://www.w3.org/ns/locn#")
TIME = Namespace("http://www.w3.org/2006/time#")
# time:DurationDescription units, in seconds (years and months are kept apart).
_TIME_UNITS: Mapping[str, float] = {
    "years": 0.0,
    "months": 0.0,
    "weeks": 7 * 86400.0,
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
}

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
EU_THEME = EU_AUTHORITY + "data-theme/"
EU_FILE_TYPE = EU_AUTHORITY + "file-type/"
# The last segment of a format URI that is a format code (CSV, GEOJSON, XLSX...).
_FORMAT_CODE = re.compile(r"[A-Z0-9][A-Z0-9_.+-]{0,15}")
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
            update_frequency=self.frequency(g, node),
            share_type=self.class_value(
                g,
                node,
                self._share_type,
                vocab.parse_share_type,
                vocab.share_type_or,
                defaults.share_type,
            ),
            share_condition=self.text(g, node, *self._share_condition),
            open_type=self.class_value(
                g,
                node,
                self._open_type,
                vocab.parse_open_type,
                vocab.open_type_or,
                defaults.open_type,
            ),
            sensitivity=self.class_value(
                g,
                node,
                self._sensitivity,
                vocab.parse_sensitivity,
                vocab.sensitivity_or,
                defaults.sensitivity,
            ),
            license=self.license(g, node),
            landing_page=_text(self.value(g, node, DCAT.landingPage)),
            contact_point=self.contact(g, node),
            distributions=self.distributions(g, node),
            spatial=self.spatial(g, node),
            temporal=Temporal(start, end) if start or end else None,
            language=title_language(g, node, title),
            translations=translations(g, node, title),
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

    def class_value(
        self,
        g: Graph,
        node: Node,
        predicates: Iterable[URIRef],
        parse: Any,
        read: Any,
        default: Any,
    ) -> Any:
        """A class (share, open, sensitivity) through ``vocab.*_or``: the first value the
        vocabulary knows; the default when none is stated; the least open class when
        only unknown values are (``read`` reports them)."""
        predicates = tuple(predicates)
        known = self.vocabulary(g, node, predicates, parse)
        if known is not None:
            return known
        stated = [o for p in predicates for o in g.objects(node, p)]
        if not stated:
            return default
        return read(str(sorted(stated, key=str)[0]), default, source=self.settings.id)

    def frequency(self, g: Graph, node: Node) -> UpdateFrequency:
        """``dct:accrualPeriodicity``: a frequency URI, code or word, or a
        ``dct:Frequency`` whose ``rdf:value`` is a ``time:DurationDescription``
        (``time:years 1``, as datos.gob.es writes it) or an ISO 8601 duration."""
        predicates = (DCTERMS.accrualPeriodicity,)
        known = self.vocabulary(g, node, predicates, vocab.parse_update_frequency)
        if known is not None:
            return known  # type: ignore[no-any-return]
        for frequency in sorted(g.objects(node, DCTERMS.accrualPeriodicity), key=str):
            if isinstance(frequency, Literal):
                continue
            for described in (frequency, *g.objects(frequency, RDF.value)):
                if isinstance(described, Literal):
                    found = vocab.parse_update_frequency(str(described))
                else:
                    found = self._duration_frequency(g, described)
                if found is not None:
                    return found
        return UpdateFrequency.UNKNOWN

    def _duration_frequency(self, g: Graph, node: Node) -> UpdateFrequency | None:
        amounts = {unit: _number(self.value(g, node, TIME[unit])) for unit in _TIME_UNITS}
        if not any(amounts.values()):
            return None
        seconds = sum(amounts[unit] * factor for unit, factor in _TIME_UNITS.items())
        return vocab.frequency_for_duration(amounts["years"], amounts["months"], seconds)

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
        media_type, fmt = self.format_of(g, dist)
        access_url = _text(self.value(g, dist, DCAT.accessURL))
        download_url = _text(self.value(g, dist, DCAT.downloadURL))
        return Distribution(
            title=self.text(g, dist, DCTERMS.title),
            format=format_name(fmt, media_type, download_url),
            media_type=media_type,
            access_url=access_url,
            download_url=download_url,
            byte_size=_byte_size(self.value(g, dist, DCAT.byteSize)),
        )

    def format_of(self, g: Graph, dist: Node) -> tuple[str | None, str | None]:
        """``(media type, format name)`` from ``dcat:mediaType`` and ``dct:format``.

        Either may be a literal, a URI (IANA media-type or EU file-type URIs) or a
        described node (``[ a dct:IMT; rdfs:label "XLS"; rdf:value "application/..." ]``,
        the node named by a URI or blank). A media type found in ``dct:format`` is the
        media type; a format name found in ``dcat:mediaType`` is the format.
        """
        media_types: list[str] = []
        names: list[str] = []
        for predicate in (DCAT.mediaType, DCTERMS["format"]):
            node = self.value(g, dist, predicate)
            for text in self._format_texts(g, node):
                (media_types if is_media_type(text) else names).append(text)
        return (media_types[0] if media_types else None), (names[0] if names else None)

    def _format_texts(self, g: Graph, node: Node | None) -> list[str]:
        """What a format node says: its label and value, else its own URI's meaning."""
        if node is None:
            return []
        if isinstance(node, Literal):
            return [text] if (text := _text(node)) else []
        texts = [
            text
            for obj in (
                self.text(g, node, RDFS.label, SKOS.prefLabel, DCTERMS.title),
                self.value(g, node, RDF.value),
            )
            if (text := _media_type(obj) if isinstance(obj, (URIRef, Literal)) else obj)
        ]
        if texts or not isinstance(node, URIRef):
            return texts
        uri = str(node)
        if uri.startswith(IANA_MEDIA_TYPES):
            return [text] if (text := _media_type(node)) else []
        segment = _last_segment(uri)
        # An undescribed node of a platform's own (``.../resource/1/format``) says nothing.
        if uri.startswith(EU_FILE_TYPE) or _FORMAT_CODE.fullmatch(segment):
            return [segment]
        return []


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


def _number(node: Node | None) -> float:
    """A ``time:`` amount (``1.0``, ``"1"^^xsd:decimal``); 0 for anything else."""
    text = _text(node)
    try:
        number = float(text) if text is not None else 0.0
    except ValueError:
        return 0.0
    return number if 0 < number < 1e6 else 0.0


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
