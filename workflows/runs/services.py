"""What a run needs from the outside world, built once per process and passed down.

The database, the blob store, how sandboxes are made (Docker unless asked
otherwise), how models are reached, and the clock: a test swaps any of them
for a real local one (LocalSandbox, a model object) without touching globals.
"""

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import Engine

from agents.telemetry import Telemetry, open_telemetry

from ..clock import Clock, DatabaseClock, wall_clock
from ..errors import RunError, StoreCorrupt
from ..store.blobs import Blobs, BlobStore
from ..store.database import Store
from ..store.database_blobs import DatabaseBlobStore
from ..store.location import crewgate_home
from ..store.reading import Reader
from ..store.records import Records

if TYPE_CHECKING:  # imported where used: a read command (`runs list`) opens services and never needs them
    from agents import ChatModel
    from executors import SandboxLimits
    from executors.environment import Build
    from executors.protocol import Sandbox

    from ..runbook.loader import LoadedRunbook

log = logging.getLogger("crewgate.runs")


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Sandboxes(Protocol):
    """Makes a run's sandbox, and removes whatever a run left behind."""

    def pin(self, image: str, runtime: str = "runc") -> str:
        """The exact image a new run will use (its id), or a clear error before anything is recorded (the image
        or the runtime missing)."""
        ...

    def environment(self, build: "Build", say: Callable[[str], None]) -> str:
        """The id of the environment image `build` asks for: found here, or built now."""
        ...

    def start(self, run_id: str, image: str | None, limits: "SandboxLimits", runtime: str = "runc") -> "Sandbox": ...

    def reap(self, run_id: str) -> None: ...

    def reap_orphans(self) -> int: ...


class DockerSandboxes:
    """Hardened containers, labelled with their run so they can be found and reaped."""

    def pin(self, image: str, runtime: str = "runc") -> str:
        """Fail closed (Docker unreachable, image or runtime missing) before a run is recorded."""
        from executors.engine import engine
        from executors.errors import SandboxUnavailable
        from executors.image import image_id
        from executors.runtimes import require_runtime

        with engine() as client:
            require_runtime(client, runtime)
            found = image_id(client, image)
        if found is None:
            raise SandboxUnavailable(f"sandbox image {image} is missing: run `crewgate sandbox build`")
        return found

    def environment(self, build: "Build", say: Callable[[str], None]) -> str:
        from executors.engine import engine
        from executors.environment import build_environment

        with engine() as client:
            return build_environment(client, build, say)

    def start(self, run_id: str, image: str | None, limits: "SandboxLimits", runtime: str = "runc") -> "Sandbox":
        from executors import DockerSandbox

        return DockerSandbox(image=image, limits=limits, labels={"crewgate.run": run_id}, runtime=runtime).start()

    def reap(self, run_id: str) -> None:
        """Remove every container of the run, including one created by a process that died before starting it."""
        from docker.errors import DockerException

        from executors.engine import engine
        from executors.errors import SandboxUnavailable
        from executors.prune import prune

        try:
            with engine() as client:
                prune(client, run=run_id)
        except (SandboxUnavailable, DockerException) as exc:  # the run is over either way; the worker prunes later
            log.warning("could not remove run %s's containers: %s", run_id, exc)

    def reap_orphans(self) -> int:
        """Remove containers whose process died (even ones created and never started); fails closed without Docker."""
        from executors.engine import engine
        from executors.prune import prune

        with engine() as client:
            return len(prune(client))


class LocalSandboxes:
    """Host subprocesses: NOT a security boundary. Only when asked for by name (tests, development)."""

    def pin(self, image: str, runtime: str = "runc") -> str:
        return "local (not isolated)"

    def environment(self, build: "Build", say: Callable[[str], None]) -> str:
        raise RunError("sandbox.setup builds an image: it needs the Docker sandbox, not the local one")

    def start(self, run_id: str, image: str | None, limits: "SandboxLimits", runtime: str = "runc") -> "Sandbox":
        from executors import LocalSandbox

        return LocalSandbox(limits=limits).start()  # no runtime: not isolated at all (tests, development)

    def reap(self, run_id: str) -> None:
        """A local sandbox dies with its process; nothing outlives it."""

    def reap_orphans(self) -> int:
        return 0


@dataclass(frozen=True)
class RunServices:
    """One per process. `model` None means litellm (real providers and `scripted/...`).

    `telemetry` None: no OTLP endpoint is set, and no span is made. `progress` hears about slow work
    a person may be waiting on (an environment building); by default it goes to stderr.
    """

    store: Store
    records: Records
    blobs: Blobs
    sandboxes: Sandboxes = field(default_factory=DockerSandboxes)
    model: "ChatModel | None" = None
    clock: Clock = wall_clock
    telemetry: Telemetry | None = None
    progress: Callable[[str], None] = field(default=lambda line: _to_stderr(line))

    @property
    def reader(self) -> Reader:
        """The read commands' SQL text on this process's engine (store/reading.py)."""
        return self.records.reader

    def pinned_runbook(self, run_id: str) -> "LoadedRunbook":
        """The exact registered runbook content the run was pinned to."""
        run = self.records.run(run_id)
        loaded = self.store.get_runbook(run.runbook, run.version).load()
        if loaded.sha256 != run.sha256:
            raise StoreCorrupt(
                f"run {run_id} is pinned to sha256 {run.sha256[:12]}, the store has {loaded.sha256[:12]}"
            )
        return loaded

    def runbook_as_run(self, run_id: str) -> "LoadedRunbook":
        """The pinned runbook as the run calls models: with its recorded `--model` override applied."""
        loaded = self.pinned_runbook(run_id)
        from ..runbook.models import ModelOverride

        override = ModelOverride.from_json(self.records.run(run_id).model_override)
        return replace(loaded, runbook=override.apply(loaded.runbook)) if override else loaded

    def close(self) -> None:
        if self.telemetry is not None:
            self.telemetry.shutdown()
        self.store.close()


def open_blobs(engine: Engine, folder: Path, clock: Clock = wall_clock) -> Blobs:
    """The database when it is PostgreSQL (shared by every machine), else the local folder."""
    if engine.dialect.name == "postgresql":
        return DatabaseBlobStore(engine, clock)
    return BlobStore(folder)


def open_services(
    url: str | None = None, sandboxes: Sandboxes | None = None, model: "ChatModel | None" = None
) -> RunServices:
    """The services of this crewgate home (or of database `url`); time is the database's (clock.py)."""
    store = Store(url)
    clock = DatabaseClock(store.engine)
    return RunServices(
        store=store,
        records=Records(store.engine, clock),
        blobs=open_blobs(store.engine, crewgate_home() / "blobs", clock),
        sandboxes=sandboxes or DockerSandboxes(),
        model=model,
        clock=clock,
        telemetry=open_telemetry(),
    )
