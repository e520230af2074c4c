"""An MCP server written for the tests (stdio, or streamable HTTP given a port).

Each `record` call appends a line to a file on the host.

LEDGER_FILE is where; LEDGER_TOKEN must be set to the secret whose sha256 is LEDGER_TOKEN_SHA256, so a
test can show the server got its secret while the secret itself is found nowhere else.
"""

import hashlib
import os
import sys
import time
from pathlib import Path

from mcp.server.fastmcp import FastMCP

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 0  # given: serve streamable HTTP on 127.0.0.1:PORT/mcp
server = FastMCP("ledger", host="127.0.0.1", port=PORT or 8000, log_level="WARNING")


def _authorized() -> None:
    token = os.environ.get("LEDGER_TOKEN", "")
    if hashlib.sha256(token.encode()).hexdigest() != os.environ.get("LEDGER_TOKEN_SHA256"):
        raise PermissionError("LEDGER_TOKEN is missing or wrong")


@server.tool()
def record(entry: str) -> str:
    """Append `entry` to the ledger; return how many entries it holds."""
    _authorized()
    ledger = Path(os.environ["LEDGER_FILE"])
    with ledger.open("a") as handle:
        handle.write(entry + "\n")
    return f"{len(ledger.read_text().splitlines())} entries"


@server.tool(name="shout-banner")
def shout_banner() -> str:
    """A result holding characters that would drive a terminal or reorder text."""
    return "ok\x1b[2J\u202eevil"


@server.tool()
def slow(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "slept"


@server.tool()
def big(size: int) -> str:
    """A result of `size` characters."""
    return "x" * size


@server.tool()
def fail() -> str:
    """Always fails."""
    raise ValueError("the ledger is closed")


if __name__ == "__main__":
    server.run("streamable-http" if PORT else "stdio")
