"""A database made by crewgate 0.1.0 (before migrations) is migrated on open and keeps its runs and reviews.

`tests/data/release-0.1.0/home` is a real CREWGATE_HOME left by crewgate 0.1.0 with
the demo run waiting at its gate (made by running commit 37bce3c's `crewgate run`).
"""

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine

from tests.helpers import crewgate
from workflows.store.migrations import HEAD, current_revision, migrate, upgrade_with_alembic
from workflows.store.tables import metadata

RELEASE_0_1_0 = Path(__file__).resolve().parent / "data" / "release-0.1.0" / "home"
RUN, REVIEW = "895da62c316b", "895da62c316b-approve-1"


def test_a_0_1_0_database_is_migrated_on_open_and_keeps_its_runs_and_reviews(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(RELEASE_0_1_0, home)
    env = {"CREWGATE_HOME": str(home)}
    runs = json.loads(crewgate("runs", "list", "--json", env=env).stdout)
    assert [(run["id"], run["status"]) for run in runs] == [(RUN, "waiting")]
    reviews = json.loads(crewgate("review", "list", "--json", env=env).stdout)
    assert [(item["id"], item["status"]) for item in reviews] == [(REVIEW, "pending")]
    shown = json.loads(crewgate("review", "show", REVIEW, "--json", env=env).stdout)
    assert shown["artifact_problem"] is None and (shown["summary"]["added"], shown["summary"]["modified"]) == (1, 2)
    with sqlite3.connect(home / "crewgate.db") as db:
        assert db.execute("SELECT version_num FROM crewgate_alembic_version").fetchall() == [(HEAD,)]
        assert db.execute("SELECT count(*) FROM crewgate_model_calls").fetchall() == [(0,)]
    again = crewgate("db", "upgrade", env=env)
    assert again.returncode == 0 and "already current" in again.stdout


def test_db_upgrade_reports_what_it_did(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(RELEASE_0_1_0, home)
    done = crewgate("db", "upgrade", env={"CREWGATE_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    assert f"schema 0.1.0 (before migrations) -> {HEAD}" in done.stdout


def schema(engine: Engine) -> dict[str, Any]:
    """Every crewgate table's columns (name, type, nullability), primary key, unique constraints and indexes."""
    found = inspect(engine)
    return {
        name: {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(name)],
            "primary_key": found.get_pk_constraint(name)["constrained_columns"],
            "unique": sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(name)),
            "indexes": sorted((tuple(i["column_names"]), bool(i["unique"])) for i in found.get_indexes(name)),
        }
        for name in sorted(found.get_table_names())
        if name.startswith("crewgate_")
    }


def test_the_migrations_build_exactly_the_tables_the_code_uses(tmp_path: Path) -> None:
    """An empty database gets `workflows.store.tables` directly; the migration scripts must build the same."""
    scripted = create_engine(f"sqlite:///{tmp_path / 'scripted.db'}")
    upgrade_with_alembic(scripted)
    direct = create_engine(f"sqlite:///{tmp_path / 'direct.db'}")
    assert migrate(direct) == HEAD
    assert schema(direct) == schema(scripted)
    assert set(schema(direct)) == {table.name for table in metadata.sorted_tables} | {"crewgate_alembic_version"}
    with direct.connect() as connection:
        assert current_revision(connection) == HEAD
