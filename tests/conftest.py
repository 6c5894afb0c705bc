"""Fixtures every test package may use: the store on each database (tests/store_support.py).

    async def test_something(store: Store) -> None:      # runs on sqlite and postgresql
        async with store.transaction() as conn: ...

``store`` is a migrated, empty store: a new SQLite file per test, or the session's own
PostgreSQL database (created once, emptied after each test, dropped at the end).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from gateway.store import Store, metadata, open_store
from tests.store_support import (
    BACKENDS,
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
)

T = TypeVar("T")


def _run_aside(work: Callable[[], Awaitable[T]]) -> T:
    # The session fixture may be set up from inside a test's event loop (a parametrized
    # async fixture asks for it): run its async work on a loop of its own, in a thread.
    async def main() -> T:
        return await work()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


@pytest.fixture(scope="session")
def postgres_store_url() -> Iterator[str]:
    """This session's own PostgreSQL database, migrated to head; dropped at the end."""
    base = postgres_url()
    if base is None:
        pytest.skip("CATALOGUE_TEST_POSTGRES_URL is not set")

    async def create() -> str:
        url = await create_postgres_database(base)
        store = await open_store(url, upgrade_schema=True)
        await store.aclose()
        return url

    url = _run_aside(create)
    yield url
    _run_aside(lambda: drop_postgres_database(base, url))


@pytest.fixture(params=BACKENDS)
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a store for one test: a new SQLite file (not migrated yet: opening it with
    ``upgrade_schema=True`` or a gateway's start does it), or the session's PostgreSQL
    database (migrated), whose tables are emptied when the test ends."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        return
    url = str(request.getfixturevalue("postgres_store_url"))
    yield url
    cleaner = await open_store(url, upgrade_schema=False)
    try:
        async with cleaner.transaction() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(table.delete())
    finally:
        await cleaner.aclose()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A migrated store on each database, empty at the start of the test."""
    opened = await open_store(store_url, upgrade_schema=store_url.startswith("sqlite"))
    try:
        yield opened
    finally:
        await opened.aclose()
