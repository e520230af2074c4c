"""Reading rows with SQL text: through the standard library's sqlite3, or through SQLAlchemy.

A read command (`runs list`, `runs show`, `runs trace`, `review list`) answers in a sixth of a second:
importing SQLAlchemy alone takes most of that. So the queries those commands run are
SQL text, written once, that SQLite and PostgreSQL both read: on a current SQLite
database a `SQLiteReader` runs them with sqlite3 and SQLAlchemy is never imported;
everywhere else (PostgreSQL, a worker, the web server) an `EngineReader` runs the
same text on the process's engine. Writes stay SQLAlchemy Core (store/database.py).

Parameters are named (`:run_id`); a list of values is spelled with `in_list`.
"""

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..plain import Row
from .schema_head import HEAD, VERSION_TABLE

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

Params = Mapping[str, object]


class Reader(Protocol):
    """Runs a SELECT and returns its rows by column name."""

    def rows(self, sql: str, params: Params | None = None) -> list[Row]: ...

    def together(self) -> AbstractContextManager["Reader"]:
        """One connection and transaction for several reads, so they see one state of the database (a page's
        rows and its total)."""
        ...


class EngineReader:
    """The SQL text on a SQLAlchemy engine: the same statements, their plans and events as every other query."""

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine

    def rows(self, sql: str, params: Params | None = None) -> list[Row]:
        with self.together() as db:
            return db.rows(sql, params)

    @contextmanager
    def together(self) -> Iterator[Reader]:
        with self.engine.connect() as db:
            yield _ConnectionReader(db)


class _ConnectionReader:
    """Reads on one SQLAlchemy connection (in its one transaction)."""

    def __init__(self, connection: "Connection") -> None:
        self.connection = connection

    def rows(self, sql: str, params: Params | None = None) -> list[Row]:
        from sqlalchemy import text

        return list(self.connection.execute(text(sql), dict(params or {})).mappings())

    @contextmanager
    def together(self) -> Iterator[Reader]:
        yield self


class SQLiteReader:
    """The SQL text on a SQLite file through sqlite3: one connection, opened at the first read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None

    def rows(self, sql: str, params: Params | None = None) -> list[Row]:
        cursor = self._connect().execute(sql, dict(params or {}))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, found, strict=True)) for found in cursor.fetchall()]

    @contextmanager
    def together(self) -> Iterator[Reader]:
        connection = self._connect()
        if connection.in_transaction:  # already together
            yield self
            return
        connection.execute("BEGIN")  # deferred: a read snapshot, no lock a writer waits for
        try:
            yield self
        finally:
            connection.execute("COMMIT")  # nothing was written: this only ends the snapshot

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            # Autocommit: a read never holds a transaction open. A writer's lock is waited for, as the store does.
            self._connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        return self._connection


def current_sqlite(path: Path) -> SQLiteReader | None:
    """A reader of the SQLite file at `path` if it exists and its schema is this code's (HEAD); None if it must
    first be created or upgraded, which only the store does (store/migrations/)."""
    if not path.is_file():
        return None
    reader = SQLiteReader(path)
    try:
        found = reader.rows(f"SELECT version_num FROM {VERSION_TABLE}")  # noqa: S608 (a constant)
    except sqlite3.DatabaseError:  # no version table yet (an empty file, a database older than migrations)
        found = []
    if [row["version_num"] for row in found] != [HEAD]:
        reader.close()
        return None
    return reader


def in_list(name: str, values: Iterable[object]) -> tuple[str, dict[str, object]]:
    """`:name_0, :name_1, ...` for `IN (...)`, and its parameters: a list as both databases take it."""
    params = {f"{name}_{index}": value for index, value in enumerate(values)}
    return ", ".join(f":{key}" for key in params), params
