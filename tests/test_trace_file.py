"""`crewgate runs trace RUN --format otlp-json`: a run's spans as a file a collector would take.

The file parses as OTLP's JSON encoding of an ExportTraceServiceRequest; its one
trace id is the one the live export derives from the run id; every span's parent
is in the file, in the tree run → step → invoke_agent → chat / execute_tool code;
each chat span has its token counts; the approval's gate wait and decision are
there; nothing of the API key the run was given.
"""

import base64
import json
from pathlib import Path

import pytest

from tests.durable_helpers import Crewgate, durable_runbook, last_event
from workflows.runs.spans import trace_ids

KEY = "sk-crewgate-file-secret"  # noqa: S105 - must appear nowhere in the file


@pytest.mark.docker
@pytest.mark.slow
def test_a_runs_spans_written_as_otlp_json_parse_and_form_its_tree(cg: Crewgate, tmp_path: Path, repo: Path) -> None:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    done = cg.run("run", str(durable_runbook(tmp_path / "rb")), "-i", f"repo={repo}", "--json", OPENAI_API_KEY=KEY)
    assert done.returncode == 10, done.stdout[-2000:] + done.stderr[-2000:]
    run_id, review_id = last_event(done.stdout)["run"], last_event(done.stdout)["review"]
    assert cg.run("review", "approve", review_id, "--reviewer", "alice").returncode == 0
    target = tmp_path / "bug-report" / "spans.json"
    target.parent.mkdir()
    written = cg.run("runs", "trace", run_id, "--format", "otlp-json", "--output", str(target))
    assert written.returncode == 0 and f"to {target}" in written.stdout, written.stderr

    text = target.read_text()
    assert KEY not in text
    # OTLP/JSON writes ids in hex where protobuf's JSON mapping has base64: convert, then parse strictly.
    document = json.loads(text)
    for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for field in ("traceId", "spanId", "parentSpanId"):
            if field in span:
                span[field] = base64.b64encode(bytes.fromhex(span[field])).decode()
    request = json_format.Parse(json.dumps(document), ExportTraceServiceRequest())
    spans = list(request.resource_spans[0].scope_spans[0].spans)
    trace_id, root_id = trace_ids(run_id)
    assert {span.trace_id for span in spans} == {trace_id.to_bytes(16, "big")}
    by_id = {span.span_id: span for span in spans}
    root = by_id[root_id.to_bytes(8, "big")]
    assert root.name == "run durable-test@1.0.0" and not root.parent_span_id
    assert all(span.parent_span_id in by_id for span in spans if span is not root)

    def parent_name(span: object) -> str:
        return by_id[span.parent_span_id].name  # type: ignore[attr-defined]

    names = [span.name for span in spans]
    assert {"step plan", "step implement", "step test", "step approve", "step ship"} <= set(names)
    assert "gate wait approve" in names and "review approve" in names
    agents = [span for span in spans if span.name.startswith("invoke_agent ")]
    assert {span.name for span in agents} == {"invoke_agent planner", "invoke_agent coder"}
    assert all(parent_name(span).startswith("step ") for span in agents)
    chats = [span for span in spans if span.name.startswith("chat ")]
    cells = [span for span in spans if span.name == "execute_tool code"]
    assert chats and cells and all(parent_name(span).startswith("invoke_agent ") for span in chats + cells)
    for span in chats:
        attributes = {item.key for item in span.attributes}
        assert {"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.request.model"} <= attributes
    assert all(span.start_time_unix_nano <= span.end_time_unix_nano for span in spans)
    assert document["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"] == "crewgate"
