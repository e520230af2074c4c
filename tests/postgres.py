"""A throwaway PostgreSQL server for tests marked `postgres`: a cluster in a temp folder, on 127.0.0.1.

One server per pytest worker process, one fresh database per test. As root the
server runs as the `postgres` user (PostgreSQL refuses to run as root). Durability
settings are off: the cluster is thrown away, and what the tests check is
crewgate's locking and recovery, not PostgreSQL's fsync.
"""

import functools
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

SETTINGS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=600"


@functools.cache
def postgres_missing() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    for program in ("initdb", "pg_ctl"):
        if _program(program) is None:
            return f"{program} not found: install PostgreSQL (`apt-get install -y postgresql`; .ci/run does)"
    if os.geteuid() == 0 and _user_missing("postgres"):
        return "running as root without a `postgres` user to run the server as"
    return None


def _program(name: str) -> str | None:
    """On PATH, or where Debian's package puts it (/usr/lib/postgresql/VERSION/bin, not on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda path: int(path.parts[-3]))
    return str(versions[-1]) if versions else None


def _user_missing(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return True
    return False


class PostgresServer:
    """initdb + pg_ctl in a temp folder; `new_database()` gives each test its own database URL."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="crewgate-pg-"))
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        self._as_server_user("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 {SETTINGS}"
        self._as_server_user("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self._as_server_user("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def _as_server_user(self, program: str, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, _program(program) or program, *argv], capture_output=True, text=True, check=False, cwd=self.root
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} {argv[0]} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
