"""LocalSandbox: the same kernel as a host subprocess. NOT a security boundary.

For development on machines without Docker. It is never chosen silently: code
asks for it by name, and it logs that it is not isolated when it starts.
"""

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ._session import KernelSandbox
from ._sources import supervisor_argv
from ._transport import PipeTransport, Transport, TransportClosed
from .errors import SandboxError
from .limits import SandboxLimits

log = logging.getLogger("crewgate.sandbox")


class LocalSandbox(KernelSandbox):
    """Runs cells in a subprocess on this host, in a temporary workspace folder."""

    isolated = False

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        super().__init__(limits)
        self.workspace: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._transport: PipeTransport | None = None

    @property
    def workdir(self) -> str:
        if self.workspace is None:
            raise SandboxError("the local sandbox is not started: it has no workspace yet")
        return str(self.workspace)

    def describe(self) -> str:
        return f"LocalSandbox({self.workspace or 'not started'}, NOT isolated)"

    def _provision(self, key: bytes) -> Transport:
        log.warning("LocalSandbox runs model code on this host WITHOUT isolation: use it for development only")
        self.workspace = Path(tempfile.mkdtemp(prefix="crewgate-local-"))
        env = {
            # this Python first, so `python3` in a check is the interpreter (and packages) the kernel runs on
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")]),
            "HOME": str(self.workspace),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self._process = subprocess.Popen(  # noqa: S603 - our own supervisor, no shell
            supervisor_argv(sys.executable, "local", str(self.workspace), self.limits.pids),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=self.workspace,
            env=env,
            start_new_session=True,
        )
        self._transport = PipeTransport(self._process)
        with contextlib.suppress(TransportClosed):  # it ended at once: the handshake says so
            self._transport.send(key + b"\n")
        return self._transport

    def _kill(self) -> None:
        """Kill the supervisor's process group from any thread; the owner's `close()` cleans up after."""
        process = self._process
        if process is not None:
            with contextlib.suppress(OSError):  # gone already, or never ours to signal
                os.killpg(process.pid, 9)

    def _discard(self) -> None:
        if self._transport is not None:
            self._transport.close()  # EOF: the supervisor kills its kernel and exits
            self._transport = None
        if self._process is not None:
            try:
                self._process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, 9)
                self._process.wait()
            self._process = None
        if self.workspace is not None:
            shutil.rmtree(self.workspace, ignore_errors=True)
