"""Search over a whole catalogue held in memory, for platforms that cannot search.

A ``data.json`` file, a DCAT dump or a local file lists every dataset at once and answers
no queries. ``LocalIndex`` answers them instead, exactly: free text (Chinese included),
every ``DatasetFilter``, the caller's visibility (``SearchQuery.any_of``), the four sorts,
paging and facets, with exact totals.

Free text: Chinese has no spaces between words, so runs of CJK characters are indexed as
overlapping character bigrams (公交线路 -> 公交, 交线, 线路) and Latin text as lower-cased
words with plural endings removed (Harman's S-stemmer: routes -> route). A query term
matches a record when all of its grams occur in it; all terms must match. Records are
ranked by BM25 over title (weight 3), keywords (2), themes, department name and
description (1 each).
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import add
from typing import TypeVar

from cachetools import LRUCache

from connectors.sdk._contract import DatasetFilter, FacetName, SearchPage, SearchQuery, Sort
from schema.ids import encode_id
from schema.model import Dataset, Department, OpenType, Sensitivity, ShareType

__all__ = ["LocalIndex"]

K = TypeVar("K")

# Hiragana/katakana, CJK extension A, unified ideographs, compatibility ideographs, Hangul
# syllables and the supplementary ideograph planes: scripts written without spaces.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f"
_TOKEN = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")
_CJK_START = re.compile(f"[{_CJK}]")

_TITLE_WEIGHT = 3
_KEYWORD_WEIGHT = 2
# BM25's usual constants: term-frequency saturation and length normalisation.
_K1 = 1.2
_B = 0.75

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_DOCS: frozenset[int] = frozenset()

# A query term: groups of grams; a record matches when every group has one of its grams.
# A multi-character term has one gram per group; a single CJK character matches every
# indexed bigram that contains it.
_Term = tuple[tuple[str, ...], ...]


def _normalise(text: str) -> str:
    # NFKC folds full-width Latin letters and digits (ＧＰＳ, ２０２４) into ASCII.
    return unicodedata.normalize("NFKC", text).casefold()


def _stem(word: str) -> str:
    """Harman's S-stemmer on plain ASCII words: buses -> buse, routes -> route."""
    if len(word) < 4 or not word.endswith("s") or not (word.isascii() and word.isalpha()):
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith(("us", "ss")):
        return word
    return word[:-1]


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(_normalise(text))


def _grams(text: str | None) -> list[str]:
    """The indexed grams of ``text``: CJK bigrams (a lone character as itself), words."""
    if not text:
        return []
    out: list[str] = []
    for token in _tokens(text):
        if _CJK_START.match(token):
            if len(token) == 1:
                out.append(token)
            else:
                out.extend(map(add, token, token[1:]))
        else:
            out.append(_stem(token))
    return out


def _micros(value: datetime) -> int:
    """Exact microseconds since the epoch (naive datetimes are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICROSECOND


@dataclass(slots=True)
class _Result:
    """One query's matches in order (cached, so the next page is a slice)."""

    ordered: list[int]
    matched: frozenset[int] | None  # None: every record
    facets: dict[FacetName, dict[str, int]] = field(default_factory=dict)


class LocalIndex:
    """An immutable, in-memory index answering ``SearchQuery`` exactly.

    >>> index = LocalIndex(datasets)
    >>> only_csv = DatasetFilter(formats=("CSV",))
    >>> page = index.search(SearchQuery(text="公交", filter=only_csv, sort=Sort.TITLE_ASC))
    >>> page.total, page.applied, page.any_of_applied      # exact: every filter applied
    (42, frozenset({<FilterName.FORMATS: 'formats'>}), True)
    >>> index.get("bus-routes"), index.departments()

    Records with a ``local_id`` already seen are dropped (the first one wins), so ids stay
    unique and paging never repeats a record. Ties in every order break on ``local_id``.
    Build it off the event loop for large catalogues (``asyncio.to_thread``).
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        unique: dict[str, Dataset] = {}
        for dataset in datasets:
            unique.setdefault(dataset.local_id, dataset)
        self._datasets: tuple[Dataset, ...] = tuple(unique.values())
        self._by_id = {ds.local_id: n for n, ds in enumerate(self._datasets)}
        self._by_global_id = {
            encode_id("Dataset", ds.source_id, ds.local_id): n
            for n, ds in enumerate(self._datasets)
        }
        self._postings: defaultdict[str, dict[int, int]] = defaultdict(dict)
        self._lengths: list[int] = []
        self._single_chars: dict[str, tuple[str, ...]] = {}
        self._results: LRUCache[tuple[object, ...], _Result] = LRUCache(maxsize=256)
        self._filter_sets: LRUCache[DatasetFilter, frozenset[int] | None] = LRUCache(maxsize=256)
        self._build_text_index()
        self._build_filter_index()
        self._build_orders()

    # -- building ---------------------------------------------------------------------

    def _build_text_index(self) -> None:
        postings, lengths = self._postings, self._lengths
        for doc, ds in enumerate(self._datasets):
            # Integer field weights by repetition: Counter then counts in C.
            grams = _grams(ds.title) * _TITLE_WEIGHT
            grams += _grams(" ".join(ds.keywords)) * _KEYWORD_WEIGHT
            grams += _grams(" ".join(ds.themes))
            grams += _grams(ds.department.name if ds.department else None)
            grams += _grams(ds.description)
            lengths.append(len(grams))
            for gram, count in Counter(grams).items():
                postings[gram][doc] = count
        self._avg_length = (sum(lengths) / len(lengths)) if lengths else 0.0

    def _build_filter_index(self) -> None:
        departments: defaultdict[str, set[int]] = defaultdict(set)
        themes: defaultdict[str, set[int]] = defaultdict(set)
        keywords: defaultdict[str, set[int]] = defaultdict(set)
        formats: defaultdict[str, set[int]] = defaultdict(set)
        share: defaultdict[ShareType, set[int]] = defaultdict(set)
        open_: defaultdict[OpenType, set[int]] = defaultdict(set)
        sensitivity: defaultdict[Sensitivity, set[int]] = defaultdict(set)
        stamps: list[tuple[int, int]] = []
        publishers: dict[str, Department] = {}
        identifiers: defaultdict[str, set[int]] = defaultdict(set)
        for doc, ds in enumerate(self._datasets):
            if ds.identifier is not None:
                identifiers[ds.identifier].add(doc)
            if ds.department is not None:
                departments[ds.department.id].add(doc)
                publishers.setdefault(ds.department.id, ds.department)
            for theme in ds.themes:
                themes[theme].add(doc)
            for keyword in ds.keywords:
                keywords[keyword.casefold()].add(doc)
            for fmt in ds.formats:
                formats[fmt].add(doc)
            share[ds.share_type].add(doc)
            open_[ds.open_type].add(doc)
            sensitivity[ds.sensitivity].add(doc)
            if ds.modified is not None:
                stamps.append((_micros(ds.modified), doc))

        def freeze(sets: Mapping[str, set[int]]) -> dict[str, frozenset[int]]:
            return {value: frozenset(docs) for value, docs in sets.items()}

        self._departments, self._themes = freeze(departments), freeze(themes)
        self._keywords, self._formats = freeze(keywords), freeze(formats)
        self._identifiers = freeze(identifiers)
        self._share = {k: frozenset(v) for k, v in share.items()}
        self._open = {k: frozenset(v) for k, v in open_.items()}
        self._sensitivity = {k: frozenset(v) for k, v in sensitivity.items()}
        stamps.sort()
        self._stamps = [stamp for stamp, _ in stamps]
        self._stamped_docs = [doc for _, doc in stamps]
        self._department_list = [publishers[i] for i in sorted(publishers)]
        self._facet_docs: dict[FacetName, Mapping[str, frozenset[int]]] = {
            FacetName.DEPARTMENTS: self._departments,
            FacetName.THEMES: self._themes,
            FacetName.FORMATS: self._formats,
            FacetName.SHARE_TYPES: {k.value: v for k, v in self._share.items()},
            FacetName.OPEN_TYPES: {k.value: v for k, v in self._open.items()},
        }

    def _build_orders(self) -> None:
        datasets = self._datasets
        stamps = [_micros(ds.modified) if ds.modified else None for ds in datasets]

        def newest_first(doc: int) -> tuple[bool, int, str]:
            stamp = stamps[doc]
            return (stamp is None, -stamp if stamp is not None else 0, datasets[doc].local_id)

        def oldest_first(doc: int) -> tuple[bool, int, str]:
            stamp = stamps[doc]
            return (stamp is None, stamp if stamp is not None else 0, datasets[doc].local_id)

        docs = range(len(datasets))
        # Records without a date sort last either way, as the federation engine merges them.
        self._orders: dict[Sort, list[int]] = {
            Sort.MODIFIED_DESC: sorted(docs, key=newest_first),
            Sort.MODIFIED_ASC: sorted(docs, key=oldest_first),
            Sort.TITLE_ASC: sorted(docs, key=lambda d: (datasets[d].title, datasets[d].local_id)),
        }
        # Without search terms every score is equal: relevance falls back to newest first.
        self._orders[Sort.RELEVANCE] = self._orders[Sort.MODIFIED_DESC]
        self._ranks: dict[Sort, list[int]] = {}
        for sort, order in self._orders.items():
            rank = [0] * len(order)
            for position, doc in enumerate(order):
                rank[doc] = position
            self._ranks[sort] = rank

    # -- the public calls -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._datasets)

    @property
    def datasets(self) -> tuple[Dataset, ...]:
        """Every indexed record, in the order given (duplicates removed)."""
        return self._datasets

    def get(self, local_id: str) -> Dataset | None:
        position = self._by_id.get(local_id)
        return None if position is None else self._datasets[position]

    def departments(self) -> list[Department]:
        """The publishers of the indexed records, by id."""
        return list(self._department_list)

    def search(self, query: SearchQuery) -> SearchPage:
        """One page of ``query``; totals and facets are exact for every filter."""
        terms = self._terms(query.text)
        key = (terms, query.filter, query.any_of, query.sort)
        result = self._results.get(key)
        if result is None:
            result = self._results[key] = self._run(terms, query)
        offset = max(query.offset, 0)
        page = result.ordered[offset : offset + max(query.limit, 0)]
        return SearchPage(
            datasets=tuple(self._datasets[doc] for doc in page),
            total=len(result.ordered),
            applied=query.filter.active(),
            any_of_applied=True,
            sorted=True,
            facets=self._facets(result, query.facets),
        )

    # -- matching ---------------------------------------------------------------------

    def _run(self, terms: tuple[_Term, ...], query: SearchQuery) -> _Result:
        matched = self._intersect(self._matching(query.filter), self._matching_any(query.any_of))
        if not terms:
            order = self._orders[query.sort]
            if matched is None:
                return _Result(order, None)
            return _Result(sorted(matched, key=self._ranks[query.sort].__getitem__), matched)
        candidates = matched
        groups = [group for term in terms for group in term]
        for group in groups:
            docs = self._group_docs(group)
            candidates = docs if candidates is None else candidates & docs
            if not candidates:
                return _Result([], _NO_DOCS)
        assert candidates is not None
        if query.sort is not Sort.RELEVANCE:
            rank = self._ranks[query.sort]
            return _Result(sorted(candidates, key=rank.__getitem__), candidates)
        scores = self._scores(groups, candidates)
        newest = self._ranks[Sort.MODIFIED_DESC]
        ordered = sorted(candidates, key=lambda doc: (-scores[doc], newest[doc]))
        return _Result(ordered, candidates)

    def _terms(self, text: str | None) -> tuple[_Term, ...]:
        if not text:
            return ()
        terms: list[_Term] = []
        for token in _tokens(text):
            if not _CJK_START.match(token):
                terms.append(((_stem(token),),))
            elif len(token) == 1:
                terms.append((self._grams_with(token),))
            else:
                terms.append(tuple((gram,) for gram in dict.fromkeys(map(add, token, token[1:]))))
        return tuple(dict.fromkeys(terms))

    def _grams_with(self, char: str) -> tuple[str, ...]:
        found = self._single_chars.get(char)
        if found is None:
            found = tuple(gram for gram in self._postings if char in gram)
            self._single_chars[char] = found
        return found or (char,)

    def _group_docs(self, group: tuple[str, ...]) -> frozenset[int]:
        if len(group) == 1:
            posting = self._postings.get(group[0])
            return frozenset(posting) if posting else _NO_DOCS
        docs: set[int] = set()
        for gram in group:
            docs.update(self._postings.get(gram, ()))
        return frozenset(docs)

    def _scores(self, groups: list[tuple[str, ...]], docs: frozenset[int]) -> dict[int, float]:
        total = len(self._datasets)
        lengths, average = self._lengths, self._avg_length or 1.0
        norms = {doc: _K1 * (1 - _B + _B * lengths[doc] / average) for doc in docs}
        scores = dict.fromkeys(docs, 0.0)
        for group in groups:
            postings = [self._postings[gram] for gram in group if gram in self._postings]
            if len(postings) == 1:
                posting = postings[0]
                df = len(posting)
                tfs = {doc: posting[doc] for doc in docs}  # every candidate holds the gram
            else:
                tfs = {doc: sum(p.get(doc, 0) for p in postings) for doc in docs}
                df = len(self._group_docs(group))
            idf = math.log(1 + (total - df + 0.5) / (df + 0.5))
            for doc, tf in tfs.items():
                scores[doc] += idf * tf * (_K1 + 1) / (tf + norms[doc])
        return scores

    # -- filters ----------------------------------------------------------------------

    @staticmethod
    def _intersect(
        left: frozenset[int] | None, right: frozenset[int] | None
    ) -> frozenset[int] | None:
        if left is None:
            return right
        return left if right is None else left & right

    def _matching_any(self, alternatives: tuple[DatasetFilter, ...]) -> frozenset[int] | None:
        """Records matching at least one alternative (``None``: no constraint)."""
        if not alternatives:
            return None
        docs: set[int] = set()
        for alternative in alternatives:
            matched = self._matching(alternative)
            if matched is None:
                return None
            docs |= matched
        return frozenset(docs)

    def _matching(self, f: DatasetFilter) -> frozenset[int] | None:
        """Records matching ``f`` exactly as ``DatasetFilter.matches`` decides."""
        if not f.active():
            return None
        if f in self._filter_sets:
            return self._filter_sets[f]
        sets: list[frozenset[int]] = []
        if f.departments:
            sets.append(_union(self._departments, f.departments))
        if f.themes:
            sets.append(_union(self._themes, f.themes))
        if f.keywords:
            sets.append(_union(self._keywords, (k.casefold() for k in f.keywords)))
        if f.formats:
            sets.append(_union(self._formats, (fmt.upper() for fmt in f.formats)))
        if f.share_types:
            sets.append(_union(self._share, f.share_types))
        if f.open_types:
            sets.append(_union(self._open, f.open_types))
        if f.max_sensitivity is not None:
            ceiling = f.max_sensitivity
            sets.append(_union(self._sensitivity, (s for s in Sensitivity if s <= ceiling)))
        if f.identifiers:
            sets.append(_union(self._identifiers, f.identifiers))
        if f.dataset_ids:
            found = (self._by_global_id.get(i) for i in f.dataset_ids)
            sets.append(frozenset(doc for doc in found if doc is not None))
        if f.modified_after is not None:
            start = bisect.bisect_left(self._stamps, _micros(f.modified_after))
            sets.append(frozenset(self._stamped_docs[start:]))
        if f.modified_before is not None:
            end = bisect.bisect_left(self._stamps, _micros(f.modified_before))
            sets.append(frozenset(self._stamped_docs[:end]))
        sets.sort(key=len)
        matched = sets[0]
        for other in sets[1:]:
            matched &= other
        self._filter_sets[f] = matched
        return matched

    # -- facets -----------------------------------------------------------------------

    def _facets(
        self, result: _Result, wanted: frozenset[FacetName]
    ) -> dict[FacetName, dict[str, int]]:
        facets: dict[FacetName, dict[str, int]] = {}
        for name in wanted:
            counts = result.facets.get(name)
            if counts is None:
                counts = result.facets[name] = self._count(name, result)
            facets[name] = dict(counts)
        return facets

    def _count(self, name: FacetName, result: _Result) -> dict[str, int]:
        docs = self._facet_docs[name]
        if result.matched is None:
            return {value: len(members) for value, members in docs.items()}
        matched = result.matched
        counts = {value: len(members & matched) for value, members in docs.items()}
        return {value: count for value, count in counts.items() if count}


def _union(sets: Mapping[K, frozenset[int]], values: Iterable[K]) -> frozenset[int]:
    found = [sets[value] for value in values if value in sets]
    if len(found) == 1:
        return found[0]
    return frozenset().union(*found) if found else _NO_DOCS
