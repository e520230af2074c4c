"""The direct channel: the supervisor connects to a Unix socket the host listens on, bypassing the engine.

Why: over the attach stream a cell's bytes go host -> dockerd -> containerd-shim ->
the container and back, about 0.15 ms of a 0.5 ms cell (benchmarks/executor_latency.py).
A socket the host listens on, in a folder bind-mounted read-only into the container,
carries the same JSON lines with the engine out of the way.

Why it is safe:
- The listener takes one connection, the supervisor's, and is then closed and its file
  removed, before the supervisor starts the kernel: no code of the model's ever runs
  while it listens, and nothing can connect afterwards.
- The supervisor proves who it is with a token passed in its environment (readable only
  by its own uid and root on the host; dropped from the environment before the kernel
  starts). A connection without the token is closed: another local user who read the
  socket's name from the process list cannot stand in for the supervisor.
- The folder is mounted read-only and holds nothing but the socket: the container gains
  no writable path. The container keeps its attach stream too (its stdin ends the
  container when the host goes; its stderr carries the supervisor's diagnostics).
Used under runc with an engine on this machine; gVisor (runsc) does not pass host sockets
into its sandbox, and a remote engine does not see this machine's folders: those use
the attach stream. When the supervisor cannot connect it says so in its hello over the
attach stream, and the session goes on there: slower, isolated the same.
"""

import contextlib
import hmac
import os
import secrets
import select
import shutil
import socket
import tempfile
import time

MOUNT_POINT = "/run/crewgate-channel"  # in the container; read-only
TOKEN_ENV = "CREWGATE_CHANNEL_TOKEN"  # noqa: S105 - the variable's name, not a secret
TOKEN_BYTES = 32


class DirectListener:
    """A one-connection Unix socket in a private folder, to be bind-mounted read-only into one container."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="crewgate-channel-")
        # The sandbox's uid reaches the socket by its name; nobody may list the folder.
        os.chmod(self.folder, 0o711)  # noqa: S103 - search only, no read or write
        self.name = f"{secrets.token_hex(16)}.sock"
        self.token = secrets.token_hex(TOKEN_BYTES)
        self._listener: socket.socket | None = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._listener.bind(os.path.join(self.folder, self.name))
            # Connecting needs write permission on the socket; who connects must still show the token.
            os.chmod(os.path.join(self.folder, self.name), 0o666)  # noqa: S103
            self._listener.listen(4)
        except OSError:
            self.close()
            raise

    @property
    def container_path(self) -> str:
        return f"{MOUNT_POINT}/{self.name}"

    def bind(self) -> dict[str, dict[str, str]]:
        """The read-only bind mount, in the engine's `binds` form."""
        return {self.folder: {"bind": MOUNT_POINT, "mode": "ro"}}

    def wait(self, attach: socket.socket, timeout: float) -> socket.socket | None:
        """The supervisor's connection, once it has shown the token; None when it spoke on the attach stream
        instead (it could not connect) or nothing came in time. The listener is closed either way.

        Every connection is read as its bytes come, side by side: one that stays silent or sends a wrong line
        holds up nothing (a wrong line closes it), so no other local process can keep the supervisor out.
        """
        deadline = time.monotonic() + timeout
        expected = f"{self.token}\n".encode()
        pending: dict[socket.socket, bytes] = {}
        try:
            while self._listener is not None and (remaining := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([self._listener, attach, *pending], [], [], remaining)
                if attach in ready:
                    return None
                if self._listener in ready:
                    connection, _ = self._listener.accept()
                    pending[connection] = b""
                for connection in [each for each in ready if each in pending]:
                    received = pending[connection] + connection.recv(len(expected) - len(pending[connection]))
                    if hmac.compare_digest(received, expected):
                        del pending[connection]
                        return connection
                    if (
                        len(received) == len(pending[connection]) or b"\n" in received or len(received) == len(expected)
                    ):  # closed, or a line that is not the token: not the supervisor
                        del pending[connection]
                        connection.close()
                    else:
                        pending[connection] = received
            return None
        finally:
            for connection in pending:
                connection.close()
            self.close()

    def close(self) -> None:
        """Stop listening and remove the socket and its folder (the container's mount keeps an empty one)."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.folder, self.name))
        shutil.rmtree(self.folder, ignore_errors=True)
