"""Running the real `crewgate` command in tests, and waiting for what it does."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

from tests import prefork

T = TypeVar("T")

# The one TLS context of the tests' HTTP clients (they speak plain HTTP to servers on 127.0.0.1), httpx's own
# default made once: left to itself, httpx loads the CA bundle again for every client and every `httpx.get`,
# about 25 ms of CPU each.
LOCAL_TLS = httpx.create_ssl_context()

# Commands that host no run, serve nothing and start no sandbox: a test runs them in its own process (the
# same `invoke` the console script calls), sparing a new interpreter and its imports each time. Any other
# command is a real `crewgate` process, as a user starts it.
IN_PROCESS = {
    "runs": {"list", "show", "trace"},
    "review": {"list", "show"},
    "runbook": {"list", "register", "schema", "show", "validate"},
    "batch": {"list", "show"},
    "schedule": {"apply", "list", "show", "pause", "resume", "delete"},
    "models": {"check"},
    "users": {"add", "disable", "list"},
    "tokens": {"create", "list", "revoke"},
    "webhooks": {"add", "list", "remove"},
    "db": {"upgrade"},
}


def crewgate(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    stdin: str | None = None,
    process: bool | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `crewgate ARGS` to its end, as a user would; never raises on a non-zero exit. The one runner of
    the command in the tests (`Crewgate.run` runs it on a private home).

    `process` None: a new process unless the command is one of IN_PROCESS; True: always a new process
    (where the process boundary is the point: its exit, its environment, its output streams).
    """
    if process is None:
        process = len(args) < 2 or args[1] not in IN_PROCESS.get(args[0], set()) or "--help" in args
    if not process:
        return _in_this_process(list(args), env or {}, stdin)
    environment = {**os.environ, **env} if env else None
    return prefork.run(list(args), env=environment, timeout=timeout, input=stdin, text=True)


def crewgate_bytes(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> bytes:
    """What `crewgate ARGS` (a real process) writes to stdout, as the bytes a terminal would get: for checks
    that no raw control byte reaches it. Fails the test on a non-zero exit."""
    environment = {**os.environ, **env} if env else None
    done = prefork.run(list(args), env=environment, timeout=timeout, input=None, text=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def _in_this_process(args: list[str], env: dict[str, str], stdin: str | None) -> subprocess.CompletedProcess[str]:
    """The command through the console script's own `invoke`, with the environment, stdin and output streams
    swapped for its duration (click's isolation); it must leave no DBOS running here."""
    from click.testing import CliRunner

    from workflows.cli import invoke

    with CliRunner().isolation(input=stdin, env=env) as (out, err, _):
        code = invoke(args)
        sys.stdout.flush()
        sys.stderr.flush()
    assert not _dbos_launched(), f"`crewgate {' '.join(args)}` launched DBOS: run it with process=True"
    if isinstance(code, str):
        err.write(f"{code}\n".encode())
        code = 1
    return subprocess.CompletedProcess(
        ["crewgate", *args], int(code or 0), out.getvalue().decode(), err.getvalue().decode()
    )


def _dbos_launched() -> bool:
    dbos = sys.modules.get("dbos._dbos")
    instance = getattr(dbos, "_dbos_global_instance", None)
    return bool(instance is not None and getattr(instance, "_launched", False))


def wait_until(
    condition: Callable[[], T], timeout: float = 120, why: str | Callable[[], str] = "", every: float = 0.1
) -> T:
    """Look at `condition` every `every` seconds until it gives something true, and return that; the one wait
    of the tests. On timeout, fail with `why` (a callable is asked only then, e.g. for a log's tail).

    The poll is a real process's time passing (a worker, Docker, a server), never a stand-in for a clock.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {why() if callable(why) else why}")
        time.sleep(every)
