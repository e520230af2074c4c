"""Shared fixtures and the marker policy.

`docker` tests need a reachable engine and the sandbox image, `postgres` tests
PostgreSQL's programs (tests/postgres.py starts a server), `browser` tests
Playwright and a Chromium (tests/browser.py). Locally they skip with the reason
when something is missing; with CREWGATE_REQUIRE_DOCKER=1, _POSTGRES=1 or
_BROWSER=1 (as in CI) they fail instead, so a green CI always means they ran.
"""

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from executors import DockerSandbox, LocalSandbox, SandboxLimits
from executors.image import default_image
from tests.browser import browser_missing
from tests.durable_helpers import Crewgate, make_repo
from tests.postgres import PostgresServer, postgres_missing

os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("CREWGATE_HOST_TIMEOUT_S", "4")  # a killed process's runs are taken over after 4 s, not 30

FAST_LIMITS = SandboxLimits(timeout_s=10.0, grace_s=1.0)


@functools.cache
def docker_missing() -> str | None:
    """Why Docker tests cannot run here, or None when they can."""
    from executors.engine import engine
    from executors.errors import SandboxUnavailable
    from executors.image import image_id

    try:
        with engine(timeout=5) as client:
            present = image_id(client, default_image()) is not None
    except SandboxUnavailable as exc:
        return str(exc)
    if not present:
        return f"sandbox image {default_image()} missing: run `crewgate sandbox build` (make test does)"
    return None


@functools.cache
def runsc_missing() -> str | None:
    """Why gVisor (runsc) tests cannot run here, or None when the engine offers runsc."""
    from executors.engine import engine
    from executors.errors import SandboxUnavailable
    from executors.runtimes import require_runtime

    try:
        with engine(timeout=5) as client:
            require_runtime(client, "runsc")
    except SandboxUnavailable as exc:
        return str(exc)
    return docker_missing()


RUNTIMES = ["runc", pytest.param("runsc", marks=pytest.mark.runsc)]  # sandbox suites run under both tiers


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, so the workers end on short tests instead of one waiting on a long one.

    Every xdist worker collects and sorts the same way, so their orders agree.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, missing, required in (
        ("docker", docker_missing, "CREWGATE_REQUIRE_DOCKER"),
        ("postgres", postgres_missing, "CREWGATE_REQUIRE_POSTGRES"),
        ("browser", browser_missing, "CREWGATE_REQUIRE_BROWSER"),
        ("runsc", runsc_missing, "CREWGATE_REQUIRE_RUNSC"),
    ):
        if item.get_closest_marker(marker) is None:
            continue
        reason = missing()
        if reason is None:
            continue
        if os.environ.get(required) == "1":
            pytest.fail(f"{required}=1 but {marker} tests cannot run: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server per pytest worker, started on first use."""
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def pg_cg(tmp_path: Path, postgres_server: PostgresServer) -> Iterator[Crewgate]:
    """A crewgate installation on a fresh PostgreSQL database (blobs in the database too)."""
    installation = Crewgate(tmp_path / "home", database_url=postgres_server.new_database())
    yield installation
    installation.stop_all()


@pytest.fixture
def cg(tmp_path: Path) -> Iterator[Crewgate]:
    """A crewgate installation of the test's own: database, blobs, registered runbooks."""
    installation = Crewgate(tmp_path / "home")
    yield installation
    installation.stop_all()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git copy of the calculator example with one commit on main."""
    return make_repo(tmp_path / "repo")


@pytest.fixture
def docker_box() -> Iterator[DockerSandbox]:
    with DockerSandbox(limits=FAST_LIMITS) as box:
        yield box


@pytest.fixture(
    params=[
        pytest.param("docker", marks=pytest.mark.docker),
        pytest.param("docker-runsc", marks=[pytest.mark.docker, pytest.mark.runsc]),
        "local",
    ]
)
def any_box(request: pytest.FixtureRequest) -> Iterator[DockerSandbox | LocalSandbox]:
    """The contract suite's subject: every Sandbox implementation in turn, Docker under both runtimes."""
    if request.param == "local":
        box: DockerSandbox | LocalSandbox = LocalSandbox(limits=FAST_LIMITS)
    else:
        box = DockerSandbox(limits=FAST_LIMITS, runtime="runsc" if request.param == "docker-runsc" else "runc")
    with box:
        yield box
