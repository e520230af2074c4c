"""The run engine in this process: a shipped runbook through a failing check, its on_fail loop, the gate and promotion.

Built the way the CLI builds it (`open_services`, DBOS launched here), with two
parts swapped through the service seams: `LocalSandboxes` (host subprocesses, so
no Docker is needed) and a model object on the model seam. The database, the
blob store, git and the durable workflow are the real ones.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents import ModelCall, ModelReply, Usage
from tests.durable_helpers import git, make_repo
from workflows.runs.follow import follow
from workflows.runs.hosting import launch, start
from workflows.runs.services import LocalSandboxes, RunServices, open_services
from workflows.service.queue import list_reviews
from workflows.service.reviews import decide
from workflows.service.runs import show_run, start_run

# crewAI and litellm take seconds to import: one worker runs every in-process test that needs them
pytestmark = pytest.mark.xdist_group("frameworks")

RUNBOOK = Path(__file__).resolve().parents[1] / "runbooks" / "fix-failing-tests.yaml"
RUN_PYTEST = "<execute>\nimport subprocess, sys\nsubprocess.run([sys.executable, '-m', 'pytest', '-q'])\n</execute>"


def edit(old: str, new: str) -> str:
    """A coder reply whose code replaces `old` with `new` in calc/ops.py."""
    code = f"from pathlib import Path\np = Path('calc/ops.py')\np.write_text(p.read_text().replace({old!r}, {new!r}))"
    return f"<execute>\n{code}\n</execute>"


def final(text: str) -> str:
    return f"<final_answer>{text}</final_answer>"


class StepModel:
    """Replies by member and by the try of the member's step (the call says which): the second `fix` answers anew."""

    def __init__(self, tries: dict[str, list[list[str]]]) -> None:
        self.tries = tries
        self.prompts: list[tuple[str, int, str]] = []  # member, try, last message

    def complete(self, model: str, messages: list[dict[str, str]], params: dict[str, Any], call: ModelCall) -> Any:
        self.prompts.append((call.member, call.attempt, messages[-1]["content"]))
        text = self.tries[call.member][call.attempt - 1][call.index]
        return ModelReply(text, Usage(prompt_tokens=100, completion_tokens=20, calls=1))


@pytest.fixture
def services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RunServices, StepModel]]:
    from dbos import DBOS

    monkeypatch.setenv("CREWGATE_HOME", str(tmp_path / "home"))
    model = StepModel(
        {
            "tester": [[RUN_PYTEST, "<final_answer>test_add fails: add returns a - b.</final_answer>"]],
            "coder": [
                [edit("return a - b\n\n\ndef subtract", "return a * b\n\n\ndef subtract"), final("Fixed add.")],
                [edit("return a * b", "return a + b"), final("Fixed add: it returns a + b.")],
            ],
        }
    )
    built = open_services(sandboxes=LocalSandboxes(), model=model)
    try:
        yield built, model
    finally:
        DBOS.destroy()
        built.close()


def test_a_failing_check_loops_back_and_the_approved_fix_is_promoted(
    services: tuple[RunServices, StepModel], tmp_path: Path
) -> None:
    built, model = services
    repo = make_repo(tmp_path / "repo", "calculator-broken")
    started = start_run(built, str(RUNBOOK), [f"repo={repo}"], "requester")
    workflow = launch(built, "in-process-test")
    start(workflow, started.run_id)
    events: list[dict[str, Any]] = []
    assert follow(built.records, started.run_id, events.append, poll_s=0.05) == 10  # waiting at the gate

    view = show_run(built, started.run_id)
    tries = [(step.id, step.attempt, step.status) for step in view.steps]
    assert tries[:5] == [
        ("find", 1, "done"),
        ("fix", 1, "done"),
        ("test", 1, "failed"),
        ("fix", 2, "done"),
        ("test", 2, "done"),
    ], tries
    second_fix_prompt = next(text for member, attempt, text in model.prompts if member == "coder" and attempt == 2)
    assert "The check `test` failed" in second_fix_prompt  # the failing check's output went back to the coder

    (item,) = list_reviews(built)
    decided = decide(built, item.id, "alice", "approve", sha256=item.artifact_sha256)
    assert decided.decided and decided.status == "approved"
    assert follow(built.records, started.run_id, events.append, poll_s=0.05, replay=False) == 0

    promoted = show_run(built, started.run_id).promotion
    assert promoted is not None and promoted.artifact_sha256 == item.artifact_sha256
    assert "return a + b" in git(repo, "show", f"crewgate/fix-{started.run_id}:calc/ops.py")
    assert "return a - b\n\n\ndef subtract" in git(repo, "show", "main:calc/ops.py")  # main keeps the bug
