"""crewgate's schema versions (Alembic). `migrate(engine)` brings any database to the newest.

A database made before migrations existed (crewgate 0.1.0: tables, no version
row) is recognised by its tables, stamped as the baseline, then upgraded, so
its runs and reviews are kept. Opening a database that is already current
costs one query. An empty database gets today's tables straight from
`workflows.store.tables` and is stamped HEAD (a test holds that this equals what the
migrations build); Alembic is imported only for an older schema.
"""

from pathlib import Path

from sqlalchemy import Column, MetaData, String, Table, inspect, text
from sqlalchemy.engine import Connection, Engine

from ..schema_head import HEAD as HEAD  # the version this code reads and writes
from ..schema_head import VERSION_TABLE

BASELINE = "0001"
SCHEMA_LOCK = 0x63726577  # "crew": the advisory lock every migrating process takes on PostgreSQL
SCRIPTS = Path(__file__).resolve().parent


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()  # noqa: S608


def migrate(engine: Engine) -> str:
    """Upgrade the database to HEAD (a no-op when it is there); return the revision it is at."""
    with engine.connect() as connection:
        if current_revision(connection) == HEAD:
            return HEAD
    with engine.begin() as connection:  # a write lock: one process creates, the others then see HEAD
        _lock_schema(connection)
        if current_revision(connection) is None and not inspect(connection).has_table("crewgate_runs"):
            _create_current(connection)
            return HEAD
    upgrade_with_alembic(engine)
    return HEAD


def upgrade_with_alembic(engine: Engine) -> None:
    """Run the migration scripts from wherever the database is (an empty one included) to HEAD."""
    from alembic import command
    from alembic.config import Config

    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(SCRIPTS))
        config.attributes["connection"] = connection
        _lock_schema(connection)
        if current_revision(connection) is None and inspect(connection).has_table("crewgate_runs"):
            command.stamp(config, BASELINE)  # made by 0.1.0, before migrations: its tables are the baseline
        command.upgrade(config, "head")


def _lock_schema(connection: Connection) -> None:
    """Serialise schema changes between processes: SQLite's BEGIN IMMEDIATE already has; PostgreSQL takes a lock."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})


def _create_current(connection: Connection) -> None:
    """Today's tables and a HEAD stamp, in the caller's transaction: 15 ms instead of Alembic's 250 ms."""
    from ..tables import metadata

    metadata.create_all(connection)
    version = Table(VERSION_TABLE, MetaData(), Column("version_num", String(32), primary_key=True))
    version.create(connection)
    connection.execute(version.insert().values(version_num=HEAD))
