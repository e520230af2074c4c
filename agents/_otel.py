"""The OpenTelemetry SDK pieces behind `Telemetry`, imported only when an endpoint is set.

crewgate's own TracerProvider (never installed as the global one), a batch
processor exporting over OTLP/HTTP with a short timeout, an id generator
that can be told which ids the next span gets (a run's root span has ids
derived from its run id), and an exporter that reports a failing collector
once instead of on every batch.
"""

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from executors._version import VERSION

log = logging.getLogger("crewgate.telemetry")
# The exporter's own logger reports every failed batch (and each retry); ReportingExporter reports once.
EXPORTER_LOGGERS = ("opentelemetry.exporter.otlp.proto.http", "opentelemetry.exporter.otlp.common")


class ChosenIds(RandomIdGenerator):
    """Random ids, except inside `chosen(trace_id, span_id)` on the calling thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextlib.contextmanager
    def chosen(self, trace_id: int, span_id: int) -> Iterator[None]:
        self._local.ids = (trace_id, span_id)
        try:
            yield
        finally:
            self._local.ids = None

    def generate_trace_id(self) -> int:
        ids = getattr(self._local, "ids", None)
        return ids[0] if ids else super().generate_trace_id()

    def generate_span_id(self) -> int:
        ids = getattr(self._local, "ids", None)
        return ids[1] if ids else super().generate_span_id()

    def is_trace_id_random(self) -> bool:
        return False  # a run's trace id is derived from its run id


class ReportingExporter(SpanExporter):
    """An exporter that says once that the collector fails, and remembers whether it does."""

    def __init__(self, inner: SpanExporter, endpoint: str) -> None:
        self.inner = inner
        self.endpoint = endpoint
        self.failing = False
        self._told = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # a collector problem must never reach a run
            result, reason = SpanExportResult.FAILURE, f"{type(exc).__name__}: {exc}"
        else:
            reason = "it refused or did not answer in time"
        self.failing = result is not SpanExportResult.SUCCESS
        if self.failing and not self._told:
            self._told = True
            log.warning(
                "crewgate: could not send spans to %s (%s); runs go on without them, "
                "and further failures are not reported. Check the OTLP endpoint and the collector",
                self.endpoint,
                reason,
            )
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def build_provider(endpoint: str, timeout_s: float | None) -> tuple[TracerProvider, ChosenIds, ReportingExporter]:
    """crewgate's own provider, exporting to `endpoint` (the full `/v1/traces` URL) in a background thread."""
    for name in EXPORTER_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    ids = ChosenIds()
    resource = Resource.create({"service.version": VERSION})  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES apply
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "crewgate"}))
    provider = TracerProvider(resource=resource, id_generator=ids)
    exporter = ReportingExporter(OTLPSpanExporter(endpoint=endpoint, timeout=timeout_s), endpoint)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider, ids, exporter
