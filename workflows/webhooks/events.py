"""Recording events for webhooks: one delivery row per subscribed hook, written once.

An event is recorded where it happens (the gate step, the decision, the run's
last step) and posted later by a durable delivery workflow (delivery.py), so a
slow or dead receiver never holds a run or a reviewer. Each row's event key is
unique per hook: a step replayed after a crash records nothing twice.

The row's body is the exact JSON posted and signed: `event`, `id` (the
delivery id, also sent as X-Crewgate-Delivery, for receivers to drop repeats),
`created_at`, `text` (one line for Slack and chat tools, escaped for them) and
`data` (the structured event).

Every stored value in `text` goes through `_chat` (the one renderer, visible.py,
then Slack's escapes): ids, names, messages, statuses and hashes alike, so no
field can ping a channel, forge a link or hide characters in a chat line. The
`data` fields are the stored values as they are: a receiver showing them to a
person escapes them itself.
"""

import contextlib
import json
import secrets

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ..clock import Clock, stamp, wall_clock
from ..plain import JsonObject
from ..store.records import Records
from ..store.tables import webhook_deliveries, webhooks
from ..visible import display_lines, visible

TEXT_LIMIT = 300  # characters of a run's final message quoted in `text`


def record_event(
    engine: Engine, event: str, subject: str, text: str, data: JsonObject, clock: Clock = wall_clock
) -> list[str]:
    """Record `event` about `subject` for every enabled hook that wants it; the ids of the new deliveries.

    A hook that already has this event (same subject) gets nothing new.
    """
    with engine.connect() as db:
        hooks = db.execute(select(webhooks.c.id, webhooks.c.events).where(webhooks.c.disabled == 0)).all()
    created = []
    for hook_id, events in hooks:
        if event not in json.loads(events):
            continue
        delivery_id, at = secrets.token_hex(8), stamp(clock())
        body = {"event": event, "id": delivery_id, "created_at": at, "text": text, "data": data}
        row = {
            "id": delivery_id,
            "webhook_id": hook_id,
            "event": event,
            "event_key": f"{event}:{subject}",
            "body": json.dumps(body, sort_keys=True, ensure_ascii=False),
            "status": "pending",
            "attempts": 0,
            "created_at": at,
        }
        # One transaction per row, outside the suppress: a refused duplicate is rolled back, not committed.
        with contextlib.suppress(IntegrityError), engine.begin() as db:
            db.execute(insert(webhook_deliveries).values(**row))
            created.append(delivery_id)
    return created


def review_created(engine: Engine, review_id: str) -> list[str]:
    """`review.created`: a review item waits for a decision."""
    records = Records(engine)
    item = records.review(review_id)
    run = records.run(item.run_id)
    runbook = f"{run.runbook}@{run.version}"
    data: JsonObject = {
        "review_id": review_id,
        "run_id": run.id,
        "runbook": runbook,
        "step_id": item.step_id,
        "artifact_sha256": item.artifact_sha256,
        "status": item.status,
        "requester": item.requester,
        "required": item.policy.get("required", 1),
        "expires_at": item.expires_at,
        "batch_id": run.batch_id,
    }
    text = (
        f"crewgate: review {_chat(review_id)} of run {_chat(run.id)} ({_chat(runbook)}) waits for approval; "
        f"artifact sha256 {_chat(item.artifact_sha256[:12])}. See it: crewgate review show {_chat(review_id)}"
    )
    return record_event(engine, "review.created", review_id, text, data)


def review_decided(engine: Engine, review_id: str, reviewer: str, status: str) -> list[str]:
    """`review.decided`: `reviewer` (a stored person key) decided; `status` is the item's status after it."""
    records = Records(engine)
    item = records.review(review_id)
    run = records.run(item.run_id)
    decision = next(found for found in records.decisions(review_id) if found.reviewer == reviewer)
    runbook = f"{run.runbook}@{run.version}"
    data: JsonObject = {
        "review_id": review_id,
        "run_id": run.id,
        "runbook": runbook,
        "artifact_sha256": decision.artifact_sha256,
        "reviewer": reviewer,
        "decision": decision.decision,
        "message": decision.message,
        "step": decision.target_step,
        "review_status": status,
        "decided_at": decision.created_at,
    }
    verb = {"approve": "approved", "reject": "rejected", "request_changes": "requested changes on"}[decision.decision]
    text = (
        f"crewgate: {_chat(reviewer)} {verb} review {_chat(review_id)} of run {_chat(run.id)} "
        f"({_chat(runbook)}); the review is now {_chat(status.replace('_', ' '))}"
    )
    return record_event(engine, "review.decided", f"{review_id}:{reviewer}", text, data)


def run_finished(engine: Engine, run_id: str, status: str, message: str) -> list[str]:
    """`run.finished`: the run ended `status` (promoted, completed, rejected, failed, cancelled)."""
    records = Records(engine)
    run = records.run(run_id)
    done = [found for found in records.promotions(run_id) if found.status == "done"]
    runbook = f"{run.runbook}@{run.version}"
    promotion: JsonObject | None = (
        {"target": done[0].target, "ref": done[0].ref, "artifact_sha256": done[0].artifact_sha256} if done else None
    )
    data: JsonObject = {
        "run_id": run_id,
        "runbook": runbook,
        "status": status,
        "message": message,
        "requester": run.requester,
        "batch_id": run.batch_id,
        "schedule": run.schedule,
        "promotion": promotion,
    }
    said = message.strip().removeprefix(f"{status}: ")  # the engine's "rejected: <why>" says `rejected` once
    detail = f": {_chat(display_lines(said)[0][:TEXT_LIMIT])}" if said else ""  # a U+2028 is escaped, not a break
    where = f" to {_chat(done[0].ref or done[0].target)}" if done else ""
    text = f"crewgate: run {_chat(run_id)} ({_chat(runbook)}) {_chat(status)}{where}{detail}"
    return record_event(engine, "run.finished", run_id, text, data)


def _chat(text: str) -> str:
    """`text` safe in a chat line: nothing hidden (see visible.py), and Slack's `&`, `<`, `>` escaped,
    so a name or message cannot mention @channel or forge a link."""
    shown = visible(str(text), multiline=False).text
    return shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
