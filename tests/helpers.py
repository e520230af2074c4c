"""Running the real `crewgate` command in tests, and waiting for what it does."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

CREWGATE = Path(sys.executable).with_name("crewgate")


def crewgate(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `crewgate ARGS` as a user would, to its end; never raises on a non-zero exit. The one runner
    of the command in the tests (`Crewgate.run` runs it on a private home)."""
    command = [str(CREWGATE)] if CREWGATE.exists() else [sys.executable, "-m", "workflows.cli"]
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


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
