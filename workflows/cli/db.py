"""`crewgate db ...`: the database's schema version, for operators."""

import click

from ._output import HOME_DATABASE


@click.group()
def db() -> None:
    """The crewgate database (every command also upgrades it when it opens it)."""


@db.command()
def upgrade() -> None:
    """Bring the database's tables to this release's schema, keeping every run and review."""
    from ..service.database import upgrade_database

    done = upgrade_database(HOME_DATABASE)
    if done.before == done.head:
        click.echo(f"{done.database}: schema {done.head}, already current")
    else:
        origin = done.before or ("0.1.0 (before migrations)" if done.had_runs else "empty")
        click.echo(f"{done.database}: schema {origin} -> {done.head}")
