"""The tests' forked `crewgate` processes behave as new ones would: their own pid, environment, folder,
streams and exit code; killed by a signal, timed out, and never carrying a crew framework in."""

import os
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests import prefork
from tests.helpers import wait_until

pytestmark = pytest.mark.skipif(prefork.FRESH, reason="CREWGATE_TEST_FRESH_PROCESSES=1: no forked processes")


def test_a_forked_command_has_its_own_environment_folder_streams_and_exit_code(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "CREWGATE_HOME": str(home), "NO_COLOR": "1"}
    listed = prefork.run(["runs", "list"], env=env, timeout=60, input=None, text=True)
    assert listed.returncode == 0, listed.stderr
    assert "no runs yet" in listed.stdout and (home / "crewgate.db").exists()  # this test's home, not the server's

    refused = prefork.run(["runs", "show", "no-such-run"], env=env, timeout=60, input=None, text=True)
    assert refused.returncode == 2 and "no-such-run" in refused.stderr and refused.stdout == ""

    shipped = Path(__file__).resolve().parents[1] / "runbooks"
    (tmp_path / "here" / "scripts").mkdir(parents=True)
    (tmp_path / "here" / "rb.yaml").write_text((shipped / "add-feature.yaml").read_text())
    (tmp_path / "here" / "scripts" / "add-feature.yaml").write_text(
        (shipped / "scripts" / "add-feature.yaml").read_text()
    )
    checked = prefork.popen(
        ["runbook", "validate", "rb.yaml"], cwd=tmp_path / "here", env=env, stdout=subprocess.PIPE, text=True
    )
    out, _ = checked.communicate(timeout=60)
    assert checked.returncode == 0 and "rb.yaml" in out  # a relative path, read from the given folder


def test_a_forked_command_is_a_real_process_that_a_signal_ends(tmp_path: Path) -> None:
    env = {**os.environ, "CREWGATE_HOME": str(tmp_path / "home")}
    worker = prefork.popen(["worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert worker.pid != os.getpid() and Path(f"/proc/{worker.pid}").exists()
    with pytest.raises(subprocess.TimeoutExpired):
        worker.wait(timeout=0.5)  # a worker runs until stopped
    assert worker.poll() is None
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    wait_until(lambda: not Path(f"/proc/{worker.pid}").exists(), 10, "the killed process was not reaped")


def test_a_forked_command_past_its_timeout_is_killed_and_reported(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    with pytest.raises(subprocess.TimeoutExpired):
        prefork.run(["worker"], env={**os.environ, "CREWGATE_HOME": home}, timeout=1, input=None, text=True)
    # Other test processes fork commands of their own meanwhile: only a process with this test's home counts.
    assert [pid for pid in os.listdir("/proc") if pid.isdigit() and _home(pid) == home] == []  # killed, reaped


def _home(pid: str) -> str | None:
    try:
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    return next((item[14:].decode() for item in environment if item.startswith(b"CREWGATE_HOME=")), None)


def test_a_command_that_ends_before_its_test_process_runs_again_is_still_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent_whole = socket.send_fds

    def then_descheduled(*args: Any, **kwargs: Any) -> int:
        sent = sent_whole(*args, **kwargs)
        time.sleep(1)  # the forked command is given time to end (and its connection to close) before the next send
        return sent

    monkeypatch.setattr(socket, "send_fds", then_descheduled)
    env = {**os.environ, "CREWGATE_HOME": str(tmp_path / "home")}
    done = prefork.run(["--version"], env=env, timeout=60, input=None, text=True)
    assert done.returncode == 0 and "crewgate, version" in done.stdout


def test_a_test_process_gone_mid_request_leaves_the_server_to_the_others(tmp_path: Path) -> None:
    env = {**os.environ, "CREWGATE_HOME": str(tmp_path / "home")}
    assert prefork.run(["--version"], env=env, timeout=60, input=None, text=True).returncode == 0
    server = _server_pid()
    gone = prefork._connect()
    gone.sendall(b'{"args": ["--vers')  # and no more: the test process went away
    gone.close()
    done = prefork.run(["--version"], env=env, timeout=60, input=None, text=True)
    assert done.returncode == 0 and "crewgate, version" in done.stdout
    assert _server_pid() == server  # the same server answered: the workers of a run share it


def _server_pid() -> int:
    with prefork._connect() as connection:
        return int(struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0])
