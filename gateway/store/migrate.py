"""Alembic migrations shipped in the package: upgrade, and the check made at start.

The scripts live in ``gateway/store/migrations`` (package data), found from this module's
location, so a non-editable install migrates the same way as a checkout.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from gateway.store.engine import Store, StoreError, unreachable

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """The Alembic config of the store (``script_location`` inside the installed package)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(rev)s")  # versions/<rev_id>.py
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(store: Store) -> str | None:
    """The revision the database is at (``None``: never migrated). ``StoreError`` if the
    database cannot be reached."""
    try:
        async with store.connect() as conn:
            return await conn.run_sync(_current)
    except (OSError, SQLAlchemyError) as exc:
        raise StoreError(unreachable(store.url, exc)) from None


async def upgrade(store: Store, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (``catalogue-gateway db upgrade``)."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        async with store.transaction() as conn:
            await conn.run_sync(run)
    except (OSError, SQLAlchemyError) as exc:
        raise StoreError(unreachable(store.url, exc)) from None


async def open_store(url: str, *, upgrade_schema: bool) -> Store:
    """Open the store at ``url`` and make sure its schema is the one this code expects.

    ``upgrade_schema=True`` (the embedded SQLite default) migrates it; otherwise a database
    at another revision is a ``StoreError`` telling to run ``catalogue-gateway db upgrade``
    (replicas sharing PostgreSQL are upgraded once, on purpose, not by whichever starts).
    """
    store = Store(url)
    try:
        await store.ping()
        if upgrade_schema:
            await upgrade(store)
        else:
            current, head = await current_revision(store), head_revision()
            if current != head:
                raise StoreError(
                    f"the database {store!r} is at revision {current or '(none)'}, this gateway "
                    f"needs {head}: run `catalogue-gateway db upgrade --config <your config>`"
                )
    except BaseException:
        await store.aclose()
        raise
    return store
