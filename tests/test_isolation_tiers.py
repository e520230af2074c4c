"""Isolation tiers (README: "Isolation tiers"): a run pinned to gVisor runs every step under it, and a
run never starts its sandbox under another runtime than the one it was recorded with.

A runbook asking for `runtime: runsc` reaches its gate with a check that passes only under gVisor's
kernel (`uname -r` is 4.4.0 there); `runs show` and `review show` say the runtime. A runbook that
names none takes CREWGATE_SANDBOX_RUNTIME. An unknown runtime is refused before anything is
recorded (exit 3). A run whose recorded runtime cannot be given refuses its next step (exit 3)
instead of running it under runc. The sandbox suites themselves run under both runtimes
(tests/test_sandbox_contract.py, tests/test_sandbox_adversarial.py).
"""

import json
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, durable_runbook, make_repo
from tests.test_http_api import to_gate

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.runsc]

GVISOR_ONLY = '  - {id: kernel, check: "test \\"$(uname -r)\\" = 4.4.0 && echo gVisor kernel $(uname -r)"}\n'


def gvisor_runbook(folder: Path, runtime: str | None) -> Path:
    """The gate-test runbook with a first check that passes only under gVisor, asking for `runtime`."""
    runbook = durable_runbook(folder, by_check=True)
    text = runbook.read_text().replace("steps:\n", "steps:\n" + GVISOR_ONLY, 1)
    if runtime is not None:
        text = text.replace("sandbox: {timeout_s: 60}", f"sandbox: {{timeout_s: 60, runtime: {runtime}}}")
        text = text.replace("version: 1.0.0", "version: 1.1.0")
    runbook.write_text(text)
    return runbook


def test_a_run_pinned_to_gvisor_runs_every_step_under_it_and_never_under_another(cg: Crewgate, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run_id, review_id = to_gate(cg, gvisor_runbook(tmp_path / "asked", "runsc"), repo)
    shown = json.loads(cg.run("runs", "show", run_id, "--json").stdout)
    assert shown["runtime"] == "runsc"
    assert next(step for step in shown["steps"] if step["id"] == "kernel")["output"].count("gVisor kernel 4.4.0") == 1
    assert "under runsc" in cg.run("runs", "show", run_id).stdout
    assert "under runsc" in cg.run("review", "show", review_id).stdout

    unnamed = gvisor_runbook(tmp_path / "unnamed", None)
    done = cg.run("run", str(unnamed), "-i", f"repo={repo}", "--json", CREWGATE_SANDBOX_RUNTIME="runsc")
    assert done.returncode == 10, done.stdout[-2000:] + done.stderr[-2000:]
    assert cg.query("SELECT count(*) FROM crewgate_runs WHERE runtime = 'runsc'") == [(2,)]

    before = cg.query("SELECT count(*) FROM crewgate_runs")
    refused = cg.run("run", str(unnamed), "-i", f"repo={repo}", CREWGATE_SANDBOX_RUNTIME="kata")
    assert refused.returncode == 3 and "CREWGATE_SANDBOX_RUNTIME='kata' is not a sandbox runtime" in refused.stderr
    assert cg.query("SELECT count(*) FROM crewgate_runs") == before  # nothing recorded

    cg.query("UPDATE crewgate_runs SET runtime = 'kata' WHERE id = ?", run_id)  # a runtime this engine cannot give
    again = cg.run("review", "request-changes", review_id, "--reviewer", "bob", "-m", "Once more", "--step", "kernel")
    assert again.returncode == 1, again.stdout[-2000:] + again.stderr[-2000:]  # the run fails, closed...
    ((status, message),) = cg.query("SELECT status, message FROM crewgate_runs WHERE id = ?", run_id)
    assert status == "failed" and "'kata' is not a sandbox runtime" in message
    tries = cg.query("SELECT attempt, output FROM crewgate_steps WHERE run_id = ? AND step_id = 'kernel'", run_id)
    assert [attempt for attempt, _ in tries] == [1, 2] and tries[1][1] == ""  # ...and its step never ran
