"""A run's OpenTelemetry trace: one trace per run, whichever processes work on it.

The trace id and the id of the run's root span are derived from the run id, so
a process that resumes a run (a `review approve`, a worker taking it over)
continues the same trace without storing anything: every process hangs its
spans under the same root span context, and the process that ends the run
emits the root span itself, with that id, starting when the run was created.
A run that stops to wait at its gate sends its root span then too (status
"waiting"), so a viewer shows one trace with its root while it waits; the end
sends it again, complete, with the same id. Steps, gate waits and decisions
have ids derived from the run as well, so the OTLP/JSON file rebuilt from the
records (service/trace_file.py) has the same ids as the live export.

Every method is a no-op without telemetry (no OTLP endpoint set).
"""

import contextlib
import datetime
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.secret_names import is_secret_name
from agents.span_shapes import CHAIN, SPAN_KIND, derived_span_id, run_attributes, short

from ..plain import JsonObject
from ..store.records import Records
from ..store.rows import parse_time

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span

    from agents.telemetry import Telemetry


def trace_ids(run_id: str) -> tuple[int, int]:
    """(trace id, root span id) of a run: the first 16 and the next 8 bytes of sha256(run id)."""
    digest = hashlib.sha256(run_id.encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1


def unix_ns(moment: str | datetime.datetime) -> int:
    """A recorded time (ISO text, or a datetime) in nanoseconds since the epoch, as OTLP counts time."""
    when = parse_time(moment) if isinstance(moment, str) else moment
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return int(when.timestamp() * 1_000_000_000)


@dataclass
class OpenSpan:
    """A span being recorded (or nothing, without telemetry); a step's context is its members' parent."""

    telemetry: "Telemetry | None" = None
    span: "Span | None" = None

    @property
    def context(self) -> "Context | None":
        if self.telemetry is None or self.span is None:
            return None
        return self.telemetry.context_of(self.span)

    def set(self, **attributes: Any) -> None:
        if self.telemetry is not None and self.span is not None:
            self.telemetry.set(self.span, {f"crewgate.{name.replace('_', '.')}": v for name, v in attributes.items()})

    def output(self, text: str) -> None:
        """The step's output, short, as `output.value`: only when content capture is on."""
        if self.telemetry is not None and self.span is not None and self.telemetry.capture_content:
            self.telemetry.set(self.span, {"output.value": short(text)})


NO_SPAN = OpenSpan()


class RunSpans:
    """The spans of the runs this process works on."""

    def __init__(self, telemetry: "Telemetry | None", records: Records) -> None:
        self.telemetry = telemetry
        self.records = records
        self._runbooks: dict[str, str] = {}

    def attributes(self, run_id: str) -> JsonObject:
        """What every span of a run carries: its id, NAME@VERSION, and the run as the GenAI conversation."""
        if run_id not in self._runbooks:
            run = self.records.run(run_id)
            self._runbooks[run_id] = f"{run.runbook}@{run.version}"
        return run_attributes(run_id, self._runbooks[run_id])

    def parent(self, run_id: str) -> "Context | None":
        """The run's root span context, the same in every process."""
        if self.telemetry is None:
            return None
        return self.telemetry.remote_parent(*trace_ids(run_id))

    @contextlib.contextmanager
    def step(self, run_id: str, step_id: str, attempt: int, kind: str) -> Iterator[OpenSpan]:
        """A `step {id}` span around one step try, sent to the collector when the try ends."""
        if self.telemetry is None:
            yield NO_SPAN
            return
        attributes = {**self.attributes(run_id), **step_attributes(step_id, attempt, kind)}
        chosen = derived_span_id(run_id, "step", f"{step_id}#{attempt}")
        try:
            with self.telemetry.span(f"step {step_id}", self.parent(run_id), attributes, span_id=chosen) as span:
                yield OpenSpan(self.telemetry, span)
        finally:
            self.telemetry.flush()

    def gate_wait(self, review_id: str, outcome: str, decided_at: str) -> None:
        """A `gate wait {step}` span from the review's creation to its decision (or expiry), emitted once read."""
        if self.telemetry is None:
            return
        item = self.records.review(review_id)
        run_id = item.run_id
        attributes = {
            **self.attributes(run_id),
            **gate_wait_attributes(item.step_id, review_id, item.artifact_sha256),
            "crewgate.review.status": outcome,
        }
        end = unix_ns(decided_at) if decided_at else unix_ns(self.records.clock())
        start = unix_ns(item.created_at)
        chosen = derived_span_id(run_id, "gate", review_id)
        self.telemetry.finished(
            f"gate wait {item.step_id}", self.parent(run_id), attributes, start, end, span_id=chosen
        )

    @contextlib.contextmanager
    def decision(self, review_id: str, reviewer: str, decision: str) -> Iterator[OpenSpan]:
        """A `review {decision}` span around recording a decision, in whichever process records it."""
        if self.telemetry is None:
            yield NO_SPAN
            return
        item = self.records.review(review_id)
        attributes = {
            **self.attributes(item.run_id),
            **decision_attributes(item.step_id, review_id, item.artifact_sha256, reviewer, decision),
        }
        number = len(self.records.decisions(review_id))  # this one's place among the item's decisions
        chosen = derived_span_id(item.run_id, "decision", f"{review_id}#{number}")
        parent = self.parent(item.run_id)
        with self.telemetry.span(f"review {decision}", parent, attributes, span_id=chosen) as span:
            yield OpenSpan(self.telemetry, span)

    def waiting(self, run_id: str) -> None:
        """The run's root span as it stands, sent as the run stops to wait at a gate, status unset: a viewer
        shows the waiting run as one trace with its root. Viewers that keep a span's later copy (Langfuse)
        show the root the end sends; those that keep the first (Phoenix) show this one, and the end's own
        `run end` span below it."""
        self._root(run_id, "waiting", "")

    def finish(self, run_id: str, status: str, message: str) -> None:
        """A `run end` span saying how the run ended, then the root span, from the run's creation to now,
        with the same id as ever: emitted by the process that ends the run; then a flush."""
        if self.telemetry is None:
            return
        now = unix_ns(self.records.clock())
        attributes: JsonObject = {**self.attributes(run_id), **end_attributes(status)}
        if self.telemetry.capture_content:
            attributes["output.value"] = short(message or status)
        chosen = (trace_ids(run_id)[0], derived_span_id(run_id, "end", ""))
        self.telemetry.emit(
            "run end", chosen, self.parent(run_id), attributes, now, now, error=_failure(status, message)
        )
        self._root(run_id, status, message)

    def _root(self, run_id: str, status: str, message: str) -> None:
        if self.telemetry is None:
            return
        run = self.records.run(run_id)
        attributes: JsonObject = {
            **self.attributes(run_id),
            **root_attributes(run.runbook, status),
        }
        if self.telemetry.capture_content:
            shown = {name: "***" if is_secret_name(name) else value for name, value in run.inputs.items()}
            attributes["input.value"] = short(json.dumps(shown, ensure_ascii=False))
            attributes["output.value"] = short(message or status)
        name = f"run {run.runbook}@{run.version}"
        start = unix_ns(run.created_at)
        ids = trace_ids(run_id)
        self.telemetry.emit(
            name, ids, None, attributes, start, error=_failure(status, message), unset=status == "waiting"
        )
        self.telemetry.flush()


def _failure(status: str, message: str) -> str:
    """The error a span of a run that ended badly carries ('' for one that did not)."""
    return (message or status) if status in ("failed", "cancelled") else ""


# What each engine span carries, for the live export here and the file (service/trace_file.py) alike.


def root_attributes(runbook: str, status: str) -> JsonObject:
    return {
        SPAN_KIND: CHAIN,
        "crewgate.run.status": status,
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": runbook,
    }


def end_attributes(status: str) -> JsonObject:
    return {SPAN_KIND: CHAIN, "crewgate.run.status": status}


def step_attributes(step_id: str, attempt: int, kind: str) -> JsonObject:
    return {
        SPAN_KIND: CHAIN,
        "crewgate.step.id": step_id,
        "crewgate.step.attempt": attempt,
        "crewgate.step.kind": kind,
    }


def gate_wait_attributes(step_id: str, review_id: str, sha256: str) -> JsonObject:
    return {
        SPAN_KIND: CHAIN,
        "crewgate.step.id": step_id,
        "crewgate.review.id": review_id,
        "crewgate.artifact.sha256": sha256,
    }


def decision_attributes(step_id: str, review_id: str, sha256: str, reviewer: str, decision: str) -> JsonObject:
    return {
        **gate_wait_attributes(step_id, review_id, sha256),
        "crewgate.review.decision": decision,
        "crewgate.review.reviewer": reviewer,
    }
