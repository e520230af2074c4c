"""`crewgate` processes for the tests, forked from an interpreter that has already imported crewgate.

A new `crewgate run` spends about 3.5 s of CPU importing litellm, DBOS, Docker's client and crewgate
before it does anything, and the suite starts a few hundred of them on two cores. Here one server
process (shared by the xdist workers of a run) imports all of that once (never a crew framework: a
run loads it at its first crew step, as it does anywhere) and forks a child per command. The child
is a real process with its own pid, environment, working folder and standard streams, killed and
waited for like any other: only its imports are already done. The test's `ForkedPopen` is a
`subprocess.Popen` whose child comes from that server, so `communicate`, `wait`, `poll`, `kill` and
timeouts behave as Popen's do.

CREWGATE_TEST_FRESH_PROCESSES=1 starts every command as a new interpreter instead (slower; to compare).
"""

import atexit
import contextlib
import fcntl
import gc
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

FRESH = os.environ.get("CREWGATE_TEST_FRESH_PROCESSES") == "1"
# Not preloaded: the modules that import a crew framework (a run loads it at its first crew step, and a new
# interpreter must not find it loaded), the code that runs inside the sandbox, and Alembic's migration script.
NOT_PRELOADED = (
    "crews.autogen_crew",
    "crews.crewai_crew",
    "executors.autogen",
    "executors._insandbox",
    "workflows.store.migrations.env",
)
# Imported by the libraries themselves at first use, not at import, and costly in every command that uses them:
# litellm's tokenizer and its file-id helper (every model call), OpenAI's client resources (0.7 s of CPU), the MCP
# client (tool servers), the web server's framework and password hashing.
FIRST_USE_IMPORTS = (
    "litellm.litellm_core_utils.default_encoding",
    "litellm.proxy.openai_files_endpoints.common_utils",
    "openai.resources",
    "mcp",
    "mcp.client.stdio",
    "mcp.client.streamable_http",
    "httpcore",
    "anyio._backends._asyncio",
    "litestar",
    "argon2",
)


class ForkedPopen(subprocess.Popen[Any]):
    """`subprocess.Popen` of `crewgate ARGS`, the child forked by this test process's prefork server."""

    _connection: socket.socket
    _unread: bytes

    def _execute_child(  # type: ignore[override]
        self,
        args: list[str],
        executable: object,
        preexec_fn: object,
        close_fds: bool,
        pass_fds: object,
        cwd: str | None,
        env: dict[str, str] | None,
        startupinfo: object,
        creationflags: object,
        shell: bool,
        p2cread: int,
        p2cwrite: int,
        c2pread: int,
        c2pwrite: int,
        errread: int,
        errwrite: int,
        *rest: object,
    ) -> None:
        start_new_session = bool(rest[-2])
        streams = [fd if fd != -1 else inherited for fd, inherited in ((p2cread, 0), (c2pwrite, 1), (errwrite, 2))]
        request = {
            "args": [str(arg) for arg in args[1:]],
            "env": dict(os.environ if env is None else env),
            "cwd": os.fspath(cwd) if cwd is not None else os.getcwd(),
            "new_session": start_new_session,
        }
        self._connection = _connect()
        self._unread = b""
        try:
            payload = json.dumps(request).encode() + b"\n"
            sent = socket.send_fds(self._connection, [payload], streams)
            if sent < len(payload):  # never an empty send: a quick command may have ended and closed the connection
                self._connection.sendall(payload[sent:])
            self.pid = int(self._read_line(None).removeprefix("pid "))
        finally:
            self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)  # type: ignore[attr-defined]

    def _read_line(self, timeout: float | None) -> str:
        """The server's next line on this process's connection; TimeoutExpired after `timeout` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._unread:
            # a socket timeout, not select(): a test process may hold descriptors numbered past 1024
            self._connection.settimeout(None if deadline is None else max(0.0, deadline - time.monotonic()))
            try:
                chunk = self._connection.recv(4096)
            except (TimeoutError, BlockingIOError):
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
            if not chunk:
                raise RuntimeError("the prefork server went away (see its log, tests/prefork.py)")
            self._unread += chunk
        line, self._unread = self._unread.split(b"\n", 1)
        return line.decode()

    def _internal_poll(self, _deadstate: int | None = None, **_: object) -> int | None:
        if self.returncode is None:
            try:
                self._wait(0)
            except (subprocess.TimeoutExpired, OSError, RuntimeError):
                if _deadstate is not None:
                    self.returncode = _deadstate
        return self.returncode

    def _wait(self, timeout: float | None) -> int:
        if self.returncode is None:
            self.returncode = int(self._read_line(timeout).removeprefix("exit "))
            self._connection.close()
        return self.returncode


def popen(args: list[str], **options: Any) -> subprocess.Popen[Any]:
    """`crewgate ARGS` started with Popen's `options`: forked from the prefork server, or a new interpreter."""
    if FRESH:
        return subprocess.Popen([*command(), *args], **options)
    return ForkedPopen(["crewgate", *args], **options)


def run(
    args: list[str], *, env: dict[str, str] | None, timeout: float, input: str | bytes | None, text: bool
) -> subprocess.CompletedProcess[Any]:
    """`subprocess.run` of `crewgate ARGS` with its output captured; never raises on a non-zero exit."""
    stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
    options = {"stdin": stdin, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "env": env, "text": text}
    with popen(args, **options) as process:
        try:
            out, err = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    return subprocess.CompletedProcess(["crewgate", *args], process.returncode, out, err)


def command() -> list[str]:
    """How a new `crewgate` process is started: the console script, or the module where it is not installed."""
    script = Path(sys.executable).with_name("crewgate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "workflows.cli"]


class _Server:
    """The prefork server this test process forks its commands from, started at first use.

    Under xdist the workers of one run share one server (its folder is named by the run's id): each server
    imports everything once, several seconds of CPU. A shared server belongs to the run's controller, not to the
    worker that happened to start it (a worker with no tests left ends early) and stops when the controller has
    gone; alone, a test process's server stops with it.
    """

    def __init__(self) -> None:
        run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
        if run:
            folder = os.path.join(tempfile.gettempdir(), f"crewgate-prefork-{run}")
            os.makedirs(folder, exist_ok=True)
            owner = os.getppid()
        else:
            folder = tempfile.mkdtemp(prefix="crewgate-prefork-")
            owner = os.getpid()
        self.path = os.path.join(folder, "socket")
        self.log = os.path.join(folder, "server.log")
        with open(os.path.join(folder, "lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one worker starts it; the others wait and find it
            if not self._answers():
                self._start(owner)

    def _answers(self) -> bool:
        try:
            self.connect().close()
        except OSError:
            return False
        return True

    def _start(self, owner: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # a server that went away left it
        with open(self.log, "a") as log:
            process = subprocess.Popen(
                [sys.executable, __file__, self.path, str(owner)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
                start_new_session=True,  # a signal to the worker's process group is not one to the shared server
            )
        assert process.stdout is not None
        ready = process.stdout.readline()
        process.stdout.close()
        if ready != b"ready\n":
            raise RuntimeError(f"the prefork server did not start: {Path(self.log).read_text()[-3000:]}")
        self.process = process  # kept: a Popen collected while its process runs warns
        if owner == os.getpid():
            atexit.register(self._stop, process)

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        """Stop this process's own server (its running children are the tests' to stop) and remove its folder."""
        process.kill()
        process.wait()
        shutil.rmtree(os.path.dirname(self.path), ignore_errors=True)

    def connect(self) -> socket.socket:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(self.path)
        except OSError:
            connection.close()
            raise
        return connection


_started: list[_Server] = []
_starting = threading.Lock()


def _connect() -> socket.socket:
    """A connection to the prefork server, started (again) when none answers."""
    with _starting:
        if _started:
            with contextlib.suppress(OSError):
                return _started[0].connect()
        _started[:] = [_Server()]
        return _started[0].connect()


# The server side, run as `python tests/prefork.py SOCKET OWNER_PID`.


def _preload() -> None:
    """Import what a `crewgate` command may need, except the crew frameworks."""
    import importlib
    import pkgutil

    import dbos  # noqa: F401
    import docker  # noqa: F401
    import litellm  # noqa: F401

    for package in ("executors", "agents", "crews", "workflows"):
        for found in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
            name = found.name
            if name.startswith(NOT_PRELOADED) or name.endswith("__main__"):
                continue
            importlib.import_module(name)
    for name in FIRST_USE_IMPORTS:
        importlib.import_module(name)
    frameworks = [name for name in ("crewai", "autogen_agentchat", "autogen_core") if name in sys.modules]
    assert not frameworks, f"preloading imported {frameworks}"
    assert threading.active_count() == 1, f"preloading started threads: {threading.enumerate()}"


def _serve(path: str, owner: int) -> None:
    import signal

    _preload()
    gc.freeze()  # the forked children share the preloaded objects: a collection in one would copy their pages
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_read, wake_write = socket.socketpair()
    wake_read.setblocking(False)
    wake_write.setblocking(False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_write.fileno())
    children: dict[int, socket.socket] = {}
    print("ready", flush=True)
    while _alive(owner):  # the test run (or the test process) is gone: so is its server
        readable = select.select([listener, wake_read], [], [], 1.0)[0]
        if wake_read in readable:
            while True:
                try:
                    wake_read.recv(4096)
                except BlockingIOError:
                    break
        if listener in readable:
            connection = listener.accept()[0]
            request, streams = _receive(connection)
            if request is None:
                connection.close()
                continue
            pid = os.fork()
            if pid == 0:
                for held in (listener, wake_read, wake_write, connection, *children.values()):
                    held.close()
                _child(request, streams)
            for stream in streams:
                os.close(stream)
            children[pid] = connection
            with contextlib.suppress(OSError):  # the test process went away: the others' commands go on
                connection.sendall(f"pid {pid}\n".encode())
        _reap(children)
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _receive(connection: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """The request on `connection` and the streams sent with it; None when there is no whole request (a look
    whether the server answers, or a test process gone mid-request): one test process must not stop the others'."""
    data, streams = b"", []
    try:
        data, received, _, _ = socket.recv_fds(connection, 1 << 16, 3)
        streams = list(received)
        while data and not data.endswith(b"\n"):
            chunk = connection.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    except OSError:
        data = b""
    if not data.endswith(b"\n"):
        for stream in streams:
            os.close(stream)
        return None, []
    return json.loads(data), streams


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is not None:
            with contextlib.suppress(OSError):  # the test stopped listening
                connection.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
            connection.close()


def _child(request: dict[str, Any], streams: list[int]) -> None:
    """Become `crewgate ARGS` as a new process would be. `main` ends the process itself: with DBOS imported, as it
    is here, `workflows.cli._leave` flushes the streams and exits without running exit hooks, as `crewgate run`
    does."""
    import random
    import signal

    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if request["new_session"]:
            os.setsid()
        for target, stream in enumerate(streams):
            os.dup2(stream, target)
            os.close(stream)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        random.seed()
        sys.argv = ["crewgate", *request["args"]]
        from workflows.cli import main
    except BaseException:
        import traceback

        traceback.print_exc()
        os._exit(1)
    main()
    os._exit(1)  # not reached: `main` exits


if __name__ == "__main__":
    del sys.path[0]  # tests/: its modules must not shadow any a command imports
    _serve(sys.argv[1], int(sys.argv[2]))
