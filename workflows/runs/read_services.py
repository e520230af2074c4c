"""What a read command needs, opened without SQLAlchemy where it can be: the rows, the clock.

`runs list`, `runs show`, `runs trace` and `review list` answer in a sixth of a second; importing
SQLAlchemy alone would take most of that (store/reading.py). On a SQLite database
already at this code's schema they read it with sqlite3 (`ReadServices`); on
PostgreSQL, or a database that must first be created or upgraded, they open the run
services (runs/services.py), which read the same SQL text through SQLAlchemy. A read
service function takes either: both are `Reads`.
"""

from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from ..clock import Clock, wall_clock
from ..store.location import database_url, sqlite_file
from ..store.reading import Reader, SQLiteReader, current_sqlite

if TYPE_CHECKING:
    from ..runbook.loader import LoadedRunbook
    from .services import RunServices


class Reads(Protocol):
    """What a read service function uses of its services."""

    @property
    def reader(self) -> Reader: ...

    @property
    def clock(self) -> Clock: ...

    def pinned_runbook(self, run_id: str) -> "LoadedRunbook": ...

    def close(self) -> None: ...


class ReadServices:
    """A current SQLite database read through sqlite3. Its clock is this machine's, as SQLite's is."""

    def __init__(self, reader: SQLiteReader, url: str) -> None:
        self.reader = reader
        self.url = url
        self.clock: Clock = wall_clock

    def pinned_runbook(self, run_id: str) -> "LoadedRunbook":
        """A run's runbook, for the rare view that needs it (a review item older than the targets it keeps):
        loading a runbook needs the store, opened then."""
        return self._services.pinned_runbook(run_id)

    @cached_property
    def _services(self) -> "RunServices":
        from .services import open_services

        return open_services(self.url)

    def close(self) -> None:
        self.reader.close()
        if "_services" in self.__dict__:
            self._services.close()


def open_read_services() -> Reads:
    """This crewgate home's database for reading: through sqlite3 when it can be, else the run services."""
    url = database_url()
    path = sqlite_file(url)
    reader = current_sqlite(path) if path is not None else None
    if reader is None:
        from .services import open_services

        return open_services(url)
    return ReadServices(reader, url)
