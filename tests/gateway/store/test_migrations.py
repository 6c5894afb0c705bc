from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from gateway.store import (
    Store,
    StoreError,
    check_store_url,
    current_revision,
    head_revision,
    metadata,
    open_store,
    upgrade,
)
from gateway.store.migrate import MIGRATIONS
from tests.store_support import BACKENDS, fresh_postgres_database


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


@pytest.fixture(params=BACKENDS)
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


async def test_upgrade_from_empty_reaches_head_and_matches_the_tables(empty_url: str) -> None:
    store = Store(empty_url)
    try:
        assert await current_revision(store) is None
        await upgrade(store)
        assert await current_revision(store) == head_revision()
        async with store.connect() as conn:
            assert await conn.run_sync(_diff) == []
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert {t.name for t in metadata.sorted_tables} <= tables
        await upgrade(store)  # running it again changes nothing
        assert await current_revision(store) == head_revision()
    finally:
        await store.aclose()


async def test_a_store_behind_the_code_is_refused_with_what_to_do(empty_url: str) -> None:
    with pytest.raises(StoreError) as caught:
        await open_store(empty_url, upgrade_schema=False)
    message = str(caught.value)
    assert "revision (none)" in message
    assert "catalogue-gateway db upgrade" in message
    store = await open_store(empty_url, upgrade_schema=True)
    await store.aclose()
    store = await open_store(empty_url, upgrade_schema=False)  # now at head: accepted
    await store.aclose()


async def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}", upgrade_schema=True)
    try:
        async with store.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000
    finally:
        await store.aclose()


def test_the_migrations_ship_inside_the_package() -> None:
    assert MIGRATIONS.parent == Path(__import__("gateway.store").store.__file__).parent
    assert (MIGRATIONS / "env.py").is_file()
    assert list((MIGRATIONS / "versions").glob("*.py"))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite+aiosqlite:////var/lib/g.db", None),
        ("postgresql+asyncpg://gw:pw@db:5432/gateway", None),
        ("mysql://u@h/d", "unsupported scheme 'mysql'"),
        ("sqlite:///g.db", "unsupported scheme 'sqlite'"),  # the sync driver would block
        ("postgresql://h/d", "unsupported scheme 'postgresql'"),
        ("sqlite+aiosqlite://", "needs a file path"),
        ("not a url", "not a database URL"),
    ],
)
def test_store_urls_are_checked(url: str, expected: str | None) -> None:
    problem = check_store_url(url)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


async def test_an_unreachable_database_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        await open_store(
            "postgresql+asyncpg://gw:s3cret-pw@127.0.0.1:1/gateway", upgrade_schema=False
        )
    assert "cannot be used" in str(caught.value)
    assert "s3cret-pw" not in str(caught.value)


def test_a_sqlite_file_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory not found"):
        Store(f"sqlite+aiosqlite:///{tmp_path / 'nowhere' / 'g.db'}")
