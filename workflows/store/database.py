"""crewgate's own tables, beside DBOS's in the same database.

SQLite under $CREWGATE_HOME (default ~/.crewgate) unless CREWGATE_DATABASE_URL
names another database (PostgreSQL to scale out). SQLAlchemy Core keeps the
SQL portable between the two.
"""

import base64
import datetime
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ..clock import Clock, wall_clock
from ..errors import NotFound, Problem, RunbookError, StoreCorrupt
from ..plain import plain
from ..runbook.semver import semver_key
from .location import database_url, is_postgres
from .migrations import migrate
from .tables import runbook_versions

if TYPE_CHECKING:  # the loader (pydantic) is imported only by the commands that load runbooks
    from ..runbook.loader import LoadedRunbook


def engine_url(url: str) -> str:
    """The SQLAlchemy spelling of `url`: PostgreSQL through psycopg 3 (the driver DBOS uses too)."""
    if is_postgres(url):
        return "postgresql+psycopg:" + url.split(":", 1)[1]
    return url


@dataclass(frozen=True)
class RegisteredRunbook:
    name: str
    version: str
    sha256: str
    content: str
    source_file: str
    base_dir: str | None
    registered_at: str
    tool_modules: str | None = None  # JSON {path: base64 bytes}, as registered

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def load(self) -> "LoadedRunbook":
        """Validate the stored content again (it must still hash to what was registered).

        Its tool modules are the stored bytes, not the files beside it now: a version never changes.
        """
        base = Path(self.base_dir) if self.base_dir else None
        from ..runbook.loader import parse_runbook

        modules = {path: base64.b64decode(data) for path, data in json.loads(self.tool_modules or "{}").items()}
        loaded = parse_runbook(self.content, f"{self.ref} (stored)", base, stored=True, tool_files=modules)
        if loaded.sha256 != self.sha256:
            raise StoreCorrupt(f"stored runbook {self.ref} no longer matches its hash: the store was modified")
        return loaded


class Store:
    """The database crewgate keeps its records in."""

    def __init__(self, url: str | None = None, upgrade: bool = True, clock: Clock = wall_clock) -> None:
        self.url = url or database_url()
        self.clock = clock
        self.engine: Engine = create_engine(
            engine_url(self.url), connect_args=_connect_args(self.url), pool_pre_ping=is_postgres(self.url)
        )
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)
        if upgrade:
            migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- runbook versions ---------------------------------------------------
    def register_runbook(self, loaded: "LoadedRunbook") -> tuple[RegisteredRunbook, bool]:
        """Record name@version -> content hash; return (record, newly registered).

        The same content again is fine; different content under a used version is refused.
        """
        book = loaded.runbook
        record = RegisteredRunbook(
            name=book.name,
            version=book.version,
            sha256=loaded.sha256,
            content=loaded.source,
            source_file=loaded.file,
            base_dir=str(loaded.base_dir) if loaded.base_dir else None,
            registered_at=self.clock().astimezone(datetime.UTC).isoformat(timespec="seconds"),
            tool_modules=json.dumps({m.path: base64.b64encode(m.source).decode() for m in loaded.tool_modules})
            if loaded.tool_modules
            else None,
        )
        try:
            with self.engine.begin() as connection:
                connection.execute(runbook_versions.insert().values(**plain(record)))
            return record, True
        except IntegrityError:
            existing = self.get_runbook(book.name, book.version)
        if existing.sha256 != loaded.sha256:
            line = next((n for n, text in enumerate(loaded.source.splitlines(), 1) if text.startswith("version:")), 1)
            raise RunbookError(
                [
                    Problem(
                        loaded.file,
                        line,
                        1,
                        f"{loaded.ref} is already registered with different content (sha256 {existing.sha256[:12]}, "
                        f"first registered {existing.registered_at}); a used version never changes: bump `version:`",
                        "version",
                    )
                ]
            )
        return self._moved_folder(existing, record), False

    def _moved_folder(self, existing: RegisteredRunbook, again: RegisteredRunbook) -> RegisteredRunbook:
        """The same content registered again from another folder, where the first one is gone: its relative
        files (scripted replies, batch inputs) are read from the new folder from now on, not from nowhere.
        A folder that still exists is kept: runs pinned to the version keep reading what they read."""
        gone = existing.base_dir is not None and not Path(existing.base_dir).is_dir()
        if not gone or again.base_dir is None or again.base_dir == existing.base_dir:
            return existing
        with self.engine.begin() as connection:
            connection.execute(
                runbook_versions.update()
                .where(runbook_versions.c.name == existing.name, runbook_versions.c.version == existing.version)
                .values(base_dir=again.base_dir)
            )
        return replace(existing, base_dir=again.base_dir)

    def get_runbook(self, name: str, version: str | None = None) -> RegisteredRunbook:
        """A registered version; without `version`, the latest by semantic version."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(runbook_versions).where(runbook_versions.c.name == name)).mappings().all()
        if not rows:
            raise NotFound(
                f"no runbook named {name!r} is registered: run it from its file first, or see `crewgate runbook list`"
            )
        if version is None:
            return RegisteredRunbook(**max(rows, key=lambda row: semver_key(row["version"])))
        for row in rows:
            if row["version"] == version:
                return RegisteredRunbook(**row)
        known = ", ".join(sorted((row["version"] for row in rows), key=semver_key))
        raise NotFound(f"runbook {name!r} has no registered version {version!r} (registered: {known})")

    def list_runbooks(self) -> list[RegisteredRunbook]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(runbook_versions)).mappings().all()
        records = [RegisteredRunbook(**row) for row in rows]
        return sorted(records, key=lambda record: (record.name, semver_key(record.version)))


def _connect_args(url: str) -> dict[str, object]:
    if url.startswith("sqlite"):
        return {"timeout": 30}
    return {"connect_timeout": 10} if is_postgres(url) else {}


def shown_url(url: str) -> str:
    """The database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(connection: object, _record: object) -> None:
    # pysqlite opens a transaction only at the first write, so a read-check-write could race
    # another process; we issue BEGIN ourselves (below) and turn pysqlite's off.
    connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection: Connection) -> None:
    """Take the write lock when a transaction starts, so checks and writes see one state."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")
