"""The sandbox image: its name, and how to build it with or without a registry.

Without a registry (the usual case on air-gapped build machines) a minimal
Debian root filesystem is made with debootstrap and imported; with one, the
Dockerfile beside this module is used.
"""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from ._version import VERSION
from .errors import SandboxUnavailable

if TYPE_CHECKING:
    import docker

IMAGE_REPOSITORY = "crewgate-sandbox"
# The image's own revision, after crewgate's version: bumped when what the image holds changes, so
# `crewgate sandbox build --if-missing` builds the new one (2: pip and venv, for `sandbox.setup`).
IMAGE_REVISION = 2
SANDBOX_UID = 10001
PACKAGES = "python3,python3-pytest,python3-pip,python3-venv,bandit,git,ca-certificates"
SUITE = "bookworm"
# A run's environment (`sandbox.setup`) is a virtualenv here, on top of the system's packages; in the
# plain image the folder is empty (owned by the sandbox user, so a setup can fill it) and PATH skips it.
ENV_PREFIX = "/opt/crewgate-env"
PATH_ENV = f"{ENV_PREFIX}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def default_image() -> str:
    """The image tag this crewgate version runs: crewgate-sandbox:<version>-<image revision>."""
    return os.environ.get("CREWGATE_SANDBOX_IMAGE") or f"{IMAGE_REPOSITORY}:{VERSION}-{IMAGE_REVISION}"


def image_id(client: "docker.DockerClient", tag: str) -> str | None:
    """The image's id, or None when it is not present."""
    from docker.errors import ImageNotFound

    try:
        return str(client.api.inspect_image(tag)["Id"])
    except ImageNotFound:
        return None


def dockerfile_dir() -> Path:
    return Path(str(files("executors").joinpath("image")))


def build_image(
    client: "docker.DockerClient", tag: str, method: str = "auto", say: Callable[[str], None] = print
) -> str:
    """Build `tag` and return its image id. `method`: auto, rootfs or dockerfile."""
    if method == "auto":
        method = "rootfs" if shutil.which("debootstrap") and os.geteuid() == 0 else "dockerfile"
    if method == "rootfs":
        return _build_from_rootfs(client, tag, say)
    if method == "dockerfile":
        return _build_from_dockerfile(client, tag, say)
    raise SandboxUnavailable(f"unknown build method {method!r}: use auto, rootfs or dockerfile")


def _build_from_dockerfile(client: "docker.DockerClient", tag: str, say: Callable[[str], None]) -> str:
    from docker.errors import BuildError, DockerException

    say(f"building {tag} from {dockerfile_dir() / 'Dockerfile'} (needs a reachable registry)")
    try:
        image, _ = client.images.build(
            path=str(dockerfile_dir()), tag=tag, rm=True, labels={"crewgate.version": VERSION}
        )
    except (BuildError, DockerException) as exc:
        raise SandboxUnavailable(
            f"building {tag} from the Dockerfile failed: {exc}. Without a registry, run as root with debootstrap "
            "installed: `crewgate sandbox build --method rootfs`."
        ) from exc
    return str(image.id)


def _build_from_rootfs(client: "docker.DockerClient", tag: str, say: Callable[[str], None]) -> str:
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        raise SandboxUnavailable(
            "the rootfs build needs root and debootstrap (`apt-get install -y debootstrap`); "
            "on a machine with a registry use `crewgate sandbox build --method dockerfile`"
        )
    mirror = os.environ.get("CREWGATE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    with tempfile.TemporaryDirectory(prefix="crewgate-rootfs-") as scratch:
        root = Path(scratch, "root")
        say(f"debootstrap {SUITE} ({PACKAGES}) from {mirror}: about a minute")
        _run(["debootstrap", "--variant=minbase", f"--include={PACKAGES}", SUITE, str(root), mirror])
        _finish_rootfs(root)
        tarball = Path(scratch, "rootfs.tar")
        say("packing the root filesystem")
        _run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(tarball), "."])
        say(f"importing as {tag}")
        repository, _, version = tag.rpartition(":")
        client.api.import_image(
            src=str(tarball),
            repository=repository,
            tag=version,
            changes=[
                f"USER {SANDBOX_UID}:{SANDBOX_UID}",
                "WORKDIR /workspace",
                f"ENV PATH={PATH_ENV}",
                f"LABEL crewgate.version={VERSION}",
                'CMD ["python3"]',
            ],
        )
    found = image_id(client, tag)
    if found is None:
        raise SandboxUnavailable(f"docker import reported success but {tag} is not there")
    return found


def _finish_rootfs(root: Path) -> None:
    """Add the sandbox user, /workspace, the environment folder, `python`, and drop package caches."""
    with (root / "etc/passwd").open("a") as passwd:
        passwd.write(f"sandbox:x:{SANDBOX_UID}:{SANDBOX_UID}:crewgate sandbox:/workspace:/usr/sbin/nologin\n")
    with (root / "etc/group").open("a") as group:
        group.write(f"sandbox:x:{SANDBOX_UID}:\n")
    workspace = root / "workspace"
    for folder in (workspace, root / ENV_PREFIX.lstrip("/")):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, SANDBOX_UID, SANDBOX_UID)
    python = root / "usr/bin/python"
    if not python.exists():
        python.symlink_to("python3")
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
        shutil.rmtree(root / cache, ignore_errors=True)


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv, no shell
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-2000:]
        raise SandboxUnavailable(f"`{' '.join(argv[:3])} ...` failed with exit {done.returncode}:\n{tail}")
