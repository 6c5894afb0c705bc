"""A simulated DCAT-AP catalogue: ckanext-dcat's catalogue endpoint over a ``PlatformCatalogue``.

It serves the CKAN packages it is given as a DCAT-AP 2 catalogue, the way a CKAN site
with ckanext-dcat (profile ``euro_dcat_ap_2``) publishes them:

- ``/catalog.ttl``, ``/catalog.jsonld``, ``/catalog.rdf`` (and ``.xml``, ``.n3``), and
  ``/catalog`` with content negotiation on ``Accept`` (an Accept with no RDF type gets
  the portal's HTML home page, as ckanext-dcat does);
- always paged, ``ckanext.dcat.datasets_per_page`` (100) per page, newest
  ``metadata_modified`` first, ``?page=N`` from 1; the page carries a
  ``hydra:PagedCollection`` whose URI is the current page URL, with ``hydra:totalItems``,
  ``hydra:itemsPerPage`` and the first/last/next/previous page URLs as *literals*, under
  both the current (``hydra:next``) and the deprecated (``hydra:nextPage``) names
  (ckanext-dcat ``processors._add_pagination_triples``, ``logic._pagination_info``);
- a bad ``page`` is a 409 HTML page "Page param must be a positive integer starting in 1";
- ``ETag`` / ``Last-Modified`` on every document, ``304`` for ``If-None-Match`` /
  ``If-Modified-Since`` (as a caching proxy in front of a portal answers).

Mapping from the CKAN package (as ckanext-dcat's euro_dcat_ap_2 profile writes it):
``dct:identifier`` from the ``identifier`` extra; ``dct:title`` in ``zh`` and, from the
``title_en`` extra, ``en``; ``dcat:theme`` EU data-theme URIs for the groups that have
one (other groups keep their CKAN group URI); ``dct:publisher`` the organization
(``{base}/organization/{name}``, ``foaf:name``); ``dct:accrualPeriodicity`` and
``dct:accessRights`` EU authority URIs; share type, share condition and sensitivity under
the gateway's ``cgw:`` namespace (``connectors.dcat.CGW``); ``dct:format`` EU file-type
URIs and ``dcat:mediaType`` IANA URIs on distributions; ``dct:temporal`` a
``dct:PeriodOfTime`` with ``dcat:startDate``/``dcat:endDate``; ``dct:spatial`` a
``dct:Location`` with ``skos:prefLabel``.

    >>> sim = DcatSimulator(build_city_catalogue().platforms["city-open-portal"])
    >>> sim.fault.mode = "garbage"   # truncated RDF from now on

Admin endpoints, as on the CKAN simulator: ``GET|POST /__sim__/fault``,
``GET /__sim__/stats``, ``POST /__sim__/stats/reset``.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from schema import vocab
from schema.model import OpenType
from simulators.catalogue import PlatformCatalogue
from simulators.faults import (
    ERROR_PAGE,
    Fault,
    HugeBody,
    SimStats,
    SimulatedPlatform,
)

__all__ = ["DATASETS_PER_PAGE", "DcatSimulator", "catalogue_graph"]

DATASETS_PER_PAGE = 100  # ckanext.dcat.datasets_per_page
PAGE_ERROR = "Page param must be a positive integer starting in 1"
JSON_TYPE = "application/json;charset=utf-8"

CGW = Namespace("https://catalogue-gateway.example/ns#")  # = connectors.dcat.CGW
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "http://www.iana.org/assignments/media-types/"

# Served format -> (rdflib serializer, content type), as ckanext-dcat's CONTENT_TYPES.
FORMATS: Mapping[str, tuple[str, str]] = {
    "ttl": ("turtle", "text/turtle"),
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("pretty-xml", "application/rdf+xml"),
    "xml": ("pretty-xml", "application/rdf+xml"),
    "n3": ("n3", "text/n3"),
}
_ACCEPT: Mapping[str, str] = {
    "text/turtle": "ttl",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "rdf",
    "text/n3": "n3",
}

# CKAN group names that are an EU data theme (as ``connectors.dcat`` reads them back);
# other groups are published under their own URI.
EU_THEME_OF_GROUP: Mapping[str, str] = {
    "agriculture": "AGRI",
    "economy": "ECON",
    "education": "EDUC",
    "energy": "ENER",
    "environment": "ENVI",
    "government": "GOVE",
    "health": "HEAL",
    "international": "INTR",
    "justice": "JUST",
    "regions": "REGI",
    "science": "TECH",
    "society": "SOCI",
    "transport": "TRAN",
}
EU_FILE_TYPES = frozenset({"CSV", "JSON", "XLSX", "XLS", "SHP", "GEOJSON", "PDF", "XML", "ZIP"})
EU_ACCESS_RIGHTS: Mapping[OpenType, str] = {
    OpenType.OPEN: "PUBLIC",
    OpenType.CONDITIONAL: "RESTRICTED",
    OpenType.NOT_OPEN: "NON_PUBLIC",
}

# Placeholder for the site URL in cached documents; replaced by the request's base URL.
PLACEHOLDER = "http://dcat-sim.invalid"


def catalogue_graph(
    platform: PlatformCatalogue,
    packages: Sequence[Mapping[str, Any]],
    *,
    site: str,
    paging: Mapping[str, Any] | None = None,
) -> Graph:
    """The DCAT-AP graph of ``packages`` (one page of ``platform``'s catalogue)."""
    g = Graph()
    for prefix, ns in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("skos", SKOS),
        ("vcard", VCARD),
        ("hydra", HYDRA),
        ("cgw", CGW),
        ("xsd", XSD),
    ):
        g.bind(prefix, ns)
    catalog = URIRef(site)
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal(platform.title, lang="zh")))
    g.add((catalog, DCTERMS.title, Literal(platform.title_en, lang="en")))
    g.add((catalog, FOAF.homepage, URIRef(site)))
    g.add((catalog, DCTERMS.language, Literal("zh_Hans_CN")))
    for pkg in packages:
        g.add((catalog, DCAT.dataset, _add_dataset(g, pkg, site)))
    if paging:
        page = URIRef(paging["current"])
        g.add((page, RDF.type, HYDRA.PagedCollection))
        names = {
            "next": (HYDRA.nextPage, HYDRA.next),
            "previous": (HYDRA.previousPage, HYDRA.previous),
            "first": (HYDRA.firstPage, HYDRA.first),
            "last": (HYDRA.lastPage, HYDRA.last),
            "count": (HYDRA.totalItems,),
            "items_per_page": (HYDRA.itemsPerPage,),
        }
        for key, predicates in names.items():
            if paging.get(key):
                for predicate in predicates:
                    g.add((page, predicate, Literal(paging[key])))
    return g


def _add_dataset(g: Graph, pkg: Mapping[str, Any], site: str) -> URIRef:
    extras = {e["key"]: e["value"] for e in pkg.get("extras") or () if e.get("value")}
    ds = URIRef(f"{site}/dataset/{pkg['id']}")
    g.add((ds, RDF.type, DCAT.Dataset))
    if "identifier" in extras:
        g.add((ds, DCTERMS.identifier, Literal(extras["identifier"])))
    g.add((ds, DCTERMS.title, Literal(pkg["title"], lang="zh")))
    if "title_en" in extras:
        g.add((ds, DCTERMS.title, Literal(extras["title_en"], lang="en")))
    if pkg.get("notes"):
        g.add((ds, DCTERMS.description, Literal(pkg["notes"], lang="zh")))
    for tag in pkg.get("tags") or ():
        name = tag["display_name"]
        g.add((ds, DCAT.keyword, Literal(name, lang="en" if name.isascii() else "zh")))
    for group in pkg.get("groups") or ():
        code = EU_THEME_OF_GROUP.get(group["name"])
        theme = f"{EU}data-theme/{code}" if code else f"{site}/group/{group['name']}"
        g.add((ds, DCAT.theme, URIRef(theme)))
    org = pkg.get("organization")
    if org:
        publisher = URIRef(f"{site}/organization/{org['name']}")
        g.add((ds, DCTERMS.publisher, publisher))
        g.add((publisher, RDF.type, FOAF.Organization))
        g.add((publisher, FOAF.name, Literal(org["title"], lang="zh")))
        if org.get("code"):
            g.add((publisher, DCTERMS.identifier, Literal(org["code"])))
    for key, predicate in (
        ("metadata_created", DCTERMS.issued),
        ("metadata_modified", DCTERMS.modified),
    ):
        g.add((ds, predicate, Literal(pkg[key], datatype=XSD.dateTime)))
    frequency = vocab.parse_update_frequency(extras.get("update_cycle"))
    if frequency is not None:
        g.add((ds, DCTERMS.accrualPeriodicity, URIRef(f"{EU}frequency/{frequency.value}")))
    open_type = vocab.parse_open_type(extras.get("open_type"))
    if open_type is not None:
        right = URIRef(f"{EU}access-right/{EU_ACCESS_RIGHTS[open_type]}")
        g.add((ds, DCTERMS.accessRights, right))
    for key, predicate in (
        ("share_type", CGW.shareType),
        ("sensitivity", CGW.sensitivity),
        ("share_condition", CGW.shareCondition),
        ("resource_code", CGW.resourceCode),
        ("resource_class", CGW.resourceClass),
        ("format_class", CGW.formatClass),
        ("share_method", CGW.shareMethod),
        ("open_condition", CGW.openCondition),
        ("not_shared_basis", CGW.notSharedBasis),
        ("grade", CGW.grade),
    ):
        if key in extras:
            g.add((ds, predicate, Literal(extras[key])))
    if "related_resources" in extras:
        g.add((ds, CGW.relatedResource, Literal(extras["related_resources"])))
    g.add((ds, DCAT.landingPage, URIRef(f"{site}/dataset/{pkg['name']}")))
    if pkg.get("maintainer") or pkg.get("maintainer_email") or "contact_phone" in extras:
        card = BNode()
        g.add((ds, DCAT.contactPoint, card))
        g.add((card, RDF.type, VCARD.Organization))
        if pkg.get("maintainer"):
            g.add((card, VCARD.fn, Literal(pkg["maintainer"])))
        if pkg.get("maintainer_email"):
            g.add((card, VCARD.hasEmail, URIRef(f"mailto:{pkg['maintainer_email']}")))
        if "contact_phone" in extras:
            g.add((card, VCARD.hasTelephone, URIRef(f"tel:{extras['contact_phone']}")))
    if "spatial" in extras:
        place = BNode()
        g.add((ds, DCTERMS.spatial, place))
        g.add((place, RDF.type, DCTERMS.Location))
        g.add((place, SKOS.prefLabel, Literal(extras["spatial"], lang="zh")))
    if "temporal" in extras and "/" in extras["temporal"]:
        start, end = extras["temporal"].split("/", 1)
        period = BNode()
        g.add((ds, DCTERMS.temporal, period))
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        g.add((period, DCAT.startDate, Literal(start, datatype=XSD.date)))
        g.add((period, DCAT.endDate, Literal(end, datatype=XSD.date)))
    for res in pkg.get("resources") or ():
        _add_distribution(g, ds, pkg, res, site)
    return ds


def _add_distribution(
    g: Graph, ds: URIRef, pkg: Mapping[str, Any], res: Mapping[str, Any], site: str
) -> None:
    dist = URIRef(f"{site}/dataset/{pkg['id']}/resource/{res['id']}")
    g.add((ds, DCAT.distribution, dist))
    g.add((dist, RDF.type, DCAT.Distribution))
    if res.get("name"):
        g.add((dist, DCTERMS.title, Literal(res["name"])))
    fmt = (res.get("format") or "").upper()
    if fmt in EU_FILE_TYPES:
        g.add((dist, DCTERMS["format"], URIRef(f"{EU}file-type/{fmt}")))
    elif fmt:
        g.add((dist, DCTERMS["format"], Literal(res["format"])))
    if res.get("mimetype"):
        g.add((dist, DCAT.mediaType, URIRef(IANA + res["mimetype"])))
    url = res["url"].replace("{base}", site)
    g.add((dist, DCAT.accessURL, URIRef(url)))
    if res.get("url_type") == "upload":
        g.add((dist, DCAT.downloadURL, URIRef(url)))
    if isinstance(res.get("size"), int):
        g.add((dist, DCAT.byteSize, Literal(res["size"], datatype=XSD.decimal)))
    if pkg.get("license_url"):
        g.add((dist, DCTERMS.license, URIRef(pkg["license_url"])))


class DcatSimulator(SimulatedPlatform):
    """One simulated DCAT-AP catalogue serving ``platform``; ``app`` is its Starlette app."""

    def __init__(
        self,
        platform: PlatformCatalogue,
        fault: Fault | None = None,
        *,
        stats: SimStats | None = None,
        page_size: int = DATASETS_PER_PAGE,
        base_url: str | None = None,
    ) -> None:
        super().__init__(platform, fault, stats)
        self.page_size = page_size
        self.base_url = base_url.rstrip("/") if base_url else None
        self.packages = sorted(
            (p for p in platform.packages if p.get("state") == "active" and not p.get("private")),
            key=lambda p: (p["metadata_modified"], p["id"]),
            reverse=True,
        )
        newest = max((p["metadata_modified"] for p in self.packages), default=None)
        self.last_modified = (
            datetime.fromisoformat(newest).replace(tzinfo=UTC, microsecond=0)
            if newest
            else datetime(2019, 1, 1, tzinfo=UTC)
        )
        self._documents: dict[tuple[str, str, int], bytes] = {}
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/catalog", self.catalog, methods=["GET", "HEAD"]),
                Route("/catalog.{ext}", self.catalog, methods=["GET", "HEAD"]),
                *self.faults.admin_routes(),
            ]
        )

    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.packages) / self.page_size))

    # -- the catalogue endpoint ---------------------------------------------------------

    async def catalog(self, request: Request) -> Response:
        ext = request.path_params.get("ext")
        params = dict(request.query_params)
        self.stats.record(
            "catalog", {"format": ext or "", **params, **_conditional_headers(request)}
        )
        fault_response = await self._apply_fault(request, ext)
        if fault_response is not None:
            return fault_response
        if ext is None:
            ext = _negotiate(request.headers.get("accept", ""))
            if ext is None:
                return Response(_home_page(self.platform), media_type="text/html; charset=utf-8")
        elif ext not in FORMATS:
            return _html_error(404, "Not Found", "Page not found")
        raw_page = params.get("page") or "1"
        try:
            page = int(raw_page)
        except ValueError:
            page = 0
        if page < 1:
            return _html_error(409, "Conflict", PAGE_ERROR)
        base = self.base_url or str(request.base_url).rstrip("/")
        # Serializing a page takes rdflib a few hundred ms: off the loop, once per page.
        document = await asyncio.to_thread(self.document, ext, request.url.path, page)
        body = document.replace(PLACEHOLDER.encode(), base.encode())
        headers = {
            "ETag": '"' + hashlib.sha1(body).hexdigest() + '"',
            "Last-Modified": format_datetime(self.last_modified, usegmt=True),
            "Vary": "Accept",
        }
        if _not_modified(request, headers["ETag"], self.last_modified):
            return Response(status_code=304, headers=headers)
        content_type = FORMATS[ext][1] + "; charset=utf-8"
        return Response(body, headers=headers, media_type=content_type)

    def document(self, ext: str, path: str, page: int) -> bytes:
        """Page ``page`` of the catalogue in format ``ext``, with ``PLACEHOLDER`` as site."""
        key = (ext, path, page)
        with self._lock:
            cached = self._documents.get(key)
        if cached is not None:
            return cached
        start = (page - 1) * self.page_size
        chunk = self.packages[start : start + self.page_size]
        graph = catalogue_graph(
            self.platform, chunk, site=PLACEHOLDER, paging=self._paging(path, page, len(chunk))
        )
        body = graph.serialize(format=FORMATS[ext][0], encoding="utf-8")
        with self._lock:
            self._documents[key] = body
        return body

    def _paging(self, path: str, page: int, on_page: int) -> dict[str, Any]:
        """ckanext-dcat's ``_pagination_info``: URLs of the current, first, last, next and
        previous pages (empty when the catalogue is)."""
        count = len(self.packages)
        if count == 0:
            return {}

        def url(n: int) -> str:
            return f"{PLACEHOLDER}{path}?page={n}"

        last = self.pages
        info: dict[str, Any] = {
            "count": count,
            "items_per_page": self.page_size,
            "current": url(page),
            "first": url(1),
            "last": url(last),
        }
        if page > 1:
            previous = page - 1 if (page - 1) * self.page_size + on_page <= count else last
            info["previous"] = url(previous)
        if page * self.page_size < count:
            info["next"] = url(page + 1)
        return info

    # -- faults -------------------------------------------------------------------------

    async def _apply_fault(self, request: Request, ext: str | None) -> Response | None:
        fmt = ext if ext is not None and ext in FORMATS else "ttl"

        def garbage() -> Response:
            return Response(_GARBAGE[FORMATS[fmt][1]], media_type=FORMATS[fmt][1])

        async def huge() -> HugeBody:
            page = await asyncio.to_thread(self.document, fmt, request.url.path, 1)
            return _huge_body(page, *FORMATS[fmt])

        return await self.faults.failure(request, garbage=garbage, huge=huge)


# -- HTTP helpers -------------------------------------------------------------------------

_GARBAGE: Mapping[str, bytes] = {
    "text/turtle": (
        "@prefix dcat: <http://www.w3.org/ns/dcat#> .\n@prefix dct: <http://purl.org/dc/terms/> .\n"
        '<http://dcat-sim.invalid/dataset/5e1f9c> a dcat:Dataset ;\n  dct:title "河西市公交'
        "<!-- upstream connection reset -->\x1f\u951f\u65a4\u62f7"
    ).encode(),
    "application/ld+json": (
        '{"@context": {"dcat": "http://www.w3.org/ns/dcat#"}, "@graph": [{"@id": "http://'
        "<!-- upstream connection reset -->\x1f\u951f\u65a4\u62f7"
    ).encode(),
    "application/rdf+xml": (
        '<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
        '02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#">\n<dcat:Dataset rdf:'
        "<!-- upstream connection reset -->\x1f\u951f\u65a4\u62f7"
    ).encode(),
}
_GARBAGE = {**_GARBAGE, "text/n3": _GARBAGE["text/turtle"]}


def _huge_body(page: bytes, syntax: str, media_type: str) -> HugeBody:
    """A valid RDF document of any size: page 1's content, repeated (duplicate triples are
    allowed; the graph stays the same)."""
    if syntax == "json-ld":  # rdflib writes an expanded document: one top-level array
        start, end = page.index(b"["), page.rindex(b"]")
        return HugeBody(b"[", page[start + 1 : end], b"]", media_type, sep=b",")
    if syntax == "pretty-xml":
        open_end = page.index(b">", page.index(b"<rdf:RDF")) + 1
        close = page.rindex(b"</rdf:RDF>")
        return HugeBody(page[:open_end], page[open_end:close], page[close:], media_type, sep=b"")
    # Turtle and N3 documents may simply be concatenated
    return HugeBody(b"", page, b"", media_type, sep=b"\n")


def _negotiate(accept: str) -> str | None:
    """The served format the ``Accept`` header prefers (``None``: the HTML site), as
    ckanext-dcat's ``parse_accept_header``: ``text/html`` or ``*/*`` first means HTML."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept.split(",")):
        kind, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if kind:
            ranked.append((-q, position, kind.lower()))
    for neg_q, _, kind in sorted(ranked):
        if neg_q == 0:
            break
        if kind == "text/html":
            return None
        if kind in _ACCEPT:
            return _ACCEPT[kind]
        if kind.endswith("/*"):
            family = kind[:-2]
            match = next(
                (ext for media, ext in _ACCEPT.items() if media.startswith(family + "/")), None
            )
            if match:
                return match
    return None


def _conditional_headers(request: Request) -> dict[str, str]:
    return {
        name: value
        for name in ("if-none-match", "if-modified-since")
        if (value := request.headers.get(name))
    }


def _not_modified(request: Request, etag: str, last_modified: datetime) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return etag in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return last_modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _html_error(code: int, reason: str, text: str) -> Response:
    return Response(
        ERROR_PAGE.format(code=code, reason=reason, text=text),
        code,
        media_type="text/html; charset=utf-8",
    )


def _home_page(platform: PlatformCatalogue) -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{platform.title}'
        '</title><link rel="alternate" type="text/turtle" href="/catalog.ttl">'
        '<link rel="alternate" type="application/ld+json" href="/catalog.jsonld">'
        '<link rel="alternate" type="application/rdf+xml" href="/catalog.rdf"></head>'
        f"<body><h1>{platform.title}</h1><p>{platform.title_en}</p></body></html>"
    )
