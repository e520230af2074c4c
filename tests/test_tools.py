"""Tools for CodeAct members: Python tool modules and MCP servers called from cells, on real servers.

A real MCP server from the package index (`mcp-server-time`) and a small one written for these tests
(`data/tools/ledger_server.py`, which appends each `record` call to a file on the host) are started by
crewgate for the run. Members are scripted; their cells call the tools like any Python function.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.durable_helpers import Crewgate, kill, last_event, pending_review
from tests.helpers import LOCAL_TLS, wait_until
from tests.test_http_api import PASSWORD, serve
from tests.test_telemetry import Receiver, file_matches_live_export, receiver  # noqa: F401 -- the OTLP fixture
from tests.test_web_pages import log_in
from workflows.store.accounts import Accounts
from workflows.store.database import Store

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TOOLS = Path(__file__).resolve().parent / "data" / "tools"
NETWORK = (
    "import socket\nfrom pathlib import Path as _P\n"
    "print('interfaces', sorted(name for _, name in socket.if_nameindex()))\n"
    "print('routes', _P('/proc/net/route').read_text().splitlines()[1:])\n"
)


def write_runbook(
    folder: Path, tools: str, members: dict[str, str], replies: dict[str, list[str]], **extra: str
) -> Path:
    """A runbook whose members (allow-lists as YAML) each do one task, then a gate; autogen imports fastest."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tools").mkdir(exist_ok=True)
    (folder / "tools" / "repo_tools.py").write_text((TOOLS / "repo_tools.py").read_text())
    (folder / "replies.yaml").write_text(json.dumps(replies))
    crew = "".join(f"    {name}: {{goal: Work, {allowed}}}\n" for name, allowed in members.items())
    steps = "".join(f"  - {{id: {name}_step, task: Use your tools, member: {name}}}\n" for name in members)
    (folder / "runbook.yaml").write_text(
        f"name: tools-{uuid.uuid4().hex[:8]}\nversion: 1.0.0\ninputs:\n  repo: {{type: path}}\n"
        f"model: scripted/replies.yaml\n{extra.get('budget', '')}tools:\n{tools}"
        f"crew:\n  engine: autogen\n  members:\n{crew}sandbox: {{timeout_s: 60}}\nsteps:\n{steps}"
        "  - {id: approve, gate: {}}\n"
    )
    return folder / "runbook.yaml"


def ledger_server(ledger: Path) -> str:
    """`tools.mcp.ledger`: the test server, its secret read from crewgate's environment."""
    return (
        f"  mcp:\n    ledger:\n      command: [{sys.executable}, {TOOLS / 'ledger_server.py'}]\n"
        f"      env: {{LEDGER_FILE: '{ledger}', LEDGER_TOKEN: '${{LEDGER_TOKEN}}', "
        "LEDGER_TOKEN_SHA256: '${LEDGER_TOKEN_SHA256}'}\n"
    )


def secret_env(secret: str) -> dict[str, str]:
    return {"LEDGER_TOKEN": secret, "LEDGER_TOKEN_SHA256": hashlib.sha256(secret.encode()).hexdigest()}


def cell(code: str) -> str:
    return f"<execute>\n{code}</execute>"


def tool_rows(cg: Crewgate, run_id: str) -> list[tuple[Any, ...]]:
    return cg.query(
        "SELECT member, tool, outcome, result FROM crewgate_tool_calls WHERE run_id = ? ORDER BY created_at, "
        "call_index",
        run_id,
    )


def test_a_real_mcp_server_and_a_tool_module_are_called_from_cells(
    cg: Crewgate,
    repo: Path,
    tmp_path: Path,
    receiver: Receiver,  # noqa: F811 -- the fixture
) -> None:
    code = (
        "now = time.get_current_time(timezone='Europe/Paris')\n"
        "import json as _json\nprint('paris', _json.loads(now)['timezone'])\n"
        "print('files', repo_tools.count_files('/workspace'))\n" + NETWORK
    )
    runbook = write_runbook(
        tmp_path / "rb",
        f"  python: [tools/repo_tools.py]\n  mcp:\n    time: {{command: [{sys.executable}, -m, mcp_server_time]}}\n",
        {"coder": "tools: [time.get_current_time, repo_tools.*]"},
        {"coder": [cell(code), "<final_answer>Asked the time.</final_answer>"]},
    )
    listed = cg.run("tools", "list", str(runbook), "--member", "coder", "--json")
    assert listed.returncode == 0, listed.stderr
    names = [tool["name"] for tool in json.loads(listed.stdout)[0]["tools"]]
    assert names == ["repo_tools.count_files", "time.get_current_time"], names
    otlp = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SDK_DISABLED": "false"}
    done = cg.run("run", str(runbook), "-i", f"repo={repo}", "--json", **otlp)
    assert done.returncode == 10, done.stdout[-3000:] + done.stderr[-3000:]
    run_id = last_event(done.stdout)["run"]

    turns = cg.turns(run_id, "coder_step")
    calls = [turn for turn in turns if turn.get("status") == "tool_call"]
    assert [(call["tool"], call["outcome"]) for call in calls] == [
        ("time.get_current_time", "ok"),
        ("repo_tools.count_files", "ok"),
    ]
    assert "Europe/Paris" in calls[0]["result"]
    worked = next(turn for turn in turns if turn.get("status") == "turn")
    observation = worked["observation"]
    assert "paris Europe/Paris" in observation and "files " in observation, observation
    assert "interfaces ['lo']" in observation and "routes []" in observation, observation  # still no network
    system = worked["messages"][0]["content"]  # the prompt the model received, as recorded
    assert "def count_files(folder: str = '.') -> int:" in system and "How many files are under `folder`." in system
    assert "def get_current_time(*, timezone: str)" in system and "IANA timezone name" in system
    assert "convert_time" not in system  # a tool the member may not call is not offered

    view = cg.show(run_id)
    assert view["tool_calls"] == 2 and view["tool_calls_refused"] == 0
    shown = json.loads(cg.run("review", "show", pending_review(cg, run_id), "--json").stdout)
    assert [(c["member"], c["tool"], c["outcome"]) for c in shown["evidence"]["tool_calls"]] == [
        ("coder", "time.get_current_time", "ok"),
        ("coder", "repo_tools.count_files", "ok"),
    ]
    spans = wait_until(
        lambda: [s for s in receiver.spans if s.name == "execute_tool time.get_current_time"], 30, "the tool span"
    )
    cells = {s.span_id: s for s in receiver.spans if s.name == "execute_tool code"}
    assert spans[0].parent_id in cells  # under the cell that made the call
    assert spans[0].attributes["gen_ai.tool.name"] == "time.get_current_time"
    assert spans[0].attributes["gen_ai.tool.call.id"].startswith(f"{run_id}/coder_step#1/coder/")
    file_matches_live_export(cg, receiver.spans, run_id)  # the tool calls' spans too, under the same cells
    trace = cg.run("runs", "trace", run_id)
    assert "coder turn 1 called time.get_current_time (ok" in trace.stdout, trace.stdout
    module = runbook.parent / "tools" / "repo_tools.py"
    module.write_text("raise SystemExit('changed on disk after the run')\n")  # the version keeps its own bytes
    replayed = cg.run("runs", "replay", run_id)  # the calls are answered from the record: the time is the run's
    assert replayed.returncode == 0 and "0 difference(s)" in replayed.stdout, replayed.stdout + replayed.stderr


def test_a_forbidden_call_is_refused_and_a_killed_run_replays_its_recorded_call(
    cg: Crewgate,
    repo: Path,
    tmp_path: Path,
    receiver: Receiver,  # noqa: F811 -- the fixture
) -> None:
    ledger = tmp_path / "ledger.txt"
    secret = f"ledger-secret-{uuid.uuid4().hex}"
    coder = (
        "print(ledger.record(entry='one'))\n"
        "import os, time as _t\nprint('environment', dict(os.environ))\n"
        "print(ledger.shout_banner())\n"
        "_t.sleep(6)\n"
    )
    tester = "try:\n    ledger.record(entry='two')\nexcept PermissionError as exc:\n    print('refused:', exc)\n"
    runbook = write_runbook(
        tmp_path / "rb",
        ledger_server(ledger),
        {"coder": "tools: [ledger.record, ledger.shout_banner]", "tester": "tools: [ledger.shout_banner]"},
        {
            "coder": [cell(coder), "<final_answer>Recorded.</final_answer>"],
            "tester": [cell(tester), "<final_answer>Was refused.</final_answer>"],
        },
    )
    env = {**secret_env(secret), "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SDK_DISABLED": "false"}
    log = tmp_path / "run.log"
    first = cg.start_logged(log, "run", str(runbook), "-i", f"repo={repo}", "--json", **env)
    run_id = cg.wait_for("SELECT id FROM crewgate_runs")[0][0]
    cg.wait_for("SELECT 1 FROM crewgate_tool_calls WHERE tool = 'ledger.shout_banner' AND outcome = 'ok'")
    kill(first)  # mid-step: the coder's cell is sleeping after its tool calls
    assert ledger.read_text() == "one\n"

    resumed = cg.run("runs", "resume", run_id, "--json", **env)
    assert resumed.returncode == 10, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert ledger.read_text() == "one\n"  # replayed from the record, not called again; the refused call made none
    rows = tool_rows(cg, run_id)
    assert [(member, tool, outcome) for member, tool, outcome, _ in rows] == [
        ("coder", "ledger.record", "ok"),
        ("coder", "ledger.shout_banner", "ok"),
        ("tester", "ledger.record", "refused"),
    ]
    turns = cg.turns(run_id, "coder_step")
    replayed = [turn for turn in turns if turn.get("status") == "tool_call" and turn["replayed"]]
    assert [turn["tool"] for turn in replayed] == ["ledger.record", "ledger.shout_banner"]
    refusal = next(t for t in cg.turns(run_id, "tester_step") if t.get("status") == "turn")["observation"]
    assert "refused: ledger.record is not allowed for tester" in refusal and "crew.members.tester.tools" in refusal
    banner = next(turn for turn in turns if turn.get("tool") == "ledger.shout_banner")
    assert banner["flags"], banner  # escape and bidi characters in a result are flagged...
    trace = cg.run("runs", "trace", run_id)
    assert "\x1b" not in trace.stdout and "\u202e" not in trace.stdout  # ...and shown escaped
    assert "\\x1b" in trace.stdout and "hidden characters" in trace.stdout, trace.stdout[-2000:]

    # The web run page shows each call as a turn, the hostile result escaped and flagged; the item lists them.
    accounts = Accounts(Store(cg.url).engine)
    accounts.add_user("alice", "reviewer", PASSWORD)
    server, api = serve(cg, tmp_path / "serve.log")
    with httpx.Client(base_url=api.removesuffix("/api/v1"), timeout=30, verify=LOCAL_TLS) as client:
        assert log_in(client, "alice").status_code == 303
        page = client.get(f"/runs/{run_id}").text
        item = client.get(f"/reviews/{pending_review(cg, run_id)}").text
    kill(server)
    assert "Tool call: ledger.shout_banner (ok, replayed from the record)" in page, page[-3000:]
    assert re.search(r"turn \d+ · took \d+\.\d\d s \(model \d+\.\d\d s, sandbox \d+\.\d\d s\) · \d+ tokens", page)
    assert re.search(r"tool_call · ledger\.shout_banner took \d+\.\d{3} s", page)  # no model time for a tool
    assert re.search(r'<td class="took">\d+\.\d+ s</td>', page)  # each step's duration
    assert "\x1b" not in page and "\u202e" not in page and "\\x1b[2J" in page and "hidden characters" in page
    assert "Tool calls made by the run (3)" in item and "tester_step#1 tester ledger.record refused" in item

    # The server's secret reached the server (it checks it) and nothing else.
    environment = next(t for t in turns if t.get("status") == "turn")["observation"]
    assert "environment {" in environment and secret not in environment  # not in the sandbox
    database = b"".join(path.read_bytes() for path in cg.home.rglob("*") if path.is_file())
    assert secret.encode() not in database  # nor in the database, the trace or the blobs
    assert secret not in log.read_text() + resumed.stdout + resumed.stderr  # nor in the logs
    refused_span = wait_until(
        lambda: [s for s in receiver.spans if s.name == "execute_tool ledger.record" and s.status == 2],
        30,
        "a span for the refused call",
    )
    assert refused_span[0].attributes["error.type"] == "PermissionError"
    exported = json.dumps([s.attributes for s in receiver.spans])
    assert receiver.spans and secret not in exported  # nor in a span


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def http_ledger(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The ledger server over streamable HTTP on loopback: (its URL, its ledger file)."""
    ledger = tmp_path / "http-ledger.txt"
    port = free_port()
    env = {**os.environ, "LEDGER_FILE": str(ledger), **secret_env("http-secret")}
    server = subprocess.Popen([sys.executable, str(TOOLS / "ledger_server.py"), str(port)], env=env)
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        wait_until(lambda: _answers(port), 30, "the HTTP ledger server")
        yield url, ledger
    finally:
        server.kill()
        server.wait(10)


def _answers(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_limits_budget_errors_and_a_url_server(
    cg: Crewgate, repo: Path, tmp_path: Path, http_ledger: tuple[str, Path]
) -> None:
    url, ledger = http_ledger
    code = (
        "outcomes = []\n"
        "for call in (lambda: ledger.big(size=10000), ledger.fail, lambda: ledger.record(entry='over http'),\n"
        "             lambda: ledger.slow(seconds=5)):\n"
        "    try:\n        call()\n        outcomes.append('ok')\n"
        "    except Exception as exc:\n        outcomes.append(type(exc).__name__)\n"
        "print('outcomes', outcomes)\n"
        "flood = []\n"
        "for _ in range(300):\n"
        "    try:\n        repo_tools.count_files()\n        flood.append('ok')\n"
        "    except Exception as exc:\n        flood.append(type(exc).__name__)\n"
        "print('flood', flood.count('ok'), sorted(set(flood)))\n"
    )
    runbook = write_runbook(
        tmp_path / "rb",
        f"  python: [tools/repo_tools.py]\n  mcp:\n    ledger: {{url: '{url}'}}\n"
        "  timeout_s: 2\n  max_result_bytes: 2048\n",
        {"coder": "tools: [ledger.*, repo_tools.*]"},
        {"coder": [cell(code), "<final_answer>Tried the limits.</final_answer>"]},
        budget="budget: {max_tool_calls: 6}\n",
    )
    done = cg.run("run", str(runbook), "-i", f"repo={repo}", "--json")
    assert done.returncode == 10, done.stdout[-3000:] + done.stderr[-3000:]
    run_id = last_event(done.stdout)["run"]
    observation = next(t for t in cg.turns(run_id, "coder_step") if t.get("status") == "turn")["observation"]
    assert "outcomes ['ValueError', 'ToolError', 'ok', 'TimeoutError']" in observation, observation
    assert "flood 2 ['ToolError', 'ok']" in observation, observation  # 6 calls in all, then refused
    assert ledger.read_text() == "over http\n"
    rows = tool_rows(cg, run_id)
    assert [outcome for _, _, outcome, _ in rows] == ["error", "error", "ok", "error", "ok", "ok"], rows
    notes = [t for t in cg.turns(run_id, "coder_step") if t.get("status") == "tool_budget"]
    assert len(notes) == 1 and "budget.max_tool_calls = 6" in notes[0]["note"]  # one note, not 294 rows


def test_a_broken_tool_module_fails_the_run_at_start_with_its_traceback(
    cg: Crewgate, repo: Path, tmp_path: Path
) -> None:
    runbook = write_runbook(
        tmp_path / "rb",
        "  python: [tools/repo_tools.py]\n",
        {"coder": "tools: [repo_tools.*]"},
        {"coder": ["<final_answer>never asked</final_answer>"]},
    )
    module = tmp_path / "rb" / "tools" / "repo_tools.py"
    module.write_text(module.read_text() + "\nraise RuntimeError('the tool module is broken')\n")
    done = cg.run("run", str(runbook), "-i", f"repo={repo}", "--json")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    run_id = last_event(done.stdout)["run"]
    view = cg.show(run_id)
    assert view["status"] == "failed" and "a tool module failed to import" in view["message"], view["message"]
    assert "RuntimeError: the tool module is broken" in view["message"] and "repo_tools.py" in view["message"]
    assert view["model_calls"] == 0
    Accounts(Store(cg.url).engine).add_user("alice", "reviewer", PASSWORD)
    server, api = serve(cg, tmp_path / "serve.log")
    with httpx.Client(base_url=api.removesuffix("/api/v1"), timeout=30, verify=LOCAL_TLS) as client:
        assert log_in(client, "alice").status_code == 303
        page = client.get(f"/runs/{run_id}").text
    kill(server)
    shown = re.search(r'<pre class="quoted" id="run-message">(.*?)</pre>', page, re.DOTALL)
    assert shown is not None, page[:3000]  # a multi-line failure keeps its lines, none flagged
    assert "\nRuntimeError: the tool module is broken" in shown.group(1) and "U+000A" not in shown.group(1)


def test_tool_configuration_mistakes_are_refused_with_nothing_recorded(
    cg: Crewgate, repo: Path, tmp_path: Path
) -> None:
    book = write_runbook(
        tmp_path / "rb",
        "  python: [tools/repo_tools.py, tools/json.py]\n  mcp:\n    ghost: {command: [/nonexistent/mcp-server]}\n"
        "    keyed: {url: 'http://127.0.0.1:9/mcp', headers: {Authorization: 'Bearer abc123'}}\n",
        {"coder": "tools: [nowhere.x, repo_tools.nope, ghost.*]"},
        {"coder": ["<final_answer>never</final_answer>"]},
    )
    checked = cg.run("runbook", "validate", str(book), process=False)
    assert checked.returncode == 2
    for where, words in [
        (":7:33:", "tools/json.py: 'json' is the name of a standard library module"),
        (":10:69:", "headers 'Authorization' of MCP server 'keyed' looks like a secret"),
        (":14:33:", "no tool module or MCP server is named 'nowhere' (known: ghost, keyed, repo_tools)"),
        (":14:44:", "tool module 'repo_tools' defines no function 'nope' (count_files)"),
    ]:
        assert any(where in line and words in line for line in checked.stderr.splitlines()), (words, checked.stderr)
    doubled = book.read_text().replace("    keyed:", "    ghost: {url: 'http://127.0.0.1:9/mcp'}\n    keyed:")
    book.write_text(doubled)
    twice = cg.run("runbook", "validate", str(book), process=False)
    assert twice.returncode == 2 and "duplicate key 'ghost'" in twice.stderr, twice.stderr

    cases = {
        "  mcp:\n    ghost: {command: [/nonexistent/mcp-server]}\n": "MCP server 'ghost' did not start",
        "  mcp:\n    away: {url: 'http://127.0.0.1:9/mcp'}\n": "MCP server 'away' did not start",
        f"  mcp:\n    ledger: {{command: [{sys.executable}, {TOOLS / 'ledger_server.py'}]}}\n": (
            "member 'coder' may call ledger.nope, but MCP server 'ledger' has no tool 'nope' (it offers: "
        ),
    }
    for number, (tools, words) in enumerate(cases.items()):
        allowed = "tools: [ledger.nope]" if "ledger" in tools else "tools: []"
        runbook = write_runbook(tmp_path / f"case{number}", tools, {"coder": allowed}, {"coder": ["<final_answer/>"]})
        done = cg.run("run", str(runbook), "-i", f"repo={repo}")
        assert done.returncode == 2 and words in done.stderr, (words, done.stderr)
        assert "nothing was recorded" in done.stderr
    assert cg.query("SELECT COUNT(*) FROM crewgate_runs") == [(0,)]
