"""Environments: a sandbox image holding a project's dependencies, built once per content hash.

A setup runs in its own build container, made from the base sandbox image with the run's base tree
in /workspace: network only there (none at all with a wheelhouse), never in a crew's session; as the
sandbox user, every capability dropped. Only a setup whose every command succeeded is committed, as
`crewgate-env:<digest>`; a failed, timed-out or interrupted one leaves no image (an interrupted one's
container is an orphan that `crewgate sandbox prune` and every worker remove).
"""

import fcntl
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .docker_sandbox import MANAGED_LABEL
from .errors import BadInput, Exit, SandboxError, SandboxUnavailable
from .image import ENV_PREFIX, PATH_ENV, SANDBOX_UID, image_id

if TYPE_CHECKING:
    import docker

ENV_REPOSITORY = "crewgate-env"
DIGEST_LABEL = "crewgate.env.digest"
BASE_LABEL = "crewgate.env.base"
COMMANDS_LABEL = "crewgate.env.commands"
WHEELHOUSE_MOUNT = "/wheelhouse"
LOG_TAIL = 3000
LINE_SHOWN = 500  # of each line of setup output, on the progress display
PREPARE_TIMEOUT_S = 300.0  # making the virtualenv the setup installs into (PREPARE_ENVIRONMENT)
# The virtualenv the setup installs into. Not `venv` with pip: ensurepip copies pip into every environment (3.5 s
# of a build); here `pip` and `pip3` are launchers, as pip's own console scripts are, that run the image's pip
# on the virtualenv's python, so what they install lands in the virtualenv (an upgrade of pip too).
PIP_LAUNCHER = "#!{prefix}/bin/python3\\nimport sys\\nfrom pip._internal.cli.main import main\\nsys.exit(main())\\n"
PREPARE_ENVIRONMENT = (
    f"python3 -m venv --without-pip --system-site-packages {ENV_PREFIX}"
    f" && for name in pip pip3; do printf '{PIP_LAUNCHER.format(prefix=ENV_PREFIX)}' > {ENV_PREFIX}/bin/$name"
    f" && chmod 755 {ENV_PREFIX}/bin/$name; done"
)
# pip settings that reach the build container; a value naming a local file or folder is mounted read-only
PIP_KEYS = (
    "index-url",
    "extra-index-url",
    "find-links",
    "cert",
    "client-cert",
    "constraint",
    "trusted-host",
    "proxy",
    "timeout",
    "default-timeout",
    "retries",
)
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


class SetupFailed(SandboxError):
    """A setup command failed or ran out of time: nothing was kept; the message holds its log's tail."""

    exit_code = Exit.ENVIRONMENT

    def __init__(self, command: str, command_exit: int | None, tail: str, timeout_s: float | None = None) -> None:
        self.command, self.command_exit, self.tail = command, command_exit, tail
        ended = f"timed out after {timeout_s:g} s" if timeout_s is not None else f"exited {command_exit}"
        super().__init__(f"sandbox.setup `{command}` {ended}; no environment was kept. Its output ends:\n{tail}")


@dataclass(frozen=True)
class Recipe:
    """What an environment is made of; equal recipes make interchangeable images, so they share one."""

    base_image_id: str
    commands: tuple[str, ...]
    inputs: tuple[tuple[str, str], ...]  # (path in the base tree, sha256 of its bytes), sorted by path

    @property
    def digest(self) -> str:
        canonical = json.dumps(
            {"base": self.base_image_id, "commands": list(self.commands), "inputs": dict(self.inputs)},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def tag(self) -> str:
        return f"{ENV_REPOSITORY}:{self.digest[:32]}"


@dataclass(frozen=True)
class PackageSources:
    """Where a setup's pip looks: the host's pip settings (the local files they name mounted read-only at
    the same path) over the default bridge network, or only a wheelhouse folder with no network at all."""

    environment: tuple[tuple[str, str], ...]
    mounts: tuple[tuple[str, str], ...]  # (host path, container path), read-only
    network: str

    @classmethod
    def wheelhouse(cls, folder: Path) -> "PackageSources":
        if not folder.is_dir():
            raise BadInput(f"CREWGATE_WHEELHOUSE={folder} is not a folder: point it at a folder of wheels, or unset it")
        settings = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": WHEELHOUSE_MOUNT}
        return cls(tuple(settings.items()), ((str(folder.resolve()), WHEELHOUSE_MOUNT),), "none")

    @classmethod
    def from_host(cls) -> "PackageSources":
        """The settings `pip config list` shows here (files, then PIP_* variables) and the proxy variables."""
        settings = {f"PIP_{key.upper().replace('-', '_')}": value for key, value in _host_pip_config().items()}
        settings.update({name: os.environ[name] for name in PROXY_VARIABLES if os.environ.get(name)})
        mounts = sorted({(path, path) for value in settings.values() for path in _local_paths(value)})
        return cls(tuple(sorted(settings.items())), tuple(mounts), "bridge")


@dataclass(frozen=True)
class EnvironmentImage:
    """An environment on this engine, for `crewgate sandbox envs`."""

    tag: str
    id: str
    digest: str
    size: int
    created: float
    commands: tuple[str, ...]


def find_environment(client: "docker.DockerClient", recipe: Recipe) -> str | None:
    """The recipe's image id when it was built here before, else None."""
    return image_id(client, recipe.tag)


@dataclass(frozen=True)
class Build:
    """One environment to have: its recipe, the base image and base tree (a tar) it is built from, where
    its packages come from (asked only when it is built: reading pip's settings costs a process), and how
    long its setup commands may take together."""

    base_image: str
    recipe: Recipe
    base_tree: bytes
    sources: Callable[[], PackageSources]
    timeout_s: float


def build_environment(client: "docker.DockerClient", build: Build, say: Callable[[str], None]) -> str:
    """The recipe's image id: the one already here, or a new one built now. One build per recipe at a
    time on this machine; others wait for it and reuse it."""
    recipe = build.recipe
    with _build_lock(recipe.digest):
        found = find_environment(client, recipe)
        if found is not None:
            return found
        sources = build.sources()  # a wheelhouse that is not a folder stops here, before anything starts
        started = time.monotonic()
        steps = len(recipe.commands)
        say(f"environment {recipe.digest[:12]}: building from {build.base_image} ({steps} setup commands)")
        container = _create_build_container(client, build, sources)
        try:
            _run_setup(client, container, build, say)
            built = _commit(client, container, recipe)
        finally:
            _remove(client, container)
        say(f"environment {recipe.digest[:12]}: built in {time.monotonic() - started:.1f} s")
        return built


def list_environments(client: "docker.DockerClient") -> list[EnvironmentImage]:
    found = []
    for item in client.api.images(filters={"label": DIGEST_LABEL}):
        labels = item.get("Labels") or {}
        tags = [tag for tag in item.get("RepoTags") or [] if tag.startswith(f"{ENV_REPOSITORY}:")]
        found.append(
            EnvironmentImage(
                tag=tags[0] if tags else item["Id"],
                id=item["Id"],
                digest=labels.get(DIGEST_LABEL, ""),
                size=int(item.get("Size") or 0),
                created=float(item.get("Created") or 0),
                commands=tuple(json.loads(labels.get(COMMANDS_LABEL) or "[]")),
            )
        )
    return sorted(found, key=lambda image: image.created, reverse=True)


def remove_environment(client: "docker.DockerClient", image: EnvironmentImage) -> str | None:
    """Remove the image; the reason it stays (a container uses it) or None when it is gone."""
    from docker.errors import APIError, ImageNotFound

    try:
        client.api.remove_image(image.id)
    except ImageNotFound:
        return None
    except APIError as exc:
        return str(exc.explanation or exc)
    return None


def _create_build_container(client: "docker.DockerClient", build: Build, sources: PackageSources) -> str:
    from docker.errors import DockerException

    api, recipe = client.api, build.recipe
    environment = {
        "PATH": PATH_ENV,
        "HOME": "/tmp",  # noqa: S108 - the container's own tmpfs
        "LANG": "C.UTF-8",
        "PIP_NO_INPUT": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
        **dict(sources.environment),
    }
    try:
        created = api.create_container(
            build.base_image,
            command=["sleep", "infinity"],
            user=f"{SANDBOX_UID}:{SANDBOX_UID}",
            environment=environment,
            working_dir="/workspace",
            labels={
                MANAGED_LABEL: "1",  # a build whose process died is an orphan `sandbox prune` removes
                "crewgate.session": f"env-{recipe.digest[:12]}",
                "crewgate.run": "",
                "crewgate.host": socket.gethostname(),
                "crewgate.pid": str(os.getpid()),
            },
            host_config=api.create_host_config(
                network_mode=sources.network,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges:true"],
                binds={host: {"bind": inside, "mode": "ro"} for host, inside in sources.mounts},
                tmpfs={"/tmp": f"rw,exec,nosuid,nodev,size=2g,uid={SANDBOX_UID},gid={SANDBOX_UID},mode=1777"},  # noqa: S108
                mem_limit="4g",
                pids_limit=1024,
                init=True,
            ),
        )
        api.start(created["Id"])
    except DockerException as exc:
        raise SandboxUnavailable(f"could not start a build container from {build.base_image}: {exc}") from exc
    return str(created["Id"])


def _run_setup(client: "docker.DockerClient", container: str, build: Build, say: Callable[[str], None]) -> None:
    recipe, timeout_s = build.recipe, build.timeout_s
    if not client.api.put_archive(container, "/workspace", _owned_by_sandbox_user(build.base_tree)):
        raise SandboxUnavailable("could not copy the run's base tree into the build container")
    # ours, not the runbook's: its own time
    _exec(client, container, PREPARE_ENVIRONMENT, time.monotonic() + PREPARE_TIMEOUT_S, PREPARE_TIMEOUT_S, say)
    deadline = time.monotonic() + timeout_s
    total = len(recipe.commands)
    for number, command in enumerate(recipe.commands, start=1):
        say(f"environment {recipe.digest[:12]}: {number}/{total} `{command}`")
        _exec(client, container, command, deadline, timeout_s, say)
    # the image keeps the environment, not the tree it was built from: a session mounts its own /workspace
    _exec(client, container, "find /workspace -mindepth 1 -delete", deadline, timeout_s, say)


def _exec(
    client: "docker.DockerClient",
    container: str,
    command: str,
    deadline: float,
    timeout_s: float,
    say: Callable[[str], None],
) -> None:
    """Run one command (with sh, in /workspace); stream its output to `say`; raise SetupFailed unless it
    exits 0 before the deadline (then the container is killed, which ends the stream)."""
    api = client.api
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SetupFailed(command, None, "", timeout_s)
    started = api.exec_create(container, ["sh", "-c", command], workdir="/workspace")
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with suppress(Exception):  # already gone: the stream has ended either way
            api.kill(container)

    timer = threading.Timer(remaining, expire)
    timer.daemon = True
    timer.start()
    tail = ""  # only the end is kept: a setup may print gigabytes
    try:
        pending = ""
        for chunk in api.exec_start(started["Id"], stream=True, demux=False):
            text = pending + chunk.decode("utf-8", errors="replace")
            *lines, pending = text.split("\n")
            for line in lines:
                tail = (tail + printable(line) + "\n")[-LOG_TAIL:]
                say(f"  | {printable(line[:LINE_SHOWN])}")
            pending = pending[-LOG_TAIL:]
        if pending:
            tail = (tail + printable(pending))[-LOG_TAIL:]
            say(f"  | {printable(pending[:LINE_SHOWN])}")
    finally:
        timer.cancel()
    if expired.is_set():
        raise SetupFailed(command, None, tail, timeout_s)
    code = api.exec_inspect(started["Id"]).get("ExitCode")
    if code != 0:
        raise SetupFailed(command, code, tail)


def printable(text: str) -> str:
    """Setup output is the project's (its setup.py, its build): control, escape and bidi characters are
    shown escaped, never sent to a terminal as they are. Tabs stay."""
    return "".join(
        char if char == "\t" or unicodedata.category(char) not in ("Cc", "Cf") else f"\\u{ord(char):04x}"
        for char in text
    )


def _commit(client: "docker.DockerClient", container: str, recipe: Recipe) -> str:
    labels = {
        DIGEST_LABEL: recipe.digest,
        BASE_LABEL: recipe.base_image_id,
        COMMANDS_LABEL: json.dumps(list(recipe.commands)),
    }
    repository, _, tag = recipe.tag.partition(":")
    committed = client.api.commit(
        container,
        repository=repository,
        tag=tag,
        conf={
            "Labels": labels,
            "User": f"{SANDBOX_UID}:{SANDBOX_UID}",
            "WorkingDir": "/workspace",
            "Env": [f"PATH={PATH_ENV}"],
            "Cmd": ["python3"],
        },
    )
    return str(committed["Id"])


def _remove(client: "docker.DockerClient", container: str) -> None:
    from docker.errors import DockerException

    with suppress(DockerException):  # gone already, or the engine hiccupped: `sandbox prune` removes the orphan
        client.api.remove_container(container, force=True)


@contextmanager
def _build_lock(digest: str) -> Iterator[None]:
    """One build of a recipe at a time on this machine (Docker images are per machine)."""
    path = Path(tempfile.gettempdir()) / f"crewgate-env-{digest[:32]}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@cache
def _host_pip_config() -> dict[str, str]:
    """`pip config list` of this interpreter's pip: the last value of each key we pass on wins."""
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60, check=False
    )
    found: dict[str, str] = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition("=")
        key = name.rpartition(".")[2]
        if key in PIP_KEYS and value:
            found[key] = value.strip().strip("'\"")
    return found


def _local_paths(value: str) -> list[str]:
    """The existing local files and folders a pip setting names (plain paths or file:// URLs); for a local
    index (`.../simple`) the folder above it, where its pages' links to the package files usually lead."""
    paths = []
    for word in value.split():
        path = Path(word.removeprefix("file://"))
        if path.is_absolute() and path.exists():
            paths.append(str(path.parent if path.name == "simple" else path))
    return paths


def _owned_by_sandbox_user(tree: bytes) -> bytes:
    """The tar with every entry owned by the sandbox user, who runs the setup and may write beside them."""
    out = io.BytesIO()
    folders: set[str] = set()
    with tarfile.open(fileobj=io.BytesIO(tree)) as source, tarfile.open(fileobj=out, mode="w") as copy:
        for member in source:
            for parent in reversed(PurePosixPath(member.name).parents[:-1]):  # folders first, ours too
                if str(parent) not in folders:
                    folders.add(str(parent))
                    folder = tarfile.TarInfo(str(parent))
                    folder.type, folder.mode, folder.uid, folder.gid = tarfile.DIRTYPE, 0o755, SANDBOX_UID, SANDBOX_UID
                    copy.addfile(folder)
            member.uid = member.gid = SANDBOX_UID
            member.uname = member.gname = ""
            copy.addfile(member, source.extractfile(member) if member.isfile() else None)
    return out.getvalue()


def tree_file(base_tree: bytes, name: str) -> bytes | None:
    """A regular file's bytes from a tar of the base tree (its paths relative, maybe `./`-prefixed)."""
    with tarfile.open(fileobj=io.BytesIO(base_tree)) as tar:
        for member in tar:
            if member.isfile() and member.name.removeprefix("./") == name:
                extracted = tar.extractfile(member)
                return extracted.read() if extracted else None
    return None


def tree_names(base_tree: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(base_tree)) as tar:
        return [member.name.removeprefix("./") for member in tar if member.isfile()]
