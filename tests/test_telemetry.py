"""OpenTelemetry export: one trace per run across processes, GenAI span names, nothing when no endpoint is set.

A small OTLP/HTTP receiver on loopback stands in for a collector: it takes
`POST /v1/traces`, decodes the protobuf export request with opentelemetry-proto
and answers with an empty export response, as a collector does.
"""

import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from agents.telemetry import open_telemetry
from tests.durable_helpers import Crewgate, durable_runbook, last_event
from workflows.runs.spans import trace_ids

RUNBOOKS = Path(__file__).resolve().parents[1] / "runbooks"
SECRET = "sk-crewgate-secret-test"  # noqa: S105 - a fake key that must never reach a span
NO_ENDPOINT = {
    "CREWGATE_OTLP_ENDPOINT": "",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "",
}


@dataclass
class Span:
    """One received span, its ids as hex and its attributes as plain values."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    attributes: dict[str, Any]
    status: int
    start_ns: int
    end_ns: int


@dataclass
class Receiver:
    """What the loopback collector received: the export requests, decoded."""

    url: str
    requests: list[ExportTraceServiceRequest] = field(default_factory=list)

    @property
    def spans(self) -> list[Span]:
        return [
            Span(
                span.name,
                span.trace_id.hex(),
                span.span_id.hex(),
                span.parent_span_id.hex(),
                span.kind,
                {a.key: _value(a.value) for a in span.attributes},
                span.status.code,
                span.start_time_unix_nano,
                span.end_time_unix_nano,
            )
            for request in self.requests
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    received: list[ExportTraceServiceRequest] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            if self.path == "/v1/traces":
                received.append(request)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200 if self.path == "/v1/traces" else 404)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()


def _tree(spans: list[Span]) -> dict[str, list[Span]]:
    children: dict[str, list[Span]] = {}
    for span in spans:
        children.setdefault(span.parent_id, []).append(span)
    return children


@pytest.mark.docker
@pytest.mark.slow
def test_add_feature_is_one_trace_across_the_run_and_the_approving_process(
    cg: Crewgate, repo: Path, receiver: Receiver
) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SDK_DISABLED": "false", "OPENAI_API_KEY": SECRET}
    done = cg.run("run", str(RUNBOOKS / "add-feature.yaml"), "-i", f"repo={repo}", "--json", **env)
    assert done.returncode == 10, done.stdout[-2000:] + done.stderr[-2000:]
    event = last_event(done.stdout)
    run_id, review_id = event["run"], event["review"]
    first = receiver.spans
    assert first, "the run process exported nothing"
    trace_id, root_id = (f"{number:0{width}x}" for number, width in zip(trace_ids(run_id), (32, 16), strict=True))
    waiting = [span for span in first if span.span_id == root_id]
    assert len(waiting) == 1, "a run waiting at its gate has its root span in its trace already"
    assert waiting[0].attributes["crewgate.run.status"] == "waiting" and waiting[0].status == 0, "neither OK nor error"

    approved = cg.run("review", "approve", review_id, "--reviewer", "alice", **env)
    assert approved.returncode == 0, approved.stdout[-2000:] + approved.stderr[-2000:]
    spans = receiver.spans
    second = spans[len(first) :]

    assert {span.trace_id for span in spans} == {trace_id}, "one trace, derived from the run id"
    names = [span.name for span in second]
    assert {"review approve", "gate wait approve", "step ship", "run add-feature@1.0.0"} <= set(names), names

    roots = [span for span in second if span.name.startswith("run add-feature")]
    assert len(roots) == 1, "the process that ends the run sends the root again, complete, with the same id"
    root = roots[0]
    end = next(span for span in second if span.name == "run end")  # for viewers that keep a span's first copy
    assert (end.parent_id, end.attributes["crewgate.run.status"], end.status) == (root_id, "promoted", 1)
    assert (root.span_id, root.parent_id) == (root_id, "")
    assert root.attributes["crewgate.run.id"] == run_id
    assert root.attributes["crewgate.runbook"] == "add-feature@1.0.0"
    assert root.attributes["crewgate.run.status"] == "promoted"

    children = _tree(spans)
    steps = {span.attributes["crewgate.step.id"]: span for span in children[root_id] if span.name.startswith("step ")}
    assert set(steps) == {"plan", "implement", "add_tests", "test", "scan", "review", "approve", "ship"}
    assert steps["test"].attributes["crewgate.step.kind"] == "check"
    assert steps["approve"].attributes["crewgate.artifact.sha256"] == event["artifact_sha256"]
    assert steps["ship"].attributes["crewgate.artifact.sha256"] == event["artifact_sha256"]
    for span in children[root_id]:
        assert span.start_ns >= root.start_ns and span.end_ns <= root.end_ns, span.name

    agents = [span for span in children[steps["implement"].span_id] if span.name.startswith("invoke_agent ")]
    assert [span.name for span in agents] == ["invoke_agent coder"]
    coder = agents[0]
    assert coder.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert coder.attributes["gen_ai.agent.name"] == "coder"
    under_coder = {span.name.split(" ")[0] for span in children[coder.span_id]}
    assert under_coder == {"chat", "execute_tool"}

    chats = [span for span in spans if span.name.startswith("chat ")]
    assert chats
    for chat in chats:
        assert chat.kind == 3, "SpanKind.CLIENT"  # protobuf's SPAN_KIND_CLIENT
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.provider.name"] == "crewgate.scripted"
        assert chat.attributes["gen_ai.request.model"] == "scripts/add-feature.yaml"
        assert chat.attributes["gen_ai.usage.input_tokens"] > 0
        assert chat.attributes["gen_ai.usage.output_tokens"] > 0
        assert "gen_ai.input.messages" not in chat.attributes, "content only with CREWGATE_OTEL_CAPTURE_CONTENT=1"
    tools = [span for span in spans if span.name == "execute_tool code"]
    assert tools and all(span.attributes["gen_ai.tool.name"] == "code" for span in tools)
    assert all(span.attributes["crewgate.timed_out"] is False for span in tools)

    wait = next(span for span in second if span.name == "gate wait approve")
    decision = next(span for span in second if span.name == "review approve")
    assert wait.parent_id == decision.parent_id == root_id
    assert wait.attributes["crewgate.review.id"] == decision.attributes["crewgate.review.id"] == review_id
    assert decision.attributes["crewgate.review.reviewer"] == "alice"
    assert wait.start_ns < steps["ship"].start_ns

    for request in receiver.requests:
        assert SECRET.encode() not in request.SerializeToString(), "no span holds the API key"
    _every_span_opens_well_in_a_viewer(spans, run_id)
    file_matches_live_export(cg, spans, run_id)


KINDS = {"run": "CHAIN", "step": "CHAIN", "gate": "CHAIN", "review": "CHAIN", "invoke_agent": "AGENT", "chat": "LLM"}


def _every_span_opens_well_in_a_viewer(spans: list[Span], run_id: str) -> None:
    """Each span says which run it is of, has a kind Phoenix shows (OpenInference), and ended OK; chats are
    filterable by run (the GenAI conversation) and priced where Langfuse reads a cost."""
    for span in spans:
        if span.attributes.get("crewgate.run.status") == "waiting":
            continue  # the root as the run began to wait: status unset
        assert span.attributes["crewgate.run.id"] == run_id, span.name
        assert span.attributes["crewgate.runbook"] == "add-feature@1.0.0", span.name
        assert span.attributes["gen_ai.conversation.id"] == run_id, span.name
        expected = "TOOL" if span.name.startswith("execute_tool ") else KINDS[span.name.split(" ")[0]]
        assert span.attributes["openinference.span.kind"] == expected, span.name
        assert span.status == 1, f"{span.name}: status OK (1), not {span.status}"
    chats = [span for span in spans if span.name.startswith("chat ")]
    for chat in chats:
        assert chat.attributes["gen_ai.usage.cost"] == chat.attributes["crewgate.cost_usd"]
        assert "input.value" not in chat.attributes, "no content without CREWGATE_OTEL_CAPTURE_CONTENT=1"


def file_matches_live_export(cg: Crewgate, live: list[Span], run_id: str) -> None:
    """`runs trace --format otlp-json` rebuilds the same spans: the same ids, names, parents and kinds, and
    no attribute name the live export does not use for that span."""
    written = cg.run("runs", "trace", run_id, "--format", "otlp-json", "--output", str(cg.home / "spans.json"))
    assert written.returncode == 0, written.stderr
    document = json.loads((cg.home / "spans.json").read_text())
    rebuilt = {span["spanId"]: span for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]}
    exported = {span.span_id: span for span in live}  # the root was sent twice: its last copy counts
    assert set(rebuilt) == set(exported), (
        f"only in the file: {sorted(rebuilt[i]['name'] for i in set(rebuilt) - set(exported))}; "
        f"only live: {sorted(exported[i].name for i in set(exported) - set(rebuilt))}"
    )
    for span_id, span in rebuilt.items():
        twin = exported[span_id]
        assert (span["name"], span.get("parentSpanId", "")) == (twin.name, twin.parent_id), span["name"]
        assert span["kind"] == twin.kind and span["status"].get("code", 0) == twin.status, span["name"]
        names = {attribute["key"] for attribute in span["attributes"]}
        assert names <= set(twin.attributes), f"{span['name']}: {sorted(names - set(twin.attributes))} not live"


@pytest.mark.docker
def test_without_an_endpoint_nothing_is_exported(tmp_path: Path, repo: Path, receiver: Receiver) -> None:
    cg = Crewgate(tmp_path / "home")
    runbook = durable_runbook(tmp_path / "book", by_check=True)
    done = cg.run("run", str(runbook), "-i", f"repo={repo}", "--json", **NO_ENDPOINT)
    assert done.returncode == 10, done.stdout[-2000:] + done.stderr[-2000:]
    assert receiver.requests == []

    # The same run with crewgate's own variable set does reach the receiver: it was listening. With content
    # capture on, the root and the steps carry short input/output values for a viewer's trace list.
    capture = {"CREWGATE_OTLP_ENDPOINT": receiver.url, "CREWGATE_OTEL_CAPTURE_CONTENT": "1"}
    again = cg.run("run", str(runbook), "-i", f"repo={repo}", "--json", **capture)
    assert again.returncode == 10, again.stdout[-2000:] + again.stderr[-2000:]
    spans = {span.name: span for span in receiver.spans}
    assert {"step implement", "step test", "step approve"} <= set(spans)
    root = next(span for name, span in spans.items() if name.startswith("run "))
    assert json.loads(root.attributes["input.value"]) == {"repo": str(repo)}
    assert root.attributes["output.value"] == "waiting"
    assert spans["step implement"].attributes["output.value"]


def test_no_endpoint_means_no_provider_and_no_exporter_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workflows.runs.services import open_services

    for name in NO_ENDPOINT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CREWGATE_HOME", str(tmp_path))
    assert open_telemetry(NO_ENDPOINT) is None
    assert open_telemetry({}) is None
    assert open_telemetry({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_SDK_DISABLED": "true"}) is None
    services = open_services()
    try:
        assert services.telemetry is None
    finally:
        services.close()
    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith("OtelBatch")]


def test_a_failing_collector_neither_fails_nor_holds_up_a_run(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens at the endpoint: spans are dropped, one warning says so, and flushes return at once."""
    telemetry = open_telemetry({"CREWGATE_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert telemetry is not None
    try:
        for number in range(3):
            with telemetry.span(f"step {number}", None, {"crewgate.step.id": str(number)}):
                pass
            started = time.monotonic()
            telemetry.flush()
            assert time.monotonic() - started < 4.0
        warnings = [record for record in caplog.records if record.name == "crewgate.telemetry"]
        assert len(warnings) == 1 and "127.0.0.1:9" in warnings[0].getMessage()
        started = time.monotonic()
        telemetry.flush()  # the collector is known to fail: no waiting on it at the end of a step
        assert time.monotonic() - started < 0.5
    finally:
        telemetry.shutdown()
    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith("OtelBatch")]


def test_secrets_and_content(receiver: Receiver) -> None:
    """API keys never reach a span; prompts and replies only with CREWGATE_OTEL_CAPTURE_CONTENT=1."""
    from agents import LLMGateway, ModelCall, ModelReply, Usage

    class Echo:
        def complete(
            self, model: str, messages: list[dict[str, str]], params: dict[str, Any], call: ModelCall
        ) -> ModelReply:
            return ModelReply(f"echo {messages[-1]['content']}", Usage(3, 2, 0.0, 1), "stop")

    for capture in ("0", "1"):
        telemetry = open_telemetry(
            {"CREWGATE_OTLP_ENDPOINT": receiver.url, "OPENAI_API_KEY": SECRET, "CREWGATE_OTEL_CAPTURE_CONTENT": capture}
        )
        assert telemetry is not None
        gateway = LLMGateway(model=Echo(), telemetry=telemetry)
        gateway.complete("openai/gpt-4o", [{"role": "user", "content": f"the key is {SECRET}"}], {"api_key": "x" * 9})
        gateway.complete("openai/gpt-4o", [{"role": "user", "content": "xxxxxxxxx"}], {"api_key": "x" * 9})
        telemetry.shutdown()
    chats = receiver.spans
    assert [span.name for span in chats] == ["chat gpt-4o"] * 4
    assert chats[0].attributes["gen_ai.provider.name"] == "openai"
    assert chats[0].attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert "gen_ai.input.messages" not in chats[0].attributes
    captured = chats[2].attributes
    assert "the key is ***" in captured["gen_ai.input.messages"]
    assert "echo the key is ***" in captured["gen_ai.output.messages"]
    assert "***" in chats[3].attributes["gen_ai.input.messages"], "a model param's secret is scrubbed too"
    for request in receiver.requests:
        assert SECRET.encode() not in request.SerializeToString()


@pytest.mark.slow
def test_members_working_in_autogen_threads_hang_under_their_step(tmp_path: Path, receiver: Receiver) -> None:
    """Parents are passed, not taken from the thread: members run in asyncio worker threads, the selector too."""
    import yaml

    from agents import LLMGateway
    from crews import build_crew, build_members
    from executors import LocalSandbox, SandboxLimits
    from workflows.runbook.schema import MemberSpec

    script = tmp_path / "replies.yaml"
    script.write_text(
        yaml.safe_dump(
            {
                "selector": ["coder", "tester"],
                "coder": ["<execute>\nvalue = 6 * 7\nvalue\n</execute>", "<final_answer>coder: set 42</final_answer>"],
                "tester": [
                    "<execute>\nassert value == 42\n</execute>",
                    "<final_answer>tester: verified TERMINATE</final_answer>",
                ],
            }
        )
    )
    telemetry = open_telemetry({"CREWGATE_OTLP_ENDPOINT": receiver.url})
    assert telemetry is not None
    gateway = LLMGateway(telemetry=telemetry)
    specs = {"coder": MemberSpec(goal="Write the code"), "tester": MemberSpec(goal="Check the code")}
    with LocalSandbox(limits=SandboxLimits(timeout_s=10.0, grace_s=1.0)) as box:
        members = build_members(specs, box, gateway, f"scripted/{script}")
        crew = build_crew("autogen", members, gateway, f"scripted/{script}")
        with telemetry.span("step work", None, {}) as step:
            gateway.begin("work#1", telemetry.context_of(step))
            outcome = crew.run_crew("Make and check a value", "selector", max_rounds=2)
    telemetry.shutdown()
    assert outcome.ok, outcome.message

    spans = receiver.spans
    step_span = next(span for span in spans if span.name == "step work")
    children = _tree(spans)
    under_step = sorted(span.name for span in children[step_span.span_id])
    assert under_step == [f"chat {script}", "invoke_agent coder", "invoke_agent tester"]
    selector = next(span for span in children[step_span.span_id] if span.name.startswith("chat "))
    assert selector.attributes["gen_ai.agent.name"] == "selector"
    for agent in (span for span in children[step_span.span_id] if span.name.startswith("invoke_agent ")):
        assert sorted(span.name.split(" ")[0] for span in children[agent.span_id]) == ["chat", "chat", "execute_tool"]
    assert len({span.trace_id for span in spans}) == 1


def test_the_root_span_of_a_waiting_then_failed_run(tmp_path: Path, receiver: Receiver) -> None:
    """The root is sent as the run waits and again as it ends, one id; a secret-named input is masked in its
    input value even when its text is short; a failed run's root is an error with the reason."""
    from tests.stored_rows import stored_run
    from workflows.runs.spans import RunSpans
    from workflows.store.database import Store
    from workflows.store.records import Records

    records = Records(Store(f"sqlite:///{tmp_path / 'crewgate.db'}").engine)
    stored_run(records, "r1", inputs={"repo": "/src/app", "api_token": "t0k"})
    telemetry = open_telemetry({"CREWGATE_OTLP_ENDPOINT": receiver.url, "CREWGATE_OTEL_CAPTURE_CONTENT": "1"})
    assert telemetry is not None
    spans = RunSpans(telemetry, records)
    spans.waiting("r1")
    spans.finish("r1", "failed", "step test failed: 2 tests failed")
    telemetry.shutdown()

    waiting, end, ended = receiver.spans
    assert waiting.span_id == ended.span_id == f"{trace_ids('r1')[1]:016x}"
    assert (end.name, end.parent_id, end.status, end.attributes["crewgate.run.status"]) == (
        "run end",
        waiting.span_id,
        2,
        "failed",
    )
    assert (waiting.attributes["crewgate.run.status"], waiting.status) == ("waiting", 0)
    assert json.loads(waiting.attributes["input.value"]) == {"repo": "/src/app", "api_token": "***"}
    assert (ended.attributes["crewgate.run.status"], ended.status) == ("failed", 2)
    assert ended.attributes["output.value"] == "step test failed: 2 tests failed"
    assert ended.attributes["openinference.span.kind"] == "CHAIN"
    assert ended.attributes["gen_ai.conversation.id"] == "r1"
