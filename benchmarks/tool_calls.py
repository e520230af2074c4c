"""Tool calls: what one costs from a cell, through the kernel's channel to the host and back.

Run by `make bench`, never by `make test`. In one Docker sandbox session: a cell making 2,000 calls
to a host handler that answers at once (the channel's own cost per call), a cell making one call
(a whole cell with a call, against the same cell without), and 50 calls to a real MCP server from
the package index (`mcp-server-time`, stdio, started by crewgate's MCP client) measured on the host,
so the cost of the server itself is apart. Results go to benchmarks/results/tools.json; a Markdown
table is printed for the README.
"""

import datetime
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import timed  # noqa: E402

from agents.tools import McpServers, ServerSpec  # noqa: E402
from executors import DockerSandbox  # noqa: E402
from executors.tools import ToolAnswer, ToolCall  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "tools.json"
CALLS_IN_A_CELL = 2000
CELLS = 200


def answer(call: ToolCall) -> ToolAnswer:
    return ToolAnswer(True, call.arguments.get("n"))


def main() -> None:
    with DockerSandbox() as box:
        box.execute("1")
        started = time.perf_counter()
        many = box.execute(
            f"total = sum(__crewgate_tool__('bench.echo', {{'n': n}}) for n in range({CALLS_IN_A_CELL})); total",
            tools=answer,
        )
        per_call_ms = (time.perf_counter() - started) * 1000 / CALLS_IN_A_CELL
        if many.error:
            raise SystemExit(f"the benchmark cell failed: {many.traceback}")
        with_call = timed(lambda: box.execute("__crewgate_tool__('bench.echo', {'n': 1})", tools=answer), CELLS)
        without = timed(lambda: box.execute("x = 1"), CELLS)
    servers = McpServers([ServerSpec("time", (sys.executable, "-m", "mcp_server_time"))])
    started = time.perf_counter()
    servers.start()
    start_s = time.perf_counter() - started
    try:
        server_calls = timed(lambda: servers.call("time", "get_current_time", {"timezone": "UTC"}, 10), 50)
    finally:
        servers.close()
    results = {
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "channel_ms_per_call": round(per_call_ms, 3),
        "cell_with_one_call_median_ms": round(statistics.median(with_call) * 1000, 3),
        "cell_without_median_ms": round(statistics.median(without) * 1000, 3),
        "mcp_server_time_start_s": round(start_s, 3),
        "mcp_server_time_call_median_ms": round(statistics.median(server_calls) * 1000, 3),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print("| measure | value |\n|---|---|")
    print(
        f"| a call through the channel (cell to host and back), {CALLS_IN_A_CELL} in one cell | "
        f"{results['channel_ms_per_call']} ms |"
    )
    print(
        f"| a cell making one call / the same cell without it (median of {CELLS}) | "
        f"{results['cell_with_one_call_median_ms']} ms / {results['cell_without_median_ms']} ms |"
    )
    print(
        f"| mcp-server-time: start and list its tools / one call on the host (median of 50) | "
        f"{results['mcp_server_time_start_s']} s / {results['mcp_server_time_call_median_ms']} ms |"
    )


if __name__ == "__main__":
    main()
