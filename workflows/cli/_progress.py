"""Printing run progress: a line per step and per member turn, or one JSON object per line."""

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from ._display import terminal_safe

MARKS = {
    "running": "▶",
    "done": "✔",
    "failed": "✘",
    "waiting": "⏸",
    "approved": "✔",
    "rejected": "✘",
    "changes_requested": "↺",
}


def reporter(as_json: bool) -> Callable[[dict[str, Any]], None]:
    def say(event: dict[str, Any]) -> None:
        if as_json:
            click.echo(json.dumps(event, default=str))
        else:
            click.echo(_line(event))
        sys.stdout.flush()

    return say


def _line(event: dict[str, Any]) -> str:
    elapsed = f"{event.get('elapsed_s', 0):>6.1f}s"
    if event["event"] == "step":
        mark = MARKS.get(event["status"], "·")
        attempt = f" (attempt {event['attempt']})" if event["attempt"] > 1 else ""
        text = f"{elapsed} {mark} {event['step']}{attempt} [{event['kind']}] {event['status']}"
        if event["status"] in ("done", "failed") and event["output"]:
            first = terminal_safe(event["output"].strip().splitlines()[-1])[:100]
            text += f": {first}"
        return text
    if event["event"] == "turn":
        what = "final answer" if event.get("status") == "final" else event.get("status") or "turn"
        return f"{elapsed}     {event['member']} turn {event['turn']} ({what}, {event['tokens']} tokens)"
    if event["event"] == "worker":
        details = ""
        if "executor" in event:
            details = f" as {event['executor']}: removed {event['reaped']} orphaned container(s)"
            if event.get("missed_ticks"):
                details += f", recorded {event['missed_ticks']} missed schedule tick(s)"
        elif "runs" in event:
            details = f": {', '.join(event['runs'])}"
        elif "deliveries" in event:
            details = f" webhook deliveries: {', '.join(event['deliveries'])}"
        return f"worker {event['status']}{details}"
    status, run = event["status"], event["run"]
    if status == "waiting" and event.get("review"):
        review = event["review"]
        return (
            f"run {run} is waiting for approval: review {review} (artifact sha256 {event['artifact_sha256'][:16]}…)\n"
            f"  see it:     crewgate review show {review}\n"
            f"  approve it: crewgate review approve {review} --reviewer YOUR_NAME"
        )
    message = f": {terminal_safe(event['message'])}" if event.get("message") else ""
    return f"run {run} {status}{message}"
