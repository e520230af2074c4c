"""Byte pipes to a supervisor: a local subprocess, a container's attach socket, or a direct Unix socket.

Provisioning (who starts the process) lives elsewhere; these only move bytes.
"""

import contextlib
import math
import os
import select
import socket
import struct
import subprocess
from typing import Protocol

SEND_TIMEOUT_S = 60.0  # a send the supervisor does not take in this long fails (a whole archive fits in it)


class TransportClosed(Exception):
    """The other end went away."""


class Transport(Protocol):
    def send(self, data: bytes) -> None: ...

    def receive(self, timeout: float) -> bytes:
        """Return the next bytes of the supervisor's stdout; b"" when none arrived in time."""
        ...

    def close(self) -> None: ...


class PipeTransport:
    """Talks to a supervisor started as a subprocess with stdin/stdout pipes."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        if process.stdin is None or process.stdout is None:
            raise ValueError("PipeTransport needs a process started with stdin and stdout pipes")
        self.process = process
        self._in = process.stdin.fileno()
        self._out = process.stdout.fileno()
        self._readable = select.poll()  # not select(): a busy host's descriptors may be numbered past 1024
        self._readable.register(self._out, select.POLLIN)

    def send(self, data: bytes) -> None:
        try:
            while data:
                data = data[os.write(self._in, data) :]
        except OSError as exc:
            raise TransportClosed(f"supervisor stdin closed: {exc}") from exc

    def receive(self, timeout: float) -> bytes:
        if not self._readable.poll(math.ceil(max(timeout, 0) * 1000)):
            return b""
        chunk = os.read(self._out, 1 << 20)
        if not chunk:
            raise TransportClosed("supervisor stdout closed")
        return chunk

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class SocketTransport:
    """Talks to a supervisor over a connected Unix socket (executors/_direct.py: the direct channel)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def send(self, data: bytes) -> None:
        _send_within(self._sock, data, "supervisor socket")

    def receive(self, timeout: float) -> bytes:
        chunk = _receive_within(self._sock, timeout, "supervisor socket")
        if chunk is None:
            return b""
        if not chunk:
            raise TransportClosed("supervisor socket closed")
        return chunk

    def close(self) -> None:
        _close(self._sock)


def _receive_within(sock: socket.socket, timeout: float, what: str) -> bytes | None:
    """The next bytes on `sock` (b"" when the other end closed it), or None when none arrived within `timeout`."""
    sock.settimeout(max(timeout, 0.000001))
    try:
        return sock.recv(1 << 20)
    except (TimeoutError, BlockingIOError):
        return None
    except OSError as exc:
        raise TransportClosed(f"{what} failed: {exc}") from exc


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _send_within(sock: socket.socket, data: bytes, what: str) -> None:
    """Send all of `data` within SEND_TIMEOUT_S, whatever timeout a read left on the socket: a supervisor that
    stopped reading (a cell can SIGSTOP it) fails the send instead of holding the host forever."""
    sock.settimeout(SEND_TIMEOUT_S)
    try:
        sock.sendall(data)
    except TimeoutError as exc:
        raise TransportClosed(f"{what}: nothing was read for {SEND_TIMEOUT_S:.0f} s") from exc
    except OSError as exc:
        raise TransportClosed(f"{what} closed: {exc}") from exc


class AttachTransport:
    """Talks over a Docker attach socket (non-TTY, so output is multiplexed).

    Frames are an 8-byte header (stream id, 3 zero bytes, big-endian length)
    and a payload; stream 1 is the supervisor's protocol channel, stream 2 its
    own diagnostics, kept (bounded) for error messages.
    """

    DIAGNOSTIC_BYTES = 16384

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._raw = bytearray()
        self._out = bytearray()  # protocol bytes demultiplexed and not yet received
        self._ended = False
        self.diagnostics = bytearray()

    def send(self, data: bytes) -> None:
        _send_within(self._sock, data, "container stdin")

    def receive(self, timeout: float) -> bytes:
        if not self._out and not self._ended:
            chunk = _receive_within(self._sock, timeout, "container attach socket")
            if chunk is None:
                return b""
            self._take(chunk)
        if self._out:
            out = bytes(self._out)
            self._out.clear()
            return out
        if self._ended:
            raise TransportClosed("container output closed")
        return b""

    def pump(self) -> bool:
        """Take what has arrived, without waiting: diagnostics are kept, protocol bytes wait for `receive`.
        Whether the supervisor has spoken on this stream (or the stream ended)."""
        self._sock.settimeout(0)
        try:
            self._take(self._sock.recv(1 << 20))
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._ended = True
        return bool(self._out) or self._ended

    def _take(self, chunk: bytes) -> None:
        if not chunk:
            self._ended = True
            return
        self._raw += chunk
        while len(self._raw) >= 8:
            stream, size = self._raw[0], struct.unpack(">I", self._raw[4:8])[0]
            if len(self._raw) < 8 + size:
                break
            payload = self._raw[8 : 8 + size]
            del self._raw[: 8 + size]
            if stream == 1:
                self._out += payload
            else:
                room = self.DIAGNOSTIC_BYTES - len(self.diagnostics)
                self.diagnostics += payload[: max(room, 0)]

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        _close(self._sock)
