"""Running the real `crewgate` command in tests."""

import os
import subprocess
import sys
from pathlib import Path

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
