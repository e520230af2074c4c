"""Alembic's entry point: migrate on the connection `migrate()` hands over (never a URL from a file)."""

from alembic import context

from workflows.store.schema_head import VERSION_TABLE

context.configure(
    connection=context.config.attributes["connection"],
    version_table=VERSION_TABLE,
    render_as_batch=True,  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
