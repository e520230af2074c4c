"""A small OpenAI-compatible chat server on 127.0.0.1, for exercising litellm's real HTTP path."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Failure:
    """One answer that is an HTTP error, with its headers (e.g. {"Retry-After": "1"})."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeOpenAI:
    """Replies in order; `status` lets a test make every call fail (e.g. 500).

    A reply is the message's text, or a dict of the message's fields as a server sends them
    (`content`, `reasoning_content`, `tool_calls`) plus an optional `finish_reason`.
    `failures` are answered first, one per request, before the replies begin.
    """

    replies: list[str | dict[str, Any]]
    status: int = 200
    failures: list[Failure] = field(default_factory=list)
    prompt_tokens: int = 120
    completion_tokens: int = 30
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # when each request arrived (time.time())
    url: str = ""

    def respond(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        self.times.append(time.time())
        self.requests.append(body)
        self.headers.append(headers)
        if len(self.requests) <= len(self.failures):
            failure = self.failures[len(self.requests) - 1]
            return failure.status, _error(failure.status), failure.headers
        if self.status != 200:
            return self.status, _error(self.status), {}
        answered = len(self.requests) - len(self.failures)
        reply = self.replies[min(answered, len(self.replies)) - 1]
        fields = {"content": reply} if isinstance(reply, str) else dict(reply)
        finish = fields.pop("finish_reason", "tool_calls" if fields.get("tool_calls") else "stop")
        return (
            200,
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1700000000,
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", **fields}}],
                "usage": {
                    "prompt_tokens": self.prompt_tokens,
                    "completion_tokens": self.completion_tokens,
                    "total_tokens": self.prompt_tokens + self.completion_tokens,
                },
            },
            {},
        )


def _error(status: int) -> dict[str, Any]:
    kinds = {401: "invalid_api_key", 403: "permission_denied", 429: "rate_limit_exceeded"}
    return {"error": {"message": f"the fake server answers {status}", "type": kinds.get(status, "server_error")}}


@contextmanager
def serve(fake: FakeOpenAI) -> Iterator[FakeOpenAI]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            status, payload, headers = fake.respond(body, dict(self.headers))
            data = json.dumps(payload).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
