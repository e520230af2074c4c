"""Printing run progress: a line per step and per member turn, or one JSON object per line."""

import datetime
import json
import sys
import threading
from collections.abc import Callable

import click

from ..plain import Event
from ..visible import display_lines
from ._display import one_line, terminal_safe

MARKS = {
    "running": "▶",
    "done": "✔",
    "failed": "✘",
    "waiting": "⏸",
    "approved": "✔",
    "rejected": "✘",
    "changes_requested": "↺",
}


def reporter(as_json: bool) -> Callable[[Event], None]:
    def say(event: Event) -> None:
        if as_json:
            click.echo(json.dumps(event, default=str))
        else:
            click.echo(_line(event))
        sys.stdout.flush()

    return say


def _line(event: Event) -> str:
    elapsed = f"{event.get('elapsed_s', 0):>6.1f}s"
    if event["event"] == "step":
        mark = MARKS.get(str(event["status"]), "·")
        attempt = f" (attempt {event['attempt']})" if event["attempt"] != 1 else ""
        text = f"{elapsed} {mark} {event['step']}{attempt} [{event['kind']}] {event['status']}"
        if event["status"] in ("done", "failed") and event["output"]:
            first = terminal_safe(display_lines(str(event["output"]).strip())[-1])[:100]
            text += f": {first}"
        return text
    if event["event"] == "turn" and event.get("tool"):
        tool = terminal_safe(one_line(str(event["tool"])))[:120]
        return f"{elapsed}     {event['member']} turn {event['turn']} called {tool}: {event.get('outcome')}"
    if event["event"] == "turn":
        what = "final answer" if event.get("status") == "final" else event.get("status") or "turn"
        return f"{elapsed}     {event['member']} turn {event['turn']} ({what}, {event['tokens']} tokens)"
    if event["event"] == "worker":
        details = ""
        if "executor" in event:
            details = f" as {event['executor']}: removed {event['reaped']} orphaned container(s)"
        elif "runs" in event:
            details = f": {_listed(event['runs'])}"
        elif "deliveries" in event:
            details = f" webhook deliveries: {_listed(event['deliveries'])}"
        elif "detail" in event:
            details = f": {one_line(str(event['detail']))}"
        return f"worker {event['status']}{details}"
    status, run = event["status"], event["run"]
    if status == "waiting" and event.get("review"):
        review = event["review"]
        return (
            f"run {run} is waiting for approval: review {review} "
            f"(artifact sha256 {str(event['artifact_sha256'])[:16]}…)\n"
            f"  see it:     crewgate review show {review}\n"
            f"  approve it: crewgate review approve {review} --reviewer YOUR_NAME"
        )
    message = f": {one_line(str(event['message']))}" if event.get("message") else ""
    return f"run {run} {status}{message}"


def _listed(ids: object) -> str:
    return ", ".join(map(str, ids)) if isinstance(ids, list | tuple) else str(ids)


def worker_reporter(as_json: bool) -> Callable[[Event], None]:
    """A worker's events, one line each, stamped with the time (the scheduler thread reports too)."""
    lock = threading.Lock()

    def say(event: Event) -> None:
        at = datetime.datetime.now(datetime.UTC)
        event = {"at": at.isoformat(timespec="milliseconds"), **event}
        text = json.dumps(event, default=str) if as_json else f"{at:%H:%M:%S} {_worker_line(event)}"
        with lock:
            click.echo(text)
            sys.stdout.flush()

    return say


def _worker_line(event: Event) -> str:
    kind = event["event"]
    detail = f": {one_line(str(event['detail']))}" if event.get("detail") else ""
    if kind == "tick" and event["outcome"] == "missed":
        span = f"{event['count']} tick(s) from {event['first']} to {event['last']}"
        return f"tick {event['schedule']} missed {span}{detail}"
    if kind == "tick":
        what = f" run {event['run']}" if event.get("run") else f" batch {event['batch']}" if event.get("batch") else ""
        return f"tick {event['schedule']}@{event['tick_at']} ({event['kind']}) {event['outcome']}{what}{detail}"
    if kind == "schedule":
        return f"schedule {event['schedule']} {event['status']}{detail}"
    if kind == "run":
        message = f": {one_line(str(event['message']))}" if event.get("message") else ""
        return f"run {event['run']} {event['status']}{message}"
    return _line(event)
