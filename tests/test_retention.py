"""`crewgate runs prune`: ended runs lose their trace, call bodies and unused blobs; nothing decided is lost.

Real runs through the command on a real SQLite store and blob folder: one promoted,
one rejected, one waiting at its gate, one started while the prune runs. After the
prune the waiting run's review, the decisions and the promotion are intact, the
waiting run still promotes (its base snapshot is shared with the pruned runs and was
kept), `runs show` says what was pruned, and the database file has shrunk.
"""

import datetime
import json
import os
import time
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, durable_runbook, last_event
from workflows.store.blobs import BlobStore, sha256_of

pytestmark = pytest.mark.docker


def _gate(cg: Crewgate, runbook: Path, repo: Path) -> tuple[str, str]:
    done = cg.run("run", str(runbook), "-i", f"repo={repo}", "--json")
    assert done.returncode == 10, done.stdout[-2000:] + done.stderr[-2000:]
    event = last_event(done.stdout)
    return event["run"], event["review"]


def test_prune_keeps_what_was_decided_and_shrinks_the_store(cg: Crewgate, tmp_path: Path, repo: Path) -> None:
    runbook = durable_runbook(tmp_path / "rb")
    promoted, promoted_item = _gate(cg, runbook, repo)
    assert cg.run("review", "approve", promoted_item, "--reviewer", "alice").returncode == 0
    rejected, rejected_item = _gate(cg, runbook, repo)
    assert cg.run("review", "reject", rejected_item, "--reviewer", "alice", "-m", "not this").returncode == 1
    cut = datetime.datetime.now(datetime.UTC).isoformat()
    later, later_item = _gate(cg, runbook, repo)
    assert cg.run("review", "reject", later_item, "--reviewer", "bob", "-m", "no").returncode == 1  # rejected
    waiting, waiting_item = _gate(cg, runbook, repo)
    before = {run: cg.show(run) for run in (promoted, rejected, waiting)}
    assert all(cg.turns(run, "implement") for run in (promoted, rejected, waiting))

    looked = cg.run("runs", "prune", "--before", cut, "--dry-run", "--json")
    assert looked.returncode == 0, looked.stderr
    dry = json.loads(looked.stdout)
    assert dry["dry_run"] and sorted(dry["runs"]) == sorted([promoted, rejected]), dry
    assert dry["rows"]["trace_events"] > 0 and dry["rows"]["model_call_bodies"] > 0
    assert cg.turns(promoted, "implement"), "a dry run changes nothing"

    long_ago = time.time() - 86400
    for blob in (cg.home / "blobs").rglob("*"):  # as if these runs had ended a day ago
        os.utime(blob, (long_ago, long_ago))
    blobs_before = {blob.name for blob in (cg.home / "blobs").rglob("*") if blob.is_file()}
    worker = cg.start("run", str(runbook), "-i", f"repo={repo}", "--json")  # a run starting as the prune runs
    done = cg.run("runs", "prune", "--before", cut)
    assert done.returncode == 0, done.stderr
    assert "2 run(s) ended before" in done.stdout and "database file" in done.stdout, done.stdout
    assert "not compacted" not in done.stdout, done.stdout
    out, err = worker.communicate(timeout=300)
    assert worker.returncode == 10, out[-2000:] + err[-2000:]

    # The pruned runs: no trace, call bodies blank, but their steps, reviews, decisions, promotion and costs kept.
    for run in (promoted, rejected):
        assert cg.turns(run, "implement") == []
        assert cg.query("SELECT count(*) FROM crewgate_model_calls WHERE run_id = ? AND reply != ''", run) == [(0,)]
        after = cg.show(run)
        assert after["cost_usd"] == before[run]["cost_usd"] and after["model_calls"] == before[run]["model_calls"]
        assert after["steps"] == before[run]["steps"] and after["pruned"]["trace_events"] > 0
    shown = cg.run("runs", "show", promoted)
    assert "pruned " in shown.stdout and "trace event(s)" in shown.stdout, shown.stdout
    assert f"promoted to git: crewgate/{promoted}" in shown.stdout, "the promotion is kept"
    decided = json.loads(cg.run("review", "show", promoted_item, "--json").stdout)
    assert [(d["reviewer"], d["decision"]) for d in decided["decisions"]] == [("alice", "approve")]
    assert "+" in decided["diff"], "its artifact has the same bytes as the waiting run's: kept"
    gone = blobs_before - {blob.name for blob in (cg.home / "blobs").rglob("*") if blob.is_file()}
    snapshots = {
        row[0] for row in cg.query("SELECT snapshot FROM crewgate_steps WHERE run_id IN (?, ?)", promoted, rejected)
    }
    assert gone == snapshots - {None}, "the snapshots only the pruned runs used are removed, no other blob"
    replayed = cg.run("runs", "replay", promoted)
    assert replayed.returncode == 2 and "was pruned" in replayed.stderr, replayed.stderr
    assert "its trace events were removed" in cg.run("runs", "trace", rejected).stdout

    # Runs ended after the cut-off, and the waiting one, are untouched; the waiting run still promotes.
    assert cg.turns(later, "implement") and cg.show(later)["pruned"] is None
    assert cg.turns(waiting, "implement")
    pending = json.loads(cg.run("review", "show", waiting_item, "--json").stdout)
    assert pending["status"] == "pending" and "+" in pending["diff"], pending.get("artifact_problem")
    approved = cg.run("review", "approve", waiting_item, "--reviewer", "alice")
    assert approved.returncode == 0 and f"run {waiting} promoted" in approved.stdout, approved.stdout + approved.stderr

    # Again, with nothing else running: the rest of the ended runs, never one twice; the file shrinks (VACUUM).
    cg.query("PRAGMA wal_checkpoint(TRUNCATE)")
    size_before = (cg.home / "crewgate.db").stat().st_size
    again = json.loads(cg.run("runs", "prune", "--older-than", "0s", "--json").stdout)
    assert sorted(again["runs"]) == sorted([later, waiting]), again
    assert again["database_bytes_after"] < again["database_bytes_before"]
    assert (cg.home / "crewgate.db").stat().st_size < size_before, "the database file shrank"


def test_bad_cut_offs_are_refused_with_nothing_changed(cg: Crewgate) -> None:
    for args, said in (
        ((), "--before DATE"),
        (("--before", "2026-01-01", "--older-than", "9d"), "--before DATE"),
        (("--older-than", "90x"), "s, m, h or d"),
        (("--older-than", "99999999999999999999d"), "shorter age"),
        (("--before", "next tuesday"), "2026-09-01"),
        (("--before", "2999-01-01"), "in the future"),
    ):
        done = cg.run("runs", "prune", *args)
        assert done.returncode == 2 and said in done.stderr, (args, done.stderr)


def test_a_blob_stored_again_during_a_prune_is_kept(tmp_path: Path) -> None:
    """The race a prune must win: a run starting on the same bytes stores them again (touching the file)
    just before the prune removes them; the prune sees the fresh time and puts the file back."""
    store = BlobStore(tmp_path / "blobs")
    data = b"a workspace snapshot"
    sha = store.put(data)
    old = time.time() - 3600
    os.utime(store.path(sha), (old, old))
    began = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10)
    assert store.put(data) == sha  # a run starting now: stored again
    assert store.remove_unused(sha, began) == 0 and store.get(sha) == data
    os.utime(store.path(sha), (old, old))
    assert store.remove_unused(sha, began) == len(data) and store.size(sha) == 0
    assert store.put(data) == sha256_of(data) and store.get(sha) == data, "stored anew after a prune"
    assert not list((tmp_path / "blobs").rglob(".*pruning*")), "nothing left aside"


def test_the_database_blob_store_keeps_a_blob_stored_again(tmp_path: Path) -> None:
    from workflows.store.database import Store
    from workflows.store.database_blobs import DatabaseBlobStore

    moments = iter([datetime.datetime(2026, month, 1, tzinfo=datetime.UTC) for month in (1, 6)])
    store = DatabaseBlobStore(Store(f"sqlite:///{tmp_path / 'crewgate.db'}").engine, clock=lambda: next(moments))
    data = b"x" * 3_000_000  # three chunks
    sha = store.put(data)  # stored on 2026-01-01
    assert store.put(data) == sha  # stored again on 2026-06-01
    assert store.remove_unused(sha, datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)) == 0
    assert store.remove_unused(sha, datetime.datetime(2026, 7, 1, tzinfo=datetime.UTC)) == len(data)
    assert store.size(sha) == 0
