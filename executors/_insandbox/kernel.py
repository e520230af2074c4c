"""The CodeAct kernel: runs cells in one persistent namespace.

Runs inside the sandbox (stdlib only) as a child of the supervisor. Requests
arrive as JSON lines on fd 3, replies leave as JSON lines on fd 4. fd 1 and 2
are pipes the supervisor reads, so everything a cell or its child processes
print is captured there and can never be mistaken for a reply.

Tools: `__crewgate_tool__(name, arguments)` sends a call as a JSON line on fd 4
and waits for its answer; whichever thread holds the reader lock reads fd 3 and
hands each line to whom it is for. The supervisor relays both ways, the host
decides (allow-list, budget, recorded replies) and calls the server. Nothing in
the sandbox is trusted to decide: a cell that writes its own tool lines only
asks the host, like the function does.
"""

import ast
import collections
import json
import linecache
import os
import signal
import sys
import threading
import traceback

REQUESTS, REPLIES = 3, 4
KERNEL_PID = os.getpid()
KERNEL_FILE = "<string>"
TOOL_ARGUMENT_BYTES = 1024 * 1024  # one call's JSON arguments; the supervisor refuses longer lines too


class ToolError(RuntimeError):
    """A tool (an MCP server's, or the host refusing a call) reported an error."""


_TOOL_ERRORS = {"PermissionError": PermissionError, "TimeoutError": TimeoutError, "ValueError": ValueError}

_namespace = {"__name__": "__main__", "__builtins__": __builtins__}  # the tool entry points are added in main()
_saved_fds = {1: os.dup(1), 2: os.dup(2)}
_streams = {"stdout": sys.stdout, "stderr": sys.stderr}
_in_cell = False
_requests = None  # fd 3, opened in main()
_pending = b""  # bytes read from fd 3 that are not a whole line yet (guarded by _reader)
_reader = threading.Lock()  # whoever holds it reads fd 3: the main loop between cells, a calling thread in one
_cells = collections.deque()  # cell requests read by a thread other than the main loop
_waiting = {}  # call number -> [threading.Event, answer]: tool calls waiting for their answer
_calls_lock = threading.Lock()  # guards _waiting and the call counter
_write_lock = threading.Lock()  # one line at a time on fd 4, whichever thread writes
_closed = threading.Event()  # fd 3 reached its end: the supervisor is gone
_tool_calls = 0


def _read_some():
    """Read what fd 3 has (waiting for it) and hand out every whole line; call with _reader held.

    A cell request goes to `_cells`, an answer to the call waiting for it; an answer nobody waits for
    (its call was interrupted, or it is forged) is dropped. So whichever thread reads, a call never
    takes another's answer, nor a cell's request. The main loop reads itself (no thread to wake on
    the way to every cell); a calling thread reads only while it holds `_reader`.
    """
    global _pending
    chunk = _requests.read(65536)
    if not chunk:
        _closed.set()
        return
    _pending += chunk
    while b"\n" in _pending:
        line, _pending = _pending.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        if "code" in message:
            _cells.append(message)
            continue
        with _calls_lock:
            slot = _waiting.pop(message.get("tool_result"), None)
        if slot is not None:
            slot[1] = message
            slot[0].set()


def _take_turn_reading(done):
    """Read fd 3 until `done()` (short turns: another thread may hold the reader, or read for us)."""
    while not done() and not _closed.is_set():
        if _reader.acquire(timeout=0.05):
            try:
                if not done():
                    _read_some()
            finally:
                _reader.release()


def _next_cell():
    """The next cell request, or None once the supervisor is gone."""
    _take_turn_reading(lambda: bool(_cells))
    return _cells.popleft() if _cells else None


def _call_tool(name, arguments, local=False):
    """Ask the host to call tool `name`; return its result as Python data or raise its error."""
    global _tool_calls
    if os.getpid() != KERNEL_PID:
        raise RuntimeError(f"{name}: tools are called from the kernel's own process, not from a forked child")
    if not isinstance(name, str) or not isinstance(arguments, dict):
        raise TypeError("__crewgate_tool__(name: str, arguments: dict)")
    with _calls_lock:
        _tool_calls += 1
        call = _tool_calls
    message = {"tool": name, "call": call, "arguments": arguments, "local": bool(local)}
    try:
        line = json.dumps(message, ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as exc:  # a cyclic structure, a set, an object, NaN
        raise TypeError(
            f"{name}: arguments must be JSON data (str, int, float, bool, None, lists, dicts with str keys): {exc}"
        ) from None
    if len(line) > TOOL_ARGUMENT_BYTES:
        raise ValueError(
            f"{name}: the arguments are {len(line)} bytes as JSON, over the {TOOL_ARGUMENT_BYTES}-byte limit"
        )
    slot = [threading.Event(), None]
    with _calls_lock:
        _waiting[call] = slot
    try:
        _reply_line(line)
        _take_turn_reading(slot[0].is_set)  # an interrupt (the cell's timeout) ends the wait at once
    finally:
        with _calls_lock:
            _waiting.pop(call, None)
    answer = slot[1]
    if answer is None:
        raise ToolError(f"{name}: the supervisor went away before answering")
    if answer.get("ok") is True:
        return answer.get("value")
    error = _TOOL_ERRORS.get(answer.get("error_type"), ToolError)
    raise error(str(answer.get("message") or f"{name} failed"))


def _on_interrupt(signum, frame):
    # An interrupt between cells (a timeout racing the reply) must not kill the loop.
    if _in_cell:
        raise KeyboardInterrupt


def _prepare_cell():
    """Undo what the previous cell may have broken in the plumbing."""
    global _in_cell
    for fd, saved in _saved_fds.items():
        try:
            os.dup2(saved, fd)
        except OSError:
            pass
    sys.stdout, sys.stderr = _streams["stdout"], _streams["stderr"]
    signal.signal(signal.SIGINT, _on_interrupt)
    _in_cell = True


def _short(text, cap):
    if len(text) <= cap:
        return text, False
    half = cap // 2
    elided = len(text) - 2 * half
    return f"{text[:half]}...[{elided} characters elided]...{text[-half:]}", True


def _format_error(exc):
    """Format a traceback without the kernel's own frames."""
    summary = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    frames = [frame for frame in summary.stack if frame.filename != KERNEL_FILE]
    summary.stack = traceback.StackSummary.from_list(frames)
    return "".join(summary.format())


def _run_cell(cell_id, code):
    """Execute a cell; return (value repr or None, error name or None, traceback)."""
    filename = f"<cell-{cell_id}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    try:
        tree = ast.parse(code, filename=filename)
        last_expr = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last_expr = ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), _namespace)
        if last_expr is not None:
            value = eval(compile(last_expr, filename, "eval"), _namespace)
            if value is not None:
                _namespace["_"] = value
                return repr(value), None, ""
        return None, None, ""
    except BaseException as exc:  # the cell's errors are data, SystemExit included
        return None, type(exc).__name__, _format_error(exc)


def _flush():
    for stream in (sys.stdout, sys.stderr, _streams["stdout"], _streams["stderr"]):
        try:
            stream.flush()
        except Exception:
            pass


def _reply(message):
    _reply_line(json.dumps(message, ensure_ascii=True))


def _reply_line(line):
    data = (line + "\n").encode()
    with _write_lock:
        while data:
            data = data[os.write(REPLIES, data) :]


def main():
    global _in_cell, _requests
    os.chdir(sys.argv[1] if len(sys.argv) > 1 else ".")
    sys.argv = [""]
    for stream in _streams.values():
        stream.reconfigure(line_buffering=True, errors="backslashreplace")
    try:  # the kernel, not the supervisor, is the one to go when memory runs out
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass
    _requests = os.fdopen(REQUESTS, "rb", buffering=0)
    _namespace["__crewgate_tool__"] = _call_tool
    _namespace["ToolError"] = ToolError
    signal.signal(signal.SIGINT, _on_interrupt)
    while True:
        try:
            request = _next_cell()
        except KeyboardInterrupt:
            continue
        except OSError:  # a cell closed fd 3: the supervisor starts a fresh kernel
            return
        if request is None:
            return
        _prepare_cell()
        try:
            value, error, tb_text = _run_cell(request["id"], request["code"])
        except KeyboardInterrupt:
            value, error, tb_text = None, "KeyboardInterrupt", "KeyboardInterrupt\n"
        _in_cell = False
        if os.getpid() != KERNEL_PID:
            os._exit(0)  # a process forked by the cell fell back into the loop
        _flush()
        cap = int(request.get("cap", 65536))
        truncated = False
        if value is not None:
            value, truncated = _short(value, cap)
        tb_text, tb_truncated = _short(tb_text, cap)
        _reply(
            {
                "id": request["id"],
                "value": value,
                "error": error,
                "traceback": tb_text,
                "truncated": truncated or tb_truncated,
            }
        )


main()
