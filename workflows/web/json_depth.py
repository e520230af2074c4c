"""A JSON body nested deeper than MAX_JSON_DEPTH is refused with 422 before anything parses it.

The parser recurses once per level: thousands of `[` answer 500 (a recursion error)
instead of the documented 422. No request crewgate takes nests deeper than a few
levels, so the body is checked first, on every route: the brackets outside strings
are counted, and only when the body holds enough of them to matter.
"""

import json
import re
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

from .headers import HEADERS

MAX_JSON_DEPTH = 32
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # a whole string (skipped), or one bracket


def json_depth(body: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets inside strings do not count)."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # too few brackets to nest too deep: the common case costs two counts
    depth = deepest = 0
    for token in _TOKENS.finditer(body):
        mark = token.group()
        if mark in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif mark in (b"]", b"}"):
            depth -= 1
    return deepest


def limit_json_depth(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: buffer a JSON request's body, refuse it past MAX_JSON_DEPTH, else hand it on unchanged."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await app(scope, receive, send)
            return
        messages: list[Any] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if json_depth(body) > MAX_JSON_DEPTH:
            await _refuse(send)
            return

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await app(scope, replay, send)

    return middleware


def _is_json(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    return b"json" in headers.get(b"content-type", b"").lower()


async def _refuse(send: Send) -> None:
    detail = f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels: no request takes that"
    body = json.dumps({"status_code": 422, "detail": detail, "error": "ValidationException"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in HEADERS.items()]
    start: Any = {"type": "http.response.start", "status": 422, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
