"""Crashes at the moments the durability defects lived, with real processes, Docker and a real HTTP model.

- A model reply is recorded before its code runs: a run SIGKILLed in the middle of a
  member's step and resumed asks the model server for no reply twice, does not redo the
  finished step, reaches the gate with the same artifact as an uninterrupted run, and
  is promoted once.
- The budget is what the records say was spent, across a crash and a resume.
- A run recorded but killed before its workflow started is finished by `runs resume`
  and by `crewgate worker --until-idle`, which also finishes approved runs before it exits.
- A container created but never started by a killed process is gone once the run ends.
- `crewgate run` reports the gate only after the gate step's result is durable.
- A run left waiting by one crewgate version is approved and promoted by the next.
"""

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, durable_runbook, git, kill, last_event, make_repo
from tests.fake_openai import FakeOpenAI, serve
from tests.helpers import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CODE = (
    "<execute>\nimport time\nfrom pathlib import Path\nops = Path('calc/ops.py')\n"
    "ops.write_text(ops.read_text() + '\\n\\ndef multiply(a, b):\\n    return a * b\\n')\n"
    "time.sleep(SLEEP)\n</execute>"
)
REPLIES = [
    "<final_answer>1. Add multiply(a, b) to calc/ops.py</final_answer>",
    CODE,
    "<final_answer>Added multiply to calc/ops.py.</final_answer>",
]


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with serve(FakeOpenAI(replies=[reply.replace("SLEEP", "4") for reply in REPLIES])) as fake:
        yield fake


def http_runbook(folder: Path, url: str, max_tokens: int | None = None) -> Path:
    """The crash-test runbook on an OpenAI-compatible server at `url` (each call: 150 tokens)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = durable_runbook(folder).read_text()
    text = text.replace(
        "model: scripted/replies.yaml", f"model: openai/fake-model\nmodel_params: {{api_base: '{url}'}}"
    )
    if max_tokens:
        text = text.replace(
            "sandbox: {timeout_s: 60}", f"sandbox: {{timeout_s: 60}}\nbudget: {{max_tokens: {max_tokens}}}"
        )
    (folder / "runbook.yaml").write_text(text)
    return folder / "runbook.yaml"


def kill_while_coding(cg: Crewgate, runbook: Path, repo: Path) -> str:
    """Start a run, SIGKILL it while the coder's first reply runs in the sandbox; return the run id."""
    process = cg.start("run", str(runbook), "-i", f"repo={repo}", "--json", OPENAI_API_KEY="sk-test")
    rows = cg.wait_for("SELECT run_id FROM crewgate_model_calls WHERE scope = 'implement#1' AND member = 'coder'")
    kill(process)
    return str(rows[0][0])


def artifact_of(cg: Crewgate, review_id: str) -> str:
    return str(cg.query("SELECT artifact_sha256 FROM crewgate_reviews WHERE id = ?", review_id)[0][0])


def test_a_resumed_step_replays_recorded_replies_and_asks_for_none_twice(
    cg: Crewgate, repo: Path, tmp_path: Path, server: FakeOpenAI
) -> None:
    run_id = kill_while_coding(cg, http_runbook(tmp_path / "rb", server.url), repo)
    assert len(server.requests) == 2  # planner, then the coder's first reply (its code was running)
    planner_turns = cg.turns(run_id, "plan")
    assert cg.turns(run_id, "implement") == []  # killed mid-cell: the coder's turn never finished
    resumed = cg.run("runs", "resume", run_id, "--json", OPENAI_API_KEY="sk-test")
    assert resumed.returncode == 10, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert len(server.requests) == 3  # only the coder's second reply was new
    assert cg.turns(run_id, "plan") == planner_turns  # the finished step did not run again
    coder = [turn["reply"] for turn in cg.turns(run_id, "implement") if turn["status"] in ("turn", "final")]
    assert len(coder) == 2 and "time.sleep(4" in coder[0]  # the re-run step got the recorded reply first
    calls = cg.query(
        "SELECT scope, member, call_index FROM crewgate_model_calls WHERE run_id = ? ORDER BY 1, 3", run_id
    )
    assert calls == [("implement#1", "coder", 0), ("implement#1", "coder", 1), ("plan#1", "planner", 0)]

    elsewhere = Crewgate(tmp_path / "home2")  # the same version on another server: another home
    with serve(FakeOpenAI(replies=[reply.replace("SLEEP", "0") for reply in REPLIES])) as fresh:
        runbook = http_runbook(tmp_path / "rb2", fresh.url)
        other_repo = make_repo(tmp_path / "repo2")
        reference = elsewhere.run("run", str(runbook), "-i", f"repo={other_repo}", "--json", OPENAI_API_KEY="sk-test")
    assert reference.returncode == 10, reference.stderr[-2000:]
    review = last_event(resumed.stdout)["review"]
    assert artifact_of(cg, review) == artifact_of(elsewhere, last_event(reference.stdout)["review"])
    approved = cg.run("review", "approve", review, "--reviewer", "alice")
    assert approved.returncode == 0, approved.stderr
    assert cg.show(run_id)["status"] == "promoted"
    assert len(git(repo, "rev-list", f"main..crewgate/{run_id}").splitlines()) == 1  # promoted once
    assert "def multiply" in git(repo, "show", f"crewgate/{run_id}:calc/ops.py")


def test_max_tokens_hold_across_a_crash_and_a_resume(
    cg: Crewgate, repo: Path, tmp_path: Path, server: FakeOpenAI
) -> None:
    run_id = kill_while_coding(cg, http_runbook(tmp_path / "rb", server.url, max_tokens=300), repo)
    resumed = cg.run("runs", "resume", run_id, "--json", OPENAI_API_KEY="sk-test")
    assert resumed.returncode == 1, resumed.stdout[-2000:]
    view = cg.show(run_id)
    assert view["status"] == "failed" and "300 of 300 tokens" in view["message"], view["message"]
    assert len(server.requests) == 2  # the budget was spent before the crash; nothing more was asked


def test_runs_recorded_but_never_started_and_approved_runs_are_finished_by_resume_and_worker(
    cg: Crewgate, tmp_path: Path
) -> None:
    runbook = durable_runbook(tmp_path / "rb", by_check=True)
    repos = [make_repo(tmp_path / f"repo{n}") for n in range(2)]
    run_ids = []
    for repo in repos:  # killed after the run is recorded, before its workflow exists
        process = cg.start("run", str(runbook), "-i", f"repo={repo}", CREWGATE_FAULT_PAUSE="after-record:60")
        earlier = run_ids[0] if run_ids else ""
        run_ids.append(cg.wait_for("SELECT id FROM crewgate_runs WHERE status = 'queued' AND id != ?", earlier)[0][0])
        kill(process)
    resumed = cg.run("runs", "resume", run_ids[0], "--json")
    assert resumed.returncode == 10, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    worker = cg.run("worker", "--until-idle", timeout=300)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    reviews = []
    for run_id in run_ids:
        assert cg.show(run_id)["status"] == "waiting"
        gate = cg.query(
            "SELECT count(*) FROM operation_outputs WHERE workflow_uuid = ? AND function_name LIKE '%gate_step'", run_id
        )
        assert gate == [(1,)]  # the gate's result was durable before anyone was told to review
        reviews.append(cg.query("SELECT id FROM crewgate_reviews WHERE run_id = ?", run_id)[0][0])
    for review in reviews:
        decided = cg.run("review", "approve", review, "--reviewer", "alice", "--no-wait")
        assert decided.returncode == 0, decided.stderr
    worker = cg.run("worker", "--until-idle", timeout=300)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    for run_id, repo in zip(run_ids, repos, strict=True):
        assert cg.show(run_id)["status"] == "promoted"
        assert len(git(repo, "rev-list", f"main..crewgate/{run_id}").splitlines()) == 1
        assert cg.query("SELECT status FROM crewgate_promotions WHERE run_id = ?", run_id) == [("done",)]


def containers_of(run_id: str) -> list[str]:
    listed = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label=crewgate.run={run_id}", "--format", "{{.State}}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return listed.stdout.split()


def test_a_container_created_by_a_killed_process_is_gone_when_the_run_ends(
    cg: Crewgate, repo: Path, tmp_path: Path
) -> None:
    process = cg.start(
        "run",
        str(durable_runbook(tmp_path / "rb", by_check=True)),
        "-i",
        f"repo={repo}",
        CREWGATE_FAULT_PAUSE="after-container-create:60",
    )
    run_id = cg.wait_for("SELECT id FROM crewgate_runs")[0][0]
    wait_until(lambda: containers_of(run_id) == ["created"], 120, lambda: str(containers_of(run_id)), every=0.2)
    kill(process)
    resumed = cg.run("runs", "resume", run_id, "--json")
    assert resumed.returncode == 10, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    approved = cg.run("review", "approve", last_event(resumed.stdout)["review"], "--reviewer", "alice")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert containers_of(run_id) == []


def test_a_run_waiting_under_one_version_is_promoted_by_the_next(cg: Crewgate, repo: Path, tmp_path: Path) -> None:
    done = cg.run("run", str(durable_runbook(tmp_path / "rb", by_check=True)), "-i", f"repo={repo}", "--json")
    assert done.returncode == 10, done.stderr[-2000:]
    run_id, review = last_event(done.stdout)["run"], last_event(done.stdout)["review"]
    upgraded = tmp_path / "crewgate-next"  # the same code, released as the next version
    for package in ("agents", "crews", "executors", "workflows"):
        shutil.copytree(ROOT / package, upgraded / package, ignore=shutil.ignore_patterns("__pycache__"))
    version_file = upgraded / "executors/_version.py"
    version_file.write_text(version_file.read_text().replace('VERSION = "0.1.0"', 'VERSION = "0.2.0"'))

    def next_release(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "workflows.cli", *args]
        return subprocess.run(command, cwd=upgraded, capture_output=True, text=True, env=cg.env(), timeout=300)

    assert "0.2.0" in next_release("--version").stdout
    approved = next_release("review", "approve", review, "--reviewer", "alice")
    assert approved.returncode == 0, approved.stdout[-2000:] + approved.stderr[-2000:]
    assert cg.show(run_id)["status"] == "promoted"
    assert len(git(repo, "rev-list", f"main..crewgate/{run_id}").splitlines()) == 1
