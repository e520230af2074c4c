"""Batches: many runs of one runbook version from an inputs file, through real crewgate processes.

A batch of six add-feature runs on six fresh git copies of the sample repository
reaches six gates at concurrency 2; six approvals give six branches of one commit
each. Bad inputs files are refused line by line, and nothing is recorded.
"""

import json
import sqlite3
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, git, make_repo

ADD_FEATURE = Path(__file__).resolve().parents[1] / "runbooks" / "add-feature.yaml"


def recorded(cg: Crewgate, table: str) -> int:
    try:
        return int(cg.query(f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608 -- a table name of this test
    except sqlite3.OperationalError:  # no database yet: nothing was recorded
        return 0


@pytest.mark.docker
@pytest.mark.slow
def test_a_batch_of_six_reaches_six_gates_and_six_approvals_give_six_branches(cg: Crewgate, tmp_path: Path) -> None:
    repos = [make_repo(tmp_path / f"repo{n}") for n in range(6)]
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"repo": str(repo)}) + "\n" for repo in repos))
    started = cg.run("batch", "start", str(ADD_FEATURE), "--inputs", str(rows), "--concurrency", "2", "--json")
    assert started.returncode == 10, started.stdout[-3000:] + started.stderr[-3000:]
    events = [json.loads(line) for line in started.stdout.splitlines()]
    batch_id = events[0]["id"]
    progress = [event["counts"] for event in events if event["event"] == "batch" and "counts" in event]
    assert progress[-1]["waiting"] == 6
    assert max(counts["running"] for counts in progress) <= 2  # never more than the batch's concurrency at once
    listed = cg.run("review", "list", "--json", "--batch", batch_id)
    pending = [item for item in json.loads(listed.stdout) if item["status"] == "pending"]
    assert len(pending) == 6 and {item["batch"] for item in pending} == {batch_id}
    runs = json.loads(cg.run("runs", "list", "--json").stdout)
    assert len(runs) == 6  # a batch's runs are ordinary runs
    for item in pending:
        decided = cg.run("review", "approve", item["id"], "--reviewer", "alice", "--no-wait")
        assert decided.returncode == 0, decided.stderr
    finished = cg.run("worker", "--until-idle", "--json")
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    for repo in repos:
        branches = git(repo, "branch", "--list", "crewgate/*", "--format=%(refname:short)").split()
        assert len(branches) == 1, branches
        assert git(repo, "rev-list", "--count", f"main..{branches[0]}") == "1"
    shown = json.loads(cg.run("batch", "show", batch_id, "--json").stdout)
    assert shown["counts"]["done"] == 6 and shown["status"] == "ended"
    assert all(run["review_status"] == "approved" for run in shown["runs"])


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("missing.jsonl", '{"request": "x"}\n', ":1: input 'repo' (path) is required"),
        ("unknown.jsonl", '{"repo": "REPO"}\n{"repo": "REPO", "colour": "red"}\n', ":2: unknown input(s) colour"),
        ("broken.jsonl", '{"repo": "REPO"}\n\n{"repo": \n', ":3: not a JSON object"),
        ("list.jsonl", '["REPO"]\n', ":1: not a JSON object but list"),
        ("columns.csv", "repo,request\nREPO,one\nREPO\n", ":3: 1 values for 2 columns"),
        ("nowhere.csv", "repo\n/no/such/folder\n", ":2: input repo=/no/such/folder is not a folder"),
        ("empty.jsonl", "\n# nothing\n", ":1: the batch is empty"),
    ],
)
def test_a_bad_inputs_file_is_refused_by_file_and_line_and_nothing_is_recorded(
    cg: Crewgate, tmp_path: Path, name: str, text: str, problem: str
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    rows = tmp_path / name
    rows.write_text(text.replace("REPO", str(repo)))
    refused = cg.run("batch", "start", str(ADD_FEATURE), "--inputs", str(rows))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"{rows}{problem}" in refused.stderr, refused.stderr
    assert recorded(cg, "crewgate_batches") == 0 and recorded(cg, "crewgate_runs") == 0
    assert recorded(cg, "crewgate_runbook_versions") == 0  # not even the runbook's version


def test_bad_batch_commands_are_refused(cg: Crewgate, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"repo": str(tmp_path)}) + "\n")
    zero = cg.run("batch", "start", str(ADD_FEATURE), "--inputs", str(rows), "--concurrency", "0")
    assert zero.returncode == 2 and "--concurrency must be 1 or more" in zero.stderr
    missing = cg.run("batch", "start", str(ADD_FEATURE), "--inputs", str(tmp_path / "none.jsonl"))
    assert missing.returncode == 2 and "no such inputs file" in missing.stderr
    unknown = cg.run("batch", "show", "nosuchbatch")
    assert unknown.returncode == 2 and "no batch 'nosuchbatch'" in unknown.stderr
    listing = cg.run("review", "list", "--batch", "nosuchbatch")
    assert listing.returncode == 2
    assert recorded(cg, "crewgate_batches") == 0 and recorded(cg, "crewgate_runs") == 0


@pytest.mark.docker
def test_a_cancelled_batch_starts_none_of_its_queued_runs(cg: Crewgate, tmp_path: Path) -> None:
    repos = [make_repo(tmp_path / f"repo{n}") for n in range(2)]
    rows = tmp_path / "rows.csv"
    rows.write_text("repo,request\n" + "".join(f"{repo},Add a flag\n" for repo in repos))
    queued = cg.run("batch", "start", str(ADD_FEATURE), "--inputs", str(rows), "--detach", "--json")
    assert queued.returncode == 0, queued.stderr
    batch_id = json.loads(queued.stdout.splitlines()[0])["id"]
    cancelled = cg.run("batch", "cancel", batch_id, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["counts"]["cancelled"] == 2
    idle = cg.run("worker", "--until-idle")
    assert idle.returncode == 0, idle.stderr
    assert cg.query("SELECT DISTINCT status FROM crewgate_runs") == [("cancelled",)]
    assert cg.query("SELECT count(*) FROM crewgate_steps") == [(0,)]
