"""Starting, following, waking and hosting runs: what the CLI commands call.

Which process hosts which run: `crewgate run` launches DBOS with the executor
id `run-<id>`, so it recovers only its own run; the command that approves a
run launches with that run's executor id to continue it; `crewgate worker`
hosts everything else. A run waiting at a gate is hosted by nobody: its
state is in the database, and the command that decides it wakes it up.
"""

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from executors._tarsafe import pack_directory, pack_files
from executors.engine import engine
from executors.errors import SandboxUnavailable
from executors.image import default_image, image_id

from ..base import commit_snapshot, head_commit
from ..errors import RunError
from ..identity import person_key
from ..records import TERMINAL
from ..runbook.loader import LoadedRunbook
from ..runbook.schema import GitTarget, PromoteStep
from ..store import database_url
from .env import env

EXIT_OK, EXIT_FAILED, EXIT_WAITING = 0, 1, 10
REPO_INPUT = "repo"
MAX_REPO_BYTES = 64 * 1024 * 1024


def create_run(loaded: LoadedRunbook, inputs: dict[str, Any], requester: str) -> str:
    """Record a new run pinned to the runbook's exact content; return its id."""
    book = loaded.runbook
    requester = person_key(requester, "requester")
    run_id = uuid.uuid4().hex[:12]
    repo = Path(inputs[REPO_INPUT]) if REPO_INPUT in inputs else None
    base_commit = None
    if repo is not None:
        if not repo.is_dir():
            raise RunError(f"input repo={repo} is not a folder")
        if (repo / ".git").exists():  # the recorded commit's tree, never the working tree
            base_commit = head_commit(repo)
            snapshot = commit_snapshot(repo, base_commit, MAX_REPO_BYTES)
        else:
            snapshot = pack_directory(repo, "", MAX_REPO_BYTES)
    else:
        snapshot = pack_files({})
    if base_commit is None and any(isinstance(s, PromoteStep) and isinstance(s.promote, GitTarget) for s in book.steps):
        raise RunError(f"{loaded.ref} promotes to git, but input repo={repo} is not a git repository with a commit")
    image = book.sandbox.image or default_image()
    with engine() as client:  # fail closed before anything is recorded
        found = image_id(client, image)
    if found is None:
        raise SandboxUnavailable(f"sandbox image {image} is missing: run `crewgate sandbox build`")
    models = {name: member.model or book.model for name, member in book.crew.members.items()}
    env().records.create_run(
        id=run_id,
        runbook=book.name,
        version=book.version,
        sha256=loaded.sha256,
        inputs=json.dumps(inputs),
        models=json.dumps(models),
        image=image,
        image_id=found,
        requester=requester,
        base_commit=base_commit,
        base_snapshot=env().blobs.put(snapshot),
    )
    return run_id


def exit_code(status: str) -> int:
    if status == "waiting":
        return EXIT_WAITING
    return EXIT_OK if status in ("promoted", "completed") else EXIT_FAILED


def follow(run_id: str, say: Callable[[dict[str, Any]], None], poll_s: float = 0.2, replay: bool = True) -> int:
    """Report progress, in time order, until the run ends or waits at a pending review; return its exit code.

    With `replay=False` only what happens from now on is reported (a run continued after a decision).
    """
    records = env().records
    seen_steps: dict[tuple[str, int], str] = {}
    last_trace_id = 0
    if not replay:
        seen_steps = {(row["step_id"], row["attempt"]): row["status"] for row in records.steps(run_id)}
        last_trace_id = max((item["id"] for item in records.trace(run_id)), default=0)
    started = time.monotonic()
    while True:
        run = records.run(run_id)
        news: list[tuple[str, dict[str, Any]]] = []
        for row in records.steps(run_id):
            key = (row["step_id"], row["attempt"])
            if seen_steps.get(key) != row["status"]:
                seen_steps[key] = row["status"]
                news.append(
                    (
                        row["finished_at"] or row["started_at"],
                        {
                            "event": "step",
                            "run": run_id,
                            "step": row["step_id"],
                            "attempt": row["attempt"],
                            "kind": row["kind"],
                            "status": row["status"],
                            "output": row["output"][-400:],
                        },
                    )
                )
        for item in records.trace(run_id, after_id=last_trace_id):
            last_trace_id = item["id"]
            usage = item["data"].get("usage", {})
            news.append(
                (
                    item["created_at"],
                    {
                        "event": "turn",
                        "run": run_id,
                        "step": item["step_id"],
                        "member": item["member"],
                        "turn": item["turn"],
                        "status": item["data"].get("status"),
                        "tokens": usage.get("total_tokens", 0),
                    },
                )
            )
        for _, news_event in sorted(news, key=lambda pair: pair[0]):
            say({**news_event, "elapsed_s": round(time.monotonic() - started, 1)})
        pending = records.pending_reviews(run_id)
        if run["status"] in TERMINAL or (run["status"] == "waiting" and pending):
            event: dict[str, Any] = {"event": "run", "run": run_id, "status": run["status"], "message": run["message"]}
            if pending:
                event.update(review=pending[-1]["id"], artifact_sha256=pending[-1]["artifact_sha256"])
            say(event)
            return exit_code(run["status"])
        time.sleep(poll_s)


def client() -> Any:
    """A DBOS client for commands that only send, enqueue or read (they must not recover runs)."""
    from dbos import DBOS, DBOSClient
    from dbos._serialization import DBOSPortableJSON

    DBOS.migrate(database_url())  # the client never creates DBOS's tables itself; this is idempotent
    return DBOSClient(system_database_url=database_url(), serializer=DBOSPortableJSON)


def wake(run_id: str, review_id: str, status: str) -> None:
    """Tell a waiting run its review was decided (idempotent; the decision rows are the truth)."""
    from .durable import WAKE_TOPIC

    dbos = client()
    try:
        dbos.send(
            run_id,
            {"review": review_id},
            topic=f"{WAKE_TOPIC}:{review_id}",
            idempotency_key=f"wake-{review_id}-{status}",
        )
    finally:
        dbos.destroy()


def wake_decided(run_id: str | None = None) -> list[str]:
    """Wake every waiting run (or just `run_id`) whose review is decided or has expired."""
    from .steps import is_overdue

    records = env().records
    woken = []
    for item in records.list_reviews():
        if run_id and item["run_id"] != run_id:
            continue
        if is_overdue(item):
            records.expire(item["id"])
            item = {**item, "status": "expired"}
        if item["status"] == "pending":
            continue
        if records.run(item["run_id"])["status"] == "waiting":
            wake(item["run_id"], item["id"], item["status"])
            woken.append(item["run_id"])
    return woken


def executor_of(run_id: str) -> str:
    dbos = client()
    try:
        found = dbos.list_workflows(workflow_ids=[run_id])
    finally:
        dbos.destroy()
    return str(found[0].executor_id) if found and found[0].executor_id else f"run-{run_id}"


def host(run_id: str, say: Callable[[dict[str, Any]], None]) -> int:
    """Continue an existing run in this process and follow it."""
    from .durable import launch

    launch(executor_of(run_id))
    return follow(run_id, say, replay=False)


def start_and_follow(run_id: str, say: Callable[[dict[str, Any]], None]) -> int:
    from .durable import launch, start

    launch(f"run-{run_id}")
    start(run_id)
    return follow(run_id, say)
