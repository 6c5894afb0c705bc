"""DCAT-AP connector: a catalogue published as one RDF document (or hydra pages of one).

DCAT-AP 2/3 catalogues (the EU data portal, ckanext-dcat's ``/catalog.{ttl,jsonld,rdf}``,
national portals) publish their datasets as Turtle, JSON-LD or RDF/XML, paged with the
Hydra vocabulary (``hydra:PagedCollection`` + ``hydra:nextPage``/``hydra:next``, as
ckanext-dcat's ``_add_pagination_triples`` writes them, with the page URLs as literals).
The connector loads the whole catalogue, follows the pages to the end and answers
searches from a local index (``StaticCatalogueConnector``), refreshed on a TTL.

RDF is parsed by rdflib, never by hand. Mapping (DCAT-AP → canonical):

=====================================  ===============================================
``dcat:Dataset``                       a ``Dataset``; ``local_id`` = ``dct:identifier``,
                                       else the dataset's URI (blank nodes without an
                                       identifier are skipped)
``dct:title`` / ``dct:description``    language preference ``languages`` (zh, en), then
                                       no language tag, then any other; no title: skipped
``dcat:keyword``                       keywords; ``dcat:theme`` EU data-theme URIs → a
                                       readable id (``TRAN`` → ``transport``), other
                                       URIs → their last path segment
``dct:publisher``                      department: ``foaf:name``; id = slug of
                                       ``skos:notation``, else of the URI's last segment
``dct:issued`` / ``dct:modified``      ``xsd:date`` or ``xsd:dateTime`` (naive = UTC)
``dct:accrualPeriodicity``             EU frequency URIs (or 每月, monthly...)
``dct:accessRights``                   EU access-right PUBLIC / RESTRICTED / NON_PUBLIC
                                       → open type (or a ``rdfs:label`` of a statement)
share type, condition, sensitivity     ``predicates`` option, by default
                                       ``cgw:shareType`` / ``cgw:shareCondition`` /
                                       ``cgw:sensitivity`` in ``CGW``; values as
                                       literals (无条件共享, L2...) or URIs ending so
``dcat:contactPoint``                  ``vcard:fn``, ``vcard:hasEmail`` (``mailto:``),
                                       ``vcard:hasTelephone`` (``tel:``)
``dcat:distribution``                  ``dct:title``, ``dct:format`` (EU file-type URIs
                                       → ``CSV``), ``dcat:mediaType`` (IANA URIs →
                                       ``text/csv``), ``dcat:accessURL``,
                                       ``dcat:downloadURL``, ``dcat:byteSize``
``dct:spatial`` / ``dct:temporal``     a label or the URI / ``dcat:startDate``,
                                       ``dcat:endDate`` (``schema:`` in DCAT-AP 1)
``dct:license`` / ``dcat:landingPage``  the URI (a blank node's label); without a
                                       dataset licence, the first distribution's
=====================================  ===============================================

Records that state no share/open/sensitivity class get ``settings.defaults``. Where a
property has several values, the choice is stable (sorted), so the three serializations
of one graph map to equal datasets.

Paging: every page is fetched with a conditional GET (304 keeps its parsed datasets); a
``hydra:next`` that loops back stops the walk with a warning, ``max_pages`` bounds it, and
a next page on another host (or not http(s)) is refused unless ``follow_other_hosts``.
A page that does not parse fails the whole load (``FatalError``): the previous copy keeps
serving, never a partial catalogue.

JSON-LD documents that reference a remote ``@context`` by URL are refused unless the
``jsonld_contexts`` option supplies that context: the gateway never fetches documents a
catalogue names (no network access from parsing, no SSRF through a context URL).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from connectors._dcat_document import media_type_for_path, next_page_of, parse_graph
from connectors._dcat_rdf import CGW, DcatMapper
from connectors.sdk import FatalError, SourceSettings
from connectors.sdk._static import (
    StaticCatalogueConnector,
    StaticCatalogueOptions,
    document_url,
)
from schema.model import Dataset

__all__ = [
    "CGW",
    "DcatConnector",
    "DcatOptions",
    "DcatPredicates",
    "next_page",
    "parse_dcat_document",
]

log = logging.getLogger(__name__)

# What to ask for when the configuration does not say which syntax the catalogue uses.
_ACCEPT_ANY_RDF = "text/turtle, application/ld+json;q=0.9, application/rdf+xml;q=0.8"
# Paths that name an RDF document, used as they are when no catalogue_path is set.
RDF_DOCUMENT_SUFFIXES = (".ttl", ".n3", ".nt", ".jsonld", ".json", ".rdf", ".xml", ".owl")


class DcatPredicates(BaseModel):
    """Predicates (full URIs) holding the classes DCAT-AP has no property for.

    The first one a dataset states wins::

        options: {predicates: {share_type: ["http://data.example.gov.cn/ns#gxlx"]}}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    share_type: tuple[str, ...] = (str(CGW.shareType),)
    share_condition: tuple[str, ...] = (str(CGW.shareCondition),)
    sensitivity: tuple[str, ...] = (str(CGW.sensitivity),)
    # Tried after dct:accessRights, for catalogues that state the open class another way.
    open_type: tuple[str, ...] = (str(CGW.openType),)


class DcatOptions(StaticCatalogueOptions):
    """``options`` of a ``connector: dcat`` source.

    >>> DcatOptions(catalogue_path="/catalog.jsonld", languages=("zh", "en"))

    ``catalogue_path`` is joined to the source ``url``; ``""`` means ``url`` is the
    catalogue document itself, as does leaving it unset with a ``url`` that names an
    RDF document (``.ttl``, ``.jsonld``, ``.rdf``...) or has a query. ``media_type``
    overrides what the path's extension (or, failing that, the body) says the syntax is.
    ``max_pages`` bounds hydra paging; ``follow_other_hosts`` lets ``hydra:next`` leave
    the catalogue's host.
    ``jsonld_contexts`` maps a remote ``@context`` URL to the context object to use.
    ``refresh_seconds`` (from ``StaticCatalogueOptions``): how old the loaded copy may
    get before it is revalidated, page by page, with conditional GETs.
    """

    catalogue_path: str = "/catalog.ttl"
    media_type: str | None = None
    languages: tuple[str, ...] = ("zh", "en")
    predicates: DcatPredicates = Field(default_factory=DcatPredicates)
    max_pages: int = Field(1000, ge=1)
    follow_other_hosts: bool = False
    jsonld_contexts: dict[str, dict[str, Any]] = Field(default_factory=dict)


# -- the connector ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Page:
    datasets: list[Dataset]
    next_url: str | None


class DcatConnector(StaticCatalogueConnector):
    """A DCAT-AP catalogue (Turtle, JSON-LD or RDF/XML), hydra pages followed to the end.

    Searches, lookups and facets are answered from the loaded copy (``LocalIndex``).
    Each page is revalidated with a conditional GET; pages answering 304 keep their
    parsed datasets, and a catalogue whose pages are all unchanged keeps its index.
    """

    name = "dcat"
    options_model = DcatOptions

    def __init__(self, settings: SourceSettings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        self.options = self.options_as(DcatOptions)
        self._mapper = _mapper(settings, self.options)
        self._pages: dict[str, _Page] = {}

    @property
    def catalogue_url(self) -> str:
        """The catalogue document: ``url`` itself when it already names an RDF document
        (``http://host/catalog.ttl``, or a URL with a query) and no ``catalogue_path`` is
        set, else ``url`` joined with ``catalogue_path`` (``url`` when that is empty)."""
        path = self.options.catalogue_path
        url = self.settings.url
        if not path:
            return url
        if "catalogue_path" in self.options.model_fields_set:
            return url.rstrip("/") + "/" + path.lstrip("/")
        return document_url(url, path, RDF_DOCUMENT_SUFFIXES)

    async def load(self) -> list[Dataset] | None:
        url = self.catalogue_url
        media_type = self.options.media_type or media_type_for_path(url) or ""
        pages: dict[str, _Page] = {}
        changed = False
        for _ in range(self.options.max_pages):
            body = await self.fetch_document(url, accept=media_type or _ACCEPT_ANY_RDF)
            if body is None:
                page = self._pages.get(url)
                if page is None:  # the base only answers "unchanged" for what we loaded
                    raise FatalError(
                        f"{url} was reported unchanged but was never loaded",
                        source_id=self.source_id,
                    )
            else:
                changed = True
                page = await asyncio.to_thread(self._parse_page, body, media_type, url)
            pages[url] = page
            if page.next_url is None:
                break
            if page.next_url in pages:
                log.warning(
                    "source %s: hydra paging loops back to %s; stopped after %d pages",
                    self.source_id,
                    page.next_url,
                    len(pages),
                )
                break
            url = self._checked_next(page.next_url)
        else:
            log.warning(
                "source %s: stopped after max_pages=%d pages; the catalogue has more",
                self.source_id,
                self.options.max_pages,
            )
        if not changed:
            return None
        self._pages = pages
        return [dataset for page in pages.values() for dataset in page.datasets]

    def _parse_page(self, body: bytes, media_type: str, url: str) -> _Page:
        graph = parse_graph(
            body,
            media_type,
            source_id=self.source_id,
            base=url,
            contexts=self.options.jsonld_contexts,
        )
        return _Page(self._mapper.datasets(graph), next_page_of(graph, base=url))

    def _checked_next(self, url: str) -> str:
        """``url`` if the connector may follow it: http(s), on the catalogue's host unless
        ``follow_other_hosts`` (a page must not send the gateway anywhere it likes)."""
        target, home = urlsplit(url), urlsplit(self.catalogue_url)
        if target.scheme not in ("http", "https"):
            raise FatalError(
                f"hydra next page {url!r} is not an http(s) URL", source_id=self.source_id
            )
        if not self.options.follow_other_hosts and target.netloc != home.netloc:
            raise FatalError(
                f"hydra next page {url!r} leaves the catalogue's host {home.netloc!r} "
                "(set follow_other_hosts to allow it)",
                source_id=self.source_id,
            )
        return url


# -- public functions ---------------------------------------------------------------------


def parse_dcat_document(
    data: bytes,
    media_type: str,
    *,
    settings: SourceSettings,
    base: str | None = None,
    options: DcatOptions | None = None,
) -> list[Dataset]:
    """The datasets of one DCAT(-AP) document (one page of a catalogue).

    ``media_type`` is the document's content type (``text/turtle``,
    ``application/ld+json``, ``application/rdf+xml``...; ``text/plain`` or ``""`` to
    sniff). ``base`` resolves relative IRIs (default: ``settings.url``). Options come
    from ``options``, else ``settings.options`` when it is a ``DcatOptions``, else the
    defaults. Raises ``FatalError`` naming the problem when the document is not
    parseable RDF; a dataset that cannot be mapped is skipped with a warning::

        datasets = parse_dcat_document(body, "text/turtle", settings=settings)
    """
    opts = options or _options(settings)
    graph = parse_graph(
        data,
        media_type,
        source_id=settings.id,
        base=base or settings.url,
        contexts=opts.jsonld_contexts,
    )
    return _mapper(settings, opts).datasets(graph)


def next_page(data: bytes, media_type: str, *, base: str | None = None) -> str | None:
    """The URL of the next hydra page of this document, or ``None`` on the last page.

    Reads ``hydra:next`` (Hydra Core), then the deprecated ``hydra:nextPage`` that
    ckanext-dcat and the EU data portal still write, on a ``hydra:PagedCollection`` or
    ``hydra:PartialCollectionView``. Relative URLs are resolved against ``base``.
    """
    return next_page_of(parse_graph(data, media_type, source_id=None, base=base), base=base)


def _mapper(settings: SourceSettings, options: DcatOptions) -> DcatMapper:
    preds = options.predicates
    return DcatMapper(
        settings,
        languages=options.languages,
        share_type=preds.share_type,
        share_condition=preds.share_condition,
        sensitivity=preds.sensitivity,
        open_type=preds.open_type,
    )


def _options(settings: SourceSettings) -> DcatOptions:
    opts = settings.options
    return opts if isinstance(opts, DcatOptions) else DcatOptions()
