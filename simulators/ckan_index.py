"""The search index of a simulated CKAN platform: ``package_search`` without Solr.

``platform_index()`` precomputes, once per ``PlatformCatalogue``, the serialized records,
the Solr-style index fields ``fq`` filters match against, weighted free-text parts and
sort keys; ``PlatformIndex.search`` and ``PlatformIndex.facets`` cache their results
per query, and a query's clauses are evaluated to sets of positions that are kept
(``DocSets``), so a new query pays only for the clauses no earlier one had.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Set as AbstractSet
from typing import Any, Generic, TypeVar

from simulators.catalogue import PlatformCatalogue
from simulators.solr_fq import DocSets, FqSyntaxError, Node, index_fields, parse_fq

__all__ = ["SORT_FIELDS", "PlatformIndex", "SortSpec", "parse_sort", "platform_index"]

_FIELDED = re.compile(r"(?:^|[\s(+\-!])[A-Za-z_][\w.\-]*:")
_TERM = re.compile(r'"([^"]*)"|(\S+)')
SORT_FIELDS = frozenset(
    {"score", "metadata_modified", "metadata_created", "title_string", "name", "id"}
)
# Weights of a free-text term found in each part (CKAN's qf boosts name and title).
WEIGHTS = (
    ("title", 10),
    ("title_en", 6),
    ("name", 4),
    ("tags", 4),
    ("org", 2),
    ("groups", 2),
    ("notes", 1),
)
SortSpec = tuple[tuple[str, bool], ...]  # (field, descending)
V = TypeVar("V")


class _Lru(Generic[V]):
    """A small LRU map; locked because one index may serve apps in several threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> V | None:
        with self._lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: Any, value: V) -> None:
        with self._lock:
            self.items[key] = value
            if len(self.items) > self.size:
                self.items.popitem(last=False)


def parse_sort(text: str) -> SortSpec:
    """``"score desc, name asc"`` -> ``(("score", True), ("name", False))``."""
    spec = []
    for clause in text.split(","):
        parts = clause.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1].lower() not in ("asc", "desc"):
            raise FqSyntaxError(
                f"Can't determine a Sort Order (asc or desc) in sort spec '{clause.strip()}'"
            )
        if parts[0] not in SORT_FIELDS:
            raise FqSyntaxError(f"sort param field can't be found: {parts[0]}")
        spec.append((parts[0], parts[1].lower() == "desc"))
    return tuple(spec)


class PlatformIndex:
    """Everything a search needs, computed once per platform; results cached per query."""

    def __init__(self, platform: PlatformCatalogue) -> None:
        self.platform = platform
        self.packages = platform.packages
        self.json = [
            json.dumps(p, ensure_ascii=False, separators=(",", ":")) for p in self.packages
        ]
        self.docs = [index_fields(p) for p in self.packages]
        self.by_key: dict[str, int] = {}
        for i, p in enumerate(self.packages):
            self.by_key[p["name"]] = i
            self.by_key[p["id"]] = i
        self.parts: list[dict[str, str]] = []
        for p, doc in zip(self.packages, self.docs, strict=True):
            org = p.get("organization") or {}
            self.parts.append(
                {
                    "title": (p.get("title") or "").lower(),
                    "title_en": " ".join(doc.get("extras_title_en", [])).lower(),
                    "name": p["name"].lower(),
                    "tags": "\x1f".join(doc["tags"]).lower(),
                    "org": (org.get("title") or "").lower(),
                    "groups": "\x1f".join(g["title"] for g in p.get("groups") or []).lower(),
                    "notes": (p.get("notes") or "").lower(),
                }
            )
        self.all_text = ["\x1f".join(parts.values()) for parts in self.parts]
        self.sort_keys: dict[str, list[str]] = {
            "metadata_modified": [d["metadata_modified"][0] for d in self.docs],
            "metadata_created": [d["metadata_created"][0] for d in self.docs],
            "title_string": [p.get("title") or "" for p in self.packages],
            "name": [p["name"] for p in self.packages],
            "id": [p["id"] for p in self.packages],
        }
        self.display: dict[str, dict[str, str]] = {
            "organization": {o["name"]: o["title"] or o["name"] for o in platform.organizations},
            "groups": {g["name"]: g["title"] or g["name"] for g in platform.groups},
        }
        self.sets = DocSets(self.docs)
        self._terms: _Lru[dict[int, int]] = _Lru(1024)
        self._results: _Lru[list[int]] = _Lru(512)
        self._facets: _Lru[tuple[dict[str, dict[str, int]], dict[str, Any]]] = _Lru(512)
        self.package_counts: dict[tuple[str, str], int] = Counter()
        for doc in self.docs:
            for org_name in doc["organization"]:
                self.package_counts["organization", org_name] += 1
            for group_name in doc["groups"]:
                self.package_counts["groups", group_name] += 1

    def search(self, q: str, filters: tuple[str, ...], sort: SortSpec) -> list[int]:
        """Matching package positions in result order (deterministic, ties by name, id)."""
        key = (q, filters, sort)
        cached = self._results.get(key)
        if cached is not None:
            return cached
        nodes = [parse_fq(f) for f in filters if f.strip()]
        scores = self._match(q, nodes)
        order = sorted(scores, key=lambda i: (self.sort_keys["name"][i], self.sort_keys["id"][i]))
        for field_name, descending in reversed(sort):
            keys: Any = scores if field_name == "score" else self.sort_keys[field_name]
            order.sort(key=keys.__getitem__, reverse=descending)
        if "NOW" not in q and not any("NOW" in f for f in filters):
            self._results.put(key, order)
        return order

    def _match(self, q: str, nodes: list[Node]) -> dict[int, float]:
        if q and q != "*:*" and _FIELDED.search(q):
            nodes = [*nodes, parse_fq(q, default_field="text")]
            q = ""
        terms = [
            (m.group(1) if m.group(1) is not None else m.group(2)).lower()
            for m in _TERM.finditer("" if q == "*:*" else q)
        ]
        weighted = [self._containing(t) for t in terms if t]
        selected: AbstractSet[int] = self.sets.all
        for counts in weighted:
            selected = selected & counts.keys()
        for node in nodes:
            selected = selected & self.sets.select(node)
        return {i: float(sum(counts[i] for counts in weighted)) for i in sorted(selected)}

    def _containing(self, term: str) -> dict[int, int]:
        """Positions whose searchable text contains ``term``, each with its weighted count
        of it in the parts (kept, like a clause's set)."""
        found = self._terms.get(term)
        if found is None:
            found = {
                i: sum(weight * parts[name].count(term) for name, weight in WEIGHTS)
                for i, (text, parts) in enumerate(zip(self.all_text, self.parts, strict=True))
                if term in text
            }
            self._terms.put(term, found)
        return found

    def facets(
        self, matched: list[int], fields: list[str], limit: int, cache_key: Any = None
    ) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
        """Solr-style facet counts (count desc, then value) over ``matched``."""
        key = (cache_key, tuple(fields), limit)
        cached = self._facets.get(key) if cache_key is not None else None
        if cached is not None:
            return cached
        facets: dict[str, dict[str, int]] = {}
        search_facets: dict[str, Any] = {}
        for name in fields:
            counts: Counter[str] = Counter()
            for i in matched:
                counts.update(set(self.docs[i].get(name, ())))
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if limit >= 0:
                ranked = ranked[:limit]
            facets[name] = dict(ranked)
            display = self.display.get(name, {})
            search_facets[name] = {
                "title": name,
                "items": [
                    {"count": c, "display_name": display.get(v, v), "name": v} for v, c in ranked
                ],
            }
        if cache_key is not None:
            self._facets.put(key, (facets, search_facets))
        return facets, search_facets


@functools.lru_cache(maxsize=16)
def platform_index(platform: PlatformCatalogue) -> PlatformIndex:
    """The (cached) index of ``platform``; built once, shared by every app serving it."""
    return PlatformIndex(platform)
