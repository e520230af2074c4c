"""A request body nested deeper than MAX_JSON_DEPTH is refused with 422 before anything parses it.

The JSON parser recurses once per level: thousands of `[` answer 500 (a recursion
error) instead of the documented 422, and Litestar parses a body as JSON whatever
its content type says. So every body that is not a form is checked first, on every
route: read up to MAX_BODY_BYTES (more is 413), then one linear pass over its
brackets, quotes and backslashes (in a worker thread, so a large body never stalls
the server), and only when it holds enough brackets to matter.
"""

import json
import re
from typing import Any

import anyio.to_thread
from litestar.types import ASGIApp, Receive, Scope, Send

from .headers import HEADERS

MAX_JSON_DEPTH = 32
MAX_BODY_BYTES = 10 * 1024 * 1024  # Litestar's own limit on a request body
FORMS = (b"application/x-www-form-urlencoded", b"multipart/form-data")
_MARKS = re.compile(rb'[\[\]{}"\\]')  # the only bytes that change depth or string state


def json_depth(body: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets inside strings do not count). Linear."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # too few brackets to nest too deep: the common case costs two counts
    depth = deepest = 0
    in_string = False
    escaped_at = -1  # the position a backslash escapes
    for found in _MARKS.finditer(body):
        position, mark = found.start(), found.group()
        if position == escaped_at:
            continue
        if in_string:
            if mark == b"\\":
                escaped_at = position + 1
            elif mark == b'"':
                in_string = False
        elif mark == b'"':
            in_string = True
        elif mark in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif mark in (b"]", b"}"):
            depth -= 1
    return deepest


def limit_json_depth(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: buffer a non-form body, refuse it past MAX_BODY_BYTES or MAX_JSON_DEPTH, else pass it on."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH") or _is_form(scope):
            await app(scope, receive, send)
            return
        messages: list[Any] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > MAX_BODY_BYTES:
                await _refuse(send, 413, f"the request body is over {MAX_BODY_BYTES} bytes")
                return
            if not message.get("more_body", False):
                break
        body = b"".join(message.get("body", b"") for message in messages if message["type"] == "http.request")
        if await anyio.to_thread.run_sync(json_depth, body) > MAX_JSON_DEPTH:
            await _refuse(send, 422, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels: no request takes that")
            return

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await app(scope, replay, send)

    return middleware


def _is_form(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    return headers.get(b"content-type", b"").lower().startswith(FORMS)


async def _refuse(send: Send, status: int, detail: str) -> None:
    error = "ValidationException" if status == 422 else "RequestEntityTooLarge"
    body = json.dumps({"status_code": status, "detail": detail, "error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in HEADERS.items()]
    start: Any = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
