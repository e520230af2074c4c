"""`crewgate runs replay`: a finished run's recorded code, run again, gives the same results and artifact.

The shipped add-feature runbook is run to its gate and approved (promoted), then
replayed: 0 differences and the reviewed artifact's sha256. A copy of the home
whose database has one recorded reply's code edited (trace and reply log) reports
that turn, and only it; and a replay limited to another step reports nothing.
"""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, last_event

ROOT = Path(__file__).resolve().parents[1]


def edit_recorded_code(database: Path, run_id: str, step: str, member: str, turn: int) -> None:
    """What someone tampering with the record would do: the turn's code and the reply it came from."""
    with sqlite3.connect(database) as db:
        row_id, data = db.execute(
            "SELECT id, data FROM crewgate_trace WHERE run_id = ? AND step_id = ? AND member = ? AND turn = ?",
            (run_id, step, member, turn),
        ).fetchone()
        event = json.loads(data)
        event["code"][0] += "\nprint('an edited record')"
        db.execute("UPDATE crewgate_trace SET data = ? WHERE id = ?", (json.dumps(event), row_id))
        db.execute(
            "UPDATE crewgate_model_calls SET reply = reply || ? WHERE run_id = ? AND scope = ? AND member = ?"
            " AND call_index = ?",
            ("\n# edited", run_id, f"{step}#1", member, turn - 1),
        )


@pytest.mark.docker
@pytest.mark.slow
def test_a_finished_run_replays_to_the_same_results_and_artifact_and_an_edited_record_is_found(
    cg: Crewgate, tmp_path: Path, repo: Path
) -> None:
    done = cg.run("run", str(ROOT / "runbooks" / "add-feature.yaml"), "-i", f"repo={repo}", "--json")
    assert done.returncode == 10, done.stdout[-2000:] + done.stderr[-2000:]
    run_id, review_id = last_event(done.stdout)["run"], last_event(done.stdout)["review"]
    assert cg.run("review", "approve", review_id, "--reviewer", "alice").returncode == 0
    assert cg.show(run_id)["status"] == "promoted"
    reviewed = cg.query("SELECT artifact_sha256 FROM crewgate_reviews WHERE id = ?", review_id)[0][0]

    replayed = cg.run("runs", "replay", run_id, "--json")
    assert replayed.returncode == 0, replayed.stdout[-2000:] + replayed.stderr[-2000:]
    report = json.loads(replayed.stdout)
    assert report["differences"] == [] and report["cells"] >= 5 and report["checks"] >= 1
    assert report["same_artifact"] and report["replayed_artifact_sha256"] == reviewed == report["artifact_sha256"]
    text = cg.run("runs", "replay", run_id).stdout
    assert "0 difference(s)" in text and f"the same sha256 as reviewed, {reviewed}" in text

    copy = Crewgate(tmp_path / "copy")
    shutil.copytree(cg.home, copy.home)
    edit_recorded_code(copy.home / "crewgate.db", run_id, "implement", "coder", 1)
    changed = copy.run("runs", "replay", run_id, "--json")
    assert changed.returncode == 1, changed.stdout[-2000:] + changed.stderr[-2000:]
    found = json.loads(changed.stdout)["differences"]
    assert [(d["step"], d["member"], d["turn"], d["block"]) for d in found] == [("implement", "coder", 1, 1)]
    assert "an edited record" in found[0]["replayed"] and "an edited record" not in found[0]["recorded"]
    text = copy.run("runs", "replay", run_id).stdout
    assert "differs at implement #1 coder turn 1 block 1" in text
    elsewhere = json.loads(copy.run("runs", "replay", run_id, "--step", "add_tests", "--json").stdout)
    assert elsewhere["differences"] == []  # only the step asked about is reported

    unknown = copy.run("runs", "replay", run_id, "--step", "nosuch")
    assert unknown.returncode == 2 and "has no step 'nosuch'" in unknown.stderr
