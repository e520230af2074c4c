"""The in-sandbox programs, read as text so they can be passed with `python3 -c`.

Passing the source on the command line means the image only needs python3, and
the kernel a session runs always matches the crewgate that started it.
"""

from functools import cache
from importlib.resources import files


@cache
def supervisor_source() -> str:
    return files("executors._insandbox").joinpath("supervisor.py").read_text(encoding="utf-8")


@cache
def kernel_source() -> str:
    return files("executors._insandbox").joinpath("kernel.py").read_text(encoding="utf-8")


def supervisor_argv(python: str, mode: str, workspace: str, pids: int, channel_socket: str = "") -> list[str]:
    """Command line that starts the supervisor (which starts the kernel); with `channel_socket`, the supervisor
    talks over that Unix socket (executors/_direct.py) instead of stdin/stdout."""
    argv = [python, "-c", supervisor_source(), mode, workspace, str(pids), kernel_source()]
    return [*argv, channel_socket] if channel_socket else argv
