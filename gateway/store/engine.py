"""The store: one async SQLAlchemy engine over SQLite (embedded) or PostgreSQL (replicas).

>>> store = await open_store("sqlite+aiosqlite:///var/lib/gateway/gateway.db", upgrade=True)
>>> async with store.transaction() as conn:   # commits on exit, rolls back on error
...     await conn.execute(outbox.insert().values(...))
>>> await store.aclose()
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from connectors.sdk import GatewayError

log = logging.getLogger("gateway.store")

SUPPORTED_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
SQLITE_BUSY_TIMEOUT_MS = 5000


class StoreError(GatewayError):
    """The store cannot be used: a bad URL, an unreachable database, a schema behind the
    code. The message says what to do and never holds a password."""


def check_store_url(url: str) -> str | None:
    """Why ``url`` is not a usable store URL, or ``None`` when it is (config validation)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return (
            f"not a database URL; use one of {', '.join(s + '://...' for s in SUPPORTED_SCHEMES)}"
        )
    if parsed.drivername not in SUPPORTED_SCHEMES:
        return (
            f"unsupported scheme {parsed.drivername!r}; use "
            f"{' or '.join(s + '://...' for s in SUPPORTED_SCHEMES)}"
        )
    if parsed.drivername.startswith("sqlite") and not parsed.database:
        return "a SQLite URL needs a file path: sqlite+aiosqlite:///path/to/gateway.db"
    return None


def safe_url(url: str | URL) -> str:
    """``url`` without its password, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


class Store:
    """An open store. ``transaction()`` for writes (one unit of work), ``connect()`` for
    reads; ``dialect`` is ``"sqlite"`` or ``"postgresql"``."""

    def __init__(self, url: str) -> None:
        problem = check_store_url(url)
        if problem is not None:
            raise StoreError(f"store.url: {problem}")
        self.url: URL = make_url(url)
        self.dialect: str = self.url.get_backend_name()
        if self.dialect == "sqlite":
            assert self.url.database is not None
            if self.url.database != ":memory:":
                directory = Path(self.url.database).parent
                if not directory.is_dir():
                    raise StoreError(f"store.url: directory not found: {directory}")
        self.engine: AsyncEngine = create_async_engine(self.url, pool_pre_ping=True)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    def __repr__(self) -> str:
        return f"Store({safe_url(self.url)!r})"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction: committed when the block ends, rolled back if it
        raises. Workflow state changes and their outbox events go in the same one."""
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def ping(self) -> None:
        """Raise ``StoreError`` when the database does not answer."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except (OSError, SQLAlchemyError) as exc:
            raise StoreError(unreachable(self.url, exc)) from None

    async def aclose(self) -> None:
        await self.engine.dispose()


def unreachable(url: str | URL, exc: BaseException) -> str:
    """A one-line reason for a failed database call, without the password or a traceback."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
        reason = reason or type(exc.orig).__name__
    else:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"the database {safe_url(url)} cannot be used: {reason}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run while one writer writes; SQLite enforces foreign keys only when
    # asked, per connection; busy_timeout waits for the writer lock instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
