"""Opening the crewgate database for a command that has no run services, and upgrading its schema.

Such a command (accounts, webhooks, runbook versions, `workers`, `db upgrade`) names its
database by URL, None meaning this crewgate home's (CREWGATE_DATABASE_URL, else SQLite
under $CREWGATE_HOME), and the service function opens it for its one piece of work.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..store.database import Store, shown_url
from ..store.location import crewgate_home as crewgate_home  # where the web server keeps its secret


@contextmanager
def open_store(database: str | None) -> Iterator[Store]:
    """The database (migrated to this release's schema), closed when the block ends."""
    store = Store(database)
    try:
        yield store
    finally:
        store.close()


@dataclass(frozen=True)
class SchemaUpgrade:
    """What `db upgrade` did: the database (its password hidden), its schema before, and the schema now."""

    database: str
    before: str | None  # None: no schema version recorded (an empty database, or one from before migrations)
    had_runs: bool  # whether a run table was there before: crewgate 0.1.0's tables, when `before` is None
    head: str


def upgrade_database(database: str | None) -> SchemaUpgrade:
    """Bring the database's tables to this release's schema, keeping every run and review."""
    from sqlalchemy import inspect

    from ..store.migrations import HEAD, current_revision, migrate

    store = Store(database, upgrade=False)
    try:
        with store.engine.connect() as connection:
            before = current_revision(connection)
            had_runs = inspect(connection).has_table("crewgate_runs")
        migrate(store.engine)
    finally:
        store.close()
    return SchemaUpgrade(shown_url(store.url), before, had_runs, HEAD)
