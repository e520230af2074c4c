"""`crewgate runs ...`: list, show, trace, cancel and resume runs."""

import json
import os
import sys
from typing import Any

import click

from executors.errors import BadInput

from ._display import terminal_safe
from ._output import emit_json, open_records, open_services
from ._progress import reporter


@click.group()
def runs() -> None:
    """Inspect and manage runs."""


def run_view(run_id: str) -> dict[str, Any]:
    """The documented `runs show --json` shape."""
    records = open_records()
    run = records.run(run_id)
    promotions = records.promotions(run_id)
    done = [p for p in promotions if p["status"] == "done"]
    return {
        "id": run["id"],
        "status": run["status"],
        "message": run["message"],
        "runbook": f"{run['runbook']}@{run['version']}",
        "runbook_sha256": run["sha256"],
        "inputs": json.loads(run["inputs"]),
        "models": json.loads(run["models"]),
        "image": run["image"],
        "image_id": run["image_id"],
        "requester": run["requester"],
        "base_commit": run["base_commit"],
        "created_at": run["created_at"],
        "updated_at": run["updated_at"],
        "steps": [
            {
                "id": s["step_id"],
                "attempt": s["attempt"],
                "kind": s["kind"],
                "status": s["status"],
                "output": s["output"],
                "usage": json.loads(s["usage"]),
                "started_at": s["started_at"],
                "finished_at": s["finished_at"],
            }
            for s in records.steps(run_id)
        ],
        "promotion": {"target": done[0]["target"], "ref": done[0]["ref"], "artifact_sha256": done[0]["artifact_sha256"]}
        if done
        else None,
    }


@runs.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--limit", default=50, show_default=True)
def list_runs(as_json: bool, limit: int) -> None:
    """Recent runs, newest first."""
    rows = open_records().list_runs(limit)
    items = [
        {
            "id": r["id"],
            "runbook": f"{r['runbook']}@{r['version']}",
            "status": r["status"],
            "requester": r["requester"],
            "created_at": r["created_at"],
        }
        for r in rows
    ]
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo("no runs yet: start one with `crewgate run RUNBOOK`")
    for item in items:
        click.echo(
            f"{item['id']}  {item['status']:<10} {item['runbook']:<28} {item['requester']:<12} {item['created_at']}"
        )


@runs.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON (id, status, runbook, steps, promotion).")
def show(run_id: str, as_json: bool) -> None:
    """A run: its pins, steps and promotion."""
    view = run_view(run_id)
    if as_json:
        emit_json(view)
        return
    click.echo(f"run {view['id']}: {view['status']} {view['message']}".rstrip())
    click.echo(f"  runbook {view['runbook']} (sha256 {view['runbook_sha256'][:12]}), requested by {view['requester']}")
    click.echo(f"  image {view['image']}, inputs {json.dumps(view['inputs'])}")
    for step in view["steps"]:
        tail = terminal_safe(step["output"].strip().splitlines()[-1][:90]) if step["output"].strip() else ""
        click.echo(f"  {step['id']:<14} #{step['attempt']} {step['kind']:<8} {step['status']:<8} {tail}")
    if view["promotion"]:
        click.echo(f"  promoted to {view['promotion']['target']}: {view['promotion']['ref']}")


@runs.command(name="trace")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print every trace event as JSON.")
def trace_run(run_id: str, as_json: bool) -> None:
    """Every member turn of a run: prompts, replies, code, observations, tokens."""
    events = open_records().trace(run_id)
    if as_json:
        emit_json(events)
        return
    for event in events:
        data = event["data"]
        click.secho(
            f"[{event['step_id']} #{event['attempt']}] {event['member']} turn {event['turn']} "
            f"({data.get('status')}, {data.get('usage', {}).get('total_tokens', 0)} tokens)",
            bold=True,
        )
        if data.get("reply"):
            click.echo(terminal_safe(data["reply"]).rstrip())
        if data.get("observation"):
            click.secho(terminal_safe(data["observation"]).rstrip(), dim=True)
        if data.get("note"):
            click.echo(terminal_safe(data["note"]))


@runs.command()
@click.argument("run_id")
def cancel(run_id: str) -> None:
    """Cancel a run: it stops at its next step and its sandbox is removed."""
    from ..records import TERMINAL
    from ..runs.hosting import client

    services = open_services()
    records = services.records
    run = records.run(run_id)
    if run["status"] in TERMINAL:
        raise BadInput(f"run {run_id} already ended ({run['status']}): there is nothing to cancel")
    dbos = client()
    try:
        dbos.cancel_workflow(run_id)
    finally:
        dbos.destroy()
    records.set_run(run_id, status="cancelled", message="cancelled by request")
    services.sandboxes.reap(run_id)
    click.echo(f"run {run_id} cancelled")


@runs.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
def resume(run_id: str, as_json: bool) -> None:
    """Continue an interrupted run in this process (finished steps are not run again)."""
    from ..runs.hosting import host

    code = host(open_services(), run_id, reporter(as_json))
    sys.stdout.flush()
    os._exit(code)
