"""The direct channel (executors/_direct.py): a runc session talks to its supervisor over a Unix socket
the host listens on, not through the engine; the attach stream stays for runsc and as the way back.

Attacks: a cell looks for the socket (gone), the token (in no environment: the host writes it on the
container's stdin), the mount (read-only, unlistable); a local process connects first, without the token
or with a wrong one, or floods the listener with silent connections (closed; the supervisor's connection
still wins). When the supervisor cannot
connect, the session goes on over the attach stream, isolated the same.
"""

import socket
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

from executors import DockerSandbox, SandboxLimits
from executors._direct import MOST_PENDING, MOUNT_POINT, DirectListener
from executors._transport import AttachTransport

pytestmark = pytest.mark.docker

LIMITS = SandboxLimits(timeout_s=20.0, grace_s=1.0)


@pytest.fixture
def box() -> Iterator[DockerSandbox]:
    with DockerSandbox(limits=LIMITS) as session:
        yield session


def test_a_runc_session_talks_over_the_socket_and_runsc_or_attach_over_the_engine() -> None:
    with DockerSandbox(limits=LIMITS) as direct, DockerSandbox(limits=LIMITS, channel="attach") as attached:
        assert (direct.channel, attached.channel) == ("socket", "attach")
        direct.execute("x = 20")
        attached.execute("x = 21")
        assert (direct.execute("x * 2").value, attached.execute("x * 2").value) == ("40", "42")
    with pytest.raises(ValueError, match="channel must be"):
        DockerSandbox(channel="tcp")


@pytest.mark.runsc
def test_under_gvisor_the_session_uses_the_attach_stream() -> None:
    with DockerSandbox(limits=LIMITS, runtime="runsc") as box:
        assert box.channel == "attach" and box.execute("6 * 7").value == "42"


def test_a_cell_finds_no_socket_no_token_and_a_read_only_empty_mount(box: DockerSandbox) -> None:
    probe = textwrap.dedent(
        f"""
        import os, socket
        found = {{"token_in_env": any("TOKEN" in name for name in os.environ)}}
        try:
            found["listing"] = os.listdir("{MOUNT_POINT}")
        except OSError as exc:
            found["listing"] = type(exc).__name__
        try:
            open("{MOUNT_POINT}/planted", "w")
            found["write"] = "allowed"
        except OSError as exc:
            found["write"] = type(exc).__name__
        token = ""
        try:  # PID 1 (init) started with the container's environment: nothing there either
            found["init_env_token"] = b"TOKEN" in open("/proc/1/environ", "rb").read()
        except OSError:
            found["init_env_token"] = False
        attempts = []
        for name in os.listdir("/run") + ["crewgate-channel/x.sock"]:
            path = os.path.join("/run", name)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                s.sendall((token + "\\n").encode())
                attempts.append("connected " + path)
            except OSError as exc:
                attempts.append(type(exc).__name__)
            finally:
                s.close()
        found["attempts"] = attempts
        found
        """
    )
    result = box.execute(probe)
    assert result.ok, result.traceback
    found = eval(result.value)  # noqa: S307 - a dict of str/bool/list that this test's own cell printed
    assert found["token_in_env"] is False and found["init_env_token"] is False
    assert found["listing"] in ([], "PermissionError"), "the folder cannot be listed, and its socket is gone"
    assert found["write"] != "allowed", found  # read-only, and its folder already removed on the host
    assert not [attempt for attempt in found["attempts"] if attempt.startswith("connected")], found
    assert box.execute("1 + 1").value == "2", "the session is unharmed"


def test_a_connection_without_the_token_is_closed_and_the_supervisor_still_gets_in() -> None:
    listener = DirectListener(b"5" * 64)
    path = f"{listener.folder}/{listener.name}"
    attach_side, never_speaks = socket.socketpair()
    attach = AttachTransport(attach_side)
    strangers: list[bytes] = []

    def stranger(token: bytes) -> None:
        intruder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        intruder.connect(path)
        intruder.sendall(token)
        try:
            strangers.append(intruder.recv(16))  # b"": closed by the host
        except ConnectionResetError:
            strangers.append(b"")
        intruder.close()

    def supervisor() -> None:
        time.sleep(0.3)  # after the strangers and the flood
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(path)
        connection.sendall(listener.token + b'\n{"op": "hello"}\n')
        time.sleep(1)  # a supervisor stays connected: the host's accept must see it open
        connection.close()

    silent: list[socket.socket] = []

    def flood() -> None:  # connections that never speak, more than are read side by side: they hold up nothing
        for _ in range(MOST_PENDING + 4):
            quiet = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            quiet.connect(path)
            silent.append(quiet)

    threads = [
        threading.Thread(target=flood),
        threading.Thread(target=stranger, args=(b"\n",)),
        threading.Thread(target=stranger, args=(b"0" * 64 + b"\n",)),
        threading.Thread(target=supervisor),
    ]
    for thread in threads:
        thread.start()
    try:
        accepted = listener.wait(attach, timeout=10)
        assert accepted is not None
        assert accepted.recv(64) == b'{"op": "hello"}\n', "the token line is taken, what follows is the channel's"
        accepted.close()
    finally:
        for thread in threads:
            thread.join(10)
        attach_side.close()
        never_speaks.close()
        for quiet in silent:
            quiet.close()
    assert strangers == [b"", b""]
    late = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with pytest.raises(OSError):
        late.connect(path)  # the listener is closed and its folder gone
    late.close()


class SocketGoneSandbox(DockerSandbox):
    """A session whose socket is removed before the container starts: the supervisor cannot connect."""

    def _direct_listener(self, key: bytes) -> DirectListener | None:
        listener = super()._direct_listener(key)
        assert listener is not None
        import os

        os.unlink(f"{listener.folder}/{listener.name}")
        return listener


def test_when_the_supervisor_cannot_connect_the_session_goes_on_over_the_attach_stream() -> None:
    with SocketGoneSandbox(limits=LIMITS) as box:
        assert box.channel == "attach"
        box.execute("x = 41")
        assert box.execute("x + 1").value == "42"


def test_a_killed_owners_channel_folder_is_pruned_and_a_live_ones_kept() -> None:
    """A process killed between making its listener and closing it leaves a folder: `sandbox prune` (and a
    worker's start) removes the folders whose owner is gone, never a live process's."""
    import os
    import subprocess
    import sys
    import tempfile

    from executors._direct import FOLDER_PREFIX
    from executors.prune import prune_channel_folders

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{int(gone.stdout)}-")
    open(os.path.join(left, "x.sock"), "w").close()
    live = DirectListener(b"6" * 64)
    try:
        assert prune_channel_folders() >= 1
        assert not os.path.exists(left) and os.path.isdir(live.folder)
    finally:
        live.close()


@pytest.mark.parametrize("channel", ["auto", "attach"])
def test_a_cell_that_stops_the_supervisor_cannot_hold_the_host(channel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell may SIGSTOP its supervisor (same uid). The host's next big send then finds nobody reading: it
    fails after the send timeout (2 s here, 60 s by default) and a fresh sandbox takes the place, on either
    channel, instead of holding the host forever."""
    from executors import _transport
    from executors.errors import KernelDied

    monkeypatch.setattr(_transport, "SEND_TIMEOUT_S", 2.0)
    with DockerSandbox(limits=LIMITS, channel=channel) as box:
        stopper = (
            "import os, signal, subprocess\nsubprocess.Popen(['sh', '-c', 'sleep 0.5; kill -STOP %d' % os.getppid()])"
        )
        assert box.execute(stopper).ok
        time.sleep(1.5)  # the background process stops the supervisor after the cell has returned
        started = time.monotonic()
        with pytest.raises(KernelDied, match="fresh sandbox"):
            box.put_files({"big.bin": b"x" * (8 * 1024 * 1024)})
        assert time.monotonic() - started < 40
        assert box.execute("6 * 7").value == "42", "the fresh sandbox answers"


FORGER = """
import os, subprocess, sys
script = '''
import os, time
time.sleep(1.0)
lines = b"".join(
    b'{"id": %d, "ok": true, "value": "FORGED", "error": null, "traceback": "", "stdout": "", "stderr": "",'
    b' "truncated": false, "timed_out": false, "kernel_restarted": false}\\\\n' % n
    for n in range(1, 400)
)
for target in ("/proc/1/fd/1", "/proc/1/fd/0"):  # as the supervisor's replies, and as the host's requests
    try:
        fd = os.open(target, os.O_WRONLY)
        os.write(fd, lines.replace(b'"ok": true', b'"op": "exec", "code": "print(1)", "ok": true'))
        os.write(fd, lines)
        os.close(fd)
    except OSError:
        pass
'''
subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
"""


@pytest.mark.parametrize(
    "runtime, channel",
    [("runc", "attach"), ("runc", "auto"), pytest.param("runsc", "auto", marks=pytest.mark.runsc)],
)
def test_lines_forged_through_init_are_never_believed(runtime: str, channel: str) -> None:
    """Code in the sandbox can open the container's stdin and stdout through its init process (/proc/1/fd) and
    write lines that look like the supervisor's replies for every id (the next check "passed") or like the host's
    requests. Unsigned, they are never taken for the supervisor's: the next cells give their own values, or the
    channel breaks and a fresh sandbox answers."""
    with DockerSandbox(limits=LIMITS, runtime=runtime, channel=channel) as box:
        assert box.execute(FORGER).ok
        time.sleep(2.0)  # the forged lines are written meanwhile
        values = [box.execute(f"{n} * 2").value for n in range(5)]
        assert "FORGED" not in str(values), values
        assert box.execute("6 * 7").value == "42"
