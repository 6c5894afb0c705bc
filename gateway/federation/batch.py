"""One search request in progress, and each source's share of it.

``SearchRequest`` is what was asked; ``SearchJob`` the request in progress (its sources,
what it has served, its copies); ``Edge`` one served record. A ``SourceBatch`` holds the
source's fetched, visible, not yet served records in the order of the request (``Row``),
its upstream position, and what its answers said about counting (``exact``: the platform
applied every filter and the caller's visibility, so its ``total`` is the count the caller
may see). ``locator`` notes where every source stands after a record of the page, for the
cursor.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.sdk import Connector, DatasetFilter, FacetName, SearchPage, Sort
from gateway.access import Access, GrantSet
from gateway.federation.copies import CopyIndex
from gateway.federation.cursor import CursorState
from gateway.federation.sources import SourceReport
from schema.model import Dataset

# GraphQL Int is 32-bit; larger upstream counts are clamped (and not exact).
MAX_COUNT = 2**31 - 1

# A fetched, visible row: (merge sort key, upstream position, record, the caller's access).
Row = tuple[tuple[Any, ...], int, Dataset, Access]


def fused_share(first: int, sources: int) -> int:
    """Rows each of ``sources`` lists first needs to give for a page of ``first`` fused by
    rank: ``ceil(first / sources)`` covers the page when every source has enough, one
    more absorbs a row hidden or merged away; never more than ``first``. A source that runs
    out before the page is full is asked again (the merge's refill), never skipped."""
    if sources <= 1:
        return first
    return min(first, -(-first // sources) + 1)


def upstream_count(value: object) -> int | None:
    """An upstream count as the gateway can use it: a non-negative int, clamped."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return min(value, MAX_COUNT)


def sort_key(sort: Sort, dataset: Dataset, source_index: int, position: int) -> tuple[Any, ...]:
    match sort:
        case Sort.RELEVANCE:
            return (position, source_index)
        case Sort.MODIFIED_DESC | Sort.MODIFIED_ASC:
            stamp = dataset.modified.timestamp() if dataset.modified else None
            missing = stamp is None  # records without a date sort last either way
            value = 0.0 if stamp is None else (-stamp if sort is Sort.MODIFIED_DESC else stamp)
            return (missing, value, source_index, position)
        case Sort.TITLE_ASC:
            return (dataset.title, source_index, position)


@dataclass(frozen=True, slots=True)
class SearchRequest:
    text: str | None = None
    filter: DatasetFilter = field(default_factory=DatasetFilter)
    sources: tuple[str, ...] = ()
    sort: Sort = Sort.RELEVANCE
    first: int = 20
    after: str | None = None
    want_facets: bool = True

    def key(self) -> str:
        """Identity of the query a cursor belongs to (everything but the page)."""
        spec = {
            "t": self.text or "",
            "f": repr(self.filter),
            "s": sorted(self.sources),
            "o": self.sort.value,
        }
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Edge:
    dataset: Dataset
    access: Access
    locate: Callable[[], CursorState]  # where every source stands after this edge
    encode: Callable[[CursorState], str]

    @property
    def position(self) -> CursorState:
        return self.locate()

    @property
    def cursor(self) -> str:
        """Built and sealed on demand: most queries never ask for edge cursors."""
        return self.encode(self.locate())


@dataclass(slots=True)
class SourceBatch:
    """One source's fetched, visible, not yet emitted records for this request."""

    index: int
    connector: Connector
    report: SourceReport
    offset: int  # upstream position of the next row to fetch
    deadline: float  # loop time by which this source must have answered, this request
    rows: deque[Row] = field(default_factory=deque)
    bound: tuple[Any, ...] | None = None  # sort key of the last row fetched
    exhausted: bool = False
    fetched: bool = False
    failed: bool = False  # the first fetch failed: the source sits this page out
    stalled: bool = False  # a later fetch failed: the page must end before its bound
    # The platform applied every filter and the visibility: its total is what the caller
    # may see. Cleared as soon as a row it returned proves otherwise.
    exact: bool = True
    page_total: int | None = None
    calls: int = 0  # searches sent to the source for this request
    window: int = 0  # upstream position the first page reads up to, for a stable count
    # Page starts and the platform's tokens for them (SearchPage.resume_points).
    points: dict[int, str] = field(default_factory=dict)
    facets: Mapping[FacetName, Mapping[str, int]] = field(default_factory=dict)
    withheld: int = 0
    # Relevance fusion: the rows this source's first call of the page asks for (its share
    # of the page, ``fused_share``); ``None``: the whole page size, as every refill asks.
    share: int | None = None
    next_limit: int | None = None  # the next call's rows, if not a whole page
    source_id: str = field(init=False)
    start: int = field(init=False)  # upstream position this request started reading at

    def __post_init__(self) -> None:
        self.source_id = self.connector.source_id
        self.start = self.offset

    def resume_position(self) -> int:
        """Where the next page should start reading this source."""
        return self.rows[0][1] if self.rows else self.offset

    def point(self, offset: int) -> tuple[int, str] | None:
        """The latest page start at or before ``offset`` with a token, if any."""
        if not self.points:  # most platforms page by offset alone
            return None
        start = max((p for p in self.points if p <= offset), default=None)
        return None if start is None else (start, self.points[start])

    def answering(self) -> bool:
        return not (self.failed or self.stalled)


# Where one source stands: (the source, its resume_position(), whether it is done);
# ``None`` for a failed source, retried from where it was on the next page.
Standing = tuple[SourceBatch, int, bool] | None


def standing(batch: SourceBatch) -> Standing:
    """Where ``batch``'s source stands now, for a cursor."""
    if batch.failed:
        return None
    return (
        batch,
        batch.rows[0][1] if batch.rows else batch.offset,
        batch.exhausted and not batch.rows,
    )


def locator(
    batches: Sequence[SourceBatch], state: CursorState, emitted: int, floor: list[int]
) -> Callable[[], CursorState]:
    """Where every source stands after ``emitted`` records of this page, noted now (cheaply)
    and made into a cursor state only if asked. ``floor`` holds the page's count once known."""
    return functools.partial(_cursor_state, tuple(map(standing, batches)), state, emitted, floor)


def _cursor_state(
    noted: Sequence[Standing],
    state: CursorState,
    emitted: int,
    floor: list[int],
) -> CursorState:
    positions = dict(state.positions)
    exhausted = set(state.exhausted)
    resume = dict(state.resume)
    for entry in noted:
        if entry is None:
            continue
        batch, position, done = entry
        positions[batch.source_id] = position
        # Page starts fetched later all lie at or past ``position``: the point is the same.
        point = batch.point(position)
        if point is not None:
            resume[batch.source_id] = point
        if done:
            exhausted.add(batch.source_id)
            resume.pop(batch.source_id, None)
    return CursorState(
        positions,
        frozenset(exhausted),
        state.returned + emitted,
        resume,
        max(state.counted, floor[0] if floor else 0),
    )


@dataclass(slots=True)
class SearchJob:
    """One request in progress: its sources, what it asked, what it served so far."""

    request: SearchRequest
    grants: GrantSet
    visibility: tuple[DatasetFilter, ...]
    state: CursorState
    encode: Callable[[CursorState], str]
    batches: list[SourceBatch]
    copies: CopyIndex = field(default_factory=CopyIndex)
    edges: list[Edge] = field(default_factory=list)
    emitted: list[tuple[SourceBatch, Dataset, Access]] = field(default_factory=list)
    by_identifier: dict[str, int] = field(default_factory=dict)
    page_copies: dict[int, list[tuple[Dataset, Access]]] = field(default_factory=dict)
    merged: int = 0  # copies merged into another record (upstream totals count each)
    floor: list[int] = field(default_factory=list)  # the page's count, for its cursors
    # Where each source stands now (by its index), kept by the merge as it takes rows
    # (``note``) and refills (``note_all``): one record's cursor copies it, no more.
    standings: list[Standing] = field(default_factory=list)
    first_round: list[SourceBatch] = field(init=False)  # the sources read on this page

    def __post_init__(self) -> None:
        self.first_round = [b for b in self.batches if b.source_id not in self.state.exhausted]

    def cursor_after(self, emitted: int) -> Callable[[], CursorState]:
        return locator(self.batches, self.state, emitted, self.floor)

    def note_all(self) -> None:
        self.standings = list(map(standing, self.batches))

    def cursor_noted(self, emitted: int) -> Callable[[], CursorState]:
        """``cursor_after(emitted)`` from the standings noted: the same as long as every
        change to a source since ``note_all`` was noted."""
        return functools.partial(
            _cursor_state, tuple(self.standings), self.state, emitted, self.floor
        )


def decide(wanted: DatasetFilter, grants: GrantSet, dataset: Dataset) -> Access | None | bool:
    """``False``: not what was asked; ``None``: asked, not the caller's to see; else how
    the caller may see it. Always re-checked: a connector's claim to have applied a filter
    is not trusted."""
    if not wanted.matches(dataset):
        return False
    return grants.access(dataset)


# Rows kept per cached page (one entry per caller's grants and request) before starting over.
_MEMO_ENTRIES = 64


@dataclass(frozen=True, slots=True)
class PageRows:
    """What one fetched page adds to a source's batch, for one caller's request."""

    rows: tuple[Row, ...]  # the rows the caller may see, in the page's order
    bound: tuple[Any, ...] | None  # sort key of the page's last row, hidden or not
    withheld: int  # rows asked for that are not the caller's to see
    refuted: bool  # a row was hidden or not what was asked: the page's count is not exact


def page_rows(
    page: SearchPage, request: SearchRequest, grants: GrantSet, source_index: int, offset: int
) -> PageRows:
    """The rows of ``page`` (fetched at upstream ``offset`` for source ``source_index``)
    with their sort keys and ``decide``'s verdicts, memoised on the page.

    A page from the upstream cache answers many requests; equal grant keys mean equal
    clauses, so they decide every row alike, and the memo dies with the page. The key
    holds everything the rows depend on: the grants, the filter, the order, the source's
    place in the merge and the offset.
    """
    key = (grants.key, request.filter, request.sort, source_index, offset)
    found: PageRows | None = page.memo.get(key)
    if found is None:
        if len(page.memo) >= _MEMO_ENTRIES:
            page.memo.clear()
        found = page.memo[key] = _page_rows(page, request, grants, source_index, offset)
    return found


def _page_rows(
    page: SearchPage, request: SearchRequest, grants: GrantSet, source_index: int, offset: int
) -> PageRows:
    sort, wanted = request.sort, request.filter
    rows: list[Row] = []
    key: tuple[Any, ...] | None = None
    withheld, refuted = 0, False
    for i, dataset in enumerate(page.datasets):
        position = offset + page.position(i)
        key = sort_key(sort, dataset, source_index, position)
        decision = decide(wanted, grants, dataset)
        if isinstance(decision, Access):
            rows.append((key, position, dataset, decision))
        else:
            refuted = True
            if decision is None:
                withheld += 1  # the audit's "withheld": asked for, not the caller's
    return PageRows(tuple(rows), key, withheld, refuted)
