"""Walking a paged listing: offset/limit, page numbers, cursors and next links.

A paginator only plans requests; ``read_window`` does the walking. The gateway asks a
source for rows ``[offset, offset + limit)`` of a listing, so every paginator answers
"which request starts there" (``start``) and "which request comes after this page"
(``next``). Offset and page-number APIs can start anywhere (``random_access``); cursor
and link APIs can only go forward, so ``read_window`` keeps ``Bookmarks`` (the request
for each page start it has seen, per query) and resumes from the nearest one instead of
walking again from the first page.

    >>> async def fetch(page: PageRequest) -> PageResponse:
    ...     answer = await fetch_json(client, url, source_id="s", params={
    ...         "pageNo": page.page, "pageSize": page.limit})
    ...     return PageResponse(answer.body["data"]["list"], answer.body, answer.headers)
    >>> window = await read_window(PageNumberPaginator(first_page=1), fetch,
    ...                            offset=40, limit=20)
    >>> window.records        # rows 40..59 of the listing
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import httpx
from cachetools import LRUCache

from connectors.sdk._errors import FatalError
from connectors.sdk._selector import Selector

DEFAULT_MAX_PAGES = 200


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One page to fetch.

    ``offset`` is the listing row at which the page starts and ``limit`` its size;
    ``page`` the page number (page-number APIs), ``cursor`` the opaque token (cursor
    APIs), ``url`` a whole URL to fetch as is (next links). ``skip`` rows at the start
    of the page come before the wanted window and are dropped.
    """

    offset: int
    limit: int
    page: int | None = None
    cursor: str | None = None
    url: str | None = None
    skip: int = 0

    def values(self) -> dict[str, str | None]:
        """Placeholders for parameter templates: ``{offset}``, ``{limit}``, ``{page}``,
        ``{cursor}`` (``None`` when this kind of paging has no such value)."""
        return {
            "offset": str(self.offset),
            "limit": str(self.limit),
            "page": None if self.page is None else str(self.page),
            "cursor": self.cursor,
        }


@dataclass(frozen=True, slots=True)
class PageResponse:
    """What a page answered: its records, the decoded body, headers and URL."""

    records: Sequence[Any]
    body: Any = None
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    url: str | None = None


class Paginator(Protocol):
    """Plans the requests that walk a listing (see the module docstring)."""

    @property
    def random_access(self) -> bool:
        """Can ``start`` begin at any offset (else only at 0)?"""

    def start(self, offset: int, limit: int) -> PageRequest:
        """The request for the page holding row ``offset`` (0 if not random access)."""

    def next(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        """The request after ``request`` answered ``response``; ``None`` at the end."""


def _short(request: PageRequest, response: PageResponse) -> bool:
    return not response.records or len(response.records) < request.limit


@dataclass(frozen=True, slots=True)
class OffsetPaginator:
    """``?offset=40&limit=20`` style: any row can start a page.

    >>> OffsetPaginator(max_page_size=100).start(40, 20)
    PageRequest(offset=40, limit=20, ...)
    """

    max_page_size: int = 100

    @property
    def random_access(self) -> bool:
        return True

    def start(self, offset: int, limit: int) -> PageRequest:
        return PageRequest(offset=offset, limit=_size(limit, self.max_page_size))

    def next(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        if _short(request, response):
            return None
        return PageRequest(offset=request.offset + len(response.records), limit=request.limit)


@dataclass(frozen=True, slots=True)
class PageNumberPaginator:
    """``?pageNo=3&pageSize=20`` style: pages of one size, numbered from ``first_page``.

    To start at a row that is not on a page boundary it picks the smallest page size
    (up to ``max_page_size``) whose page holds the whole window, so one request serves
    it; when none does, the window spans two pages of ``limit`` rows.

    >>> PageNumberPaginator(first_page=1).start(40, 20)
    PageRequest(offset=40, limit=20, page=3, ...)
    """

    first_page: int = 1
    max_page_size: int = 100

    @property
    def random_access(self) -> bool:
        return True

    def start(self, offset: int, limit: int) -> PageRequest:
        limit = _size(limit, self.max_page_size)
        size = next(
            (
                s
                for s in range(limit, self.max_page_size + 1)
                if offset // s == (offset + limit - 1) // s
            ),
            limit,
        )
        number = offset // size
        return PageRequest(
            offset=number * size,
            limit=size,
            page=number + self.first_page,
            skip=offset - number * size,
        )

    def next(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        if _short(request, response) or request.page is None:
            return None
        return PageRequest(
            offset=request.offset + request.limit, limit=request.limit, page=request.page + 1
        )


@dataclass(frozen=True, slots=True)
class CursorPaginator:
    """A token from the body (``next: data.nextCursor``) goes into the next request.

    >>> CursorPaginator(Selector("data.nextCursor"))
    """

    next_cursor: Selector
    max_page_size: int = 100

    @property
    def random_access(self) -> bool:
        return False

    def start(self, offset: int, limit: int) -> PageRequest:
        return PageRequest(offset=0, limit=_size(limit, self.max_page_size), skip=offset)

    def next(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        token = self.next_cursor.get(response.body)
        if not response.records or token in (None, "", False):
            return None
        return PageRequest(
            offset=request.offset + len(response.records), limit=request.limit, cursor=str(token)
        )


@dataclass(frozen=True, slots=True)
class NextLinkPaginator:
    """The body holds the next page's URL (``next: links.next``), absolute or relative.

    >>> NextLinkPaginator(Selector("links.next"))
    """

    next_url: Selector
    max_page_size: int = 100

    @property
    def random_access(self) -> bool:
        return False

    def start(self, offset: int, limit: int) -> PageRequest:
        return PageRequest(offset=0, limit=_size(limit, self.max_page_size), skip=offset)

    def next(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        link = self.next_url.get(response.body)
        if not response.records or not isinstance(link, str) or not link.strip():
            return None
        return PageRequest(
            offset=request.offset + len(response.records),
            limit=request.limit,
            url=_resolve(response.url, link.strip()),
        )


@dataclass(frozen=True, slots=True)
class LinkHeaderPaginator:
    """RFC 8288 ``Link: <https://...?page=3>; rel="next"`` response headers.

    >>> LinkHeaderPaginator()
    """

    max_page_size: int = 100

    @property
    def random_access(self) -> bool:
        return False

    def start(self, offset: int, limit: int) -> PageRequest:
        return PageRequest(offset=0, limit=_size(limit, self.max_page_size), skip=offset)

    def next(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        link = next_link(response.headers.get_list("link"))
        if not response.records or link is None:
            return None
        return PageRequest(
            offset=request.offset + len(response.records),
            limit=request.limit,
            url=_resolve(response.url, link),
        )


@dataclass(frozen=True, slots=True)
class SinglePage:
    """The platform answers the whole listing at once; windows are cut from it."""

    max_page_size: int = 100

    @property
    def random_access(self) -> bool:
        return True

    def start(self, offset: int, limit: int) -> PageRequest:
        return PageRequest(offset=0, limit=_size(limit, self.max_page_size), skip=offset)

    def next(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        return None


_LINK = re.compile(r'<(?P<target>[^>]*)>(?P<params>(?:\s*;\s*(?:[^;,"]|"[^"]*")+)*)')
_PARAM = re.compile(
    r"""\s*;\s*(?P<name>[^=;\s]+)\s*(?:=\s*(?:"(?P<quoted>[^"]*)"|(?P<bare>[^;,\s]*)))?"""
)


def next_link(values: Sequence[str]) -> str | None:
    """The target of the first ``rel="next"`` link in ``Link`` header values (RFC 8288).

    >>> next_link(['<https://x/?page=2>; rel="next", <https://x/?page=9>; rel="last"'])
    'https://x/?page=2'
    """
    for value in values:
        for match in _LINK.finditer(value):
            for param in _PARAM.finditer(match.group("params")):
                if param.group("name").lower() != "rel":
                    continue
                rels = (param.group("quoted") or param.group("bare") or "").lower().split()
                if "next" in rels:
                    return match.group("target").strip()
    return None


class Bookmarks:
    """Where pages start, per query, for paginators that can only go forward.

    >>> bookmarks = Bookmarks()
    >>> await read_window(paginator, fetch, offset=40, limit=20, bookmarks=bookmarks,
    ...                   key=("bus", "MODIFIED_DESC"))
    """

    def __init__(self, maxsize: int = 256, per_query: int = 512) -> None:
        self._queries: LRUCache[Hashable, dict[int, PageRequest]] = LRUCache(maxsize=maxsize)
        self._per_query = per_query

    def save(self, key: Hashable, request: PageRequest) -> None:
        pages = self._queries.get(key)
        if pages is None:
            pages = self._queries[key] = {}
        if len(pages) >= self._per_query and request.offset not in pages:
            pages.pop(next(iter(pages)))
        pages[request.offset] = replace(request, skip=0)

    def nearest(self, key: Hashable, offset: int) -> PageRequest | None:
        """The saved page start closest before (or at) ``offset``, its ``skip`` set."""
        pages = self._queries.get(key)
        if not pages:
            return None
        best = max((start for start in pages if start <= offset), default=None)
        if best is None:
            return None
        return replace(pages[best], skip=offset - best)


@dataclass(frozen=True, slots=True)
class Window:
    """Rows ``[offset, offset + len(records))`` of a listing and what answered them.

    ``ended``: the listing has no rows after these (the last page was short or had no
    next). ``first``: the response of the first page fetched (totals live there).
    """

    records: tuple[Any, ...]
    first: PageResponse
    ended: bool
    requests: int
    # Forward-only paging: the page starts met (fetched, and the next one), by offset.
    starts: tuple[PageRequest, ...] = ()


Fetch = Callable[[PageRequest], Awaitable[PageResponse]]


async def read_window(
    paginator: Paginator,
    fetch: Fetch,
    *,
    offset: int,
    limit: int,
    bookmarks: Bookmarks | None = None,
    key: Hashable = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    resume: PageRequest | None = None,
) -> Window:
    """Fetch pages until rows ``[offset, offset + limit)`` are read or the listing ends.

    A forward-only paginator resumes from ``resume`` (a page start at or before
    ``offset``, as a client's cursor carried it) or else from ``bookmarks`` (per ``key``,
    which should name the query: text, filters, sort), whichever is nearer, and records
    the page starts it passes (``Window.starts``). Walking more than ``max_pages`` pages,
    or a next page that repeats one already read, is a ``FatalError`` rather than an
    endless loop.
    """
    offset, limit = max(offset, 0), max(limit, 1)
    request = paginator.start(offset, limit)
    if not paginator.random_access:
        known = [bookmarks.nearest(key, offset)] if bookmarks is not None else []
        if resume is not None and resume.offset <= offset:
            skip = offset - resume.offset  # rows of that page before the window: ask more
            size = paginator.start(0, limit + skip).limit
            known.append(replace(resume, limit=size, skip=skip))
        nearest = max((r for r in known if r is not None), key=lambda r: r.offset, default=None)
        request = nearest or request
    starts: list[PageRequest] = []
    rows: list[Any] = []
    first: PageResponse | None = None
    seen: set[Hashable] = set()
    ended = False
    requests = 0
    while requests < max_pages:
        requests += 1
        seen.add(_identity(request))
        starts.append(replace(request, skip=0))
        response = await fetch(request)
        first = first or response
        records = response.records
        taken = records[request.skip : request.skip + limit - len(rows)]
        rows += taken
        following = paginator.next(request, response)
        if following is not None and not paginator.random_access:
            starts.append(following)
            if bookmarks is not None:
                bookmarks.save(key, following)
        if following is None:
            # The listing ends with this page; these rows end it if they reach its end.
            ended = request.skip + len(taken) >= len(records)
            break
        if len(rows) >= limit:
            break
        if _identity(following) in seen:
            raise FatalError(f"the listing repeats a page (at row {following.offset})")
        request = replace(following, skip=max(request.skip - len(records), 0))
    else:
        raise FatalError(f"gave up walking the listing after {max_pages} pages")
    assert first is not None
    return Window(
        records=tuple(rows),
        first=first,
        ended=ended,
        requests=requests,
        starts=tuple({r.offset: r for r in starts}.values()) if not paginator.random_access else (),
    )


def _identity(request: PageRequest) -> Hashable:
    """What names a page: its token, link or number; its offset when it has none."""
    named = (request.cursor, request.url, request.page)
    return named if any(part is not None for part in named) else request.offset


def _size(limit: int, maximum: int) -> int:
    return max(1, min(limit, maximum))


def _resolve(base: str | None, link: str) -> str:
    return str(httpx.URL(base).join(link)) if base else link
