"""Request/reply over a transport: signed JSON lines matched by message id.

Everything that arrives is untrusted bytes from the sandbox: frames are
bounded in size, parsed as JSON only (never unpickled), and type-checked.

Every line, both ways, is `MAC JSON`: a keyed BLAKE2b MAC (128 bits, hex) of the
JSON under a key the host hands the supervisor as the first line on its stdin,
before any code of the model's runs. Over the attach stream, code in the sandbox can
reach the container's stdin and stdout through its init process (/proc/1/fd), so it
could write lines that look like the supervisor's replies (a check "passed") or like
the host's requests; without the key it cannot sign them, and a line that is not
signed breaks the channel (the sandbox is replaced) instead of being believed.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from ._transport import Transport, TransportClosed

OnMessage = Callable[[dict[str, Any]], dict[str, Any] | None]  # a message that is not the reply -> what to send back


def mac(key: bytes, body: bytes) -> bytes:
    """The line's MAC: keyed BLAKE2b, 128 bits, in hex (CPython's own BLAKE2: a few cache lines, where OpenSSL's
    HMAC cost about 10 µs a line on the way to every cell, its code cold after each wait)."""
    return hashlib.blake2b(body, key=key, digest_size=16).hexdigest().encode()


def sign(key: bytes, body: bytes) -> bytes:
    """`body` (one JSON text) as a signed line: MAC, a space, the body, a newline."""
    return mac(key, body) + b" " + body + b"\n"


def signed_body(key: bytes, line: bytes) -> bytes | None:
    """The JSON of a signed line (without its newline), or None when its MAC is not the key's."""
    found, _, body = line.partition(b" ")
    return body if hmac.compare_digest(found, mac(key, body)) else None


class ChannelBroken(Exception):
    """The supervisor closed, went silent, or sent something that is not a reply."""


class Channel:
    """Sends one request at a time and waits for the reply with the same id."""

    def __init__(self, transport: Transport, key: bytes) -> None:
        self.transport = transport
        self.key = key
        self._ids = itertools.count(1)
        self._pending = bytearray()
        self._sending = threading.Lock()  # `notify` may write from another thread while `call` waits

    def handshake(self, timeout: float) -> dict[str, Any]:
        """Wait for the supervisor's hello."""
        hello = self._read_message(time.monotonic() + timeout, limit=65536)
        if hello.get("op") != "hello":
            raise ChannelBroken(f"expected a hello from the supervisor, got {str(hello)[:200]!r}")
        return hello

    def call(
        self, request: dict[str, Any], timeout: float, limit: int, on_message: OnMessage | None = None
    ) -> dict[str, Any]:
        """Send `request`, return its reply; replies to earlier ids are dropped.

        Messages with an `op` that arrive meanwhile (a cell's tool calls) go to `on_message`, and what it
        returns is sent back; each one starts `timeout` afresh (the supervisor times the cell itself).
        """
        message_id = self._send(request)
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline, limit)
            if "op" in reply and on_message is not None:
                answer = on_message(reply)
                if answer is not None:
                    self._send(answer)
                # The supervisor is alive and keeps the cell's own clock: wait a whole `timeout` from here.
                deadline = time.monotonic() + timeout
            elif reply.get("id") == message_id:
                return reply

    def notify(self, request: dict[str, Any]) -> None:
        """Send `request` without waiting for a reply (any thread; its reply, if any, is dropped)."""
        self._send(request)

    def _send(self, request: dict[str, Any]) -> int:
        with self._sending:
            message_id = next(self._ids)
            payload = json.dumps({**request, "id": message_id}, ensure_ascii=True).encode()
            try:
                self.transport.send(sign(self.key, payload))
            except TransportClosed as exc:
                raise ChannelBroken(str(exc)) from exc
        return message_id

    def _read_message(self, deadline: float, limit: int) -> dict[str, Any]:
        while b"\n" not in self._pending:
            if len(self._pending) > limit:
                raise ChannelBroken(f"the sandbox sent a frame over the {limit}-byte limit")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChannelBroken("the sandbox did not answer in time")
            try:
                self._pending += self.transport.receive(remaining)
            except TransportClosed as exc:
                raise ChannelBroken(str(exc)) from exc
        line, _, rest = bytes(self._pending).partition(b"\n")
        self._pending = bytearray(rest)
        if len(line) > limit:
            raise ChannelBroken(f"the sandbox sent a frame over the {limit}-byte limit")
        body = signed_body(self.key, line)
        if body is None:
            raise ChannelBroken(f"the sandbox sent a frame the supervisor did not sign: {line[:120]!r}")
        try:
            message = json.loads(body)
        except ValueError as exc:
            raise ChannelBroken(f"the sandbox sent a frame that is not JSON: {line[:120]!r}") from exc
        if not isinstance(message, dict):
            raise ChannelBroken(f"the sandbox sent a non-object frame: {line[:120]!r}")
        return message
