"""crewgate's schema versions (Alembic). `migrate(engine)` brings any database to the newest.

A database made before migrations existed (crewgate 0.1.0: tables, no version
row) is recognised by its tables, stamped as the baseline, then upgraded, so
its runs and reviews are kept. Opening a database that is already current
costs one query; Alembic is imported only when there is work to do.
"""

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

HEAD = "0002"
BASELINE = "0001"
VERSION_TABLE = "crewgate_alembic_version"
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
    from alembic import command
    from alembic.config import Config

    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(SCRIPTS))
        config.attributes["connection"] = connection
        if current_revision(connection) is None and inspect(connection).has_table("crewgate_runs"):
            command.stamp(config, BASELINE)  # made by 0.1.0, before migrations: its tables are the baseline
        command.upgrade(config, "head")
    return HEAD
