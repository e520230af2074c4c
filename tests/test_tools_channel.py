"""The tool channel under attack: a cell that forges messages, calls from a child process or threads, floods,
or sends huge or cyclic arguments, in a real Docker sandbox; and a slow tool against the cell's timeout.

The host side here is a small stand-in for crewgate's (`workflows/runs/tools.py`, tested end to end in
test_tools.py): it allows one tool and counts every call that reaches it, which is what these tests watch.
"""

import time
from dataclasses import dataclass, field

import pytest

from executors import DockerSandbox, SandboxLimits
from executors.tools import ToolAnswer, ToolCall


@dataclass
class Host:
    """Allows `t.add` only; keeps every call that reached it."""

    calls: list[ToolCall] = field(default_factory=list)

    def __call__(self, call: ToolCall) -> ToolAnswer:
        self.calls.append(call)
        if call.name != "t.add":
            return ToolAnswer.failed("PermissionError", f"{call.name} is not allowed")
        return ToolAnswer(True, call.arguments["a"] + call.arguments["b"])


@pytest.mark.docker
def test_hostile_cells_reach_the_host_only_as_calls_it_decides(docker_box: DockerSandbox) -> None:
    host = Host()
    box = docker_box
    assert box.execute("kept = 41; __crewgate_tool__('t.add', {'a': kept, 'b': 1})", tools=host).value == "42"

    # Lines written straight onto the kernel's reply pipe are calls like any other: the host refuses them.
    forged = box.execute(
        "import json, os\n"
        "for n in range(5):\n"
        "    os.write(4, (json.dumps({'tool': 't.secret', 'call': 900 + n, 'arguments': {}, 'local': False}) + '\\n')"
        ".encode())\n"
        'os.write(4, b\'{"tool": 5, "call": 1, "arguments": [], "local": 1}\\n\')\n'  # malformed: never forwarded
        'os.write(4, b\'{"tool": "t.add", "call": "x"}\\n\')\n',
        tools=host,
    )
    assert forged.ok, forged.traceback
    assert [call.name for call in host.calls[1:]] == ["t.secret"] * 5

    # An answer forged into the cell's own request pipe fools only the cell: the host still refused the call.
    fooled = box.execute(
        "import os\nfd = os.open('/proc/self/fd/3', os.O_WRONLY)\n"
        'os.write(fd, b\'{"tool_result": 2, "ok": true, "value": "forged"}\\n\')\n'
        "got = __crewgate_tool__('t.secret', {})\nprint('got', got)\n",
        tools=host,
    )
    assert host.calls[-1].name == "t.secret" and len(host.calls) == 7
    after = box.execute("__crewgate_tool__('t.add', {'a': 1, 'b': 1}), kept", tools=host)
    assert after.value == "(2, 41)", (fooled.stdout, after)  # the real, late answer was skipped; state kept

    # A forked child cannot call through the function; a line it writes by hand is decided by the host.
    child = box.execute(
        "import json, os\npid = os.fork()\nif pid == 0:\n"
        "    try:\n        __crewgate_tool__('t.add', {'a': 1, 'b': 1})\n    except RuntimeError:\n"
        "        os.write(4, (json.dumps({'tool': 't.secret', 'call': 5000, 'arguments': {'from': 'child'}, "
        "'local': False}) + '\\n').encode())\n"
        "    finally:\n        os._exit(0)\n"
        "os.waitpid(pid, 0)\n",
        tools=host,
    )
    assert child.ok and host.calls[-1] == ToolCall("t.secret", {"from": "child"})

    # Cyclic, unserialisable and huge arguments end in the cell, before anything is sent.
    before = len(host.calls)
    for code, error in [
        ("d = {}; d['d'] = d; __crewgate_tool__('t.add', d)", "TypeError"),
        ("__crewgate_tool__('t.add', {'a': {1, 2}})", "TypeError"),
        ("__crewgate_tool__('t.add', {'a': 'x' * 2_000_000, 'b': ''})", "ValueError"),
    ]:
        assert box.execute(code, tools=host).error == error
    # A huge line written by hand is answered by the supervisor, never forwarded.
    huge = box.execute(
        "import json, os\nline = json.dumps({'tool': 't.add', 'call': 7000, 'arguments': {'a': 'x' * 3_000_000}})\n"
        "os.write(4, (line + '\\n').encode())\n'sent'",
        tools=host,
    )
    assert huge.value == "'sent'" and len(host.calls) == before

    # A flood of forged calls whose answers the cell never reads: past 64 in flight the supervisor refuses them
    # itself, the host decides the rest, and neither side's pipe wedges.
    flood = box.execute(
        "import json, os\nfor n in range(20000):\n"
        "    os.write(4, (json.dumps({'tool': 't.add', 'call': 10**6 + n, 'arguments': {'a': n, 'b': 0}, "
        "'local': False}) + '\\n').encode())\n'flooded'",
        tools=host,
        timeout=60,
    )
    assert flood.value == "'flooded'" and before < len(host.calls) < before + 20000, len(host.calls) - before
    assert box.execute("kept", tools=host).value == "41"  # the kernel still answers, variables kept

    # Threads: calls from several at once each get their own answer; a thread left calling after its cell
    # ends takes nothing from the next cell.
    threads = box.execute(
        "from concurrent.futures import ThreadPoolExecutor\n"
        "sum(ThreadPoolExecutor(8).map(lambda n: __crewgate_tool__('t.add', {'a': n, 'b': 0}), range(300)))",
        tools=host,
    )
    assert threads.value == str(sum(range(300))), threads
    calls_before = len(host.calls)
    left = box.execute(
        "import threading, time\nlate = []\n"
        "def _late():\n    time.sleep(0.3)\n"
        "    try:\n        late.append(__crewgate_tool__('t.add', {'a': 1, 'b': 1}))\n"
        "    except PermissionError as exc:\n        late.append(str(exc))\n"
        "threading.Thread(target=_late, daemon=True).start()\n'left'",
        tools=host,
    )
    assert left.value == "'left'"
    time.sleep(1)  # no cell runs while the thread calls: its call waits, unrelayed, for the next cell
    assert box.execute("import time\ntime.sleep(0.2)\nlate, kept", tools=host).value == (
        "(['a tool call made while no cell was running is not relayed'], 41)"
    )
    assert len(host.calls) == calls_before  # it never reached the host, so no member's rights were used

    # Without a host handler (a check step's cells), every call is refused.
    refused = box.execute("__crewgate_tool__('t.add', {'a': 1, 'b': 2})")
    assert refused.error == "PermissionError" and "no tools are available" in refused.traceback


@pytest.mark.docker
def test_the_time_a_tool_takes_is_not_the_cells_up_to_its_timeout_again() -> None:
    def slow(call: ToolCall) -> ToolAnswer:
        time.sleep(float(str(call.arguments["seconds"])))
        return ToolAnswer(True, "slept")

    with DockerSandbox(limits=SandboxLimits(timeout_s=1, grace_s=1)) as box:
        done = box.execute("__crewgate_tool__('t.slow', {'seconds': 1.6})", tools=slow)
        assert done.value == "'slept'" and not done.timed_out, done
        spin = box.execute("import time\n__crewgate_tool__('t.slow', {'seconds': 1.5})\ntime.sleep(5)", tools=slow)
        assert spin.timed_out and spin.error == "KeyboardInterrupt", spin  # the cell's own time still counts
        # ...up to the cell's timeout once more; an interrupted cell calling on is stopped after the grace period.
        loop = (
            "while True:\n    try:\n        __crewgate_tool__('t.slow', {'seconds': 0.2})\n"
            "    except BaseException:\n        pass\n"
        )
        started = time.monotonic()
        stubborn = box.execute(loop, tools=slow)
        assert stubborn.kernel_restarted and time.monotonic() - started < 6, stubborn
