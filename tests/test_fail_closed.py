"""With no reachable engine, crewgate refuses to run code rather than run it on the host."""

import json
from pathlib import Path

import pytest

from executors import DockerSandbox, SandboxLimits, SandboxStateError, SandboxUnavailable
from tests.durable_helpers import make_repo
from tests.helpers import crewgate

RUNBOOKS = Path(__file__).resolve().parents[1] / "runbooks"

NOWHERE = ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:9"]


@pytest.mark.parametrize("docker_host", NOWHERE)
def test_start_fails_closed_and_runs_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path, docker_host: str) -> None:
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    marker = tmp_path / "code-ran-on-the-host"
    box = DockerSandbox()
    with pytest.raises(SandboxUnavailable) as failure:
        box.start()
    message = str(failure.value)
    assert "Docker engine unreachable" in message and docker_host in message
    assert "never runs model code on this machine" in message
    with pytest.raises(SandboxStateError, match="not started"):
        box.execute(f"open({str(marker)!r}, 'w').write('ran')")
    assert not marker.exists()


@pytest.mark.parametrize("docker_host", NOWHERE)
def test_doctor_fails_with_a_fix(docker_host: str) -> None:
    done = crewgate("sandbox", "doctor", env={"DOCKER_HOST": docker_host})
    assert done.returncode == 3  # environment
    assert "FAIL engine" in done.stdout
    assert "fix: Start the Docker engine" in done.stdout
    as_json = crewgate("sandbox", "doctor", "--json", env={"DOCKER_HOST": docker_host})
    assert as_json.returncode == 3
    checks = json.loads(as_json.stdout)
    assert checks[0]["name"] == "engine" and checks[0]["ok"] is False


@pytest.mark.docker
def test_missing_image_fails_closed_with_the_build_command() -> None:
    with pytest.raises(SandboxUnavailable, match="crewgate sandbox build"):
        DockerSandbox(image="crewgate-sandbox:no-such-tag").start()
    done = crewgate("sandbox", "doctor", "--image", "crewgate-sandbox:no-such-tag")
    assert done.returncode == 3
    assert "FAIL image" in done.stdout and "crewgate sandbox build" in done.stdout


@pytest.mark.docker
def test_doctor_passes_on_a_working_machine() -> None:
    done = crewgate("sandbox", "doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   smoke" in done.stdout
    checks = json.loads(crewgate("sandbox", "doctor", "--json").stdout)
    assert [check["name"] for check in checks] == ["engine", "runtime", "image", "smoke"]
    assert all(check["ok"] for check in checks)
    assert checks[1]["detail"].startswith("runc (offered: ")  # the isolation tiers the engine offers


@pytest.mark.docker
@pytest.mark.runsc
def test_doctor_smoke_tests_the_runtime_asked_for_and_refuses_an_unknown_one() -> None:
    done = crewgate("sandbox", "doctor", "--runtime", "runsc")
    assert done.returncode == 0 and "ok   runtime runsc (offered: " in done.stdout, done.stdout + done.stderr
    assert "runsc (gVisor)" in done.stdout
    cell = crewgate("sandbox", "exec", "--runtime", "runsc", "import os; os.uname().release")
    assert cell.returncode == 0 and "=> '4.4.0'" in cell.stdout  # gVisor's own kernel answers
    unknown = crewgate("sandbox", "doctor", env={"CREWGATE_SANDBOX_RUNTIME": "kata"})
    assert unknown.returncode == 3 and "'kata' is not a sandbox runtime" in unknown.stdout


@pytest.mark.parametrize(
    ("limits", "complaint"),
    [
        ({"memory": "lots"}, "invalid size"),
        ({"cpus": 0}, "cpus"),
        ({"pids": 2}, "pids"),
        ({"memory": "128m", "workspace_size": "256m"}, "charged to the memory limit"),
        ({"output_bytes": 10}, "output_bytes"),
    ],
)
def test_bad_limits_are_refused_before_anything_starts(limits: dict, complaint: str) -> None:
    with pytest.raises(SandboxUnavailable, match=complaint):
        SandboxLimits(**limits)


def test_bad_cli_usage_exits_2() -> None:
    assert crewgate("sandbox", "build", "--method", "teleport").returncode == 2
    assert crewgate("no-such-command").returncode == 2


def test_a_run_with_docker_down_says_so_in_one_line_and_exits_3(tmp_path) -> None:
    """Docker unreachable is the environment (exit 3), not bad input; nothing is recorded."""
    repo = make_repo(tmp_path / "repo")
    home = {"CREWGATE_HOME": str(tmp_path / "home"), "DOCKER_HOST": NOWHERE[0]}
    done = crewgate("run", str(RUNBOOKS / "add-feature.yaml"), "-i", f"repo={repo}", env=home)
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("error: Docker engine unreachable") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert "no runs yet" in crewgate("runs", "list", env=home).stdout


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (("runs", "cancel", "nope"), "no run 'nope'"),
        (("runs", "show", "nope"), "no run 'nope'"),
        (("runs", "resume", "nope"), "no run 'nope'"),
        (("review", "show", "nope"), "no review item 'nope'"),
        (("review", "approve", "nope", "--reviewer", "alice"), "no review item 'nope'"),
        (("runbook", "show", "nope@1.0.0"), "no runbook named 'nope'"),
    ],
)
def test_unknown_ids_are_bad_input_in_one_line(tmp_path, command: tuple[str, ...], words: str) -> None:
    done = crewgate(*command, env={"CREWGATE_HOME": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"error: {done.stderr.removeprefix('error: ')}" and words in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
