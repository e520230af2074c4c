"""DockerSandbox: one long-lived, hardened container per session.

This module only provisions (create, attach, start, remove); talking to the
supervisor inside is `_session.KernelSandbox`'s job.
"""

import contextlib
import os
import socket
import uuid
from typing import Any

from ._direct import DirectListener
from ._session import STARTUP_TIMEOUT_S, KernelSandbox
from ._sources import supervisor_argv
from ._transport import AttachTransport, SocketTransport, Transport, TransportClosed
from .engine import connect, engine_address
from .errors import SandboxUnavailable
from .faults import pause
from .image import PATH_ENV, SANDBOX_UID, default_image, image_id
from .limits import SandboxLimits, parse_size
from .runtimes import require_runtime

MANAGED_LABEL = "crewgate.managed"
# The whole environment of a sandbox: nothing is copied from the host. /tmp is the container's own tmpfs.
CONTAINER_ENV = {"PATH": PATH_ENV, "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}  # noqa: S108


class DockerSandbox(KernelSandbox):
    """A hardened container running the crewgate kernel; nothing starts until `start()`.

    Args:
        image: image tag; defaults to `crewgate-sandbox:<crewgate version>`.
        limits: resource limits; defaults to `SandboxLimits()`.
        labels: extra container labels, e.g. {"crewgate.run": run_id}.
        runtime: the OCI runtime, `runc` (default) or `runsc` (gVisor); executors.runtimes. The engine
            must offer it: the container never starts under another.
        channel: "auto" (default) talks to the supervisor over the direct channel (executors/_direct.py)
            where it works, under runc with an engine on this machine, else over the attach stream;
            "attach" always over the attach stream.
    """

    isolated = True

    def __init__(
        self,
        image: str | None = None,
        limits: SandboxLimits | None = None,
        labels: dict[str, str] | None = None,
        runtime: str = "runc",
        channel: str = "auto",
    ) -> None:
        super().__init__(limits)
        if channel not in ("auto", "attach"):
            raise ValueError(f"channel must be 'auto' or 'attach', not {channel!r}")
        self.image = image or default_image()
        self.runtime = runtime
        self.wanted_channel = channel
        self.channel = ""  # the one the session talks over: "socket" or "attach" (set at start)
        self.session_id = uuid.uuid4().hex[:16]
        self.labels = {
            **(labels or {}),
            MANAGED_LABEL: "1",
            "crewgate.session": self.session_id,
            "crewgate.run": (labels or {}).get("crewgate.run", ""),
            "crewgate.host": socket.gethostname(),
            "crewgate.pid": str(os.getpid()),
        }
        self.container_id: str | None = None
        self.image_id: str | None = None
        self._client: Any = None
        self._attach: Any = None
        self._transport: AttachTransport | None = None
        self._direct: SocketTransport | None = None

    @property
    def workdir(self) -> str:
        return "/workspace"

    def describe(self) -> str:
        short = self.container_id[:12] if self.container_id else "not started"
        return f"DockerSandbox({self.image}, {self.runtime}, container {short})"

    def _provision(self, key: bytes) -> Transport:
        from docker.errors import DockerException

        if self._client is None:
            self._client = connect()
        api = self._client.api
        require_runtime(self._client, self.runtime)
        self.image_id = image_id(self._client, self.image)
        if self.image_id is None:
            raise SandboxUnavailable(
                f"sandbox image {self.image} is not present on the engine: run `crewgate sandbox build` "
                "(or `make test`, which builds it when missing)"
            )
        listener = self._direct_listener(key)
        socket_path = listener.container_path if listener else ""
        try:
            container = api.create_container(
                self.image,
                command=supervisor_argv("python3", "container", "/workspace", self.limits.pids, socket_path),
                user=f"{SANDBOX_UID}:{SANDBOX_UID}",
                stdin_open=True,  # with detach=False this also sets StdinOnce: our exit ends the container
                environment=CONTAINER_ENV,
                labels=self.labels,
                working_dir="/workspace",
                hostname="sandbox",
                network_disabled=self.limits.network == "none",
                host_config=api.create_host_config(**self._host_config(), binds=listener.bind() if listener else None),
            )
            self.container_id = container["Id"]
            pause("after-container-create")  # crash tests: a created, never started container must be reaped
            self._attach = api.attach_socket(
                self.container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            api.start(self.container_id)
        except BaseException as exc:
            if listener:
                listener.close()
            self._discard()
            if isinstance(exc, DockerException):
                raise SandboxUnavailable(f"could not start a sandbox container from {self.image}: {exc}") from exc
            raise
        self._transport = AttachTransport(getattr(self._attach, "_sock", self._attach))
        try:
            self._transport.send(key + b"\n")  # the supervisor's first line: its key (and the listener's token)
        except TransportClosed:
            return self._transport  # it ended at once: the handshake says why
        try:
            connection = listener.wait(self._transport, STARTUP_TIMEOUT_S) if listener else None
        except BaseException as exc:  # the listener closed itself; the container goes too
            self._discard()
            if isinstance(exc, OSError):
                raise SandboxUnavailable(f"could not reach the sandbox's supervisor: {exc}") from exc
            raise
        if connection is None:
            self.channel = "attach"
            return self._transport
        self.channel = "socket"
        self._direct = SocketTransport(connection)
        return self._direct

    def _direct_listener(self, key: bytes) -> DirectListener | None:
        """A listener for the direct channel where it can work (runc, an engine on this machine), else None."""
        if self.wanted_channel != "auto" or self.runtime != "runc" or not engine_address().startswith("unix://"):
            return None
        try:
            return DirectListener(key)
        except OSError:  # no room for a socket here (a read-only or full /tmp): the attach stream works anyway
            return None

    def _host_config(self) -> dict[str, Any]:
        from docker.types import Ulimit

        limits = self.limits
        memory = parse_size(limits.memory)
        owner = f"uid={SANDBOX_UID},gid={SANDBOX_UID}"
        return {
            "network_mode": limits.network,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
            "read_only": True,
            "tmpfs": {
                "/workspace": f"rw,exec,nosuid,nodev,size={parse_size(limits.workspace_size)},{owner},mode=0755",
                "/tmp": f"rw,nosuid,nodev,noexec,size={parse_size(limits.tmp_size)},{owner},mode=1777",  # noqa: S108
            },
            "mem_limit": memory,
            "memswap_limit": memory,
            "nano_cpus": int(limits.cpus * 1e9),
            "pids_limit": limits.pids,
            "ulimits": [Ulimit(name="nofile", soft=limits.nofile, hard=limits.nofile)],
            "init": True,
            "auto_remove": True,
            "ipc_mode": "private",
            "runtime": self.runtime,
        }

    def close(self) -> None:
        """End the session, remove the container and close the engine connection."""
        super().close()
        if self._client is not None:
            self._client.close()
            self._client = None

    def _diagnostics(self) -> str:
        if self._transport:
            self._transport.pump()  # over the direct channel, nothing else reads the attach stream
        if self._transport and self._transport.diagnostics:
            return "The sandbox said: " + self._transport.diagnostics.decode("utf-8", "replace")[-2000:]
        return ""

    def _kill(self) -> None:
        """Remove the container through a connection of its own: the owner's may be busy reading a cell's reply."""
        from docker.errors import DockerException

        container = self.container_id
        if container is None:
            return
        try:
            client = connect()
        except SandboxUnavailable:
            return
        try:  # the engine may be gone or slow; the owner's close() removes what is left
            with contextlib.suppress(DockerException, OSError, ValueError):
                client.api.remove_container(container, force=True)
        finally:
            client.close()

    def _discard(self) -> None:
        from docker.errors import DockerException

        if self._direct is not None:
            self._direct.close()
            self._direct = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._attach is not None:
            self._attach.close()  # the socket file object docker-py handed us holds a reference too
            self._attach = None
        if self.container_id and self._client is not None:
            # It may already be gone (auto-remove) or being removed.
            with contextlib.suppress(DockerException):
                self._client.api.remove_container(self.container_id, force=True)
