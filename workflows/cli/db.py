"""`crewgate db ...`: the database's schema version, for operators."""

import click


@click.group()
def db() -> None:
    """The crewgate database (every command also upgrades it when it opens it)."""


@db.command()
def upgrade() -> None:
    """Bring the database's tables to this release's schema, keeping every run and review."""
    from sqlalchemy import inspect

    from ..store.database import Store, shown_url
    from ..store.migrations import HEAD, current_revision, migrate

    store = Store(upgrade=False)
    try:
        with store.engine.connect() as connection:
            before = current_revision(connection)
            has_runs = inspect(connection).has_table("crewgate_runs")
        migrate(store.engine)
    finally:
        store.close()
    if before == HEAD:
        click.echo(f"{shown_url(store.url)}: schema {HEAD}, already current")
    else:
        origin = before or ("0.1.0 (before migrations)" if has_runs else "empty")
        click.echo(f"{shown_url(store.url)}: schema {origin} -> {HEAD}")
