"""Running real `crewgate` processes against a private CREWGATE_HOME, and reading what they recorded."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import prefork
from tests.helpers import crewgate, wait_until

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DATA = Path(__file__).resolve().parent / "data"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def make_repo(target: Path, example: str = "calculator") -> Path:
    shutil.copytree(EXAMPLES / example, target)
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "-c", "user.name=dev", "-c", "user.email=dev@example.invalid", "commit", "-qm", "base")
    return target


@dataclass
class Crewgate:
    """A crewgate installation in a temp folder: its own database, blobs and runbooks."""

    home: Path
    requester: str = "requester"
    database_url: str | None = None  # PostgreSQL; None: SQLite under home
    started: list[subprocess.Popen[str]] = field(default_factory=list)  # killed when the test ends, pass or fail

    def env(self, **extra: str) -> dict[str, str]:
        database = {"CREWGATE_DATABASE_URL": self.database_url} if self.database_url else {}
        return {**os.environ, "CREWGATE_HOME": str(self.home), "USER": self.requester, **database, **extra}

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'crewgate.db'}"

    def run(
        self, *args: str, timeout: float = 300, stdin: str | None = None, process: bool | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return crewgate(*args, env=self.env(**extra), timeout=timeout, stdin=stdin, process=process)

    def start(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        process = prefork.popen(
            list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env(**extra)
        )
        self.started.append(process)
        return process

    def start_logged(self, log: Path, *args: str, **extra: str) -> subprocess.Popen[str]:
        """Start a long-running command (a worker) writing to `log`: an unread pipe would fill and stall it."""
        with log.open("w") as output:
            process = prefork.popen(
                list(args), stdout=output, stderr=subprocess.STDOUT, text=True, env=self.env(**extra)
            )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        """SIGKILL whatever this test started and is still running (a failed assertion must not leave workers)."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=30)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """`sql` with `?` placeholders, on SQLite or PostgreSQL."""
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as db:
                return db.execute(sql.replace("?", "%s"), params).fetchall()  # type: ignore[arg-type]
        with sqlite3.connect(self.home / "crewgate.db", timeout=30) as db:
            return db.execute(sql, params).fetchall()

    def wait_for(self, sql: str, *params: Any, timeout: float = 120) -> list[tuple[Any, ...]]:
        """The rows `sql` finds once it finds any (a process is working towards them)."""

        def rows() -> list[tuple[Any, ...]]:
            try:
                return self.query(sql, *params)
            except (sqlite3.OperationalError, _pg_errors()):  # tables not created yet
                return []

        return wait_until(rows, timeout, f"rows for: {sql} {params}")

    def show(self, run_id: str) -> dict[str, Any]:
        """What `crewgate runs show RUN --json` prints, read through the service layer in this process.

        A process per look cost 0.6 s of CPU, dozens of times a suite; `show_by_command`
        is the same answer through the command, which test_durable_runs compares.
        """
        from workflows.runs.services import RunServices, open_blobs
        from workflows.service.runs import show_run
        from workflows.service.views import as_json
        from workflows.store.database import Store
        from workflows.store.records import Records

        store = Store(self.url, upgrade=False)
        services = RunServices(store, Records(store.engine), open_blobs(store.engine, self.home / "blobs"))
        try:
            view = as_json(show_run(services, run_id))
        finally:
            store.close()
        return json.loads(json.dumps(view, default=str))  # type: ignore[no-any-return]

    def show_by_command(self, run_id: str) -> dict[str, Any]:
        done = self.run("runs", "show", run_id, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def turns(self, run_id: str, step: str) -> list[dict[str, Any]]:
        rows = self.query("SELECT data FROM crewgate_trace WHERE run_id = ? AND step_id = ? ORDER BY id", run_id, step)
        return [json.loads(row[0]) for row in rows]


def _pg_errors() -> type[Exception]:
    import psycopg

    return psycopg.errors.UndefinedTable


def queue_runs(cg: Crewgate, runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Record each run for a worker (`crewgate run REF -i ... --detach --json`); return their ids in order.

    One `crewgate worker` then serves them all, importing litellm and the crew frameworks
    once: a `crewgate run` process per run spends 6-12 s of CPU on those imports alone.
    """
    run_ids = []
    for reference, inputs in runs:
        pairs = [item for name, value in inputs.items() for item in ("-i", f"{name}={value}")]
        queued = cg.run("run", reference, *pairs, "--detach", "--json")
        assert queued.returncode == 0, queued.stdout[-2000:] + queued.stderr[-2000:]
        run_ids.append(last_event(queued.stdout)["run"])
    return run_ids


def pending_review(cg: Crewgate, run_id: str) -> str:
    """The id of the run's review that waits for a decision."""
    rows = cg.query("SELECT id FROM crewgate_reviews WHERE run_id = ? AND status = 'pending'", run_id)
    assert len(rows) == 1, rows
    return str(rows[0][0])


def last_event(output: str) -> dict[str, Any]:
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def logged_events(log: Path) -> list[dict[str, Any]]:
    """The JSON events a `--json` command wrote to its log (other lines are its warnings)."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def wait_for_event(log: Path, status: str, timeout: float = 120) -> dict[str, Any]:
    found = wait_until(
        lambda: [event for event in logged_events(log) if event.get("status") == status],
        timeout,
        lambda: f"no {status!r} event in {log}:\n{log.read_text()[-4000:]}",
    )
    return found[0]


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)


def durable_runbook(folder: Path, sleep_seconds: float = 0.0, by_check: bool = False, engine: str = "autogen") -> Path:
    """The crash-test runbook, its crew on `engine`, with the coder's sandbox cell sleeping `sleep_seconds`.

    AutoGen by default: it imports in a second where crewAI takes six, and what these
    tests crash is the engine's steps, not the framework. `by_check` writes the same
    change with a check step instead of the crew: for tests of the gate and after it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    book = (DATA / "durable" / ("by-check.yaml" if by_check else "runbook.yaml")).read_text()
    (folder / "runbook.yaml").write_text(book.replace("crew:\n  members:", f"crew:\n  engine: {engine}\n  members:"))
    replies = (DATA / "durable" / "replies.yaml").read_text().replace("SLEEP_SECONDS", str(sleep_seconds))
    (folder / "replies.yaml").write_text(replies)
    return folder / "runbook.yaml"
