"""Finding and removing sandbox containers whose owner is gone."""

import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import docker

MANAGED_FILTER = {"label": "crewgate.managed=1"}


@dataclass(frozen=True)
class SandboxContainer:
    """A container crewgate started, as seen from its labels."""

    id: str
    status: str
    session: str
    run: str
    owner_host: str
    owner_pid: int

    @property
    def orphaned(self) -> bool:
        """Its owner is a process on this host that no longer exists, or (elsewhere) it is not running.

        A created container whose owner is alive is about to be started, not an orphan.
        """
        if self.owner_host == socket.gethostname():
            return not _alive(self.owner_pid)
        return self.status != "running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune_channel_folders() -> int:
    """Remove the direct channels' folders (executors/_direct.py) whose process is gone (killed before it could
    close them); how many."""
    from ._direct import FOLDER_PREFIX

    root = tempfile.gettempdir()
    removed = 0
    for name in os.listdir(root):
        owner = name[len(FOLDER_PREFIX) :].split("-", 1)[0] if name.startswith(FOLDER_PREFIX) else ""
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            removed += 1
    return removed


def list_sandboxes(client: "docker.DockerClient") -> list[SandboxContainer]:
    found = []
    for item in client.api.containers(all=True, filters=MANAGED_FILTER):
        labels = item.get("Labels") or {}
        pid = labels.get("crewgate.pid", "")
        found.append(
            SandboxContainer(
                id=item["Id"],
                status=item.get("State", "unknown"),
                session=labels.get("crewgate.session", ""),
                run=labels.get("crewgate.run", ""),
                owner_host=labels.get("crewgate.host", ""),
                owner_pid=int(pid) if pid.isdigit() else 0,
            )
        )
    return found


def prune(client: "docker.DockerClient", everything: bool = False, run: str | None = None) -> list[SandboxContainer]:
    """Remove orphaned sandbox containers (every one with `everything`; only one `run`'s, all of them, with `run`).

    Without `run`, the folders of direct channels whose owner is gone go too (executors/_direct.py).
    A run's reap touches only that run's containers: other runs' orphans may belong to a process
    that is being resumed right now, and are the worker's to prune. Sandboxes run with auto-remove,
    so a container listed a moment ago may be gone (404) or already being removed by the engine
    (409); either way it is going, which is all a prune wants.
    """
    from docker.errors import APIError, NotFound

    if run is None:
        prune_channel_folders()  # the direct channels' folders their killed owners left on this machine
    removed = []
    for container in list_sandboxes(client):
        chosen = container.run == run if run is not None else everything or container.orphaned
        if chosen:
            try:
                client.api.remove_container(container.id, force=True)
            except NotFound:
                continue
            except APIError as exc:
                if not _removal_in_progress(exc):
                    raise
            removed.append(container)
    return removed


def _removal_in_progress(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) == 409 and "already in progress" in str(exc)
