"""Resource limits for one sandbox session."""

import re
from dataclasses import dataclass

from .errors import SandboxUnavailable

_SIZE = re.compile(r"^(\d+)([kmg]?)b?$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """Parse a Docker-style size ("512m", "1g", "65536") into bytes."""
    match = _SIZE.match(text.strip())
    if not match:
        raise SandboxUnavailable(f"invalid size {text!r}: use a number with an optional k, m or g suffix, e.g. '512m'")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


@dataclass(frozen=True)
class SandboxLimits:
    """What one session may use. Defaults are safe for model-written code.

    Attributes:
        memory: RAM cap, also the RAM+swap cap (no swap), Docker size syntax.
        cpus: CPU share, e.g. 1.0 = one core.
        pids: maximum number of processes and threads in the container.
        timeout_s: default wall-clock limit of one `execute` call.
        output_bytes: stdout+stderr kept per cell; the middle of longer output is elided.
        network: "none" (default) or the name of a Docker network to join.
        workspace_size: size of the /workspace tmpfs. tmpfs counts against `memory`, so
            workspace_size + tmp_size must fit in 3/4 of it.
        tmp_size: size of the /tmp tmpfs.
        nofile: open-file limit inside the container.
        grace_s: how long an interrupted cell may take to stop before the kernel is killed.
        transfer_bytes: largest file or snapshot moved in or out of the sandbox.
    """

    memory: str = "512m"
    cpus: float = 1.0
    pids: int = 128
    timeout_s: float = 30.0
    output_bytes: int = 65536
    network: str = "none"
    workspace_size: str = "256m"
    tmp_size: str = "64m"
    nofile: int = 1024
    grace_s: float = 2.0
    transfer_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        for name in ("memory", "workspace_size", "tmp_size"):
            parse_size(getattr(self, name))
        if self.cpus <= 0 or self.pids < 8 or self.timeout_s <= 0 or self.output_bytes < 256:
            raise SandboxUnavailable(
                f"invalid sandbox limits {self}: cpus and timeout_s must be > 0, pids >= 8, output_bytes >= 256"
            )
        scratch = parse_size(self.workspace_size) + parse_size(self.tmp_size)
        if scratch > parse_size(self.memory) * 3 // 4:
            raise SandboxUnavailable(
                f"invalid sandbox limits: workspace_size + tmp_size ({scratch} bytes) must fit in 3/4 of memory "
                f"({self.memory}): tmpfs files are charged to the memory limit, and the kernel needs the rest"
            )
        if self.grace_s <= 0 or self.nofile < 64 or self.transfer_bytes < 1024:
            raise SandboxUnavailable(
                f"invalid sandbox limits {self}: grace_s > 0, nofile >= 64, transfer_bytes >= 1024"
            )
