"""Which hosting processes are alive: a heartbeat row per executor id, and a documented timeout.

Every process that launches the run engine (`crewgate run`, `review approve`, `runs resume`,
`crewgate worker`) writes its executor id's row before DBOS starts and refreshes `seen_at`
every few seconds from a daemon thread. A process is gone when it has no row,
when its row is older than CREWGATE_HOST_TIMEOUT_S (default 30 s), or at once when
it ran on this machine (same host name and process namespace) and its pid no
longer exists. Only then may another process take its runs over; a live
process's runs are never touched. Times are the database's clock, not each
machine's, so a worker whose clock is off cannot make a live one look gone.
"""

import datetime
import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine, RowMapping

from ..clock import database_time, stamp
from ..errors import BadInput
from ..store.tables import hosts

DEFAULT_TIMEOUT_S = 30.0
log = logging.getLogger("crewgate.liveness")


def host_timeout() -> float:
    """Seconds without a heartbeat after which a process counts as gone."""
    text = os.environ.get("CREWGATE_HOST_TIMEOUT_S", str(DEFAULT_TIMEOUT_S))
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise BadInput(f"CREWGATE_HOST_TIMEOUT_S must be a number of seconds above 0 (got {text!r})")
    return value


def this_machine() -> str:
    """Host name, boot and pid namespace: a pid means the same process only within all three.

    The boot id tells apart machines that share a host name (cloned VMs, containers given one
    `--hostname`): every host's first pid namespace has the same inode number.
    """
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        boot = "noboot"
    return f"{socket.gethostname()}/{boot}/{namespace}"


def worker_executor_id() -> str:
    """Each worker process its own id, so DBOS's recovery and our liveness are per process."""
    return f"worker-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Heartbeat:
    """Keeps this process's executor id alive in the database until the process ends (one thread per id)."""

    _beating: set[str] = set()

    def __init__(self, engine: Engine, executor_id: str) -> None:
        self.engine = engine
        self.executor_id = executor_id
        self.interval_s = min(host_timeout() / 3, 5.0)
        if executor_id in Heartbeat._beating:
            return
        Heartbeat._beating.add(executor_id)
        self._beat(first=True)  # before DBOS starts: nobody may see this executor's runs as orphaned
        threading.Thread(target=self._loop, name="crewgate-heartbeat", daemon=True).start()

    def _beat(self, first: bool = False) -> None:
        with self.engine.begin() as db:
            if first:
                db.execute(delete(hosts).where(hosts.c.executor_id == self.executor_id))
                seen = database_time(db)  # the database's clock, like every heartbeat after it
                started = stamp(datetime.datetime.fromtimestamp(seen, datetime.UTC))
                row = {"pid": os.getpid(), "hostname": this_machine(), "started_at": started}
                db.execute(insert(hosts).values(executor_id=self.executor_id, seen_at=seen, **row))
            else:
                seen = database_time(db)
                db.execute(update(hosts).where(hosts.c.executor_id == self.executor_id).values(seen_at=seen))

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval_s)
            try:
                self._beat()
            except Exception as exc:  # noqa: BLE001 -- a busy database: the next beat tries again
                log.debug("heartbeat of %s missed: %s", self.executor_id, exc)


def alive(engine: Engine, executor_id: str) -> bool:
    """Has this executor beaten its heart within the timeout?"""
    with engine.connect() as db:
        return alive_in(db, executor_id)


def alive_in(db: Connection, executor_id: str) -> bool:
    """`alive`, read in the caller's transaction (SQLite: a second connection would wait for its lock)."""
    row = db.execute(select(hosts).where(hosts.c.executor_id == executor_id)).mappings().first()
    return row is not None and is_alive(row, database_time(db))


def is_alive(row: RowMapping, clock: float) -> bool:
    """What a heartbeat row says at `clock` (the database's time): beaten within the timeout, pid still here."""
    if row["hostname"] == this_machine() and not _pid_exists(row["pid"]):
        return False  # killed on this machine: no need to wait for the timeout
    return bool(clock - row["seen_at"] < host_timeout())


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def any_worker_alive(engine: Engine) -> bool:
    """Is some `crewgate worker` alive? It takes over the runs of gone processes itself."""
    with engine.connect() as db:
        clock = database_time(db)
        query = select(hosts).where(hosts.c.executor_id.like("worker-%"), hosts.c.seen_at >= clock - host_timeout())
        recent = db.execute(query).mappings().all()
    return any(is_alive(row, clock) for row in recent)
