"""Databases for the store tests: SQLite always, PostgreSQL and Redis when CI gives them.

    CATALOGUE_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test
    CATALOGUE_TEST_REDIS_URL=redis://127.0.0.1:6379/0

The PostgreSQL URL names a database the tests may *connect* to; they never touch its
objects. Each test session creates its own uniquely named database from it and drops it at
the end, so concurrent runs (other engineers, CI) never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_ENV = "CATALOGUE_TEST_POSTGRES_URL"
REDIS_ENV = "CATALOGUE_TEST_REDIS_URL"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def redis_url() -> str | None:
    return os.environ.get(REDIS_ENV) or None


requires_postgres = pytest.mark.skipif(
    postgres_url() is None, reason=f"{POSTGRES_ENV} is not set (no PostgreSQL to test on)"
)
requires_redis = pytest.mark.skipif(
    redis_url() is None, reason=f"{REDIS_ENV} is not set (no Redis to test on)"
)

# The parameters of every store fixture: readable ids, PostgreSQL skipped with a reason.
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=requires_postgres),
]


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_postgres_database(base_url: str) -> str:
    """A new, empty, uniquely named database next to ``base_url``'s; its SQLAlchemy URL."""
    name = f"catalogue_test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_asyncpg_dsn(base_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(base_url: str, url: str) -> None:
    """Drop a database made by ``create_postgres_database`` (and only such a one)."""
    name = make_url(url).database
    assert name is not None and name.startswith("catalogue_test_"), name
    conn = await asyncpg.connect(_asyncpg_dsn(base_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """An empty database for one test (migration tests), dropped afterwards."""
    base = postgres_url()
    assert base is not None
    url = await create_postgres_database(base)
    try:
        yield url
    finally:
        await drop_postgres_database(base, url)
