"""A DCAT dataset's title, description and keywords in each language its literals carry.

``dct:title "公交线路"@zh, "Bus routes"@en``: the connector serves one title (its
``languages`` preference) and keeps the others as ``Translation``s, which clients ask for
with ``lang`` or ``Accept-Language`` (``schema.lang``).
"""

from __future__ import annotations

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS
from rdflib.term import Node

from schema.model import Translation


def title_language(g: Graph, node: Node, title: str) -> str | None:
    """The language tag of the title chosen (``None`` when it has none)."""
    for literal in g.objects(node, DCTERMS.title):
        if isinstance(literal, Literal) and str(literal).strip() == title:
            return literal.language or None
    return None


def translations(g: Graph, node: Node, title: str) -> tuple[Translation, ...]:
    """Title, description and keywords in every other tagged language (other than the
    chosen title's: ``zh`` keywords beside a ``zh-CN`` title are the original's)."""
    chosen = title_language(g, node, title)
    by_lang: dict[str, dict[URIRef, list[str]]] = {}
    for predicate in (DCTERMS.title, DCTERMS.description, DCAT.keyword):
        for literal in g.objects(node, predicate):
            if isinstance(literal, Literal) and literal.language and str(literal).strip():
                texts = by_lang.setdefault(literal.language, {})
                texts.setdefault(predicate, []).append(str(literal).strip())
    return tuple(
        Translation(
            lang,
            title=min(texts.get(DCTERMS.title, ()), default=None),
            description=min(texts.get(DCTERMS.description, ()), default=None),
            keywords=tuple(dict.fromkeys(sorted(texts.get(DCAT.keyword, ())))),
        )
        for lang, texts in sorted(by_lang.items())
        if chosen is None or _primary(lang) != _primary(chosen)
    )


def _primary(tag: str) -> str:
    return tag.split("-", 1)[0].lower()
