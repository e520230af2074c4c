"""The direct channel: the supervisor connects to a Unix socket the host listens on, bypassing the engine.

Why: over the attach stream a cell's bytes go host -> dockerd -> containerd-shim ->
the container and back, about 0.15 ms of a 0.5 ms cell (benchmarks/executor_latency.py).
A socket the host listens on, in a folder bind-mounted read-only into the container,
carries the same JSON lines with the engine out of the way.

Why it is safe:
- The host writes a one-time token on the container's stdin (the attach stream, which
  only the engine's users reach; it is also the key the channel's lines are signed with,
  executors/_channel.py); the supervisor reads it, connects and shows it. A
  connection without it is closed: another local user who read the socket's name in the
  process list, even one with the sandbox's uid, cannot stand in for the supervisor. The
  token is in no environment and no file; the supervisor holding it is not dumpable.
- The listener takes that one connection and is then closed and its file and folder
  removed, before the host sends the first cell: no code of the model's runs while it
  listens (the kernel starts meanwhile, but runs nothing until a cell comes), and nothing
  can connect afterwards.
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
import selectors
import shutil
import socket
import tempfile
import time

from ._transport import AttachTransport

MOUNT_POINT = "/run/crewgate-channel"  # in the container; read-only
FOLDER_PREFIX = "crewgate-channel-"  # then the owner's pid: a folder a killed process left is pruned
MOST_PENDING = 16  # connections read side by side; a newer one closes the oldest (no flood exhausts descriptors)


class DirectListener:
    """A one-connection Unix socket in a private folder, to be bind-mounted read-only into one container."""

    def __init__(self, token: bytes) -> None:
        self.folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
        self.name = f"{secrets.token_hex(16)}.sock"
        self.token = token
        self._listener: socket.socket | None = None
        try:
            # The sandbox's uid reaches the socket by its name; nobody may list the folder.
            os.chmod(self.folder, 0o711)  # noqa: S103 - search only, no read or write
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.setblocking(False)
            self._listener.bind(os.path.join(self.folder, self.name))
            # Connecting needs write permission on the socket; who connects must still show the token.
            os.chmod(os.path.join(self.folder, self.name), 0o666)  # noqa: S103
            self._listener.listen(4)
        except BaseException:
            self.close()
            raise

    @property
    def container_path(self) -> str:
        return f"{MOUNT_POINT}/{self.name}"

    def bind(self) -> dict[str, dict[str, str]]:
        """The read-only bind mount, in the engine's `binds` form."""
        return {self.folder: {"bind": MOUNT_POINT, "mode": "ro"}}

    def wait(self, attach: AttachTransport, timeout: float) -> socket.socket | None:
        """The supervisor's connection, once it has shown the token (the caller wrote it on its stdin). None
        when it spoke on the attach stream instead (it could not connect), or nothing came in time. The
        listener is closed either way.

        Connections are read side by side as their bytes come, before new ones are taken: one that stays
        silent or sends a wrong line holds up nothing (a wrong line closes it; past MOST_PENDING the oldest
        makes room), so no other local process can keep the supervisor out.
        """
        deadline = time.monotonic() + timeout
        pending: dict[socket.socket, bytes] = {}
        watch = selectors.DefaultSelector()  # epoll: any descriptor number, unlike select()
        try:
            if self._listener is None:
                return None
            watch.register(self._listener, selectors.EVENT_READ)
            watch.register(attach, selectors.EVENT_READ)
            while (remaining := deadline - time.monotonic()) > 0:
                ready = {key.fileobj for key, _ in watch.select(remaining)}
                if attach in ready and attach.pump():
                    return None
                for connection in [each for each in pending if each in ready]:
                    if self._read_token(connection, pending, watch):
                        return connection
                if self._listener in ready:
                    self._take(self._listener, pending, watch)
            return None
        finally:
            for connection in pending:
                connection.close()
            watch.close()
            self.close()

    def _take(
        self, listener: socket.socket, pending: dict[socket.socket, bytes], watch: selectors.BaseSelector
    ) -> None:
        """Accept a connection (if one is still there), the oldest waiting one making room past MOST_PENDING."""
        try:
            connection, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        if len(pending) >= MOST_PENDING:  # the oldest has had its turns to speak
            self._drop(next(iter(pending)), pending, watch)
        connection.setblocking(False)
        pending[connection] = b""
        watch.register(connection, selectors.EVENT_READ)

    def _read_token(
        self, connection: socket.socket, pending: dict[socket.socket, bytes], watch: selectors.BaseSelector
    ) -> bool:
        """Read what `connection` sent; whether it is the token, whole. A connection that closed, failed or
        sent a line that is not the token is closed and forgotten; one still short of a line is kept."""
        expected = self.token + b"\n"
        try:
            chunk = connection.recv(len(expected) - len(pending[connection]))
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            chunk = b""
        received = pending[connection] + chunk
        if hmac.compare_digest(received, expected):
            watch.unregister(connection)
            del pending[connection]
            connection.setblocking(True)
            return True
        if chunk and b"\n" not in received and len(received) < len(expected):
            pending[connection] = received
        else:
            self._drop(connection, pending, watch)
        return False

    @staticmethod
    def _drop(connection: socket.socket, pending: dict[socket.socket, bytes], watch: selectors.BaseSelector) -> None:
        watch.unregister(connection)
        del pending[connection]
        connection.close()

    def close(self) -> None:
        """Stop listening and remove the socket and its folder (the container's mount keeps an empty one)."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.folder, self.name))
        shutil.rmtree(self.folder, ignore_errors=True)
