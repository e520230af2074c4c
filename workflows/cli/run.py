"""`crewgate run` and `crewgate worker`."""

import getpass
import os
import sys
import time

import click

from ._progress import reporter


def _finish(code: int) -> None:
    """Leave without waiting on DBOS threads (a run waiting at a gate stays waiting in the database)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@click.command()
@click.argument("reference")
@click.option("-i", "--input", "pairs", multiple=True, metavar="NAME=VALUE", help="A runbook input (repeatable).")
@click.option("--requester", default=None, help="Who starts the run [default: your user name].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
@click.option("--detach", is_flag=True, help="Queue the run for `crewgate worker` and return at once.")
def run(reference: str, pairs: tuple[str, ...], requester: str | None, as_json: bool, detach: bool) -> None:
    """Run a runbook: a file path, NAME@VERSION, or NAME (its latest registered version).

    Exit codes: 0 done, 1 failed or rejected, 2 bad input, 3 environment (Docker), 10 waiting at a gate.
    """
    from ..engine.env import env
    from ..engine.launch import create_run, start_and_follow
    from ..inputs import parse_pairs, resolve_inputs
    from ..runbook.resolve import resolve_runbook

    loaded = resolve_runbook(reference, env().store)
    inputs = resolve_inputs(loaded.runbook, parse_pairs(pairs))
    run_id = create_run(loaded, inputs, requester or getpass.getuser())
    if detach:
        from ..engine.durable import QUEUE

        _enqueue(run_id, QUEUE)
        click.echo(f"queued run {run_id}; `crewgate worker` runs it, `crewgate runs show {run_id}` follows it")
        return
    if not as_json:
        click.echo(f"run {run_id}: {loaded.ref} (sha256 {loaded.sha256[:12]})")
        _say_base(run_id, inputs)
    _finish(start_and_follow(run_id, reporter(as_json)))


def _say_base(run_id: str, inputs: dict[str, object]) -> None:
    """Say which tree the run starts from, and that working-tree changes are not part of it."""
    from pathlib import Path

    from ..base import left_out
    from ..engine.env import env

    base_commit = env().records.run(run_id)["base_commit"]
    if base_commit is None:
        return
    skipped = left_out(Path(str(inputs["repo"])))
    note = f"; {skipped} uncommitted, untracked or ignored path(s) are left out" if skipped else ""
    click.echo(f"  base: commit {base_commit[:12]} (committed files only{note})")


def _enqueue(run_id: str, queue: str) -> None:
    from executors._version import VERSION

    from ..engine.launch import client

    dbos = client()
    try:
        dbos.enqueue(
            {"queue_name": queue, "workflow_name": "run_workflow", "workflow_id": run_id, "app_version": VERSION},
            run_id,
        )
    finally:
        dbos.destroy()


@click.command()
@click.option("--until-idle", is_flag=True, help="Exit once nothing is queued or running (waiting runs do not count).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
def worker(until_idle: bool, as_json: bool) -> None:
    """Run queued runs and recover interrupted ones (from any process), then keep serving the queue."""
    from dbos import DBOS

    from ..engine.durable import launch
    from ..engine.env import env
    from ..engine.launch import client, wake_decided

    say = reporter(as_json)
    launch("worker")
    dbos = client()
    pending = dbos.list_workflows(status=["PENDING", "ENQUEUED"])
    dbos.destroy()
    others = sorted({w.executor_id for w in pending if w.executor_id and w.executor_id != "worker"})
    if others:
        DBOS._recover_pending_workflows(others)  # take over runs whose process died
    woken = wake_decided()
    say({"event": "worker", "status": "started", "recovered": len(pending), "woken": woken})
    while True:
        time.sleep(1.0)
        if until_idle:
            active = [r for r in env().records.list_runs(500) if r["status"] in ("queued", "running")]
            if not active:
                say({"event": "worker", "status": "idle"})
                _finish(0)
