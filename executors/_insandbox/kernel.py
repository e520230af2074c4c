"""The CodeAct kernel: runs cells in one persistent namespace.

Runs inside the sandbox (stdlib only) as a child of the supervisor. Requests
arrive as JSON lines on fd 3, replies leave as JSON lines on fd 4. fd 1 and 2
are pipes the supervisor reads, so everything a cell or its child processes
print is captured there and can never be mistaken for a reply.
"""

import ast
import json
import linecache
import os
import signal
import sys
import traceback

REQUESTS, REPLIES = 3, 4
KERNEL_PID = os.getpid()
KERNEL_FILE = "<string>"

_namespace = {"__name__": "__main__", "__builtins__": __builtins__}
_saved_fds = {1: os.dup(1), 2: os.dup(2)}
_streams = {"stdout": sys.stdout, "stderr": sys.stderr}
_in_cell = False


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
    data = (json.dumps(message, ensure_ascii=True) + "\n").encode()
    while data:
        data = data[os.write(REPLIES, data) :]


def main():
    global _in_cell
    os.chdir(sys.argv[1] if len(sys.argv) > 1 else ".")
    sys.argv = [""]
    for stream in _streams.values():
        stream.reconfigure(line_buffering=True, errors="backslashreplace")
    try:  # the kernel, not the supervisor, is the one to go when memory runs out
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass
    requests = os.fdopen(REQUESTS, "rb", buffering=0)
    signal.signal(signal.SIGINT, _on_interrupt)
    pending = b""
    while True:
        try:
            chunk = requests.read(65536)
        except KeyboardInterrupt:
            continue
        if not chunk:
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
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
