"""The engine's shortcuts against its plain path, on the random federations of the property
tests.

- The first round read from the upstream cache without a task (``_first_fill_now``) gives
  what the task per source gives (``Plain``, the oracle): the same pages, counts, facets,
  cursors, withheld counts and source reports (status, latency, matched, message), and
  the same upstream calls; also when a source's first page is cached but the page it
  reads ahead has expired, so it is finished by its coroutine.
- A kept query, call key or request (``_search_call``, ``call_key``, ``_known``) is
  served only for one equal in every field.
- The cursor after each record, copied from the standings the merge keeps as it takes
  rows (``SearchJob.cursor_noted``), is the one ``locator`` works out from every source.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.sdk import DatasetFilter, FacetName, SearchQuery, Sort, SourceSettings
from gateway.access.policy import ANONYMOUS, Policy
from gateway.federation.batch import SearchJob, SourceBatch
from gateway.federation.cursor import CursorCodec, CursorState
from gateway.federation.lookups import QueryFields
from gateway.federation.search import FederatedSearch, SearchRequest, SearchResult
from gateway.federation.upstream import SourceGuard, call_key
from tests.gateway.conftest import make_dataset
from tests.gateway.federation.test_federation_properties import (
    NOW,
    Federation,
    federations,
    property_sources,
    shared_identifiers,
    unique_identifiers,
)
from tests.gateway.memory_connector import MemoryConnector
from tests.gateway.policy_strategies import as_caller, as_seen, properties

CODEC = CursorCodec(b"k" * 32)


class Plain(FederatedSearch):
    """The oracle: every source of the first round read by its own task."""

    def _first_fill_now(
        self, job: SearchJob, batch: SourceBatch
    ) -> Coroutine[Any, Any, None] | None:
        return self._first_fill(job, batch)


class Clock:
    """The guards' time, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _engine(
    kind: type[FederatedSearch], connectors: list[MemoryConnector], clock: Clock
) -> FederatedSearch:
    guards = {c.source_id: SourceGuard(c.source_id, clock=clock) for c in connectors}
    # A fixed clock for latencies: a cache hit reports 0, a call 0 too, on either path.
    return kind(connectors, CODEC, clock=lambda: 0.0, guards=guards)


def _summary(result: SearchResult, key: str) -> tuple[object, ...]:
    """Everything the caller gets; cursors as what they hold (each is sealed afresh)."""
    return (
        [(e.dataset, as_seen(e.access), e.position) for e in result.edges],
        result.has_next_page,
        None if result.end_cursor is None else CODEC.decode(key, result.end_cursor),
        result.total_count,
        result.total_count_is_exact,
        {name: tuple(values) for name, values in result.facets.items()},
        list(result.sources),
        result.withheld,
    )


def _alone(case: Federation) -> Federation:
    """Sources that republish nothing: outside any copy group, read without a task."""
    return replace(case, sources=tuple(replace(s, republishes=()) for s in case.sources))


def _some_alone(case: Federation) -> Federation:
    """Only the first source republishes the others: a copy group beside lone sources."""
    return replace(
        case,
        sources=tuple(
            replace(s, republishes=s.republishes if i == 0 else ())
            for i, s in enumerate(case.sources)
        ),
    )


async def _page_both(case: Federation, *, expire_read_ahead: bool) -> None:
    grants = Policy.parse(case.raw_policy).grant_set(as_caller(case.who), case.purpose, NOW)
    clock = Clock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_network)) as client:
        fast_sources = property_sources(case, client)
        plain_sources = property_sources(case, client)
        fast = _engine(FederatedSearch, fast_sources, clock)
        plain = _engine(Plain, plain_sources, clock)
        request = SearchRequest(filter=case.filter, sort=case.sort, first=case.first)
        key = f"{request.key()}.{grants.key}"  # the query a cursor is bound to
        for warm in (False, True):
            if warm and expire_read_ahead:
                clock.now = 20.0
                for engine, sources in ((fast, fast_sources), (plain, plain_sources)):
                    _refresh_first_pages(engine, sources)
                clock.now = 35.0  # past the TTL (30 s) of all but the first pages
            after_fast: str | None = None
            after_plain: str | None = None
            for _ in range(sum(len(s.records) for s in case.sources) + 2):
                calls = [len(c.calls.searches) for c in fast_sources]
                plain_calls = [len(c.calls.searches) for c in plain_sources]
                got = await fast.search(replace(request, after=after_fast), grants)
                want = await plain.search(replace(request, after=after_plain), grants)
                assert _summary(got, key) == _summary(want, key)
                assert [c.calls.searches[n:] for c, n in zip(fast_sources, calls, strict=True)] == [
                    c.calls.searches[n:] for c, n in zip(plain_sources, plain_calls, strict=True)
                ]
                if not got.has_next_page:
                    break
                after_fast, after_plain = got.end_cursor, want.end_cursor
            else:
                raise AssertionError("paging did not end")


def _refresh_first_pages(engine: FederatedSearch, sources: list[MemoryConnector]) -> None:
    """Store again (now) each source's first query of the first page: only it stays fresh."""
    for connector in sources:
        firsts = [q for q in connector.calls.searches if q.offset == 0 and not q.filter.identifiers]
        if not firsts:
            continue
        guard = engine.guard(connector.source_id)
        key = ("search", firsts[0])
        page = guard.stale(key)
        if page is not None:
            guard.store(key, page)


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected network call: {request.url}")


_CASES = st.one_of(
    federations(unique_identifiers).map(_alone),
    federations(shared_identifiers).map(_alone),
    federations(shared_identifiers).map(_some_alone),
    federations(shared_identifiers),
)


@properties(40)
@given(_CASES)
def test_the_first_round_from_the_cache_pages_like_a_task_per_source(case: Federation) -> None:
    asyncio.run(_page_both(case, expire_read_ahead=False))


@properties(40)
@given(_CASES)
def test_a_read_ahead_page_expired_behind_a_fresh_first_page_pages_alike(
    case: Federation,
) -> None:
    asyncio.run(_page_both(case, expire_read_ahead=True))


async def test_a_warm_first_round_creates_no_task_per_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_network)) as client:
        connectors = [
            MemoryConnector(
                SourceSettings(id=f"s{i}", url="http://127.0.0.1:9"),
                client,
                [make_dataset(f"s{i}", n) for n in range(30)],
            )
            for i in range(4)
        ]
        engine = FederatedSearch(connectors, CODEC)
        grants = Policy.default().grant_set(ANONYMOUS, None, NOW)
        request = SearchRequest(first=10, sort=Sort.RELEVANCE)
        cold = await engine.search(request, grants)
        asked = [len(c.calls.searches) for c in connectors]
        gathered: list[int] = []
        original = asyncio.gather

        def counting(*aws: Any, **kwargs: Any) -> Any:
            gathered.append(len(aws))
            return original(*aws, **kwargs)

        monkeypatch.setattr(asyncio, "gather", counting)
        warm = await engine.search(request, grants)
        assert gathered == []
        assert [e.dataset for e in warm.edges] == [e.dataset for e in cold.edges]
        assert [(s.source_id, s.status, s.latency_ms) for s in warm.sources] == [
            (c.source_id, cold.sources[0].status, 0.0) for c in connectors
        ]
        assert [len(c.calls.searches) for c in connectors] == asked


# -- the cursor after each record ---------------------------------------------------------


async def _check_noted(case: Federation, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[CursorState] = []
    noted = SearchJob.cursor_noted

    def both(job: SearchJob, emitted: int) -> Any:
        got = noted(job, emitted)
        want = job.cursor_after(emitted)
        assert got() == want()
        checked.append(want())
        return got

    monkeypatch.setattr(SearchJob, "cursor_noted", both)
    grants = Policy.parse(case.raw_policy).grant_set(as_caller(case.who), case.purpose, NOW)
    async with httpx.AsyncClient(transport=httpx.MockTransport(_no_network)) as client:
        engine = FederatedSearch(property_sources(case, client), CODEC)
        request = SearchRequest(filter=case.filter, sort=case.sort, first=case.first)
        after = None
        for _ in range(sum(len(s.records) for s in case.sources) + 2):
            result = await engine.search(replace(request, after=after), grants)
            if not result.has_next_page:
                break
            after = result.end_cursor


@properties(40)
@given(st.one_of(federations(unique_identifiers), federations(shared_identifiers)))
def test_the_cursor_noted_after_each_record_is_the_one_every_source_gives(
    case: Federation,
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        asyncio.run(_check_noted(case, monkeypatch))


# -- the memos of requests and queries ----------------------------------------------------


def _fields(**changed: Any) -> QueryFields:
    base: dict[str, Any] = {
        "text": "water",
        "filter": DatasetFilter(themes=("transport",)),
        "sort": Sort.RELEVANCE,
        "offset": 0,
        "limit": 20,
        "facets": frozenset(),
        "any_of": (DatasetFilter(),),
        "resume": None,
    }
    base.update(changed)
    return cast(QueryFields, tuple(base.values()))


_QUERY_VARIANTS = [
    {},
    {"text": "air"},
    {"text": None},
    {"filter": DatasetFilter(themes=("health",))},
    {"sort": Sort.TITLE_ASC},
    {"offset": 20},
    {"limit": 7},
    {"facets": frozenset({FacetName.THEMES})},
    {"any_of": (DatasetFilter(departments=("d0",)),)},
    {"resume": (0, "token")},
    {"resume": (0, "other token")},
]


def test_a_kept_query_is_only_served_for_every_one_of_its_fields() -> None:
    engine = FederatedSearch([], CODEC)
    for _ in range(2):  # the second time from the memo
        for changed in _QUERY_VARIANTS:
            fields = _fields(**changed)
            query, key = engine._search_call(fields)
            got = (query.text, query.filter, query.sort, query.offset, query.limit)
            assert got + (query.facets, query.any_of, query.resume) == fields
            assert key == call_key(("search", query))


def test_a_kept_call_key_finds_what_was_stored_under_the_plain_key_and_back() -> None:
    guard = SourceGuard("s")
    query = SearchQuery(text="water")
    guard.store(("search", query), "page")
    kept = call_key(("search", SearchQuery(text="water")))
    assert guard.cached(kept) == (True, "page")
    guard.store(kept, "newer")
    assert guard.cached(("search", query)) == (True, "newer")
    assert guard.cached(call_key(("search", SearchQuery(text="air")))) == (False, None)


_REQUEST_VARIANTS = [
    {},
    {"text": "air"},
    {"filter": DatasetFilter(themes=("health",))},
    {"sources": ("s1",)},
    {"sort": Sort.TITLE_ASC},
    {"first": 7},
    {"after": "cursor"},
    {"want_facets": False},
]


def test_a_known_request_is_only_served_for_an_equal_one_with_its_own_key() -> None:
    engine = FederatedSearch([], CODEC)
    base = SearchRequest(text="water", filter=DatasetFilter(themes=("transport",)))
    for _ in range(2):
        for changed in _REQUEST_VARIANTS:
            request = replace(base, **changed)
            known, key = engine._known(request)
            assert known == request
            assert key == request.key()
    again = replace(base, filter=DatasetFilter(themes=("transport",)))
    assert engine._known(again)[0].filter is engine._known(base)[0].filter


def test_a_filter_with_dates_keeps_its_own_key_in_every_time_zone() -> None:
    engine = FederatedSearch([], CODEC)
    utc = datetime(2025, 1, 1, tzinfo=UTC)
    east = utc.astimezone(timezone(timedelta(hours=8)))
    for day in (utc, east, utc):
        request = SearchRequest(filter=DatasetFilter(modified_after=day))
        known, key = engine._known(request)
        assert known.filter.modified_after is day
        assert key == request.key()
