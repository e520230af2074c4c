"""crewgate's OpenTelemetry spans: on only when an OTLP endpoint is set, off (None) otherwise.

crewgate keeps its own TracerProvider and never installs it as the global one:
crewAI, litellm or AutoGen cannot emit into it, and crewgate emits into nothing
of theirs. With no endpoint `open_telemetry` returns None: no provider, no
exporter thread, and every caller's `if telemetry is None` is the whole cost
(the OpenTelemetry SDK is not even imported).

Parents are always passed explicitly: crews run members in threads (crewAI)
and asyncio (AutoGen), so OpenTelemetry's implicit current span is never used.

Names follow the OpenTelemetry GenAI semantic conventions (Development status)
as published in semantic conventions 1.44.0 (opentelemetry-semantic-conventions
0.66b2): `chat {model}`, `invoke_agent {name}`, `execute_tool {name}`.
"""

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .secret_names import is_secret_name
from .span_shapes import chat_attributes, usage_attributes

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

    from ._otel import ChosenIds, ReportingExporter
    from .gateway import Completion

# The first one set turns export on. CREWGATE_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_ENDPOINT are base URLs.
ENDPOINTS = ("CREWGATE_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
CAPTURE_CONTENT = "CREWGATE_OTEL_CAPTURE_CONTENT"
TRACES_PATH = "/v1/traces"
EXPORT_TIMEOUT_S = 2.0  # per export request, unless OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT says otherwise
FLUSH_TIMEOUT_MS = 5000
SHORTEST_SECRET = 8  # shorter values of secret-named variables ("1", "true") would blank out ordinary text


def open_telemetry(environ: Mapping[str, str] | None = None) -> "Telemetry | None":
    """This process's telemetry when an OTLP endpoint is set (and OTEL_SDK_DISABLED is not true), else None."""
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    endpoint = _endpoint(environ)
    if endpoint is None:
        return None
    from ._otel import build_provider

    timeout_set = environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or environ.get("OTEL_EXPORTER_OTLP_TIMEOUT")
    provider, ids, exporter = build_provider(endpoint, None if timeout_set else EXPORT_TIMEOUT_S)
    capture = environ.get(CAPTURE_CONTENT) == "1"
    return Telemetry(provider, ids, exporter, capture_content=capture, secrets=list(secret_values(environ)))


def secret_values(named: Mapping[str, Any]) -> set[str]:
    """The values of secret-named entries (environment variables, model params) long enough to be secrets."""
    return {
        value
        for name, value in named.items()
        if isinstance(value, str) and len(value) >= SHORTEST_SECRET and is_secret_name(name)
    }


def _endpoint(environ: Mapping[str, str]) -> str | None:
    for name in ENDPOINTS:
        value = environ.get(name, "").strip()
        if value:
            if name == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" or value.rstrip("/").endswith(TRACES_PATH):
                return value
            return value.rstrip("/") + TRACES_PATH
    return None


class Telemetry:
    """crewgate's tracer: spans with explicit parents, secrets kept out of every attribute.

    Args:
        provider: crewgate's own TracerProvider (never the global one).
        ids: the provider's id generator, for spans whose ids are chosen (a run's root span).
        exporter: the provider's exporter, which knows whether the collector is failing.
        capture_content: record prompts, replies, code and observations (CREWGATE_OTEL_CAPTURE_CONTENT=1).
        secrets: values never to appear in a span (API keys from the environment); replaced by '***'.
    """

    def __init__(
        self,
        provider: "TracerProvider",
        ids: "ChosenIds",
        exporter: "ReportingExporter",
        capture_content: bool = False,
        secrets: list[str] | None = None,
    ) -> None:
        from executors._version import VERSION

        self.provider = provider
        self.tracer = provider.get_tracer("crewgate", VERSION)
        self.capture_content = capture_content
        self._ids = ids
        self._exporter = exporter
        self._secrets = sorted(set(secrets or ()), key=len, reverse=True)
        self._closed = False

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        parent: "Context | None",
        attributes: Mapping[str, Any],
        client: bool = False,
        start_ns: int | None = None,
        span_id: int | None = None,
    ) -> Iterator["Span"]:
        """A span under `parent` (a new trace if None), ended on exit: OK, or an error if an exception left it.

        `span_id` gives it a chosen id (a step's, derived from the run), else a random one.
        """
        from opentelemetry.context import Context
        from opentelemetry.trace import SpanKind

        with self._chosen(parent, span_id):
            span = self.tracer.start_span(
                name,
                context=parent if parent is not None else Context(),  # never the implicit current span
                kind=SpanKind.CLIENT if client else SpanKind.INTERNAL,
                attributes=self.clean(attributes),
                start_time=start_ns,
                record_exception=False,
                set_status_on_exception=False,
            )
        try:
            yield span
        except BaseException as exc:
            self.fail(span, exc)
            raise
        else:
            self.ok(span)
        finally:
            span.end()

    def emit(
        self,
        name: str,
        ids: tuple[int, int],
        parent: "Context | None",
        attributes: Mapping[str, Any],
        start_ns: int,
        end_ns: int | None = None,
        error: str = "",
        unset: bool = False,
    ) -> None:
        """A finished span with chosen (trace id, span id), e.g. a run's root span emitted when the run ends.

        Its status is OK, or ERROR with `error`; `unset` leaves it unset (a run waiting is neither).
        """
        from opentelemetry.context import Context

        with self._ids.chosen(*ids):
            span = self.tracer.start_span(
                name,
                context=parent if parent is not None else Context(),
                attributes=self.clean(attributes),
                start_time=start_ns,
            )
        if error:
            self.error(span, error)
        elif not unset:
            self.ok(span)
        span.end(end_time=end_ns)

    def finished(
        self,
        name: str,
        parent: "Context | None",
        attributes: Mapping[str, Any],
        start_ns: int,
        end_ns: int,
        span_id: int | None = None,
    ) -> None:
        """A span that happened between two recorded times (a review's wait), emitted now, OK."""
        from opentelemetry.context import Context

        with self._chosen(parent, span_id):
            span = self.tracer.start_span(
                name,
                context=parent if parent is not None else Context(),
                attributes=self.clean(attributes),
                start_time=start_ns,
            )
        self.ok(span)
        span.end(end_time=max(end_ns, start_ns))

    def _chosen(self, parent: "Context | None", span_id: int | None) -> contextlib.AbstractContextManager[None]:
        """The next span's id is `span_id` (its trace id is its parent's), or random when None."""
        if span_id is None:
            return contextlib.nullcontext()
        from opentelemetry.trace import get_current_span

        trace_id = get_current_span(parent).get_span_context().trace_id if parent is not None else 0
        return self._ids.chosen(trace_id, span_id)

    def remote_parent(self, trace_id: int, span_id: int) -> "Context":
        """A context whose parent span is (trace_id, span_id), as if received from another process."""
        from opentelemetry.context import Context
        from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

        parent = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
        return set_span_in_context(NonRecordingSpan(parent), Context())

    def context_of(self, span: "Span") -> "Context":
        """The context that makes `span` the parent of the next span started with it."""
        from opentelemetry.context import Context
        from opentelemetry.trace import set_span_in_context

        return set_span_in_context(span, Context())

    def set(self, span: "Span", attributes: Mapping[str, Any]) -> None:
        span.set_attributes(self.clean(attributes))

    def ok(self, span: "Span") -> None:
        """Status OK, unless the span was already marked as an error."""
        from opentelemetry.trace import Status, StatusCode

        current = getattr(span, "status", None)
        if current is None or current.status_code is StatusCode.UNSET:
            span.set_status(Status(StatusCode.OK))

    def error(self, span: "Span", message: str, error_type: str = "") -> None:
        from opentelemetry.trace import Status, StatusCode

        if error_type:
            span.set_attribute("error.type", error_type)
        span.set_status(Status(StatusCode.ERROR, self.scrub(message)[:500]))

    def fail(self, span: "Span", exc: BaseException) -> None:
        self.error(span, str(exc) or type(exc).__name__, type(exc).__name__)

    def clean(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Attributes without None values, every string scrubbed of known secrets."""
        return {
            name: self.scrub(value) if isinstance(value, str) else value
            for name, value in attributes.items()
            if value is not None
        }

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def with_secrets(self, params: Mapping[str, Any]) -> None:
        """Also keep the secret values of these model params (api_key, ...) out of every span."""
        found = secret_values(params)
        if not found.issubset(self._secrets):
            self._secrets = sorted(set(self._secrets) | found, key=len, reverse=True)

    # GenAI spans: what the gateway and the member loop record.

    @contextlib.contextmanager
    def chat(
        self, model: str, parent: "Context | None", member: str, common: Mapping[str, Any] | None = None
    ) -> Iterator["Span"]:
        """A `chat {model}` span (CLIENT) around one model call, replayed or real; `common`: the run's attributes."""
        attributes = {**chat_attributes(model, member), **(common or {})}
        with self.span(f"chat {attributes['gen_ai.request.model']}", parent, attributes, client=True) as span:
            yield span

    def chat_done(self, span: "Span", completion: "Completion", messages: list[dict[str, str]]) -> None:
        usage = completion.usage
        attributes: dict[str, Any] = {
            **usage_attributes(
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.cost_usd,
                completion.response_model,
                completion.finish_reason,
            ),
            "crewgate.replayed": completion.replayed,
            "crewgate.llm.attempts": completion.attempts,
        }
        if self.capture_content:
            attributes["gen_ai.input.messages"] = json.dumps(
                [{"role": m["role"], "parts": [{"type": "text", "content": m["content"]}]} for m in messages]
            )
            output = {"role": "assistant", "parts": [{"type": "text", "content": completion.text}]}
            if completion.finish_reason:
                output["finish_reason"] = completion.finish_reason
            attributes["gen_ai.output.messages"] = json.dumps([output])
        self.set(span, attributes)

    def flush(self) -> None:
        """Send what is buffered now (a step ended); skipped while the collector fails, so runs never wait on it."""
        if not self._closed and not self._exporter.failing:
            self.provider.force_flush(FLUSH_TIMEOUT_MS)

    def shutdown(self) -> None:
        """Send what is buffered and stop the exporter thread (a command ends)."""
        if not self._closed:
            self._closed = True
            self.provider.shutdown()


def span_hex(span: "Span") -> str:
    """A span's id as OTLP/JSON writes it (16 hex digits), to record with the work it traced."""
    return f"{span.get_span_context().span_id:016x}"


def parent_hex(parent: "Context | None") -> str:
    """The id of the span a context makes the parent, in hex; '' for none."""
    if parent is None:
        return ""
    from opentelemetry.trace import get_current_span

    span_id = get_current_span(parent).get_span_context().span_id
    return f"{span_id:016x}" if span_id else ""
