"""``page_rows``: a cached page's rows, sort keys and verdicts, memoised on the page, never
served to a caller whose grants or request they were not decided for."""

from __future__ import annotations

from connectors.sdk import DatasetFilter, SearchPage, Sort
from gateway.access.policy import ANONYMOUS, Caller, GrantSet, Policy
from gateway.federation.batch import SearchRequest, decide, page_rows, sort_key
from schema.model import Department, ShareType
from tests.gateway.conftest import BASE, make_dataset

HEALTH = Department("health", "health")


def grants(caller: Caller) -> GrantSet:
    return Policy.default().grant_set(caller, None, BASE)


def mixed_page() -> SearchPage:
    """Open records of two departments, and records health keeps to itself."""
    return SearchPage(
        datasets=(
            make_dataset("s", 0),
            make_dataset("s", 1, department=HEALTH, share_type=ShareType.NOT_SHARED),
            make_dataset("s", 2, department=HEALTH),
            make_dataset("s", 3, department=HEALTH, share_type=ShareType.NOT_SHARED),
        ),
        total=4,
        any_of_applied=True,
    )


def expected(page: SearchPage, request: SearchRequest, caller: GrantSet, index: int, offset: int):
    """What the plain, unmemoised rule gives."""
    rows = []
    for i, dataset in enumerate(page.datasets):
        decision = decide(request.filter, caller, dataset)
        if decision is not True and decision is not False and decision is not None:
            position = offset + page.position(i)
            rows.append((sort_key(request.sort, dataset, index, position), position, dataset))
    return rows


def shown(found) -> list:
    return [(key, position, dataset) for key, position, dataset, _ in found.rows]


def test_a_memoised_page_never_shows_one_callers_rows_to_another() -> None:
    page = mixed_page()
    request = SearchRequest()
    staff, public = grants(Caller("nurse", department="health")), grants(ANONYMOUS)
    assert staff.key != public.key
    for caller in (staff, public, staff, public):  # each asks after the other memoised
        found = page_rows(page, request, caller, 0, 0)
        assert shown(found) == expected(page, request, caller, 0, 0)
    assert len(page_rows(page, request, staff, 0, 0).rows) == 4
    hidden_from_public = page_rows(page, request, public, 0, 0)
    assert [r[2].local_id for r in hidden_from_public.rows] == ["s-0", "s-2"]
    assert hidden_from_public.withheld == 2 and hidden_from_public.refuted
    assert page_rows(page, request, staff, 0, 0).withheld == 0


def test_the_memo_follows_the_filter_the_order_and_the_sources_place() -> None:
    page = mixed_page()
    public = grants(ANONYMOUS)
    health_only = SearchRequest(filter=DatasetFilter(departments=("health",)))
    for request, index, offset in [
        (SearchRequest(), 0, 0),
        (health_only, 0, 0),
        (SearchRequest(sort=Sort.TITLE_ASC), 0, 0),
        (SearchRequest(sort=Sort.MODIFIED_DESC), 3, 0),
        (SearchRequest(), 2, 0),
        (SearchRequest(), 0, 40),
        (SearchRequest(), 0, 0),
    ]:
        found = page_rows(page, request, public, index, offset)
        assert shown(found) == expected(page, request, public, index, offset)
        last = len(page.datasets) - 1
        assert found.bound == sort_key(
            request.sort, page.datasets[last], index, offset + page.position(last)
        )
    assert page_rows(page, health_only, public, 0, 0).withheld == 2  # s-0 was not asked for


def test_an_empty_page_leaves_the_bound_alone() -> None:
    empty = SearchPage(datasets=(), total=0)
    found = page_rows(empty, SearchRequest(), grants(ANONYMOUS), 0, 0)
    assert found.rows == () and found.bound is None and not found.refuted
