"""A run's spans as an OTLP/JSON file, rebuilt from its records: for a bug report, without a collector.

The same tree, ids and attribute names as the live export (workflows/runs/spans.py),
so a file and a collector's copy of one run line up span for span: the engine's
spans (the run, its steps, gate waits, decisions) have ids derived from the run,
and a member's spans reuse the ids recorded with its turns when the run was
traced live (a run traced without a collector gets ids derived from its records).
Attribute names come from the functions the live export uses. Times come from
the records: steps from their start and end, each member turn's `chat` and
`execute_tool code` spans from when the turn was recorded back through its model
latency and its cells' durations, the gate wait from the review's creation to its
first decision, each decision an instant. The shape is OTLP's JSON encoding of
an ExportTraceServiceRequest (ids in hex, times in nanoseconds as strings), which
collectors accept. It holds no prompt, reply,
code or output (and so no secret): names, times, tokens, costs, statuses and ids.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agents.span_shapes import (
    agent_attributes,
    cell_attributes,
    chat_attributes,
    derived_span_id,
    run_attributes,
    tool_attributes,
    usage_attributes,
)
from executors._version import VERSION

from ..plain import JsonObject, json_int, json_list, json_number, json_object, json_text
from ..runs.spans import (
    decision_attributes,
    end_attributes,
    gate_wait_attributes,
    root_attributes,
    step_attributes,
    trace_ids,
    unix_ns,
)
from ..store.rows import TERMINAL, TraceRecord, parse_time

if TYPE_CHECKING:
    from ..runs.services import RunServices

INTERNAL, CLIENT = 1, 3  # OTLP SpanKind
OK, ERROR = 1, 2  # OTLP StatusCode


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
    runbook = f"{run.runbook}@{run.version}"
    builder = _Spans(f"{trace_id:032x}", run_attributes(run_id, runbook))
    root = f"{root_id:016x}"
    ended = run.updated_at
    builder.add(
        root,
        None,
        f"run {runbook}",
        run.created_at,
        ended,
        root_attributes(run.runbook, run.status),
        failed=run.status in ("failed", "cancelled"),
        unset=run.status not in TERMINAL,  # still going, or waiting: neither OK nor an error yet
    )
    if run.status in TERMINAL:
        end = _hex(derived_span_id(run_id, "end", ""))
        failed = run.status in ("failed", "cancelled")
        builder.add(end, root, "run end", ended, ended, end_attributes(run.status), failed=failed)
    events = records.trace(run_id)
    for step in records.steps(run_id):
        key = f"{step.step_id}#{step.attempt}"
        step_span = builder.add(
            _hex(derived_span_id(run_id, "step", key)),
            root,
            f"step {step.step_id}",
            step.started_at,
            step.finished_at or ended,
            {**step_attributes(step.step_id, step.attempt, step.kind), "crewgate.step.status": step.status},
            failed=step.status == "failed",
        )
        mine = [e for e in events if e.step_id == step.step_id and e.attempt == step.attempt]
        _StepWork(builder, run_id, step_span, key).add(mine)
    for review in records.reviews_of_run(run_id):
        decisions = records.decisions(review.id)
        if not decisions and review.status == "pending":
            continue  # still waiting: its gate wait span is made when the wait ends, live and here alike
        waited_until = decisions[0].created_at if decisions else review.closed_at or ended
        builder.add(
            _hex(derived_span_id(run_id, "gate", review.id)),
            root,
            f"gate wait {review.step_id}",
            review.created_at,
            waited_until,
            {
                **gate_wait_attributes(review.step_id, review.id, review.artifact_sha256),
                "crewgate.review.status": review.status,
            },
        )
        for number, decision in enumerate(decisions):
            builder.add(
                _hex(derived_span_id(run_id, "decision", f"{review.id}#{number}")),
                root,
                f"review {decision.decision}",
                decision.created_at,
                decision.created_at,
                decision_attributes(
                    review.step_id, review.id, review.artifact_sha256, decision.reviewer, decision.decision
                ),
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


MEMBER_TURNS = ("turn", "final")  # a member's turns that made a model call; others end its work (budget, error...)


class _StepWork:
    """The spans of one step try's members: an `invoke_agent` span per member's piece of work, its turns'
    `chat` and `execute_tool code` spans inside, each tool call under its cell, and the `chat` spans of a
    crew's manager or selector under the step.

    Each keeps the id it was exported with (recorded in its trace event); a run traced without a collector
    gets ids derived from its records instead.
    """

    def __init__(self, builder: "_Spans", run_id: str, step_span: str, key: str) -> None:
        self.builder, self.run_id, self.step_span, self.key = builder, run_id, step_span, key
        self.agents: dict[str, str] = {}  # member -> the id of its current invoke_agent span
        self.pieces: dict[str, int] = {}  # member -> how many pieces of work it has had in the try

    def add(self, events: list[TraceRecord]) -> None:
        tool_calls = []
        for event in events:
            status = json_text(event.data.get("status"), "turn")
            if event.member == "crewgate":  # crewgate's own notes (a sandbox lost) are not a member's work
                continue
            if status == "tool_call":
                tool_calls.append(event)
            elif status == "coordinate":
                self._chat(event, self.step_span)
            else:
                agent = self._agent(event, status)
                if status in MEMBER_TURNS:
                    self._turn(event, agent)
        for event in tool_calls:  # after the turns: a call is recorded before the turn of the cell that made it
            self._tool(event)

    def _agent(self, event: TraceRecord, status: str) -> str:
        """The member's `invoke_agent` span this event belongs to, added on its first event."""
        recorded = json_text(_spans(event).get("agent"))
        if recorded:
            span_id = recorded
        elif event.member in self.agents and event.turn > 1:
            span_id = self.agents[event.member]
        else:  # a member's turns restart at 1 with each piece of work
            self.pieces[event.member] = self.pieces.get(event.member, 0) + 1
            span_id = _id(self.run_id, "agent", f"{self.key}/{event.member}#{self.pieces[event.member]}")
        start = _at(event.created_at) - _spent(event.data)
        if span_id not in self.builder.by_id:
            attributes = agent_attributes(event.member, "", str(event.data.get("model", "")))
            name = f"invoke_agent {event.member}"
            self.builder.add(span_id, self.step_span, name, start, event.created_at, attributes)
        self.builder.stretch(span_id, event.created_at, failed=status not in MEMBER_TURNS)
        self.agents[event.member] = span_id
        return span_id

    def _chat(self, event: TraceRecord, parent: str) -> datetime.datetime:
        """A turn's `chat` span, ending where its cells began; returns that time."""
        data = event.data
        chat_end = _at(event.created_at) - datetime.timedelta(seconds=json_number(data.get("exec_duration_s")))
        chat_start = chat_end - datetime.timedelta(seconds=json_number(data.get("llm_latency_s")))
        usage = json_object(data.get("usage"))
        finish = data.get("finish_reason")
        attributes = {
            **chat_attributes(str(data.get("model", "")), event.member),
            **usage_attributes(
                json_int(usage.get("prompt_tokens")),
                json_int(usage.get("completion_tokens")),
                json_number(usage.get("cost_usd")),
                json_text(data.get("response_model")),
                finish if isinstance(finish, str) else None,
            ),
        }
        span_id = json_text(_spans(event).get("chat")) or _id(self.run_id, "chat", f"{self.key}/{event.id}")
        name = f"chat {attributes['gen_ai.request.model']}"
        self.builder.add(span_id, parent, name, chat_start, chat_end, attributes, kind=CLIENT)
        return chat_end

    def _turn(self, event: TraceRecord, agent: str) -> None:
        at = self._chat(event, agent)
        recorded = json_list(_spans(event).get("cells"))
        for number, found in enumerate(json_list(event.data.get("results")), start=1):
            result = json_object(found)
            ends = at + datetime.timedelta(seconds=json_number(result.get("duration_s")))
            cell: dict[str, object] = {**cell_attributes(), "crewgate.timed_out": bool(result.get("timed_out"))}
            if result.get("error"):
                cell["error.type"] = str(result["error"])
            exported = json_text(recorded[number - 1]) if number <= len(recorded) else ""
            span_id = exported or _id(self.run_id, "cell", f"{self.key}/{event.id}/{number}")
            self.builder.add(span_id, agent, "execute_tool code", at, ends, cell, failed=bool(result.get("error")))
            at = ends

    def _tool(self, event: TraceRecord) -> None:
        """A tool call's `execute_tool {tool}` span, under the cell that made it (when the run was traced live:
        a call replayed from the record made no span then, and makes none here)."""
        data, spans = event.data, _spans(event)
        if data.get("replayed"):
            return
        cell = json_text(spans.get("cell"))
        parent = cell if cell in self.builder.by_id else self.agents.get(event.member, self.step_span)
        ended = _at(event.created_at)
        started = ended - datetime.timedelta(seconds=json_number(data.get("duration_s")))
        tool = json_text(data.get("tool"), "tool")
        attributes = tool_attributes(tool, "", local=False)
        attributes.pop("gen_ai.tool.call.id")
        attributes.pop("gen_ai.tool.type")  # which kind it was is not recorded with the call
        span_id = json_text(spans.get("tool")) or _id(self.run_id, "tool", f"{self.key}/{event.id}")
        failed = data.get("outcome") != "ok"
        self.builder.add(span_id, parent, f"execute_tool {tool[:300]}", started, ended, attributes, failed=failed)


class _Spans:
    def __init__(self, trace_id: str, common: Mapping[str, object]) -> None:
        self.trace_id = trace_id
        self.common = common
        self.spans: list[dict[str, object]] = []
        self.by_id: dict[str, dict[str, object]] = {}

    def add(
        self,
        span_id: str,
        parent: str | None,
        name: str,
        start: "str | datetime.datetime",
        end: "str | datetime.datetime",
        attributes: Mapping[str, object],
        kind: int = INTERNAL,
        failed: bool = False,
        unset: bool = False,
    ) -> str:
        span: dict[str, object] = {
            "traceId": self.trace_id,
            "spanId": span_id,
            "name": name,
            "kind": kind,
            "startTimeUnixNano": str(unix_ns(start)),
            "endTimeUnixNano": str(max(unix_ns(end), unix_ns(start))),
            "attributes": _attributes({**self.common, **attributes}),
            "status": {} if unset and not failed else {"code": ERROR if failed else OK},
        }
        if parent is not None:
            span["parentSpanId"] = parent
        self.spans.append(span)
        self.by_id[span_id] = span
        return span_id

    def stretch(self, span_id: str, end: str, failed: bool = False) -> None:
        """Make a span end no earlier than `end` (a member's span grows with its turns); mark it failed."""
        span = self.by_id[span_id]
        span["endTimeUnixNano"] = str(max(int(str(span["endTimeUnixNano"])), unix_ns(end)))
        if failed:
            span["status"] = {"code": ERROR}


def _id(run_id: str, kind: str, key: str) -> str:
    """A span id for work traced without a collector: the same every time the file is written."""
    return _hex(derived_span_id(run_id, kind, key))


def _hex(span_id: int) -> str:
    return f"{span_id:016x}"


def _spans(event: TraceRecord) -> JsonObject:
    """The ids a trace event's spans were exported with (none when the run was traced without a collector)."""
    return json_object(event.data.get("spans"))


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
