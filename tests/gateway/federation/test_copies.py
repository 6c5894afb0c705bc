"""One data, one source across pages: copy groups, identifier lookups, the canonical record."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from connectors.sdk import (
    FilterName,
    SearchPage,
    SearchQuery,
    Sort,
    SourceSettings,
    SourceUnavailable,
)
from gateway.access.policy import ANONYMOUS, Caller, Policy
from gateway.config import ConfigError, parse_config
from gateway.federation.copies import copy_groups
from gateway.federation.cursor import CursorCodec
from gateway.federation.search import FederatedSearch, SearchRequest
from schema.model import Dataset, Department, ShareType
from tests.gateway.conftest import BASE, make_dataset
from tests.gateway.memory_connector import MemoryConnector

NOW = BASE + timedelta(days=700)
GRANTS = Policy.default().grant_set(ANONYMOUS, None, NOW)


class NoLookup(MemoryConnector):
    capabilities = replace(
        MemoryConnector.capabilities,
        filters=MemoryConnector.capabilities.filters - {FilterName.IDENTIFIERS},
    )


class FlakyLookups(MemoryConnector):
    """Answers its own pages but fails every identifier lookup."""

    async def search(self, query: SearchQuery) -> SearchPage:
        if query.filter.identifiers:
            self.calls.searches.append(query)
            raise SourceUnavailable("HTTP 503")
        return await super().search(query)


def settings(sid: str, **kwargs: Any) -> SourceSettings:
    return SourceSettings(id=sid, url="http://127.0.0.1:9", **kwargs)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(599))) as c:
        yield c


def dept(records: str) -> Department:
    return Department(records, f"{records} department")


# The transport department's platform (authoritative) and the city portal harvesting it.
TRANSPORT = [
    make_dataset("dept", 0, title="b 公交线路", identifier="X", department=dept("transport")),
    make_dataset("dept", 1, title="d 停车场", identifier="Y", department=dept("transport")),
    make_dataset("dept", 2, title="f 路况", identifier="Z", department=dept("transport")),
]
PORTAL = [
    # A stale copy of X that sorts first; a copy of Z; a dataset of the portal's own.
    make_dataset(
        "portal",
        0,
        title="a 公交线路（副本）",
        identifier="X",
        department=dept("transport"),
        modified=BASE - timedelta(days=30),
    ),
    make_dataset("portal", 1, title="c 空气质量", identifier="W", department=dept("env")),
    make_dataset("portal", 2, title="e 路况", identifier="Z", department=dept("transport")),
]


def engine(
    client: httpx.AsyncClient,
    *,
    portal_class: type[MemoryConnector] = MemoryConnector,
    republishes: tuple[str, ...] = ("dept",),
) -> tuple[FederatedSearch, MemoryConnector, MemoryConnector]:
    dept_source = MemoryConnector(
        settings("dept", authoritative_for=("transport",)), client, TRANSPORT
    )
    portal = portal_class(settings("portal", republishes=republishes), client, PORTAL)
    return FederatedSearch([dept_source, portal], CursorCodec(b"k" * 32)), dept_source, portal


async def page_through(search: FederatedSearch, first: int) -> list[Dataset]:
    served: list[Dataset] = []
    after = None
    while True:
        page = await search.search(
            SearchRequest(sort=Sort.TITLE_ASC, first=first, after=after), GRANTS
        )
        served += [edge.dataset for edge in page.edges]
        if not page.has_next_page:
            return served
        after = page.end_cursor


def test_copy_groups_follow_republishes_directly_or_not_and_need_identifier_lookups(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    a = MemoryConnector(settings("a"), client)
    b = MemoryConnector(settings("b"), client)
    portal = MemoryConnector(settings("portal", republishes=("a",)), client)
    mirror = MemoryConnector(settings("mirror", republishes=("portal",)), client)
    alone = MemoryConnector(settings("alone"), client)
    groups = copy_groups([a, b, portal, mirror, alone])
    assert groups == {s: frozenset({"a", "portal", "mirror"}) for s in ("a", "portal", "mirror")}

    everything = MemoryConnector(settings("all", republishes=("*",)), client)
    blind = NoLookup(settings("blind"), client)
    groups = copy_groups([a, b, everything, blind])
    assert groups["b"] == frozenset({"a", "b", "all"})  # "blind" cannot be asked
    assert "blind" not in groups
    assert "blind: shares identifiers with other sources but cannot look records up" in caplog.text


@pytest.mark.parametrize("first", [1, 2, 3, 10])
async def test_each_identifier_is_served_once_from_its_authority_in_order_on_any_page_size(
    client: httpx.AsyncClient, first: int
) -> None:
    search, _, _ = engine(client)
    served = await page_through(search, first)
    assert [(d.source_id, d.title) for d in served] == [
        ("dept", "b 公交线路"),
        ("portal", "c 空气质量"),
        ("dept", "d 停车场"),
        ("dept", "f 路况"),
    ]
    copies = {
        d.identifier: [(r.source_id, r.local_id, r.stale) for r in d.also_published_by]
        for d in served
    }
    # The copy that sorts first (page 1) and the one on the page before its authority's
    # record are both listed, on the record served; the older one is flagged stale.
    assert copies == {
        "X": [("portal", "portal-0", True)],
        "W": [],
        "Y": [],
        "Z": [("portal", "portal-2", False)],
    }


async def test_lookups_are_batched_per_source_as_each_source_answers_never_asking_twice(
    client: httpx.AsyncClient,
) -> None:
    search, dept_source, portal = engine(client)
    page = await search.search(SearchRequest(sort=Sort.TITLE_ASC, first=10), GRANTS)
    assert len(page.edges) == 4
    for source in (dept_source, portal):
        lookups = [q for q in source.calls.searches if q.filter.identifiers]
        # one per answering source's page; an identifier already asked is not asked again
        assert len(lookups) == 2
        asked = [x for q in lookups for x in q.filter.identifiers]
        assert sorted(asked) == ["W", "X", "Y", "Z"]
        assert all(q.offset == 0 and q.any_of == GRANTS.visibility() for q in lookups)
    # Upstream totals count the copies too: the total is no longer exact.
    assert page.total_count_is_exact is False


async def test_sources_outside_a_copy_group_are_not_asked_and_copies_merge_per_page(
    client: httpx.AsyncClient,
) -> None:
    search, dept_source, portal = engine(client, republishes=())
    served = await page_through(search, 10)
    assert not [q for s in (dept_source, portal) for q in s.calls.searches if q.filter.identifiers]
    # On one page the copies still meet and merge; the authority's record is served.
    assert sorted(d.identifier or "" for d in served) == ["W", "X", "Y", "Z"]


async def test_a_failed_lookup_serves_what_is_known_and_says_counts_are_not_exact(
    client: httpx.AsyncClient,
) -> None:
    search, _, _ = engine(client, portal_class=FlakyLookups)
    page = await search.search(SearchRequest(sort=Sort.TITLE_ASC, first=10), GRANTS)
    assert page.total_count_is_exact is False
    titles = [edge.dataset.title for edge in page.edges]
    # The department's own records are all there; nothing is lost for the failure.
    assert {"b 公交线路", "d 停车场", "f 路况"} <= set(titles)
    portal = next(r for r in page.sources if r.source_id == "portal")
    assert portal.status.value == "ERROR"


def _config(sources: Sequence[dict[str, Any]]) -> None:
    parse_config({"sources": list(sources)})


def test_republishes_names_known_sources_and_not_itself() -> None:
    with pytest.raises(ConfigError) as caught:
        _config(
            [
                {"id": "a", "connector": "ckan", "url": "http://127.0.0.1:9"},
                {
                    "id": "portal",
                    "connector": "ckan",
                    "url": "http://127.0.0.1:9",
                    "republishes": ["a", "typo", "portal"],
                },
            ]
        )
    problems = {(p.path, p.message) for p in caught.value.problems}
    assert problems == {
        ("sources[1].republishes[1]", "unknown source 'typo'; known: a, portal"),
        ("sources[1].republishes[2]", "a source cannot republish itself"),
    }


async def test_a_count_that_is_not_exact_leaves_out_the_copies_it_knows_of(
    client: httpx.AsyncClient,
) -> None:
    # One dataset on two platforms: the page serves it; the copy fetched with it is
    # known to be served from there, so the lower bound does not count it again.
    original = make_dataset("dept", 0, title="a", identifier="X", department=dept("transport"))
    copy = make_dataset("portal", 0, title="b", identifier="X", department=dept("transport"))
    dept_source = MemoryConnector(
        settings("dept", authoritative_for=("transport",)), client, [original]
    )
    portal = MemoryConnector(settings("portal", republishes=("dept",)), client, [copy])
    search = FederatedSearch([dept_source, portal], CursorCodec(b"k" * 32))
    page = await search.search(SearchRequest(sort=Sort.TITLE_ASC, first=1), GRANTS)
    assert [e.dataset.local_id for e in page.edges] == ["dept-0"]
    assert page.total_count_is_exact is False
    assert page.total_count == 1


async def test_copies_merged_once_for_many_requests_list_only_what_each_caller_may_see(
    client: httpx.AsyncClient,
) -> None:
    """The engine keeps records merged from copies met on one page across requests; one
    caller's merge (listing a copy only its department may see) never reaches another."""
    health = Department("health", "health department")
    shared = make_dataset("a", 0, title="a 公交", identifier="X", department=dept("transport"))
    kept = make_dataset(
        "b",
        0,
        title="b 公交",
        identifier="X",
        department=health,
        share_type=ShareType.NOT_SHARED,
    )
    public_copy = make_dataset("c", 0, title="c 公交", identifier="X", department=health)

    def sources() -> list[MemoryConnector]:
        return [
            MemoryConnector(settings("a"), client, [shared]),
            MemoryConnector(settings("b"), client, [kept]),
            MemoryConnector(settings("c"), client, [public_copy]),
        ]

    nurse = Policy.default().grant_set(Caller("nurse", department="health"), None, NOW)
    kept_search = FederatedSearch(sources(), CursorCodec(b"k" * 32))
    request = SearchRequest(sort=Sort.TITLE_ASC, first=10)

    def listed(page: Any) -> list[list[str]]:
        return [[r.source_id for r in e.dataset.also_published_by] for e in page.edges]

    for grants in (nurse, GRANTS, nurse, GRANTS):
        fresh = FederatedSearch(sources(), CursorCodec(b"k" * 32))  # nothing kept
        expected = listed(await fresh.search(request, grants))
        assert listed(await kept_search.search(request, grants)) == expected
    assert listed(await kept_search.search(request, nurse)) == [["b", "c"]]
    assert listed(await kept_search.search(request, GRANTS)) == [["c"]]
