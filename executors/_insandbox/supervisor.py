"""The sandbox supervisor: the one process the host talks to.

Runs inside the sandbox (stdlib only). It relays cells to the kernel, captures
the kernel's stdout/stderr through pipes with a head+tail cap, enforces the
cell timeout (interrupt first, then kill and start a fresh kernel), and moves
files in and out of the workspace as bounded tar archives. It never runs
model code itself, so a cell that wedges the kernel cannot wedge the channel.

Tool calls: during a cell, a `{"tool": ...}` line from the kernel is checked for
shape and passed to the host as `{"op": "tool", ...}`; the host's
`{"op": "tool_result", ...}` goes back to the kernel. The supervisor decides
nothing about tools: the host does, for whatever line reaches it.

Usage: python3 -c SOURCE MODE WORKSPACE PIDS_LIMIT KERNEL_SOURCE [CHANNEL_SOCKET]
MODE is "container" (every stray process may be killed) or "local".
Host protocol: the host's first line on stdin is a key; then one JSON object per
line, ASCII only, each signed (`MAC JSON`, the MAC a keyed BLAKE2b of the JSON under the
key, 128 bits in hex; executors/_channel.py): a line not signed with the key
is dropped here, and the host breaks the channel on one. Code in the sandbox can reach
the container's stdin and stdout through its init process, but not the key. Lines go
over stdin/stdout; or, given
CHANNEL_SOCKET, on that Unix socket (executors/_direct.py), which the supervisor
connects to first, showing the token the host wrote on stdin. The hello says
which channel it took, and why not the socket when it could not connect.
"""

import base64
import fcntl
import hashlib
import hmac
import io
import json
import os
import select
import signal
import socket
import stat
import sys
import tarfile
import time

MODE, WORKSPACE, PIDS_LIMIT, KERNEL_SOURCE = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
CHANNEL_SOCKET = sys.argv[5] if len(sys.argv) > 5 else ""
HOST_IN, HOST_OUT = 0, 1  # the direct channel's socket replaces both (see _take_channel)
_host_socket = None
KEY = b""  # the host's key, read first thing (see _read_key)
READ_CHUNK = 65536
MAX_REPLY = 16 * 1024 * 1024
TOOL_LINE = 1024 * 1024 + 4096  # a tool call's line from the kernel (arguments are capped at 1 MiB there)
OUTBOX_CAP = 8 * 1024 * 1024  # answers a kernel does not read are dropped beyond this
IN_FLIGHT = 64  # tool calls relayed and not yet answered; more are refused here (a flood cannot wedge the pipes)
HOST_OUT_CAP = 16 * 1024 * 1024  # bytes of relayed calls not yet taken by the host; more calls are refused here


class Capture:
    """Keeps the first and last `cap // 2` bytes of a stream and counts the rest."""

    def __init__(self, cap):
        self.half = max(cap // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data):
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 4 * self.half:
                del self.tail[: len(self.tail) - self.half]

    def text(self, budget):
        """Return (text, truncated) holding at most `budget` bytes plus a marker."""
        whole = len(self.head) + len(self.tail) == self.total
        body = bytes(self.head + self.tail) if whole else b""
        if whole and self.total <= budget:
            return body.decode("utf-8", "replace"), False
        half = budget // 2
        if whole:
            head, tail = body[:half], body[len(body) - half :]
        else:
            head, tail = bytes(self.head[:half]), bytes(self.tail[len(self.tail) - half :])
        elided = self.total - len(head) - len(tail)
        marker = f"\n...[{elided} bytes elided by crewgate]...\n".encode()
        return (head + marker + tail).decode("utf-8", "replace"), True


def _host_write(data):
    """Write what the host channel takes now (never blocking: the caller keeps the rest)."""
    if _host_socket is None:
        return os.write(HOST_OUT, data)
    return _host_socket.send(data, socket.MSG_DONTWAIT)


def _mac(body):
    return hashlib.blake2b(body, key=KEY, digest_size=16).hexdigest().encode()


def _sign(body):
    return _mac(body) + b" " + body + b"\n"


def _signed_body(line):
    """The JSON of a line the host signed, or None (a line anyone else wrote: dropped)."""
    found, _, body = line.partition(b" ")
    return body if hmac.compare_digest(found, _mac(body)) else None


def _read_key():
    """The host's first line on stdin, read a byte at a time: what follows is the host's requests."""
    global KEY
    line = b""
    while not line.endswith(b"\n") and len(line) <= 256:
        byte = os.read(0, 1)
        if not byte:
            break
        line += byte
    KEY = line.strip()


def _take_channel():
    """Connect to the direct channel's socket and show the key as its token; or stay on stdin/stdout. What the
    hello says. Runs before the kernel starts."""
    global HOST_IN, HOST_OUT, _host_socket
    if not CHANNEL_SOCKET:
        return {"channel": "stdio"}
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(CHANNEL_SOCKET)
        connection.sendall(KEY + b"\n")
    except OSError as exc:
        connection.close()
        return {"channel": "stdio", "channel_error": f"{type(exc).__name__}: {exc}"}
    _host_socket = connection
    HOST_IN = HOST_OUT = connection.fileno()
    return {"channel": "socket"}


def _nonblocking(fd):
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


class Kernel:
    """One kernel process and the four pipes that connect it."""

    def __init__(self):
        req_r, self.requests = os.pipe()
        self.replies, rep_w = os.pipe()
        self.stdout, out_w = os.pipe()
        self.stderr, err_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - runs in the child
            self._exec_child(req_r, rep_w, out_w, err_w)
        for fd in (req_r, rep_w, out_w, err_w):
            os.close(fd)
        for fd in (self.requests, self.replies, self.stdout, self.stderr):
            _nonblocking(fd)
        self.pending = b""
        self.outbox = bytearray()  # bytes for the kernel's request pipe, written as it reads

    def post(self, line, required=True):
        """Queue a line for the kernel; a tool answer (not `required`) is dropped when the kernel stops reading."""
        if not required and len(self.outbox) > OUTBOX_CAP:
            return
        self.outbox += line.encode() + b"\n"
        self.flush()

    def refuse(self, call, error_type, message):
        """Answer a tool call here: it never reaches the host."""
        answer = {"tool_result": call, "ok": False, "error_type": error_type, "message": message}
        self.post(json.dumps(answer), required=False)

    def flush(self):
        try:
            while self.outbox:
                del self.outbox[: os.write(self.requests, self.outbox)]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.outbox.clear()  # the kernel is gone; noticed on its reply pipe

    @staticmethod
    def _exec_child(req_r, rep_w, out_w, err_w):
        try:
            os.setsid()
            devnull = os.open(os.devnull, os.O_RDONLY)
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 20) for fd in (devnull, out_w, err_w, req_r, rep_w)]
            for target, fd in enumerate(high):
                os.dup2(fd, target)
            os.closerange(5, 1 << 16)
            os.execv(sys.executable, [sys.executable, "-c", KERNEL_SOURCE, WORKSPACE])
        finally:
            os._exit(127)

    def kill(self):
        """Kill the kernel and, in a container, every other stray process."""
        try:
            if MODE == "container":
                os.kill(-1, signal.SIGKILL)  # all but this process and init
            else:
                os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        for fd in (self.requests, self.replies, self.stdout, self.stderr):
            try:
                os.close(fd)
            except OSError:
                pass

    def death_note(self):
        """Describe how the kernel ended, once its reply pipe closed."""
        for _ in range(100):
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return "the kernel process ended"
            if pid:
                break
            time.sleep(0.01)
        else:
            return "the kernel closed its reply channel"
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            hint = " (likely out of memory)" if sig == signal.SIGKILL else ""
            return f"the kernel process was killed by signal {sig}{hint}"
        return f"the kernel process exited with status {os.WEXITSTATUS(status)}"


class Supervisor:
    def __init__(self):
        self.kernel = Kernel()
        self.host_pending = b""
        self.in_flight = 0  # tool calls the host is working on: their time is not the cell's
        self.busy_since = 0.0
        self.tool_time = 0.0
        self.host_out = bytearray()  # lines for the host, written as it reads: the supervisor never blocks on it

    # -- host channel -------------------------------------------------------
    def send(self, message):
        """Send a line to the host and wait until it is written, reading the host's lines meanwhile.

        Reading while waiting is what keeps the two sides from blocking on each other's full pipe.
        """
        self.queue(message)
        while self.host_out:
            readable, _, _ = select.select([HOST_IN], [HOST_OUT], [])
            if readable:
                self.read_host()
                self._take_host_messages()  # a late answer or interrupt: its cell is over
            self.flush_host()

    def queue(self, message):
        self.host_out += _sign(json.dumps(message, ensure_ascii=True).encode())
        self.flush_host()

    def flush_host(self):
        try:
            while self.host_out:
                del self.host_out[: _host_write(self.host_out)]
        except (BlockingIOError, InterruptedError):
            pass

    def read_host(self):
        chunk = os.read(HOST_IN, 1 << 20)
        if not chunk:  # the host is gone: nobody will read a result
            self.kernel.kill()
            sys.exit(0)
        self.host_pending += chunk

    def serve(self, channel):
        self.send({"op": "hello", "pid": os.getpid(), "python": sys.version.split()[0], **channel})
        while True:
            while b"\n" not in self.host_pending:
                chunk = os.read(HOST_IN, 1 << 20)
                if not chunk:
                    return
                self.host_pending += chunk
            line, self.host_pending = self.host_pending.split(b"\n", 1)
            body = _signed_body(line)
            if body is None:
                continue  # not the host's
            request = json.loads(body)
            try:
                reply = self.handle(request)
            except Exception as exc:  # report, keep serving
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            reply["id"] = request.get("id")
            reply.setdefault("ok", True)
            self.send(reply)

    def handle(self, request):
        op = request.get("op")
        if op == "exec":
            return self.execute(request)
        if op in ("ping", "interrupt", "tool_result"):  # arrived after its cell ended: nothing to stop or answer
            return {}
        if op == "put":
            return {"files": extract(base64.b64decode(request["tar"]))}
        if op == "get":
            data = read_file(request["path"], int(request["limit"]))
            return {"data": base64.b64encode(data).decode()}
        if op == "snapshot":
            with Frozen(self.kernel.pid):
                data = pack(WORKSPACE, int(request["limit"]))
            return {"tar_gz": base64.b64encode(data).decode()}
        if op == "restore":
            with Frozen(self.kernel.pid):
                clear(WORKSPACE)
                return {"files": extract(base64.b64decode(request["tar"]))}
        raise ValueError(f"unknown op {op!r}")

    # -- cells --------------------------------------------------------------
    def execute(self, request):
        cap, timeout, grace = int(request["cap"]), float(request["timeout"]), float(request["grace"])
        kernel = self.kernel
        out, err = Capture(cap), Capture(cap)
        self._read_reply(kernel, None, self._refuse_between_cells)  # calls a thread made after the last cell
        kernel.post(
            json.dumps({"id": request["id"], "code": request["code"], "cap": cap})
        )  # a gone kernel: noticed below
        deadline = time.monotonic() + timeout
        self.in_flight, self.tool_time = 0, 0.0
        interrupted, reply, note = False, None, ""
        if self._take_host_messages():  # sent after this cell's request (lines arrive in order): it is for this cell
            interrupted = True
            _signal(kernel.pid, signal.SIGINT)
            deadline = time.monotonic() + grace
        watched = [kernel.replies, kernel.stdout, kernel.stderr, HOST_IN]
        while reply is None:
            wait = max(self._remaining(deadline, interrupted, timeout), 0)
            writable = [kernel.requests] if kernel.outbox else []
            if self.host_out:
                writable.append(HOST_OUT)
            ready, can_write, _ = select.select(watched, writable, [], wait)
            if kernel.requests in can_write:
                kernel.flush()
            if HOST_OUT in can_write:
                self.flush_host()
            if HOST_IN in ready:
                self.read_host()
                if self._take_host_messages() and not interrupted:  # the host cancelled the cell: as a timeout does
                    interrupted = True
                    _signal(kernel.pid, signal.SIGINT)
                    deadline = time.monotonic() + grace
            for fd, capture in ((kernel.stdout, out), (kernel.stderr, err)):
                if fd in ready and not _drain(fd, capture):
                    watched.remove(fd)  # every writer closed it; stop polling it
            if kernel.replies in ready:
                reply, dead = self._read_reply(kernel, request["id"], self._relay_tool_call)
                if dead:
                    note = kernel.death_note()
                    break
            if reply is None and self._remaining(deadline, interrupted, timeout) <= 0:
                if not interrupted:
                    interrupted = True
                    _signal(kernel.pid, signal.SIGINT)
                    deadline = time.monotonic() + grace
                else:
                    note = "the cell ignored the interrupt, so the kernel was killed"
                    break
        _drain(kernel.stdout, out)
        _drain(kernel.stderr, err)
        restarted = reply is None
        if restarted:
            kernel.kill()
            self.kernel = Kernel()
            reply = {
                "value": None,
                "error": "TimeoutError" if interrupted else "KernelDied",
                "traceback": f"{note}; a fresh kernel was started: variables, imports and functions "
                "defined so far are gone (files in the workspace are kept)\n",
                "truncated": False,
            }
        strays = self._reap_strays()
        if strays:
            err.feed(f"\n[crewgate] killed {strays} stray processes: the process limit was nearly exhausted\n".encode())
        stdout, stderr, truncated = _fit(out, err, cap)
        return {
            "stdout": stdout,
            "stderr": stderr,
            "value": reply.get("value"),
            "error": reply.get("error"),
            "traceback": reply.get("traceback") or "",
            "truncated": bool(truncated or reply.get("truncated")),
            "timed_out": interrupted,
            "kernel_restarted": restarted,
        }

    def _remaining(self, deadline, interrupted, timeout):
        """Seconds the cell has left. The host's time on its tool calls is not the cell's, up to `timeout`
        more (a cell runs at most twice its timeout); once interrupted, only the grace period counts."""
        now = time.monotonic()
        if interrupted:
            return deadline - now
        paused = self.tool_time + (now - self.busy_since if self.in_flight else 0.0)
        return deadline + min(paused, timeout) - now

    def _take_host_messages(self):
        """Act on the interrupts and tool answers among the host's pending lines; whether there was an interrupt."""
        *lines, rest = self.host_pending.split(b"\n")
        kept, found = [], False
        for line in lines:
            body = _signed_body(line)
            if body is None:
                continue  # not the host's: dropped
            try:
                message = json.loads(body)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("op") == "interrupt":
                found = True
            elif isinstance(message, dict) and message.get("op") == "tool_result":
                if self.in_flight:
                    self.in_flight -= 1
                    if not self.in_flight:
                        self.tool_time += time.monotonic() - self.busy_since
                answer = {key: value for key, value in message.items() if key not in ("op", "call", "id")}
                self.kernel.post(json.dumps({"tool_result": message.get("call"), **answer}), required=False)
            else:
                kept.append(line + b"\n")
        self.host_pending = b"".join(kept) + rest
        return found

    def _relay_tool_call(self, kernel, message):
        """Pass a well-formed tool call to the host; answer a malformed one, or one too many at once, here."""
        call = message.get("call")
        fields = (message.get("tool"), message.get("arguments"), message.get("local"))
        if not isinstance(call, int) or isinstance(call, bool):
            return  # no call number: nobody waits for an answer
        name, arguments, local = fields
        shaped = isinstance(name, str) and len(name) <= 256 and isinstance(arguments, dict) and isinstance(local, bool)
        if not shaped or self.in_flight >= IN_FLIGHT or len(self.host_out) > HOST_OUT_CAP:
            why = "malformed tool call" if not shaped else f"more than {IN_FLIGHT} tool calls (or 16 MiB) at once"
            kernel.refuse(call, "ValueError", why)
            return
        if not self.in_flight:
            self.busy_since = time.monotonic()
        self.in_flight += 1
        self.queue({"op": "tool", "call": call, "name": name, "arguments": arguments, "local": local})

    def _refuse_between_cells(self, kernel, message):
        """A call written while no cell ran (a thread left behind): answered here, never relayed, so it is not
        judged as the next cell's member."""
        kernel.refuse(
            message.get("call"), "PermissionError", "a tool call made while no cell was running is not relayed"
        )

    @staticmethod
    def _read_reply(kernel, request_id, relay):
        """Return (reply or None, kernel_dead), relaying tool calls. Garbage on the reply pipe counts as dead."""
        eof = False
        while True:
            try:
                chunk = os.read(kernel.replies, READ_CHUNK)
            except BlockingIOError:
                break
            if not chunk:
                eof = True
                break
            kernel.pending += chunk
            if len(kernel.pending) > MAX_REPLY:
                return None, True
        while b"\n" in kernel.pending:
            line, kernel.pending = kernel.pending.split(b"\n", 1)
            if len(line) > TOOL_LINE and line.startswith(b'{"tool"'):
                kernel.refuse(_call_number(line), "ValueError", f"a tool call over {TOOL_LINE} bytes")
                continue
            try:
                reply = json.loads(line)
            except ValueError:
                return None, True
            if isinstance(reply, dict) and "tool" in reply:
                relay(kernel, reply)
            elif isinstance(reply, dict) and reply.get("id") == request_id:
                return reply, False
        return None, eof

    def _reap_strays(self):
        """In a container, kill everything but init, us and the kernel when pids run low."""
        if MODE != "container":
            return 0
        keep = {1, os.getpid(), self.kernel.pid}
        killed = 0
        for _ in range(50):
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
            if len(pids) < PIDS_LIMIT * 3 // 4 and not killed:
                return 0
            strays = [p for p in pids if p not in keep]
            if not strays:
                break
            for pid in strays:
                _signal(pid, signal.SIGKILL)
            killed += len(strays)
            time.sleep(0.01)
        return killed


def _call_number(line):
    """The call number of an over-long tool line, read without parsing all of it (the kernel writes it second)."""
    head = line[:200].decode("ascii", "replace")
    digits = head.partition('"call": ')[2].split(",")[0].strip()
    return int(digits) if digits.isdigit() else None


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _drain(fd, capture):
    """Read what is there; return False once the pipe has no writers left."""
    while True:
        try:
            chunk = os.read(fd, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        if not chunk:
            return False
        capture.feed(chunk)


def _fit(out, err, cap):
    """Share the byte budget between stdout and stderr: each gets at least half if it needs it."""
    out_budget = min(out.total, max(cap // 2, cap - err.total))
    stdout, out_cut = out.text(max(out_budget, 0))
    stderr, err_cut = err.text(cap - out_budget)
    return stdout, stderr, out_cut or err_cut


# -- workspace files ---------------------------------------------------------
def _inside(path):
    root = os.path.realpath(WORKSPACE)
    real = os.path.realpath(path)
    return real == root or real.startswith(root + os.sep)


def _member_path(name):
    if name.startswith("/") or ".." in name.split("/") or "\x00" in name:
        raise ValueError(f"refusing path {name!r}: absolute or '..' paths are not allowed")
    return os.path.join(WORKSPACE, name)


def extract(data):
    """Extract regular files and directories, never writing through a symlink."""
    count = 0
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive:
            path = _member_path(member.name)
            if not _inside(os.path.dirname(path)):
                raise ValueError(f"refusing archive member {member.name!r}: leaves the workspace")
            if member.isdir():
                os.makedirs(path, exist_ok=True)
            elif member.isfile():
                os.makedirs(os.path.dirname(path), exist_ok=True)
                if os.path.islink(path):
                    os.unlink(path)
                source = archive.extractfile(member)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
                with os.fdopen(fd, "wb") as handle:
                    while block := source.read(1 << 20):
                        handle.write(block)
                os.chmod(path, 0o755 if member.mode & 0o100 else 0o644)
                count += 1
            elif member.issym():
                if os.path.isabs(member.linkname) or not _inside(os.path.join(os.path.dirname(path), member.linkname)):
                    raise ValueError(f"refusing symlink {member.name!r}: it points out of the workspace")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                os.symlink(member.linkname, path)
            else:
                raise ValueError(f"refusing archive member {member.name!r}: only files, folders and links")
    return count


def read_file(relative, limit):
    """Read a file; links are followed only while they stay inside the workspace."""
    real = os.path.realpath(_member_path(relative))
    if not _inside(real):
        raise ValueError(f"{relative!r} resolves outside the workspace (symlink?)")
    fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{relative!r} is not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{relative!r} is larger than the {limit}-byte limit")
    return data


MAX_DEPTH = 256  # folders within folders; each level holds one descriptor while it is walked


def pack(root, limit):
    """Tar (gzipped) the workspace: files, folders and symlinks (as links), within `limit` bytes.

    The walk goes by file descriptor with O_NOFOLLOW at every level, so a folder
    swapped for a symlink mid-walk is never entered; the host still checks the tree.
    It is depth-first and closes each folder when done with it, so it holds one
    descriptor per level (at most MAX_DEPTH), however many folders sit side by side.
    Every size is read from lstat before a byte is read: a file over the limit (a
    sparse one included) is refused at once, by name.
    """
    buffer = io.BytesIO()  # gzip (fast): 100,000 small files are 100 MB of tar headers and padding, a few MB packed
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT, compresslevel=1) as archive:
        top = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        walk = [(top, "", iter(sorted(os.listdir(top))))]
        total = 0
        try:
            while walk:
                dir_fd, prefix, names = walk[-1]
                name = next(names, None)
                if name is None:
                    os.close(dir_fd)
                    walk.pop()
                    continue
                total, child = _pack_entry(archive, dir_fd, name, prefix, total, limit)
                if archive.offset > 2 * limit:  # headers and padding count too: the host reads at most this
                    raise ValueError(
                        f"the workspace's snapshot is over {2 * limit} bytes of archive ({prefix}{name} and the "
                        f"files before it; {total} bytes of file contents): too many small files: remove some"
                    )
                if child is not None:
                    if len(walk) >= MAX_DEPTH:
                        os.close(child)
                        raise ValueError(f"{prefix}{name}: folders nest deeper than {MAX_DEPTH} levels")
                    walk.append((child, f"{prefix}{name}/", iter(sorted(os.listdir(child)))))
        finally:
            for dir_fd, _, _ in walk:
                os.close(dir_fd)
    return buffer.getvalue()


def _pack_entry(archive, dir_fd, name, prefix, total, limit):
    """Add one entry of an open folder; (bytes so far, the folder's descriptor if it is a folder to walk)."""
    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    member = tarfile.TarInfo(prefix + name)
    member.mtime, member.mode = int(info.st_mtime), stat.S_IMODE(info.st_mode)
    if stat.S_ISDIR(info.st_mode):
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
        member.type = tarfile.DIRTYPE
        archive.addfile(member)
        return total, fd
    if stat.S_ISLNK(info.st_mode):
        member.type, member.linkname = tarfile.SYMTYPE, os.readlink(name, dir_fd=dir_fd)
        archive.addfile(member)
        return total, None
    if not stat.S_ISREG(info.st_mode):
        return total, None
    _check_size(prefix + name, info.st_size, total, limit)
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return total, None
        data = handle.read(info.st_size + 1)  # never more than lstat said, plus one byte to see it grew
    _check_size(prefix + name, len(data), total, limit)
    member.size = len(data)
    archive.addfile(member, io.BytesIO(data))
    return total + len(data), None


def _check_size(path, size, total, limit):
    if total + size > limit:
        raise ValueError(
            f"{path} is {size} bytes: the workspace snapshot limit is {limit} bytes "
            f"({total} bytes before it); remove or shrink it"
        )


class Frozen:
    """Every other process in the sandbox stopped (SIGSTOP) while the workspace is read or written.

    In a container that is every process but init and the supervisor; locally, the
    kernel's process group. Nothing can then change the workspace under the packer.
    """

    def __init__(self, kernel_pid):
        self.kernel_pid = kernel_pid

    def __enter__(self):
        for _ in range(20):
            self._signal(signal.SIGSTOP)
            if self._all_stopped():
                break
            time.sleep(0.005)
        return self

    def __exit__(self, *exc_info):
        self._signal(signal.SIGCONT)

    def _signal(self, sig):
        try:
            if MODE == "container":
                os.kill(-1, sig)  # every process but init and this one
            else:
                os.killpg(self.kernel_pid, sig)
        except OSError:
            pass

    def _all_stopped(self):
        if MODE != "container":
            return True
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in (1, os.getpid()):
                continue
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    state = handle.read().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state not in ("T", "t", "Z", "X"):
                return False
        return True


def clear(root):
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in files:
            os.unlink(os.path.join(folder, name))
        for name in dirs:
            path = os.path.join(folder, name)
            os.unlink(path) if os.path.islink(path) else os.rmdir(path)


def _undumpable():
    """Make this process non-dumpable: cells (same uid) then cannot ptrace it or open
    /proc/<pid>/fd/*, so they cannot write into the host channel or read its memory.
    The kernel is exec'd afresh, so it does not inherit the flag."""
    try:
        import ctypes

        PR_SET_DUMPABLE = 4
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if MODE == "container":
        _undumpable()
    _read_key()
    channel = _take_channel()
    if _host_socket is None:
        _nonblocking(HOST_OUT)
    supervisor = Supervisor()
    try:
        supervisor.serve(channel)
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        supervisor.kernel.kill()
