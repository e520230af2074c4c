"""The Sandbox contract, run against DockerSandbox and LocalSandbox alike."""

import io
import os
import resource
import tarfile

import pytest

from executors import ExecutionResult, LocalSandbox, Sandbox, SandboxState, SandboxStateError, WorkspaceError
from tests.conftest import FAST_LIMITS


def test_both_implement_the_protocol(any_box: Sandbox) -> None:
    assert isinstance(any_box, Sandbox)
    assert any_box.state is SandboxState.RUNNING


def test_state_persists_across_cells(any_box: Sandbox) -> None:
    any_box.execute("import math\nx = 41\ndef double(n):\n    return 2 * n")
    result = any_box.execute("x = x + 1\ndouble(x) + math.floor(0.5)")
    assert result.value == "84"
    assert result.error is None


def test_working_directory_persists(any_box: Sandbox) -> None:
    any_box.execute("import os\nos.makedirs('sub', exist_ok=True)\nos.chdir('sub')")
    assert any_box.execute("os.path.basename(os.getcwd())").value == "'sub'"


def test_value_is_repr_of_last_expression_like_a_repl(any_box: Sandbox) -> None:
    assert any_box.execute("'a' + 'b'").value == "'ab'"
    assert any_box.execute("x = 3").value is None
    assert any_box.execute("None").value is None
    assert any_box.execute("print('hi')").value is None
    assert any_box.execute("[1, 2]\n").value == "[1, 2]"


def test_stdout_and_stderr_are_separate(any_box: Sandbox) -> None:
    result = any_box.execute("import sys\nprint('out')\nprint('err', file=sys.stderr)")
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"


def test_child_process_output_is_captured(any_box: Sandbox) -> None:
    code = "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'print(\"from child\")'])\nprint('after')"
    result = any_box.execute(code)
    assert result.stdout == "from child\nafter\n"
    follow_up = any_box.execute("1 + 1")
    assert follow_up.value == "2"


def test_pytest_in_a_child_process(any_box: Sandbox) -> None:
    any_box.put_files({"test_small.py": "def test_ok():\n    assert 1 + 1 == 2\n"})
    result = any_box.execute(
        "import subprocess, sys\n"
        "done = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'test_small.py'])\n"
        "done.returncode"
    )
    assert result.value == "0", result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_errors_come_back_as_data_with_cell_line_numbers(any_box: Sandbox) -> None:
    result = any_box.execute("a = 1\nb = 2\nmath.sqrt(4)")
    assert result.error == "NameError"
    assert "line 3" in result.traceback
    assert "<cell-" in result.traceback
    assert "name 'math' is not defined" in result.traceback
    assert "<string>" not in result.traceback  # no kernel frames


def test_syntax_error_is_reported(any_box: Sandbox) -> None:
    result = any_box.execute("def broken(:\n    pass")
    assert result.error == "SyntaxError"
    assert "line 1" in result.traceback


def test_system_exit_does_not_end_the_session(any_box: Sandbox) -> None:
    assert any_box.execute("raise SystemExit(3)").error == "SystemExit"
    assert any_box.execute("40 + 2").value == "42"


def test_timeout_interrupts_and_keeps_state(any_box: Sandbox) -> None:
    any_box.execute("kept = 'yes'")
    result = any_box.execute("import time\ntime.sleep(30)", timeout=0.5)
    assert result.timed_out
    assert result.error == "KeyboardInterrupt"
    assert not result.kernel_restarted
    assert any_box.execute("kept").value == "'yes'"


def test_timeout_ignoring_interrupts_restarts_the_kernel(any_box: Sandbox) -> None:
    any_box.execute("lost = 1")
    any_box.put_files({"kept.txt": "files survive a kernel restart"})
    stubborn = (
        "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n    except KeyboardInterrupt:\n        pass"
    )
    result = any_box.execute(stubborn, timeout=0.5)
    assert result.timed_out and result.kernel_restarted
    assert "variables" in result.traceback  # the state loss is said, not hidden
    assert any_box.execute("lost").error == "NameError"
    assert any_box.read_file("kept.txt") == b"files survive a kernel restart"


def test_output_cap_keeps_head_and_tail(any_box: Sandbox) -> None:
    result = any_box.execute("print('HEAD'); print('x' * 500_000); print('TAIL')")
    assert result.truncated
    assert result.stdout.startswith("HEAD")
    assert result.stdout.rstrip().endswith("TAIL")
    assert "bytes elided" in result.stdout
    cap = 65536
    assert len(result.stdout) <= cap + 200


def test_output_cap_shared_by_stdout_and_stderr(any_box: Sandbox) -> None:
    result = any_box.execute("import sys\nprint('o' * 100_000)\nprint('e' * 100_000, file=sys.stderr)")
    assert result.truncated
    assert len(result.stdout) + len(result.stderr) <= 65536 + 400
    assert "o" in result.stdout and "e" in result.stderr


def test_huge_value_is_truncated(any_box: Sandbox) -> None:
    result = any_box.execute("'v' * 1_000_000")
    assert result.truncated
    assert result.value is not None and len(result.value) < 70_000


def test_small_output_is_not_truncated(any_box: Sandbox) -> None:
    result = any_box.execute("print('z' * 60_000)")
    assert not result.truncated
    assert result.stdout == "z" * 60_000 + "\n"


def test_files_in_and_out(any_box: Sandbox, tmp_path) -> None:
    assert any_box.put_files({"pkg/data.txt": "hello", "bin.dat": b"\x00\xff"}) == 2
    assert any_box.execute("open('pkg/data.txt').read()").value == "'hello'"
    assert any_box.read_file("bin.dat") == b"\x00\xff"
    assert any_box.read_file("/workspace/pkg/data.txt") == b"hello"
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "mod.py").write_text("VALUE = 7\n")
    (repo / "run.sh").write_text("echo hi\n")
    (repo / "run.sh").chmod(0o755)
    assert any_box.put_directory(repo, "project") == 2
    assert any_box.execute("import sys; sys.path.insert(0, 'project/src'); import mod; mod.VALUE").value == "7"
    assert any_box.execute("import os; os.access('project/run.sh', os.X_OK)").value == "True"


def test_read_file_refuses_escapes(any_box: Sandbox) -> None:
    any_box.execute("import os\nos.symlink('/etc/passwd', 'link')")
    for bad in ("link", "../etc/passwd", "/etc/passwd", "a/../../x"):
        with pytest.raises(WorkspaceError):
            any_box.read_file(bad)


def test_snapshot_and_restore(any_box: Sandbox) -> None:
    any_box.put_files({"a.txt": "one", "dir/b.txt": "two"})
    any_box.execute("import os\nos.symlink('a.txt', 'alias')")
    archive = any_box.snapshot()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        names = set(tar.getnames())
        assert {"a.txt", "dir", "dir/b.txt", "alias"} <= names
        assert tar.getmember("alias").issym()
    any_box.execute("import shutil\nos.remove('a.txt')\nshutil.rmtree('dir')\nopen('new.txt', 'w').write('x')")
    any_box.restore(archive)
    listing = any_box.execute("sorted(os.listdir('.'))").value
    assert listing == "['a.txt', 'alias', 'dir']"
    assert any_box.read_file("dir/b.txt") == b"two"


def test_result_is_frozen(any_box: Sandbox) -> None:
    result = any_box.execute("1")
    assert isinstance(result, ExecutionResult)
    with pytest.raises(AttributeError):
        result.value = "2"  # type: ignore[misc]
    assert result.duration_s > 0


def test_lifecycle_misuse_is_refused(any_box: Sandbox) -> None:
    any_box.close()
    assert any_box.state is SandboxState.CLOSED
    with pytest.raises(SandboxStateError, match="closed"):
        any_box.execute("1")
    with pytest.raises(SandboxStateError, match="closed"):
        any_box.start()
    any_box.close()  # twice is fine


def test_a_host_whose_descriptors_pass_1024_still_talks_to_its_sandbox() -> None:
    """select() cannot watch a descriptor numbered 1024 or more, and a busy host (a worker with many runs,
    sockets and logs open) gets there: the local transport's pipes are numbered past it here."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with LocalSandbox(limits=FAST_LIMITS) as box:
            assert box.execute("6 * 7").value == "42"
            assert box.execute("print('x' * 20_000)").stdout.strip() == "x" * 20_000
    finally:
        for descriptor in held:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
