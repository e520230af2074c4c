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

from ._transport import AttachTransport

MOUNT_POINT = "/run/crewgate-channel"  # in the container; read-only
FOLDER_PREFIX = "crewgate-channel-"  # then the owner's pid: a folder a killed process left is pruned
TOKEN_ENV = "CREWGATE_CHANNEL_TOKEN"  # noqa: S105 - the variable's name, not a secret
TOKEN_BYTES = 32
MOST_PENDING = 16  # connections read side by side; a newer one closes the oldest (no flood exhausts descriptors)


class DirectListener:
    """A one-connection Unix socket in a private folder, to be bind-mounted read-only into one container."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
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

    def wait(self, attach: AttachTransport, timeout: float) -> socket.socket | None:
        """The supervisor's connection, once it has shown the token; None when it spoke on the attach stream
        instead (it could not connect), or nothing came in time. The listener is closed either way.

        Connections are read side by side as their bytes come, before new ones are taken: one that stays
        silent or sends a wrong line holds up nothing (a wrong line closes it; past MOST_PENDING the oldest
        makes room), so no other local process can keep the supervisor out.
        """
        deadline = time.monotonic() + timeout
        pending: dict[socket.socket, bytes] = {}
        try:
            while self._listener is not None and (remaining := deadline - time.monotonic()) > 0:
                watched: list[socket.socket | AttachTransport] = [self._listener, attach, *pending]
                ready, _, _ = select.select(watched, [], [], remaining)
                if attach in ready and attach.pump():
                    return None
                for connection in [each for each in ready if each in pending]:
                    if self._read_token(connection, pending):
                        return connection
                if self._listener in ready:
                    if len(pending) >= MOST_PENDING:  # the oldest has had its turns to speak: it makes room
                        oldest = next(iter(pending))
                        del pending[oldest]
                        oldest.close()
                    connection, _ = self._listener.accept()
                    pending[connection] = b""
            return None
        finally:
            for connection in pending:
                connection.close()
            self.close()

    def _read_token(self, connection: socket.socket, pending: dict[socket.socket, bytes]) -> bool:
        """Read what `connection` sent; whether it is the token, whole. A connection that closed, failed or
        sent a line that is not the token is closed and forgotten; one still short of a line is kept."""
        expected = f"{self.token}\n".encode()
        so_far = pending.pop(connection)
        try:
            chunk = connection.recv(len(expected) - len(so_far))
        except OSError:
            chunk = b""
        received = so_far + chunk
        if hmac.compare_digest(received, expected):
            return True
        if chunk and b"\n" not in received and len(received) < len(expected):
            pending[connection] = received
        else:
            connection.close()
        return False

    def close(self) -> None:
        """Stop listening and remove the socket and its folder (the container's mount keeps an empty one)."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.folder, self.name))
        shutil.rmtree(self.folder, ignore_errors=True)


def prune_channel_folders() -> int:
    """Remove the folders of listeners whose process is gone (killed before it could close them); how many."""
    root = tempfile.gettempdir()
    removed = 0
    for name in os.listdir(root):
        owner = name[len(FOLDER_PREFIX) :].split("-", 1)[0] if name.startswith(FOLDER_PREFIX) else ""
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
