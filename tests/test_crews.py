"""Both crew engines on the scripted model with a real DockerSandbox.

The point of each test is collaboration through the one shared session: what
the coder's code defines, the tester's code reads.
"""

from pathlib import Path

import pytest
import yaml

from agents import ListSink, LLMGateway
from crews import build_crew, build_members
from executors import DockerSandbox
from workflows.runbook.schema import MemberSpec

# crewAI and litellm take seconds to import: one worker runs every in-process test that needs them
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.xdist_group("frameworks")]

CODER_SETS = "<execute>\nshared_value = 6 * 7\nopen('made_by_coder.txt', 'w').write('hello')\nshared_value\n</execute>"
TESTER_READS = "<execute>\nchecked = (shared_value, open('made_by_coder.txt').read())\nchecked\n</execute>"


def crew_for(engine: str, box: DockerSandbox, tmp_path: Path, replies: dict[str, list[str]], trace: ListSink):
    script = tmp_path / "replies.yaml"
    script.write_text(yaml.safe_dump(replies))
    specs = {
        "coder": MemberSpec(goal="Write the code"),
        "tester": MemberSpec(goal="Check the code"),
    }
    gateway = LLMGateway()
    members = build_members(specs, box, gateway, f"scripted/{script}", trace=trace)
    return build_crew(engine, members, gateway, f"scripted/{script}", trace=trace)


def final(text: str) -> str:
    return f"<final_answer>{text}</final_answer>"


@pytest.mark.parametrize("engine", ["crewai", "autogen"])
def test_task_steps_share_the_sandbox(engine: str, docker_box: DockerSandbox, tmp_path: Path) -> None:
    trace = ListSink()
    replies = {
        "coder": [CODER_SETS, final("Set shared_value to 42.")],
        "tester": [TESTER_READS, final("Verified: 42 and hello.")],
    }
    crew = crew_for(engine, docker_box, tmp_path, replies, trace)
    coded = crew.run_task("coder", "Set the shared value")
    tested = crew.run_task("tester", "Check the shared value", context=coded.output)
    assert coded.ok and tested.ok, (coded.message, tested.message)
    assert coded.output == "Set shared_value to 42."
    assert tested.results[0].turns[0].result is not None
    assert tested.results[0].turns[0].result.value == "(42, 'hello')"  # the tester's code saw the coder's work
    assert {event.member for event in trace.events} == {"coder", "tester"}
    assert tested.usage.calls == 2


def test_crewai_sequential_crew_passes_context(docker_box: DockerSandbox, tmp_path: Path) -> None:
    trace = ListSink()
    replies = {"coder": [CODER_SETS, final("coder: value is 42")], "tester": [TESTER_READS, final("tester: confirmed")]}
    crew = crew_for("crewai", docker_box, tmp_path, replies, trace)
    outcome = crew.run_crew("Make and check a value", "sequential")
    assert outcome.ok, outcome.message
    assert outcome.members == ("coder", "tester")
    assert outcome.output == "tester: confirmed"
    tester_prompt = next(e for e in trace.events if e.member == "tester").messages[1]["content"]
    assert "coder: value is 42" in tester_prompt  # crewAI handed the coder's answer on as context


def test_crewai_hierarchical_manager_delegates_to_every_member(docker_box: DockerSandbox, tmp_path: Path) -> None:
    trace = ListSink()
    delegate = (
        "Thought: the {who} should do this\nAction: Delegate work to coworker\n"
        'Action Input: {{"task": "{task}", "context": "shared session", "coworker": "{who}"}}'
    )
    replies = {
        "manager": [
            delegate.format(who="coder", task="set the shared value"),
            delegate.format(who="tester", task="check the shared value"),
            "Thought: both are done\nFinal Answer: value set to 42 and verified",
        ],
        "coder": [CODER_SETS, final("done: 42")],
        "tester": [TESTER_READS, final("verified: 42")],
    }
    crew = crew_for("crewai", docker_box, tmp_path, replies, trace)
    outcome = crew.run_crew("Set a value and verify it", "hierarchical")
    assert outcome.ok, outcome.message
    assert outcome.output == "value set to 42 and verified"
    assert sorted(outcome.members) == ["coder", "tester"]
    assert docker_box.execute("checked").value == "(42, 'hello')"
    managed = [event for event in trace.events if event.member == "manager"]  # the manager's calls are traced too
    assert [event.status for event in managed] == ["coordinate"] * 3 and [e.turn for e in managed] == [1, 2, 3]
    assert "Delegate work to coworker" in managed[0].reply and managed[0].messages


def test_autogen_round_robin_every_member_acts(docker_box: DockerSandbox, tmp_path: Path) -> None:
    trace = ListSink()
    replies = {
        "coder": [CODER_SETS, final("coder: set 42")],
        "tester": [TESTER_READS, final("tester: verified 42 TERMINATE")],
    }
    crew = crew_for("autogen", docker_box, tmp_path, replies, trace)
    outcome = crew.run_crew("Make and check a value", "round_robin", max_rounds=2)
    assert outcome.ok, outcome.message
    assert outcome.members == ("coder", "tester")  # TERMINATE ended it after one round
    assert outcome.output == "tester: verified 42 TERMINATE"
    tester_task = next(e for e in trace.events if e.member == "tester").messages[1]["content"]
    assert "[coder] coder: set 42" in tester_task


def test_autogen_selector_picks_speakers_through_the_gateway(docker_box: DockerSandbox, tmp_path: Path) -> None:
    trace = ListSink()
    replies = {
        "selector": ["coder", "tester"],
        "coder": [CODER_SETS, final("coder: set 42")],
        "tester": [TESTER_READS, final("tester: verified TERMINATE")],
    }
    crew = crew_for("autogen", docker_box, tmp_path, replies, trace)
    outcome = crew.run_crew("Make and check a value", "selector", max_rounds=2)
    assert outcome.ok, outcome.message
    assert outcome.members == ("coder", "tester")
    chosen = [event.reply for event in trace.events if event.member == "selector" and event.status == "coordinate"]
    assert chosen == ["coder"]  # each selector call is traced (with one candidate left, AutoGen asks no model)


def test_a_member_that_runs_out_of_turns_fails_the_step(docker_box: DockerSandbox, tmp_path: Path) -> None:
    replies = {"coder": ["<execute>\nprint('again')\n</execute>"] * 3, "tester": ["unused"]}
    crew = crew_for("crewai", docker_box, tmp_path, replies, ListSink())
    outcome = crew.run_task("coder", "Loop forever", max_turns=2)
    assert not outcome.ok
    assert "coder: max_turns" in outcome.message


def test_crewgate_help_does_not_import_the_frameworks() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, workflows.cli, crews, agents, executors\n"
        "heavy = [m for m in ('crewai', 'autogen_agentchat', 'litellm', 'docker') if m in sys.modules]\n"
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("engine", ["crewai", "autogen"])
def test_task_steps_never_load_the_framework_and_a_crew_step_does(engine: str, tmp_path: Path) -> None:
    """Importing crewAI takes seconds: a member's task runs its own loop directly, the framework loads at the
    first crew step. Checked in a new interpreter, where nothing else has imported the framework."""
    import subprocess
    import sys

    script = tmp_path / "replies.yaml"
    script.write_text(yaml.safe_dump({"coder": [CODER_SETS, final("set"), final("crew: done")], "tester": ["x"]}))
    module = {"crewai": "crewai", "autogen": "autogen_agentchat"}[engine]
    probe = f"""
import sys
from agents import LLMGateway
from crews import build_crew, build_members
from executors import DockerSandbox
from workflows.runbook.schema import MemberSpec
with DockerSandbox() as box:
    gateway = LLMGateway()
    members = build_members({{"coder": MemberSpec(goal="Write the code")}}, box, gateway, "scripted/{script}")
    crew = build_crew("{engine}", members, gateway, "scripted/{script}")
    done = crew.run_task("coder", "Set the shared value")
    print(done.ok, done.output, "{module}" in sys.modules)
    process = "sequential" if "{engine}" == "crewai" else "round_robin"
    together = crew.run_crew("Finish", process, ["coder"])
    print(together.ok, together.output, "{module}" in sys.modules)
"""
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=240)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.splitlines() == ["True set False", "True crew: done True"]
