"""DCAT-AP 3 descriptions of datasets (``/catalog.ttl``, ``/catalog.jsonld``).

Each dataset becomes a small graph, serialized on its own, so a catalogue of any size is
streamed. DCAT-AP has no property for the Chinese directory's classes: they are the
extension properties of ``CGW`` (the same namespace the dcat connector reads), listed in
docs/exports.md. Every object a DCAT-AP 3 shape constrains by class is typed with that
class, so the SHACL shapes pass without inference.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from schema.ids import encode_id
from schema.model import Dataset, OpenType

CGW = Namespace("https://catalogue-gateway.example/ns#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
ACCESS_RIGHTS = {
    OpenType.OPEN: "PUBLIC",
    OpenType.CONDITIONAL: "RESTRICTED",
    OpenType.NOT_OPEN: "NON_PUBLIC",
}
PREFIXES = {
    "dcat": DCAT,
    "dct": DCTERMS,
    "foaf": FOAF,
    "skos": SKOS,
    "vcard": VCARD,
    "xsd": XSD,
    "rdfs": RDFS,
    "cgw": CGW,
}
_DIRECTORY = (
    ("resource_code", CGW.resourceCode),
    ("resource_class", CGW.resourceClass),
    ("format_class", CGW.formatClass),
    ("share_method", CGW.shareMethod),
    ("open_condition", CGW.openCondition),
    ("not_shared_basis", CGW.notSharedBasis),
    ("share_condition", CGW.shareCondition),
)


def dataset_uri(base: str, dataset: Dataset) -> URIRef:
    return URIRef(f"{base}/dataset/{encode_id('Dataset', dataset.source_id, dataset.local_id)}")


def catalogue_graph(base: str, title: str, description: str, publisher: str) -> Graph:
    """The ``dcat:Catalog`` node (its ``dcat:dataset`` links come with each dataset)."""
    g = _graph()
    catalogue, agent = URIRef(f"{base}/catalog"), URIRef(f"{base}/catalog#publisher")
    g.add((catalogue, RDF.type, DCAT.Catalog))
    g.add((catalogue, DCTERMS.title, Literal(title)))
    g.add((catalogue, DCTERMS.description, Literal(description)))
    g.add((catalogue, DCTERMS.publisher, agent))
    g.add((agent, RDF.type, FOAF.Agent))
    g.add((agent, FOAF.name, Literal(publisher)))
    return g


def dataset_graph(base: str, ds: Dataset) -> Graph:
    """One dataset, its distributions and the nodes they refer to."""
    g = _graph()
    node = dataset_uri(base, ds)
    g.add((URIRef(f"{base}/catalog"), DCAT.dataset, node))
    g.add((node, RDF.type, DCAT.Dataset))
    g.add((node, DCTERMS.identifier, Literal(ds.identifier or ds.local_id)))
    g.add((node, DCTERMS.title, Literal(ds.title)))
    if ds.description:  # DCAT-AP wants one; none is invented (the quality check reports it)
        g.add((node, DCTERMS.description, Literal(ds.description)))
    for keyword in ds.keywords:
        g.add((node, DCAT.keyword, Literal(keyword)))
    for theme in ds.themes:
        concept = URIRef(f"{base}/theme/{quote(theme, safe='')}")
        g.add((node, DCAT.theme, concept))
        g.add((concept, RDF.type, SKOS.Concept))
        g.add((concept, SKOS.prefLabel, Literal(theme)))
    if ds.department is not None:
        dept = ds.department
        agent = URIRef(f"{base}/department/{quote(dept.id, safe='')}")
        g.add((node, DCTERMS.publisher, agent))
        g.add((agent, RDF.type, FOAF.Agent))
        g.add((agent, RDF.type, FOAF.Organization))
        g.add((agent, FOAF.name, Literal(dept.name)))
        g.add((agent, SKOS.notation, Literal(dept.id)))
        if dept.code:
            g.add((agent, DCTERMS.identifier, Literal(dept.code)))
    for predicate, moment in ((DCTERMS.issued, ds.issued), (DCTERMS.modified, ds.modified)):
        if moment is not None:
            g.add((node, predicate, Literal(moment.isoformat(), datatype=XSD.dateTime)))
    frequency = URIRef(f"{EU}frequency/{ds.update_frequency.value}")
    g.add((node, DCTERMS.accrualPeriodicity, frequency))
    g.add((frequency, RDF.type, DCTERMS.Frequency))
    rights = URIRef(f"{EU}access-right/{ACCESS_RIGHTS[ds.open_type]}")
    g.add((node, DCTERMS.accessRights, rights))
    g.add((rights, RDF.type, DCTERMS.RightsStatement))
    g.add((node, CGW.shareType, Literal(ds.share_type.value)))
    g.add((node, CGW.sensitivity, Literal(ds.sensitivity.value)))
    if ds.grade is not None:
        g.add((node, CGW.grade, Literal(ds.grade.value)))
    for name, predicate in _DIRECTORY:
        value = getattr(ds, name)
        if value:
            g.add((node, predicate, Literal(value)))
    for related in ds.related_resources:
        if related.startswith(("http://", "https://")):
            g.add((node, DCTERMS.relation, URIRef(related)))
        else:
            g.add((node, CGW.relatedResource, Literal(related)))
    if ds.license:
        licence = BNode()
        g.add((node, DCTERMS.license, licence))
        g.add((licence, RDF.type, DCTERMS.LicenseDocument))
        g.add((licence, RDFS.label, Literal(ds.license)))
    if ds.landing_page:
        page = URIRef(ds.landing_page)
        g.add((node, DCAT.landingPage, page))
        g.add((page, RDF.type, FOAF.Document))
    _contact(g, node, ds)
    if ds.spatial:
        place = BNode()
        g.add((node, DCTERMS.spatial, place))
        g.add((place, RDF.type, DCTERMS.Location))
        g.add((place, SKOS.prefLabel, Literal(ds.spatial)))
    if ds.temporal is not None:
        period = BNode()
        g.add((node, DCTERMS.temporal, period))
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        for predicate, moment in (
            (DCAT.startDate, ds.temporal.start),
            (DCAT.endDate, ds.temporal.end),
        ):
            if moment is not None:
                g.add((period, predicate, Literal(moment.isoformat(), datatype=XSD.dateTime)))
    _distributions(g, node, ds)
    return g


def _contact(g: Graph, node: URIRef, ds: Dataset) -> None:
    contact = ds.contact_point
    if contact is None:
        return
    card = BNode()
    g.add((node, DCAT.contactPoint, card))
    g.add((card, RDF.type, VCARD.Kind))
    g.add((card, RDF.type, VCARD.Organization))
    if contact.name:
        g.add((card, VCARD.fn, Literal(contact.name)))
    if contact.email:
        g.add((card, VCARD.hasEmail, URIRef(f"mailto:{contact.email}")))
    if contact.phone:
        g.add((card, VCARD.hasTelephone, URIRef(f"tel:{quote(contact.phone, safe='+-')}")))


def _distributions(g: Graph, node: URIRef, ds: Dataset) -> None:
    for dist in ds.distributions:
        access = dist.access_url or dist.download_url
        if access is None:
            continue  # without the use privilege: no URL, and DCAT-AP needs one
        item = BNode()
        g.add((node, DCAT.distribution, item))
        g.add((item, RDF.type, DCAT.Distribution))
        g.add((item, DCAT.accessURL, URIRef(access)))
        if dist.download_url:
            g.add((item, DCAT.downloadURL, URIRef(dist.download_url)))
        if dist.title:
            g.add((item, DCTERMS.title, Literal(dist.title)))
        if dist.format:
            fmt = URIRef(f"{EU}file-type/{quote(dist.format.upper(), safe='')}")
            g.add((item, DCTERMS["format"], fmt))
            g.add((fmt, RDF.type, DCTERMS.MediaTypeOrExtent))
        if dist.media_type:
            media = URIRef(IANA + dist.media_type)
            g.add((item, DCAT.mediaType, media))
            g.add((media, RDF.type, DCTERMS.MediaType))
        if dist.byte_size is not None and dist.byte_size >= 0:
            g.add((item, DCAT.byteSize, Literal(dist.byte_size, datatype=XSD.nonNegativeInteger)))


def _graph() -> Graph:
    g = Graph()
    for prefix, namespace in PREFIXES.items():
        g.bind(prefix, namespace)
    return g


# -- serializations ------------------------------------------------------------------------


def turtle_prefixes() -> str:
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items()) + "\n"


def turtle_body(graph: Graph) -> str:
    """The graph's triples in Turtle, without the ``@prefix`` lines (written once)."""
    text = graph.serialize(format="turtle")
    return "\n".join(line for line in text.splitlines() if not line.startswith("@prefix")) + "\n"


JSONLD_CONTEXT = {prefix: str(ns) for prefix, ns in PREFIXES.items()}


def jsonld_nodes(graph: Graph) -> list[str]:
    """The graph's node objects (expanded JSON-LD), one JSON text each."""
    nodes: Iterable[object] = json.loads(graph.serialize(format="json-ld"))
    return [json.dumps(node, ensure_ascii=False) for node in nodes]
