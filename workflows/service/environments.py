"""Environments on this machine's engine: listing them and removing the ones no run needs."""

import datetime
from dataclasses import dataclass

from executors.engine import engine
from executors.environment import list_environments, remove_environment

from ..runs.environments import last_used
from ..runs.services import RunServices


@dataclass(frozen=True)
class EnvironmentView:
    """One environment image, for `crewgate sandbox envs`."""

    tag: str
    id: str
    digest: str
    size: int
    created_at: str
    last_used_at: str | None
    commands: tuple[str, ...]
    unfinished_runs: tuple[str, ...]  # runs not yet ended that start from it: prune keeps it for them


@dataclass(frozen=True)
class PruneReport:
    removed: tuple[EnvironmentView, ...]
    kept: tuple[tuple[EnvironmentView, str], ...]  # and why


def environments(services: RunServices) -> list[EnvironmentView]:
    """Every environment image on this engine, newest first."""
    needed: dict[str, list[str]] = {}
    for run in services.records.active_runs():
        needed.setdefault(run.image, []).append(run.id)
    with engine() as client:
        found = list_environments(client)
    return [
        EnvironmentView(
            tag=image.tag,
            id=image.id,
            digest=image.digest,
            size=image.size,
            created_at=_iso(image.created),
            last_used_at=_iso(used) if (used := last_used(image.digest)) is not None else None,
            commands=image.commands,
            unfinished_runs=tuple(needed.get(image.tag, ())),
        )
        for image in found
    ]


def prune_environments(services: RunServices, unused_for: datetime.timedelta) -> PruneReport:
    """Remove environments this home used, that none of its unfinished runs starts from, not used within
    `unused_for`. Several homes may share one engine: each prunes only what it used (`runs/environments.py`)."""
    now = services.clock()
    removed, kept = [], []
    with engine() as client:
        images = {image.id: image for image in list_environments(client)}
        for view in environments(services):
            if view.last_used_at is None:  # another crewgate home on this engine made it: its runs are not ours to see
                kept.append((view, "not used from this crewgate home: prune it from the home whose runs use it"))
            elif view.unfinished_runs:
                kept.append((view, f"unfinished run(s) {', '.join(view.unfinished_runs)} start from it"))
            elif now - datetime.datetime.fromisoformat(view.last_used_at) < unused_for:
                kept.append((view, f"used at {view.last_used_at}, within the last {unused_for}"))
            elif (why := remove_environment(client, images[view.id])) is not None:
                kept.append((view, why))
            else:
                removed.append(view)
    return PruneReport(tuple(removed), tuple(kept))


def _iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="seconds")
