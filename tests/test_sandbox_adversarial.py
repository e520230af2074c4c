"""Hostile code against DockerSandbox: every attempt must be contained.

Each test tries one thing a malicious or broken cell could do and asserts it
was stopped (or confined to the sandbox). After every test, the autouse check
proves the host is unaffected: no container is left behind and a host sentinel
file is intact. The attempts that only look or are refused share one session
per tier; every other test starts a brand-new session, so it also shows that
the attempt before it left the engine able to start one; after the last test,
the module starts one more.
"""

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from executors import DockerSandbox, ExecutionResult, SandboxLimits
from executors.engine import engine
from tests.conftest import RUNTIMES
from tests.helpers import wait_until

pytestmark = pytest.mark.docker

SECRET = "crewgate-test-secret-d41d8cd98f00b204"  # noqa: S105 - a canary, not a credential
LIMITS = SandboxLimits(timeout_s=20.0, grace_s=1.0, memory="256m", pids=64, workspace_size="128m", tmp_size="32m")


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("host") / "sentinel.txt"
    path.write_text("untouched")
    return path


@pytest.fixture(scope="module", params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    """Every attempt is made under both isolation tiers: runc, and runsc (gVisor)."""
    return str(request.param)


@pytest.fixture(scope="module", autouse=True)
def a_new_session_works_after_the_last_attempt(runtime: str) -> Iterator[None]:
    yield
    with DockerSandbox(limits=LIMITS, runtime=runtime) as fresh:
        assert fresh.execute("6 * 7").value == "42"


@pytest.fixture(autouse=True)
def host_unaffected(sentinel: Path) -> Iterator[None]:
    before = _my_containers()
    yield
    assert sentinel.read_text() == "untouched"
    # auto-removal finishes after close() returns; on a busy engine, later
    wait_until(lambda: _my_containers() <= before, 30, "a sandbox container outlived its session", every=0.2)


_shared: list[DockerSandbox] = []  # the session `probed` keeps open across tests: not left behind


def _my_containers() -> set[str]:
    with engine() as client:
        found = client.api.containers(all=True, filters={"label": f"crewgate.pid={os.getpid()}"})
    return {item["Id"] for item in found} - {sandbox.container_id for sandbox in _shared}


@pytest.fixture(scope="module")
def probed(runtime: str) -> Iterator[DockerSandbox]:
    """One session per tier for the attempts that only look or are refused (they change nothing a later one
    reads): a session costs more than such an attempt. Every attempt that can break or fill a session has
    its own (`box`)."""
    with DockerSandbox(limits=LIMITS, runtime=runtime) as sandbox:
        _shared.append(sandbox)
        yield sandbox
        _shared.remove(sandbox)


@pytest.fixture
def box(runtime: str) -> Iterator[DockerSandbox]:
    with DockerSandbox(limits=LIMITS, runtime=runtime) as sandbox:
        yield sandbox


def run(box: DockerSandbox, code: str, timeout: float | None = None, again: bool = True) -> ExecutionResult:
    """Run the attempt. Under runsc a sandbox now and then ends on a harmless cell too (see
    `replaced_under_gvisor`); an attempt that does not itself crash anything (`again`) is then made once
    more, in the fresh sandbox, so what it finds is what the tier allows."""
    result = box.execute(textwrap.dedent(code), timeout=timeout)
    if again and box.runtime == "runsc" and "the sandbox stopped answering" in result.stderr:
        result = box.execute(textwrap.dedent(code), timeout=timeout)
    return result


def still_works(box: DockerSandbox) -> None:
    result = box.execute("sum(range(10))")
    if box.runtime == "runsc" and "the sandbox stopped answering" in result.stderr:
        result = box.execute("sum(range(10))")  # gVisor ended the sandbox after its kernel died: a fresh one answers
    assert result.value == "45", result


def replaced_under_gvisor(box: DockerSandbox, result: ExecutionResult) -> bool:
    """Whether gVisor ended the whole sandbox on this attempt and a fresh one took its place.

    Under runsc (gVisor 2022-12-19, ptrace platform) a process-limit, memory or thread bomb, a segfault
    or another death of the cell's interpreter, an output flood or output from a background process
    can end the whole sandbox where runc interrupts the cell and keeps its state (README: Isolation
    tiers). It is still contained: the host is untouched (the autouse check), the result says variables
    and files are gone, and the next cell runs in a fresh sandbox.
    """
    if box.runtime != "runsc" or "the sandbox stopped answering" not in result.stderr:
        return False
    assert result.kernel_restarted and "variables, imports and /workspace files from before are gone" in result.stderr
    still_works(box)
    return True


# -- escape ------------------------------------------------------------------
def test_runs_as_non_root_and_cannot_become_root(probed: DockerSandbox) -> None:
    result = run(
        probed,
        """
        import os
        uid = os.getuid()
        try:
            os.setuid(0)
            became = True
        except PermissionError:
            became = False
        (uid, became)
    """,
    )
    assert result.value == "(10001, False)"


def test_no_capabilities_and_no_new_privileges(probed: DockerSandbox) -> None:
    result = run(
        probed,
        """
        import ctypes
        libc = ctypes.CDLL(None)
        PR_GET_SECCOMP, PR_GET_NO_NEW_PRIVS = 21, 39
        status = dict(line.split(':\\t', 1) for line in open('/proc/self/status').read().splitlines() if ':\\t' in line)
        (status['CapEff'].strip(), status['CapBnd'].strip(), libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
         libc.prctl(PR_GET_SECCOMP, 0, 0, 0, 0))
    """,
    )
    # Seccomp filters the host kernel's system calls under runc (mode 2); under runsc the calls never reach the
    # host's kernel (gVisor's own kernel answers them), so there is no filter inside the sandbox (mode 0).
    seccomp = 0 if probed.runtime == "runsc" else 2
    assert result.value == f"('0000000000000000', '0000000000000000', 1, {seccomp})"


def test_root_filesystem_is_read_only(probed: DockerSandbox) -> None:
    result = run(
        probed,
        """
        outcomes = []
        for target in ('/etc/passwd', '/usr/bin/evil', '/opt/x', '/home/x'):
            try:
                open(target, 'a').write('x')
                outcomes.append('written')
            except OSError as exc:
                outcomes.append(type(exc).__name__)
        outcomes
    """,
    )
    assert result.value is not None and "written" not in result.value


def test_cannot_mount(probed: DockerSandbox) -> None:
    result = run(
        probed,
        """
        import ctypes, ctypes.util, os
        libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
        rc = libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)
        (rc, os.strerror(ctypes.get_errno()))
    """,
    )
    assert result.value is not None and result.value.startswith("(-1,")


def test_cannot_create_namespaces(box: DockerSandbox) -> None:
    """Its own session: under runsc the calls succeed (in gVisor's kernel) and would change what later probes see."""
    result = run(
        box,
        """
        import ctypes, ctypes.util
        libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
        CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000
        import os
        ([libc.unshare(flag) for flag in (CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET)], os.uname().release)
    """,
    )
    if box.runtime == "runsc":  # gVisor lets a process make namespaces of its own kernel, never of the host's
        assert result.value == "([0, 0, 0], '4.4.0')", result
    else:
        assert result.value is not None and result.value.startswith("([-1, -1, -1],"), result


def test_cannot_chroot_or_make_devices(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        import os, stat
        errors = []
        device = lambda: os.mknod('/workspace/sda', stat.S_IFBLK | 0o600, os.makedev(8, 0))
        for attempt in (lambda: os.chroot('/tmp'), device, lambda: open('/workspace/sda', 'rb').read(1)):
            try:
                attempt()
                errors.append('allowed')
            except OSError as exc:
                errors.append(type(exc).__name__)
        errors
    """,
    )
    if box.runtime == "runsc":  # a device node in gVisor's own file system: it opens no host device
        assert result.value is not None and result.value.startswith("['PermissionError', 'allowed', "), result
        assert not result.value.endswith("'allowed']"), result
    else:
        assert result.value == "['PermissionError', 'PermissionError', 'FileNotFoundError']"


def test_no_docker_socket_and_no_host_files(probed: DockerSandbox) -> None:
    result = run(
        probed,
        """
        import os
        candidates = ('/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock')
        sockets = [p for p in candidates if os.path.exists(p)]
        (sockets, os.path.exists('/work'), os.path.exists('/root/.docker'), open('/etc/hostname').read().strip())
    """,
    )
    assert result.value == "([], False, False, 'sandbox')"


def test_cannot_see_host_processes(probed: DockerSandbox) -> None:
    result = run(
        probed,
        """
        import os
        commands = []
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                commands.append(open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\\0')[0].decode())
            except OSError:
                pass
        (len(commands) < 10, any('dockerd' in c or 'containerd' in c or 'pytest' in c for c in commands))
    """,
    )
    assert result.value == "(True, False)"


def test_kernel_tunables_are_read_only(probed: DockerSandbox) -> None:
    result = run(
        probed,
        """
        outcomes = []
        for path in ('/proc/sys/kernel/hostname', '/proc/sysrq-trigger', '/sys/kernel/mm/transparent_hugepage/enabled'):
            try:
                open(path, 'w').write('x')
                outcomes.append('written')
            except OSError as exc:
                outcomes.append(type(exc).__name__)
        outcomes
    """,
    )
    assert result.value is not None and "written" not in result.value


def test_cannot_ptrace_the_supervisor(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        import ctypes, ctypes.util, os
        libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
        PTRACE_ATTACH = 16
        libc.ptrace(PTRACE_ATTACH, os.getppid(), None, None)
    """,
    )
    assert result.value == "-1"
    still_works(box)


def test_cannot_read_the_supervisor_memory_or_files(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        import os
        outcomes = []
        for name in ('mem', 'environ', 'fd/0', 'fd/1'):
            try:
                open(f'/proc/{os.getppid()}/{name}', 'rb').close()
                outcomes.append('opened')
            except OSError as exc:
                outcomes.append(type(exc).__name__)
        outcomes
    """,
    )
    if box.runtime == "runsc":
        # gVisor does not apply the supervisor's non-dumpable mark to its /proc files: a cell can open its
        # environment (crewgate's fixed PATH/HOME/LANG, no secret) and its standard streams; its memory stays
        # closed. What a cell writes there is contained like any forged frame (the test below).
        assert result.value == "['PermissionError', 'opened', 'opened', 'opened']", result
    else:
        assert result.value is not None and "opened" not in result.value


# -- secrets -----------------------------------------------------------------
def test_host_secrets_do_not_enter_the_container(monkeypatch: pytest.MonkeyPatch, runtime: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("CREWGATE_TEST_SECRET", SECRET)
    with DockerSandbox(limits=LIMITS, runtime=runtime) as sandbox:
        result = run(
            sandbox,
            f"""
            import os
            found = [k for k, v in os.environ.items() if {SECRET!r} in v]
            for pid in filter(str.isdigit, os.listdir('/proc')):
                for name in ('environ', 'cmdline'):
                    try:
                        if {SECRET!r}.encode() in open(f'/proc/{{pid}}/{{name}}', 'rb').read():
                            found.append(f'/proc/{{pid}}/{{name}}')
                    except OSError:
                        pass
            (found, sorted(os.environ))
        """,
        )
    assert result.value is not None
    assert result.value.startswith("([], ")
    assert "OPENAI_API_KEY" not in result.value


# -- network -----------------------------------------------------------------
def test_no_network_but_loopback_no_route_and_no_resolver(probed: DockerSandbox) -> None:
    """Proved from inside by what the sandbox has, never by aiming at an address off this machine."""
    result = run(
        probed,
        """
        import os, socket
        routes = open('/proc/net/route').read().splitlines()[1:]
        routes6 = [r for r in open('/proc/net/ipv6_route').read().splitlines() if not r.rstrip().endswith('lo')]
        try:
            resolvers = [line for line in open('/etc/resolv.conf') if line.strip().startswith('nameserver')]
        except OSError:
            resolvers = []
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)
        socket.create_connection(listener.getsockname(), timeout=2).close()  # loopback itself works
        (sorted(os.listdir('/sys/class/net')), routes, routes6, resolvers)
    """,
    )
    assert result.value == "(['lo'], [], [], [])", result.value + result.traceback


def test_no_raw_sockets(probed: DockerSandbox) -> None:
    result = run(probed, "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)")
    assert result.error == "PermissionError"


# -- exhaust -----------------------------------------------------------------
def test_fork_bomb_is_contained(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        import os
        while True:
            os.fork()
    """,
        timeout=10,
        again=False,
    )
    assert result.error is not None
    still_works(box)


def test_process_limit_holds(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        import subprocess
        children = []
        try:
            for _ in range(500):
                children.append(subprocess.Popen(['sleep', '60']))
        except OSError as exc:
            failed = type(exc).__name__
        for child in children:
            child.kill()
            child.wait()
        (len(children) < LIMIT, failed)
    """.replace("LIMIT", str(LIMITS.pids)),
        again=False,
    )
    if replaced_under_gvisor(box, result):
        return
    assert result.value == "(True, 'BlockingIOError')"
    still_works(box)


def test_thread_bomb_is_contained(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        import threading, time
        started = 0
        try:
            while True:
                threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
                started += 1
        except RuntimeError as exc:
            outcome = str(exc)
        (started < 1000, outcome)
    """,
        again=False,
    )
    if replaced_under_gvisor(box, result):
        return
    assert result.value is not None and result.value.startswith("(True,")


def test_memory_bomb_restarts_the_kernel(box: DockerSandbox) -> None:
    box.put_files({"kept.txt": "still here"})
    result = run(box, "hog = bytearray(2 * 1024 ** 3)", again=False)
    if replaced_under_gvisor(box, result):
        return
    assert result.error in {"MemoryError", "KernelDied"}, result
    if result.error == "KernelDied":
        assert result.kernel_restarted and "memory" in result.traceback
    still_works(box)
    assert box.read_file("kept.txt") == b"still here"


def test_growing_memory_bomb_restarts_the_kernel(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        hog = []
        while True:
            hog.append(' ' * 10_000_000)
    """,
        again=False,
    )
    if replaced_under_gvisor(box, result):
        return
    assert result.error in {"MemoryError", "KernelDied"}, result
    still_works(box)


def test_filling_the_workspace_hits_its_size_cap(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        import errno
        block = b'x' * (1 << 20)
        written = 0
        try:
            with open('/workspace/fill', 'wb') as handle:
                while True:
                    handle.write(block)
                    written += 1
        except OSError as exc:
            code = errno.errorcode[exc.errno]
        (written <= 128, code)
    """,
        again=False,
    )
    assert result.value == "(True, 'ENOSPC')"
    assert (
        run(box, "import os\nos.remove('/workspace/fill')\nopen('/workspace/ok', 'w').write('ok')", again=False).error
        is None
    )


def test_filling_tmp_hits_its_size_cap(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        import errno
        try:
            with open('/tmp/fill', 'wb') as handle:
                for _ in range(1024):
                    handle.write(b'x' * (1 << 20))
            code = 'no limit'
        except OSError as exc:
            code = errno.errorcode[exc.errno]
        code
    """,
        again=False,
    )
    assert result.value == "'ENOSPC'"


def test_interrupt_ignoring_loop_is_killed(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        import signal, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            time.sleep(0.1)
    """,
        timeout=1,
        again=False,
    )
    if replaced_under_gvisor(box, result):
        return
    assert result.timed_out and result.kernel_restarted
    still_works(box)


def test_busy_loop_swallowing_keyboardinterrupt_is_killed(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        while True:
            try:
                while True:
                    pass
            except KeyboardInterrupt:
                pass
    """,
        timeout=1,
        again=False,
    )
    if replaced_under_gvisor(box, result):
        return
    assert result.timed_out and result.kernel_restarted
    still_works(box)


# -- crash the plumbing ------------------------------------------------------
def test_kernel_exit_is_reported(box: DockerSandbox) -> None:
    result = run(box, "import os\nos._exit(3)", again=False)
    if replaced_under_gvisor(box, result):
        return
    assert result.error == "KernelDied" and result.kernel_restarted
    assert "status 3" in result.traceback
    still_works(box)


def test_segfault_is_reported(box: DockerSandbox) -> None:
    result = run(box, "import ctypes\nctypes.string_at(0)", again=False)
    if replaced_under_gvisor(box, result):
        return
    assert result.error == "KernelDied" and result.kernel_restarted
    still_works(box)


def test_killing_the_supervisor_gets_a_fresh_sandbox(box: DockerSandbox) -> None:
    result = run(box, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", again=False)
    assert result.error == "KernelDied" and result.kernel_restarted
    assert "/workspace files" in result.stderr
    still_works(box)


def test_killing_every_process_gets_a_fresh_sandbox(box: DockerSandbox) -> None:
    result = run(box, "import os, signal\nos.kill(-1, signal.SIGKILL)", again=False)
    assert result.kernel_restarted
    still_works(box)


def test_closing_standard_streams_is_undone(box: DockerSandbox) -> None:
    run(box, "import os, sys\nos.close(1)\nos.close(2)\nsys.stdout = None", again=False)
    result = run(box, "import sys\nprint('visible')\nprint('also', file=sys.stderr)", again=False)
    assert (result.stdout, result.stderr) == ("visible\n", "also\n")


def test_garbage_on_the_reply_channel_is_contained(box: DockerSandbox) -> None:
    result = run(box, "import os\nos.write(4, b'this is not json\\n')", again=False)
    assert result.kernel_restarted
    still_works(box)


def test_huge_frame_on_the_reply_channel_is_contained(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        import os
        chunk = b'{' * (1 << 20)
        for _ in range(40):
            os.write(4, chunk)
    """,
        again=False,
    )
    assert result.kernel_restarted
    still_works(box)


def test_forged_frames_to_the_host_channel_are_contained(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        import os
        try:
            fd = os.open(f'/proc/{os.getppid()}/fd/1', os.O_WRONLY)
            os.write(fd, b'{"op": "forged", "id": 1}\\nnot json at all\\n' + b'x' * (8 << 20) + b'\\n')
            outcome = 'wrote'
        except OSError as exc:
            outcome = type(exc).__name__
        outcome
    """,
        again=False,
    )
    # Either the write is refused, or the host drops the broken channel and starts afresh.
    assert result.value == "'PermissionError'" or result.kernel_restarted, result
    still_works(box)


# -- hostile output ----------------------------------------------------------
def test_output_flood_costs_the_host_only_the_cap(box: DockerSandbox) -> None:
    result = run(
        box,
        """
        import sys
        block = 'x' * (1 << 20)
        for _ in range(300):
            sys.stdout.write(block)
    """,
        again=False,
    )
    if replaced_under_gvisor(box, result):
        return
    assert result.truncated
    assert len(result.stdout) <= LIMITS.output_bytes + 200
    still_works(box)


def test_binary_and_control_bytes_come_back_as_text(box: DockerSandbox) -> None:
    result = run(
        box,
        r"""
        import os, sys
        os.write(1, b'nul:\x00 bad:\xff\xfe esc:\x1b[2J\x1b]0;owned\x07 end\n')
        sys.stdout.write('surrogate:\udcff\n')
    """,
    )
    assert result.error is None
    assert "nul:\x00" in result.stdout and "\ufffd" in result.stdout and "\x1b[2J" in result.stdout
    assert "surrogate:" in result.stdout
    still_works(box)


def test_unterminated_flood_on_stderr(box: DockerSandbox) -> None:
    result = run(box, "import os\nfor _ in range(100):\n    os.write(2, b'e' * (1 << 20))", again=False)
    if replaced_under_gvisor(box, result):
        return
    assert result.truncated and len(result.stderr) <= LIMITS.output_bytes + 200
    still_works(box)


def test_background_process_output_cannot_corrupt_later_cells(box: DockerSandbox) -> None:
    run(
        box,
        """
        import subprocess
        script = 'import time\\nfor i in range(50):\\n    print("{\\\\"id\\\\": 99}", flush=True)\\n    time.sleep(.01)'
        noisy = subprocess.Popen(['python3', '-c', script])
    """,
        again=False,
    )
    for number in range(20):
        result = box.execute(f"{number} * 2")
        if replaced_under_gvisor(box, result):
            return
        assert result.value == str(number * 2)
    run(box, "noisy.kill()", again=False)
