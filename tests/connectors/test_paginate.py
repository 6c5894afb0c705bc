"""Paginators and read_window (connectors.sdk._paginate) over simulated listings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from connectors.sdk import FatalError
from connectors.sdk._paginate import (
    Bookmarks,
    CursorPaginator,
    LinkHeaderPaginator,
    NextLinkPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageRequest,
    PageResponse,
    Paginator,
    SinglePage,
    next_link,
    read_window,
)
from connectors.sdk._selector import Selector

ROWS = list(range(57))
BASE = "https://api.example.gov.cn/list"


class Listing:
    """An upstream listing of ``ROWS`` that answers each kind of paging request."""

    def __init__(self, kind: str, rows: list[int] = ROWS) -> None:
        self.kind = kind
        self.rows = rows
        self.requests: list[PageRequest] = []

    async def __call__(self, page: PageRequest) -> PageResponse:
        self.requests.append(page)
        if self.kind == "single":
            return PageResponse(self.rows)
        if page.url is not None:
            start = int(httpx.URL(page.url).params["from"])
        elif self.kind == "page":
            assert page.page is not None
            start = (page.page - 1) * page.limit
        elif self.kind == "cursor":
            start = int(page.cursor or 0)
        else:
            start = page.offset
        records = self.rows[start : start + page.limit]
        after = start + len(records)
        more = after < len(self.rows)
        body = {
            "items": records,
            "next": str(after) if more else None,
            "links": {"next": f"?from={after}" if more else None},
        }
        headers = httpx.Headers()
        if more:
            headers["Link"] = f'<{BASE}?from={after}>; rel="next", <{BASE}?from=0>; rel="first"'
        return PageResponse(records, body, headers, f"{BASE}?from={start}")


PAGINATORS: dict[str, Callable[[], tuple[Paginator, str]]] = {
    "offset": lambda: (OffsetPaginator(max_page_size=10), "offset"),
    "page": lambda: (PageNumberPaginator(first_page=1, max_page_size=10), "page"),
    "cursor": lambda: (CursorPaginator(Selector("next"), max_page_size=10), "cursor"),
    "next-url": lambda: (NextLinkPaginator(Selector("links.next"), max_page_size=10), "url"),
    "link-header": lambda: (LinkHeaderPaginator(max_page_size=10), "url"),
    "single": lambda: (SinglePage(max_page_size=10), "single"),
}


@pytest.mark.parametrize("kind", PAGINATORS)
async def test_every_window_of_the_listing_is_read_exactly(kind: str) -> None:
    paginator, listing_kind = PAGINATORS[kind]()
    for offset in (0, 1, 9, 10, 13, 37, 50, 56, 57, 80):
        for limit in (1, 7, 10, 25):
            window = await read_window(paginator, Listing(listing_kind), offset=offset, limit=limit)
            expected = ROWS[offset : offset + limit]
            assert list(window.records) == expected, (offset, limit)


@pytest.mark.parametrize("kind", PAGINATORS)
async def test_paging_through_the_whole_listing_ends_without_duplicates(kind: str) -> None:
    paginator, listing_kind = PAGINATORS[kind]()
    bookmarks, offset = Bookmarks(), 0
    seen: list[int] = []
    for _ in range(20):
        window = await read_window(
            paginator, Listing(listing_kind), offset=offset, limit=10, bookmarks=bookmarks
        )
        seen += window.records
        offset += len(window.records)
        if window.ended or not window.records:
            break
    assert seen == ROWS


async def test_page_numbers_cover_an_unaligned_window_with_one_request() -> None:
    listing = Listing("page")
    paginator = PageNumberPaginator(first_page=1, max_page_size=100)
    window = await read_window(paginator, listing, offset=37, limit=20)
    assert list(window.records) == ROWS[37:57]
    assert len(listing.requests) == 1
    assert listing.requests[0].page == 2 and listing.requests[0].limit == 29


async def test_page_numbers_span_two_pages_when_no_page_size_fits() -> None:
    listing = Listing("page")
    window = await read_window(PageNumberPaginator(max_page_size=10), listing, offset=15, limit=10)
    assert list(window.records) == ROWS[15:25]
    assert [(r.page, r.limit) for r in listing.requests] == [(2, 10), (3, 10)]


def test_page_numbers_can_start_at_zero() -> None:
    assert PageNumberPaginator(first_page=0).start(40, 20).page == 2


async def test_forward_only_listings_resume_from_a_bookmark_not_from_the_start() -> None:
    paginator = CursorPaginator(Selector("next"), max_page_size=10)
    bookmarks = Bookmarks()
    await read_window(
        paginator, Listing("cursor"), offset=0, limit=10, bookmarks=bookmarks, key="q"
    )
    later = Listing("cursor")
    window = await read_window(paginator, later, offset=10, limit=10, bookmarks=bookmarks, key="q")
    assert list(window.records) == ROWS[10:20]
    assert [r.cursor for r in later.requests] == ["10"]  # one request, from the bookmark

    other_query = Listing("cursor")
    await read_window(paginator, other_query, offset=10, limit=10, bookmarks=bookmarks, key="other")
    assert [r.cursor for r in other_query.requests] == [None, "10"]  # walked from the start


async def test_a_bookmark_before_the_offset_is_used_with_a_skip() -> None:
    paginator = LinkHeaderPaginator(max_page_size=10)
    bookmarks = Bookmarks()
    await read_window(paginator, Listing("url"), offset=0, limit=10, bookmarks=bookmarks)
    later = Listing("url")
    window = await read_window(paginator, later, offset=14, limit=3, bookmarks=bookmarks)
    assert list(window.records) == [14, 15, 16]
    assert [r.url for r in later.requests] == [f"{BASE}?from=10"]


async def test_a_next_link_in_the_body_is_resolved_against_the_page_url() -> None:
    paginator = NextLinkPaginator(Selector("links.next"))
    request = paginator.start(0, 10)
    page = await Listing("url")(request)
    following = paginator.next(request, page)
    assert following is not None and following.url == f"{BASE}?from=10"


async def test_a_listing_that_repeats_a_page_is_an_error_not_a_loop() -> None:
    async def stuck(page: PageRequest) -> PageResponse:
        return PageResponse([1, 2], {"next": "same"})

    with pytest.raises(FatalError, match="repeats"):
        await read_window(CursorPaginator(Selector("next"), 2), stuck, offset=0, limit=10)


async def test_walking_stops_after_max_pages() -> None:
    async def endless(page: PageRequest) -> PageResponse:
        return PageResponse([0], {"next": str(page.offset + 1)})

    with pytest.raises(FatalError, match="3 pages"):
        await read_window(
            CursorPaginator(Selector("next"), 1), endless, offset=0, limit=10, max_pages=3
        )


async def test_an_empty_page_ends_the_listing() -> None:
    async def empty(page: PageRequest) -> PageResponse:
        return PageResponse([], {"next": "more"})

    window = await read_window(CursorPaginator(Selector("next")), empty, offset=0, limit=5)
    assert window.records == () and window.ended


def test_placeholder_values_of_a_page_request() -> None:
    request = PageRequest(offset=40, limit=20, page=3)
    assert request.values() == {"offset": "40", "limit": "20", "page": "3", "cursor": None}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('<https://x/?page=2>; rel="next", <https://x/?page=9>; rel="last"', "https://x/?page=2"),
        ('<https://x/?page=9>; rel="last", </p?page=3>; rel="prev next"', "/p?page=3"),
        ('<https://x/a>; title="a, b; c"; rel=next', "https://x/a"),
        ('<https://x/a>; REL="Next"', "https://x/a"),
        ('<https://x/?page=1>; rel="prev"', None),
        ("not a link header", None),
    ],
)
def test_rfc_8288_next_links_are_found(header: str, expected: Any) -> None:
    assert next_link([header]) == expected


def test_next_links_may_come_in_separate_header_lines() -> None:
    assert next_link(['<https://x/1>; rel="first"', '<https://x/3>; rel="next"']) == ("https://x/3")


async def test_a_resume_point_from_a_cursor_replaces_a_lost_bookmark() -> None:
    # Another gateway instance (or a restart) has no bookmarks: the client's cursor
    # carries the page start, so the walk does not begin again at the first page.
    paginator = CursorPaginator(Selector("next"), max_page_size=10)
    first = await read_window(paginator, Listing("cursor"), offset=0, limit=10)
    assert [(r.offset, r.cursor) for r in first.starts] == [(0, None), (10, "10")]
    later = Listing("cursor")
    resume = first.starts[-1]
    window = await read_window(paginator, later, offset=12, limit=5, resume=resume)
    assert list(window.records) == ROWS[12:17]
    assert [r.cursor for r in later.requests] == ["10"]
    # a resume point past the offset is not used
    again = Listing("cursor")
    await read_window(paginator, again, offset=5, limit=5, resume=resume)
    assert again.requests[0].cursor is None  # walked from the start
