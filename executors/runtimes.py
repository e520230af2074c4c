"""Isolation tiers: which OCI runtime a sandbox container runs under.

`runc` (the default) is a hardened container on the host's kernel: model code shares
that kernel, so a kernel bug is an escape. `runsc` is gVisor: the container's system
calls go to gVisor's own user-space kernel, a second boundary in front of the host's.
The engine must offer the runtime asked for (`docker info` lists them); a sandbox never
starts under another one instead, and never on the host.
"""

import os
from typing import Any

from .errors import SandboxUnavailable

RUNTIMES = ("runc", "runsc")
ENV = "CREWGATE_SANDBOX_RUNTIME"
REGISTER = (
    "install gVisor (`apt-get install -y runsc`), register it with the engine in /etc/docker/daemon.json "
    '(`{"runtimes": {"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--platform=ptrace", '
    '"--network=none"]}}}`) and reload it (`kill -HUP $(pidof dockerd)`); see README: The sandbox'
)


def chosen_runtime(asked: str | None = None) -> str:
    """The runtime a new run's sandboxes use: `asked` (the runbook's), else CREWGATE_SANDBOX_RUNTIME, else runc."""
    name = asked or os.environ.get(ENV, "").strip() or "runc"
    if name not in RUNTIMES:
        raise SandboxUnavailable(f"{ENV}={name!r} is not a sandbox runtime: use one of {', '.join(RUNTIMES)}")
    return name


def offered_runtimes(client: Any) -> list[str]:
    """The runtimes the engine offers (`docker info`), sorted."""
    return sorted(client.info().get("Runtimes", {}))


def require_runtime(client: Any, name: str) -> None:
    """Fail closed (SandboxUnavailable) when the engine does not offer runtime `name`."""
    if name not in RUNTIMES:
        raise SandboxUnavailable(f"{name!r} is not a sandbox runtime: use one of {', '.join(RUNTIMES)}")
    offered = offered_runtimes(client)
    if name not in offered:
        fix = REGISTER if name == "runsc" else "use an engine that offers it"
        raise SandboxUnavailable(
            f"the Docker engine does not offer the {name} runtime (it offers {', '.join(offered) or 'none'}): "
            f"{fix}. crewgate never starts the sandbox under another runtime instead"
        )
