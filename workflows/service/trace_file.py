"""A run's spans as an OTLP/JSON file, rebuilt from its records: for a bug report, without a collector.

The same tree and ids as the live export (workflows/runs/spans.py): the trace id
and root span id come from the run id, so a file and a collector's copy of one
run line up. Times come from the records: steps from their start and end,
each member turn's `chat` and `execute_tool code` spans from when the turn was
recorded back through its model latency and its cells' durations, the gate wait
from the review's creation to its first decision, each decision an instant. The
shape is OTLP's JSON encoding of an ExportTraceServiceRequest (ids in hex, times
in nanoseconds as strings), which collectors accept. It holds no prompt, reply,
code or output (and so no secret): names, times, tokens, costs, statuses and ids.
"""

import datetime
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agents.telemetry import provider_and_model
from executors._version import VERSION

from ..plain import json_int, json_list, json_number, json_object, json_text
from ..runs.spans import trace_ids, unix_ns
from ..store.records import parse_time
from ..store.rows import TraceRecord

if TYPE_CHECKING:
    from ..runs.services import RunServices

INTERNAL, CLIENT = 1, 3  # OTLP SpanKind
ERROR = 2  # OTLP StatusCode


@dataclass(frozen=True)
class OtlpTrace:
    """A run's spans as an OTLP/JSON ExportTraceServiceRequest (`document`), and how many spans it holds."""

    document: dict[str, object]
    spans: int


def run_otlp_json(services: "RunServices", run_id: str) -> OtlpTrace:
    """The run's spans as an OTLP/JSON ExportTraceServiceRequest."""
    records = services.records
    run = records.run(run_id)
    trace_id, root_id = trace_ids(run_id)
    common = {"crewgate.run.id": run_id, "crewgate.runbook": f"{run.runbook}@{run.version}"}
    builder = _Spans(f"{trace_id:032x}", common)
    root = f"{root_id:016x}"
    ended = run.updated_at
    builder.add(
        root,
        None,
        f"run {common['crewgate.runbook']}",
        run.created_at,
        ended,
        {"crewgate.run.status": run.status},
    )
    events = records.trace(run_id)
    for step in records.steps(run_id):
        key = f"{step.step_id}#{step.attempt}"
        step_span = builder.add(
            _id(run_id, "step", key),
            root,
            f"step {step.step_id}",
            step.started_at,
            step.finished_at or ended,
            {
                "crewgate.step.id": step.step_id,
                "crewgate.step.attempt": step.attempt,
                "crewgate.step.kind": step.kind,
                "crewgate.step.status": step.status,
            },
            failed=step.status == "failed",
        )
        mine = [e for e in events if e.step_id == step.step_id and e.attempt == step.attempt]
        _members(builder, run_id, step_span, key, mine)
    for review in records.reviews_of_run(run_id):
        decisions = records.decisions(review.id)
        attributes = {"crewgate.review.id": review.id, "crewgate.artifact.sha256": review.artifact_sha256}
        waited_until = decisions[0].created_at if decisions else review.closed_at or ended
        builder.add(
            _id(run_id, "gate", review.id),
            root,
            f"gate wait {review.step_id}",
            review.created_at,
            waited_until,
            {**attributes, "crewgate.review.status": review.status},
        )
        for number, decision in enumerate(decisions):
            builder.add(
                _id(run_id, "decision", f"{review.id}#{number}"),
                root,
                f"review {decision.decision}",
                decision.created_at,
                decision.created_at,
                {**attributes, "crewgate.reviewer": decision.reviewer, "crewgate.decision": decision.decision},
            )
    resource = {"service.name": "crewgate", "service.version": VERSION}
    document: dict[str, object] = {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes(resource)},
                "scopeSpans": [{"scope": {"name": "crewgate", "version": VERSION}, "spans": builder.spans}],
            }
        ]
    }
    return OtlpTrace(document, len(builder.spans))


def _members(builder: "_Spans", run_id: str, step_span: str, key: str, events: list[TraceRecord]) -> None:
    """An `invoke_agent` span per member of the step, its turns' `chat` and `execute_tool code` spans inside."""
    by_member: dict[str, list[TraceRecord]] = {}
    for event in events:
        if event.member != "crewgate":  # crewgate's own notes (a sandbox lost) are not a member's work
            by_member.setdefault(event.member, []).append(event)
    for member, turns in by_member.items():
        first, last = turns[0], turns[-1]
        start = _at(first.created_at) - _spent(first.data)
        model = str(first.data.get("model", ""))
        provider, name = provider_and_model(model)
        agent = builder.add(
            _id(run_id, "agent", f"{key}/{member}"),
            step_span,
            f"invoke_agent {member}",
            start,
            _at(last.created_at),
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": member, "gen_ai.provider.name": provider},
        )
        for event in turns:
            _turn(builder, run_id, agent, f"{key}/{member}", event, provider, name)


def _turn(builder: "_Spans", run_id: str, agent: str, key: str, event: TraceRecord, provider: str, model: str) -> None:
    data = event.data
    recorded = _at(event.created_at)
    cells_end = recorded
    chat_end = cells_end - datetime.timedelta(seconds=json_number(data.get("exec_duration_s")))
    chat_start = chat_end - datetime.timedelta(seconds=json_number(data.get("llm_latency_s")))
    usage = json_object(data.get("usage"))
    attributes: dict[str, object] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": json_int(usage.get("prompt_tokens")),
        "gen_ai.usage.output_tokens": json_int(usage.get("completion_tokens")),
        "crewgate.cost_usd": json_number(usage.get("cost_usd")),
        "crewgate.turn": event.turn,
        "crewgate.turn.status": json_text(data.get("status"), "turn"),
    }
    builder.add(
        _id(run_id, "chat", f"{key}/{event.id}"),
        agent,
        f"chat {model}",
        chat_start,
        chat_end,
        attributes,
        kind=CLIENT,
    )
    at = chat_end
    for number, recorded_result in enumerate(json_list(data.get("results")), start=1):
        result = json_object(recorded_result)
        ends = at + datetime.timedelta(seconds=json_number(result.get("duration_s")))
        cell: dict[str, object] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "code",
            "crewgate.timed_out": bool(result.get("timed_out")),
        }
        if result.get("error"):
            cell["error.type"] = str(result["error"])
        builder.add(
            _id(run_id, "cell", f"{key}/{event.id}/{number}"),
            agent,
            "execute_tool code",
            at,
            ends,
            cell,
            failed=bool(result.get("error")),
        )
        at = ends


class _Spans:
    def __init__(self, trace_id: str, common: Mapping[str, object]) -> None:
        self.trace_id = trace_id
        self.common = common
        self.spans: list[dict[str, object]] = []

    def add(
        self,
        span_id: str,
        parent: str | None,
        name: str,
        start: "str | datetime.datetime",
        end: "str | datetime.datetime",
        attributes: dict[str, object],
        kind: int = INTERNAL,
        failed: bool = False,
    ) -> str:
        span: dict[str, object] = {
            "traceId": self.trace_id,
            "spanId": span_id,
            "name": name,
            "kind": kind,
            "startTimeUnixNano": str(unix_ns(start)),
            "endTimeUnixNano": str(max(unix_ns(end), unix_ns(start))),
            "attributes": _attributes({**self.common, **attributes}),
            "status": {"code": ERROR} if failed else {},
        }
        if parent is not None:
            span["parentSpanId"] = parent
        self.spans.append(span)
        return span_id


def _id(run_id: str, kind: str, key: str) -> str:
    """A span id that is the same every time the file is written (8 bytes of a hash, in hex)."""
    return hashlib.sha256(f"{run_id}/{kind}/{key}".encode()).hexdigest()[:16]


def _attributes(values: Mapping[str, object]) -> list[dict[str, object]]:
    return [{"key": key, "value": _value(value)} for key, value in values.items() if value is not None]


def _value(value: object) -> dict[str, object]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def _at(moment: str) -> datetime.datetime:
    when = parse_time(moment)
    return when if when.tzinfo else when.replace(tzinfo=datetime.UTC)


def _spent(data: Mapping[str, object]) -> datetime.timedelta:
    return datetime.timedelta(seconds=_seconds(data.get("llm_latency_s")) + _seconds(data.get("exec_duration_s")))


def _seconds(found: object) -> float:
    return float(found) if isinstance(found, int | float) else 0.0
