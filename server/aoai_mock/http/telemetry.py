"""OpenTelemetry (``--otel``): a server span and the GenAI server metrics for every request, sent over OTLP
(http/protobuf) to wherever the standard ``OTEL_*`` variables say (docs/opentelemetry.md).

Imported only when the settings turn it on: a server without it never loads the SDK. Everything is made after
the fact from the finished :class:`~aoai_mock.state.record.Record`, on a thread of its own: the request path
pays one queue put. The span continues the caller's W3C ``traceparent`` (and ``tracestate``); its times are
the record's monotonic readings, moved to the wall clock. The batch span processor and the periodic metric
reader export off that thread too; :meth:`Telemetry.close` (the application's shutdown) sends what is left.

Conventions followed: the OpenTelemetry semantic conventions for GenAI (spans and model server metrics, as of
semantic-conventions v1.41, Development status) and for HTTP servers (stable). ``gen_ai.server.token.usage`` is
the mock's own, shaped as the conventions' ``gen_ai.client.token.usage``: the conventions name no server one.

The providers are the mock's own, never the global ones: the framework application (FastAPI) makes spans of
its own through the global providers, and would otherwise send a second span for the same request.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import propagate
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from aoai_mock.http.telemetry_facts import PROVIDER, Facts, facts
from aoai_mock.settings import Settings
from aoai_mock.state.record import Record

__all__ = ["Telemetry", "start", "span_attributes"]

log = logging.getLogger("aoai_mock")

_GENERATES = frozenset({"chat", "text_completion"})  # operations with output tokens: first-token timings

# Explicit bucket boundaries, as the conventions advise for each histogram.
_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
_FIRST_TOKEN_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_PER_TOKEN_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

_HISTOGRAMS = (  # attribute, name, unit, description (the conventions' own words), bucket boundaries
    ("duration", "gen_ai.server.request.duration", "s",
     "Generative AI server request duration such as time-to-last byte or last output token.", _DURATION_BUCKETS),
    ("first_token", "gen_ai.server.time_to_first_token", "s",
     "Time to generate first token for successful responses.", _FIRST_TOKEN_BUCKETS),
    ("per_token", "gen_ai.server.time_per_output_token", "s",
     "Time per output token generated after the first token for successful responses.", _PER_TOKEN_BUCKETS),
    ("tokens", "gen_ai.server.token.usage", "{token}", "Number of input and output tokens used.", _TOKEN_BUCKETS),
    ("http", "http.server.request.duration", "s", "Duration of HTTP server requests.", _HTTP_BUCKETS),
)  # fmt: skip

MAX_PENDING = 10_000  # records waiting for the telemetry thread; past this, a record is not exported
_STOP = None


def start(settings: Settings) -> Telemetry:
    """Providers and exporters as the ``OTEL_*`` variables configure them, and the thread that feeds them."""
    resource = _resource()
    traces = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() != "none"
    metrics = os.environ.get("OTEL_METRICS_EXPORTER", "otlp").strip().lower() != "none"
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf").strip().lower()
    if protocol != "http/protobuf":
        log.warning("OpenTelemetry: OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported; sending http/protobuf", protocol)
    tracer_provider = meter_provider = None
    if traces:
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if metrics:
        reader = PeriodicExportingMetricReader(OTLPMetricExporter())
        meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    return Telemetry(settings, tracer_provider, meter_provider)


def _resource() -> Resource:
    """What ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME`` say, with ``aoai-mock`` and its version as
    the service's name and version where they say none."""
    found = Resource.create()
    own: dict[str, str] = {}
    if str(found.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        own[SERVICE_NAME] = "aoai-mock"
    if SERVICE_VERSION not in found.attributes:
        own[SERVICE_VERSION] = _version()
    return found.merge(Resource(own))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aoai-mock")
    except PackageNotFoundError:
        return "unknown"


class Telemetry:
    """The observer: takes each finished record and turns it into a span and metric points on its own thread.
    :meth:`close` exports what is left (the application's shutdown calls it)."""

    def __init__(
        self, settings: Settings, tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None
    ) -> None:
        self.settings = settings
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.dropped = 0  # records not exported: the thread was MAX_PENDING behind
        self._tracer = tracer_provider.get_tracer("aoai_mock", _version()) if tracer_provider else None
        self._instruments = _Instruments(meter_provider) if meter_provider else None
        self._queue: queue.SimpleQueue[Record | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="aoai-mock-otel", daemon=True)
        self._thread.start()

    def __call__(self, record: Record) -> None:
        if self._queue.qsize() < MAX_PENDING:
            self._queue.put(record)
        else:
            self.dropped += 1

    def close(self) -> None:
        """Export every record taken so far, then what the processors still hold; stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout=10)
        if self.dropped:
            log.warning("OpenTelemetry: %d requests were not exported (the exporter fell behind)", self.dropped)
        for provider in (self.tracer_provider, self.meter_provider):
            if provider is not None:
                provider.shutdown()

    def _run(self) -> None:
        while (record := self._queue.get()) is not _STOP:
            try:
                self.export(record)
            except Exception:  # noqa: BLE001 - telemetry never stops the server
                log.exception("OpenTelemetry: could not export %r", record)

    def export(self, record: Record) -> None:
        """The span and the metric points of one finished request."""
        found = facts(record, self.settings)
        if self._tracer is not None:
            self._span(record, found)
        if self._instruments is not None:
            self._instruments.record(record, found)

    def _span(self, record: Record, found: Facts) -> None:
        to_ns = _clock()
        context = propagate.extract(_trace_headers(record))
        span = self._tracer.start_span(  # type: ignore[union-attr]
            found.span_name, context, SpanKind.SERVER, span_attributes(record, found), start_time=to_ns(record.start)
        )
        if found.failed:
            span.set_status(Status(StatusCode.ERROR, found.error_type))
        span.end(end_time=to_ns(record.end if record.end is not None else record.start))


def _clock() -> Callable[[float], int]:
    """Monotonic seconds to wall-clock nanoseconds since the epoch, by the clocks' offset now."""
    offset = time.time_ns() - time.monotonic_ns()
    return lambda reading: int(reading * 1e9) + offset


def _trace_headers(record: Record) -> dict[str, str]:
    """The propagation headers the request carried (``traceparent``, ``tracestate``, ``baggage``)."""
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in record.headers
        if name in (b"traceparent", b"tracestate", b"baggage")
    }


def span_attributes(record: Record, found: Facts) -> dict[str, Any]:
    """The span's attributes: HTTP server, GenAI (for GenAI operations), ``error.type``, and the mock's own
    ``aoai_mock.*`` (request id, deployment, fault, scenario ...)."""
    attributes: dict[str, Any] = {
        **found.http,
        **found.server,
        "url.path": record.path,
        "url.scheme": "http",
        "aoai_mock.request_id": record.request_id,
        "aoai_mock.outcome": record.outcome,
        "aoai_mock.stream": record.stream,
    }
    if found.user_agent:
        attributes["user_agent.original"] = found.user_agent
    if found.genai:
        attributes.update(found.genai)
        attributes["gen_ai.system"] = PROVIDER  # the name before gen_ai.provider.name, which older tools read
        if found.response_id:
            attributes["gen_ai.response.id"] = found.response_id
        if found.finish_reasons:
            attributes["gen_ai.response.finish_reasons"] = found.finish_reasons
        if record.tokens_in is not None:
            attributes["gen_ai.usage.input_tokens"] = record.tokens_in
        if record.tokens_out is not None:
            attributes["gen_ai.usage.output_tokens"] = record.tokens_out
    if found.error_type:
        attributes["error.type"] = found.error_type
    _mock_attributes(attributes, record)
    return attributes


def _mock_attributes(attributes: dict[str, Any], record: Record) -> None:
    for key, value in (
        ("operation", record.operation), ("deployment", record.deployment), ("api_version", record.api_version),
        ("scenario", record.scenario), ("rule", record.rule), ("responder", record.responder),
        ("fault", record.fault), ("fault_source", record.fault_source), ("fault_effect", record.fault_effect),
    ):  # fmt: skip
        if value is not None:
            attributes["aoai_mock." + key] = value


class _Instruments:
    """The histograms, each with the bucket boundaries its convention advises."""

    def __init__(self, provider: MeterProvider) -> None:
        meter = provider.get_meter("aoai_mock", _version())
        made = {
            attribute: meter.create_histogram(name, unit, about, explicit_bucket_boundaries_advisory=buckets)
            for attribute, name, unit, about, buckets in _HISTOGRAMS
        }
        self.duration, self.first_token, self.per_token, self.tokens, self.http = made.values()

    def record(self, record: Record, found: Facts) -> None:
        duration = record.duration
        self.http.record(duration, _http_metric_attributes(found))
        if not found.genai:
            return
        attributes = found.genai
        self.duration.record(duration, {**attributes, "error.type": found.error_type} if found.error_type else attributes)
        if found.error_type is None:
            self._timings(record, found.genai["gen_ai.operation.name"], attributes)
        if record.tokens_in is not None:
            self.tokens.record(record.tokens_in, {**attributes, "gen_ai.token.type": "input"})
        if record.tokens_out is not None:
            self.tokens.record(record.tokens_out, {**attributes, "gen_ai.token.type": "output"})

    def _timings(self, record: Record, operation: str, attributes: Mapping[str, Any]) -> None:
        """Time to the first token (the first byte of the body) and per output token after it, for successful
        answers that generate; per token only for streams, whose tokens go out as they are made."""
        if operation not in _GENERATES or record.first_byte is None:
            return
        self.first_token.record(record.first_byte - record.start, attributes)
        after = (record.tokens_out or 0) - 1
        if record.stream and after > 0 and record.end is not None:
            self.per_token.record((record.end - record.first_byte) / after, attributes)


def _http_metric_attributes(found: Facts) -> dict[str, Any]:
    attributes = {**found.http, "url.scheme": "http"}
    if found.http_error_type:
        attributes["error.type"] = found.http_error_type
    return attributes

