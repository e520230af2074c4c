"""Reaching the Docker engine, failing closed when it is not there."""

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .errors import SandboxUnavailable

if TYPE_CHECKING:
    import docker

FIX = (
    "Start the Docker engine (`sudo systemctl start docker`, or as root `setsid dockerd >/tmp/dockerd.log 2>&1 &`) "
    "or point DOCKER_HOST at a running one, then run `crewgate sandbox doctor`. "
    "crewgate never runs model code on this machine instead."
)


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


@contextlib.contextmanager
def engine(timeout: float = 10.0) -> "Iterator[docker.DockerClient]":
    """`connect()` for one job: the client is closed afterwards."""
    client = connect(timeout)
    try:
        yield client
    finally:
        client.close()


def connect(timeout: float = 10.0) -> "docker.DockerClient":
    """Return a client to a reachable engine, or raise SandboxUnavailable with the fix."""
    import docker
    from docker.errors import DockerException

    client = None
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except (DockerException, OSError) as exc:
        if client is not None:
            client.close()
        raise SandboxUnavailable(f"Docker engine unreachable at {engine_address()}: {exc}. {FIX}") from exc
    return client
