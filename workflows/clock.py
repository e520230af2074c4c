"""One clock for everything that compares times across machines: the database's.

Heartbeats, review expiry and schedules are judged by the database server's
clock, so a machine whose clock is off neither looks dead nor fires a tick early
or expires a review late. SQLite lives on this machine: its clock is this
machine's. `DatabaseClock` asks the server once a minute and keeps the offset,
so asking the time costs no query.
"""

import datetime
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a read command tells the time without SQLAlchemy (store/reading.py)
    from sqlalchemy.engine import Connection, Engine

RESYNC_S = 60.0

Clock = Callable[[], datetime.datetime]  # an aware UTC datetime: a DatabaseClock, wall_clock, or a test's own


def wall_clock() -> datetime.datetime:
    """This machine's time: for a process with no database yet, and the default of the record classes."""
    return datetime.datetime.now(datetime.UTC)


def stamp(at: datetime.datetime) -> str:
    """A time as the tables keep it: ISO 8601 in UTC, to the millisecond."""
    return at.astimezone(datetime.UTC).isoformat(timespec="milliseconds")


def database_time(db: "Connection") -> float:
    """Seconds since the epoch by the database server's clock (SQLite: this machine is the only one)."""
    if db.dialect.name == "postgresql":
        from sqlalchemy import text

        return float(db.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
    return time.time()


def database_now(engine: "Engine") -> datetime.datetime:
    with engine.connect() as db:
        return datetime.datetime.fromtimestamp(database_time(db), datetime.UTC)


class DatabaseClock:
    """The database's time as an aware UTC datetime: this machine's clock plus the server's measured offset."""

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self._offset = 0.0
        self._synced_at = -RESYNC_S
        self._lock = threading.Lock()

    def __call__(self) -> datetime.datetime:
        if self.engine.dialect.name != "postgresql":
            return datetime.datetime.now(datetime.UTC)
        with self._lock:
            if time.monotonic() - self._synced_at >= RESYNC_S:
                with self.engine.connect() as db:
                    before = time.time()
                    server = database_time(db)
                    after = time.time()
                self._offset = server - (before + after) / 2
                self._synced_at = time.monotonic()
            offset = self._offset
        return datetime.datetime.fromtimestamp(time.time() + offset, datetime.UTC)
