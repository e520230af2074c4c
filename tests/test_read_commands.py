"""The read commands (`runs list`, `runs show`, `runs trace`, `review list`, `batch list`) read a SQLite
home without SQLAlchemy.

Their queries are SQL text (store/reading.py) run by sqlite3 on a current SQLite
database, and by SQLAlchemy everywhere else. The same rows are seeded through the
product's own records into a SQLite home and a PostgreSQL database; every read
through sqlite3 must say exactly what the run services say on PostgreSQL, page for
page. A fresh process answering the commands must never import SQLAlchemy, and a
home sqlite3 cannot read as it is (no database yet, an older schema) is opened by
the run services, which create or upgrade it. How fast: benchmarks/cli_startup.py.
"""

import datetime
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from agents import ModelReply, Usage
from tests.postgres import PostgresServer
from tests.stored_rows import stored_run
from workflows.errors import NotFound
from workflows.runbook.loader import load_runbook
from workflows.runs.read_services import Reads, ReadServices, open_read_services
from workflows.runs.replies import RecordedReplies
from workflows.runs.services import RunServices, open_blobs
from workflows.runs.tool_calls import RecordedToolCalls
from workflows.service.batch_list import list_batches
from workflows.service.queue import check_batch, review_queue
from workflows.service.runs import list_runs, pruned_at, reviews_of_run, run_trace, show_run
from workflows.service.views import QueueQuery, as_json
from workflows.store.database import Store
from workflows.store.location import sqlite_file
from workflows.store.reading import current_sqlite
from workflows.store.records import Records
from workflows.store.tables import batches

ROOT = Path(__file__).resolve().parents[1]
RUNS = 14
NOW = datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC)  # what a queue row's age is counted from
QUERIES = (
    QueueQuery(),
    QueueQuery(limit=4),
    QueueQuery(status="approved", newest_first=True, limit=3),
    QueueQuery(batch="batch-a", limit=2),
    QueueQuery(runbook="book@1.0.0", requester="Requester", limit=5),
    QueueQuery(without_clusters=True),
    QueueQuery(limit=3, offset=5),
)


def seed(store: Store) -> RunServices:
    """RUNS runs, the same on any database: steps, priced and unpriced model calls, tool calls, pending and
    decided review items, a cluster of two in a batch, a promotion, and an item older than the targets crewgate
    keeps (its target comes from its run's pinned runbook)."""
    moments = (datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=n) for n in range(10**5))
    records = Records(store.engine, clock=lambda: next(moments))
    loaded = load_runbook(ROOT / "runbooks" / "add-feature.yaml")
    store.register_runbook(loaded)
    with store.engine.begin() as db:
        db.execute(
            insert(batches).values(
                id="batch-a", runbook="book", version="1.0.0", concurrency=2, source="rows.csv",
                requester="Requester", status="open", created_at=records.timestamp(),
            )
        )  # fmt: skip
    for number in range(RUNS):
        run_id = f"run{number:03d}"
        pinned = {"runbook": loaded.runbook.name, "version": loaded.runbook.version, "sha256": loaded.sha256}
        stored_run(
            records,
            run_id,
            batch_id="batch-a" if number % 3 == 0 else None,
            inputs={"request": f"change {number}\nsecond line", "repo": "/srv/repo"},
            **(pinned if number == RUNS - 1 else {}),
        )
        records.start_step(run_id, "implement", 1, "task")
        replies = RecordedReplies(store.engine, run_id, records.clock)
        for index in range(number % 3):
            usage = Usage(10 + index, 5, 0.0 if index else 0.0012 * number, 1, int(index == 1))
            replies.record("implement#1", "coder", index, ModelReply(f"reply {index}", usage, "stop"))
        if number % 4 == 0:
            calls = RecordedToolCalls(store.engine, run_id, records.clock)
            calls.start("implement#1", "coder", 0, "search", "{}", local=bool(number % 8))
            calls.finish("implement#1", "coder", 0, "refused" if number % 8 else "ok", 0.01, "{}")
        records.add_trace(run_id, "implement", 1, "coder", 1, {"status": "turn", "reply": f"done {number}"})
        records.finish_step(run_id, "implement", 1, "done", "ok", {})
        records.open_review(
            id=f"{run_id}-approve-1", run_id=run_id, step_id="approve", artifact_sha256="a" * 64,
            policy='{"required": 1, "reviewers": ["any"], "allow_requester": false}', evidence="{}",
            requester="Requester", expires_at=None, lines_added=number, lines_removed=1, paths=2,
            change_key="same" if number in (0, 3) else f"key{number}",
            target=None if number == RUNS - 1 else "branch crewgate/x of /srv/repo",
        )  # fmt: skip
        if number % 2:
            records.decide(f"{run_id}-approve-1", "alice", "approve", "", "a" * 64)
        if number == 5:
            records.claim_promotion(run_id, "a" * 64, "git")
            records.finish_promotion(run_id, "a" * 64, "crewgate/run005@0123456")
    return RunServices(store, records, open_blobs(store.engine, Path(store.url.removeprefix("sqlite:///")).parent))


@pytest.fixture(scope="module")
def sqlite_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("read-home")
    store = Store(f"sqlite:///{home / 'crewgate.db'}")
    seed(store)
    store.close()
    yield home


@pytest.fixture
def sqlite_reads(sqlite_home: Path) -> Iterator[ReadServices]:
    reader = current_sqlite(sqlite_home / "crewgate.db")
    assert reader is not None, "a current SQLite database is read through sqlite3"
    services = ReadServices(reader, f"sqlite:///{sqlite_home / 'crewgate.db'}")
    yield services
    services.close()


@pytest.fixture(scope="module")
def postgres_services(postgres_server: PostgresServer) -> Iterator[RunServices]:
    store = Store(postgres_server.new_database())
    yield seed(store)
    store.close()


def said(services: Reads) -> dict[str, Any]:
    """Everything the read commands can say of the seeded runs, as JSON."""
    pages, cursor = [], None
    while True:
        page = list_runs(services, 5, cursor)
        pages.append(as_json(page.items))
        if (cursor := page.next_cursor) is None:
            break
    queue = []
    for query in QUERIES:
        found = review_queue(services, query, NOW)
        queue.append([as_json(found.items), found.total, found.next_cursor])
        if found.next_cursor:
            following = review_queue(services, replace(query, cursor=found.next_cursor, offset=0), NOW)
            queue.append(as_json(following.items))
    ids = [f"run{number:03d}" for number in range(RUNS)]
    return {
        "runs": pages,
        "shown": [as_json(show_run(services, run_id)) for run_id in ids],
        "reviews": [as_json(reviews_of_run(services, run_id)) for run_id in ids],
        "pruned": [pruned_at(services, run_id) for run_id in ids],
        "trace": [as_json(run_trace(services, run_id)) for run_id in ids],
        "batches": as_json(list_batches(services).items),
        "queue": queue,
    }


@pytest.mark.postgres
def test_sqlite3_reads_what_sqlalchemy_reads_on_postgresql(
    sqlite_reads: ReadServices, postgres_services: RunServices
) -> None:
    through_sqlite3, on_postgres = said(sqlite_reads), said(postgres_services)
    assert through_sqlite3 == on_postgres
    shown = {view["id"]: view for view in through_sqlite3["shown"]}
    assert len(through_sqlite3["runs"]) == 3 and shown["run005"]["promotion"]["ref"] == "crewgate/run005@0123456"
    assert (shown["run005"]["model_calls"], shown["run005"]["unpriced_calls"]) == (2, 1)
    refused = {run_id: (view["tool_calls"], view["tool_calls_refused"]) for run_id, view in shown.items()}
    assert [refused[f"run{n:03d}"] for n in (0, 4, 8, 12, 1)] == [(1, 0), (1, 1), (1, 0), (1, 1), (0, 0)]
    every = through_sqlite3["queue"][0][0]
    assert [item["id"] for item in every][:7] == [f"run{n:03d}-approve-1" for n in range(0, RUNS, 2)], "pending first"
    older = next(item for item in every if item["run_id"] == f"run{RUNS - 1:03d}")
    assert "branch crewgate/run013 of the repository /srv/repo" in older["target"], "read from its pinned runbook"
    clustered = {item["id"] for item in through_sqlite3["queue"][-2][0]}
    assert "run000-approve-1" not in clustered and "run003-approve-1" not in clustered, "a cluster is left out"


def test_an_unknown_run_or_batch_is_not_found_through_sqlite3(sqlite_reads: ReadServices) -> None:
    with pytest.raises(NotFound, match="no run 'nope'"):
        show_run(sqlite_reads, "nope")
    with pytest.raises(NotFound, match="no batch 'nope'"):
        check_batch(sqlite_reads, "nope")
    check_batch(sqlite_reads, "batch-a")


def test_a_new_process_answers_the_read_commands_without_importing_sqlalchemy(sqlite_home: Path) -> None:
    """A fresh interpreter (not a forked test process, which has SQLAlchemy loaded already)."""
    program = (
        "import json, sys\n"
        "from workflows.cli import invoke\n"
        "codes = [invoke(line.split()) for line in sys.argv[1:]]\n"
        "loaded = sorted(name for name in sys.modules if name.startswith('sqlalchemy'))\n"
        "print(json.dumps({'codes': codes, 'sqlalchemy': loaded}))\n"
    )
    commands = [
        "runs list --json",
        "runs show run005 --json",
        "review list --json --limit 3",
        "runs trace run005",
        "batch list --json",
        "review list --batch batch-a",
    ]
    done = subprocess.run(
        [sys.executable, "-c", program, *commands],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(sqlite_home), "CREWGATE_HOME": str(sqlite_home)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    *printed, verdict = done.stdout.rstrip("\n").split("\n")
    assert json.loads(verdict) == {"codes": [0, 0, 0, 0, 0, 0], "sqlalchemy": []}, done.stderr
    assert "run005" in "\n".join(printed) and "crewgate/run005@0123456" in "\n".join(printed)
    assert "done 5" in "\n".join(printed), "the trace"
    assert '"id": "batch-a"' in "\n".join(printed), "the batch list"


def test_a_home_sqlite3_cannot_read_as_it_is_is_opened_by_the_run_services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No database yet, or a file with no schema version: the store creates or upgrades it (it is not read as
    it is); the next read command then reads it through sqlite3."""
    monkeypatch.setenv("CREWGATE_HOME", str(tmp_path))
    monkeypatch.delenv("CREWGATE_DATABASE_URL", raising=False)
    first = open_read_services()
    assert isinstance(first, RunServices) and list_runs(first).items == []
    first.close()
    second = open_read_services()
    assert isinstance(second, ReadServices) and list_runs(second).items == []
    second.close()
    (tmp_path / "crewgate.db").unlink()
    sqlite3.connect(tmp_path / "crewgate.db").execute("CREATE TABLE unrelated (x)").connection.close()
    assert current_sqlite(tmp_path / "crewgate.db") is None, "no version table: not this code's schema"
    with sqlite3.connect(tmp_path / "crewgate.db") as db:
        db.execute("CREATE TABLE crewgate_alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        db.execute("INSERT INTO crewgate_alembic_version VALUES ('0001')")
    assert current_sqlite(tmp_path / "crewgate.db") is None, "an older schema is upgraded first, by the store"


def test_reads_together_see_one_state_of_the_database(sqlite_home: Path, tmp_path: Path) -> None:
    """A queue page's total and its rows are read together (store/queue.py): what is written meanwhile shows
    in neither."""
    copy = tmp_path / "crewgate.db"
    with sqlite3.connect(sqlite_home / "crewgate.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    reader = current_sqlite(copy)
    assert reader is not None
    counted = "SELECT COUNT(*) AS rows FROM crewgate_alembic_version"  # (a copy: any table will do)
    with reader.together() as db, sqlite3.connect(copy) as writer:
        before = db.rows(counted)[0]["rows"]
        writer.execute("INSERT INTO crewgate_alembic_version VALUES ('written meanwhile')")
        writer.commit()
        assert db.rows(counted)[0]["rows"] == before == 1, "the same state throughout"
    assert reader.rows(counted)[0]["rows"] == 2, "and what was written, after"
    reader.close()


def test_a_database_url_is_read_by_the_run_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CREWGATE_DATABASE_URL (PostgreSQL, or SQLite spelled with options) is never read around the store."""
    assert sqlite_file(f"sqlite:///{tmp_path / 'a%20b.db'}") is None, "a %-escape is SQLAlchemy's to decode"
    assert sqlite_file(f"sqlite:///{tmp_path / 'crewgate.db'}") == tmp_path / "crewgate.db"
    monkeypatch.setenv("CREWGATE_HOME", str(tmp_path))
    monkeypatch.setenv("CREWGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}?timeout=5")
    services = open_read_services()
    try:
        assert isinstance(services, RunServices) and list_runs(services).items == []
    finally:
        services.close()
