"""OpenTelemetry (``--otel``, docs/opentelemetry.md): the mock as a real process sends its spans and metrics over
OTLP http/protobuf to a real receiver started here, which decodes them with the OTLP protobuf classes."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from aoai_mock.settings import resolve

from tests.processes import running

pytest.importorskip("opentelemetry.sdk")
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.common.v1.common_pb2 import AnyValue  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status  # noqa: E402

GA = "api-version=2024-10-21"
CHAT = "/openai/deployments/gpt-4o/chat/completions?" + GA
KEY = {"api-key": "test-key"}
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
FIRST_TOKEN_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
PER_TOKEN_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5]


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


def attributes(item: Any) -> dict[str, Any]:
    return {attribute.key: _value(attribute.value) for attribute in item.attributes}


class Receiver:
    """An OTLP/HTTP receiver on 127.0.0.1: keeps every span and every metrics export it is sent."""

    def __init__(self) -> None:
        self.spans: list[tuple[dict[str, Any], Span]] = []  # (resource attributes, span)
        self.metric_exports: list[ExportMetricsServiceRequest] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.take(self.path, self.headers.get("content-type", ""), body)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def take(self, path: str, content_type: str, body: bytes) -> None:
        assert content_type == "application/x-protobuf"
        with self.lock:
            if path == "/v1/traces":
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    resource = attributes(resource_spans.resource)
                    for scope_spans in resource_spans.scope_spans:
                        self.spans.extend((resource, span) for span in scope_spans.spans)
            elif path == "/v1/metrics":
                self.metric_exports.append(ExportMetricsServiceRequest.FromString(body))
            else:
                raise AssertionError(f"an OTLP request to {path}")

    def span(self, request_id: str, timeout: float = 10) -> tuple[dict[str, Any], Span]:
        """The span of the request the mock answered with this ``apim-request-id``, once it has arrived."""
        return wait_for(lambda: self._span(request_id), timeout, f"no span for request {request_id}")

    def _span(self, request_id: str) -> tuple[dict[str, Any], Span] | None:
        with self.lock:
            for resource, span in self.spans:
                if attributes(span).get("aoai_mock.request_id") == request_id:
                    return resource, span
        return None

    def metrics(self) -> dict[str, Any]:
        """The latest export's metrics by name (the points are cumulative: the latest holds them all)."""
        with self.lock:
            if not self.metric_exports:
                return {}
            latest = self.metric_exports[-1]
        return {
            metric.name: metric
            for resource_metrics in latest.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
        }


def wait_for(found: Callable[[], Any], timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while (result := found()) in (None, False):
        assert time.monotonic() < deadline, message
        time.sleep(0.05)
    return result


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


@contextmanager
def mock_process(*args: str, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen]]:
    """``aoai-mock serve`` in its own process, once its /_mock/health answers; no OTEL_ or AOAI_MOCK_ variable of
    this process's reaches it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AOAI_MOCK_"))}
    with running("serve", *args, env=env, base_env=clean, timeout=30) as served:
        yield served


@pytest.fixture(scope="module")
def mock(receiver: Receiver) -> Iterator[str]:
    """One mock with --otel for the module, exporting spans every 50 ms and metrics every 200 ms."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "50",
           "OTEL_METRIC_EXPORT_INTERVAL": "200"}  # fmt: skip
    with mock_process("--otel", env=env) as (url, _):
        yield url


def post(url: str, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(url + path, json=body, headers={**KEY, **headers}, timeout=10)


def test_a_chat_span_continues_the_callers_trace_with_genai_attributes(mock: str, receiver: Receiver) -> None:
    before = time.time_ns()
    answer = post(mock, CHAT, {"messages": [{"role": "user", "content": "Trace me, please."}]},
                  traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01", tracestate="vendor=value")  # fmt: skip
    after = time.time_ns()
    assert answer.status_code == 200
    body = answer.json()
    resource, span = receiver.span(answer.headers["apim-request-id"])
    assert span.trace_id.hex() == TRACE_ID
    assert span.parent_span_id.hex() == PARENT_ID
    assert span.trace_state == "vendor=value"
    assert span.kind == Span.SPAN_KIND_SERVER
    assert span.name == "chat gpt-4o"
    assert before <= span.start_time_unix_nano <= span.end_time_unix_nano <= after
    assert span.status.code == Status.STATUS_CODE_UNSET
    assert resource["service.name"] == "aoai-mock"
    expected = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "azure.ai.openai",
        "gen_ai.system": "azure.ai.openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": body["model"],
        "gen_ai.response.id": body["id"],
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": body["usage"]["prompt_tokens"],
        "gen_ai.usage.output_tokens": body["usage"]["completion_tokens"],
        "http.request.method": "POST",
        "http.response.status_code": 200,
        "http.route": "/openai/deployments/{deployment}/chat/completions",
        "url.path": "/openai/deployments/gpt-4o/chat/completions",
        "url.scheme": "http",
        "server.address": "127.0.0.1",
        "server.port": int(mock.rsplit(":", 1)[1]),
        "aoai_mock.deployment": "gpt-4o",
        "aoai_mock.request_id": answer.headers["apim-request-id"],
        "error.type": None,
    }
    found = attributes(span)
    assert {key: found.get(key) for key in expected} == expected


def test_a_request_without_traceparent_starts_a_new_trace(mock: str, receiver: Receiver) -> None:
    one = post(mock, "/openai/deployments/text-embedding-3-small/embeddings?" + GA, {"input": "vectors"})
    two = post(mock, "/openai/deployments/text-embedding-3-small/embeddings?" + GA, {"input": "vectors"})
    _, first = receiver.span(one.headers["apim-request-id"])
    _, second = receiver.span(two.headers["apim-request-id"])
    assert first.parent_span_id == b"" and second.parent_span_id == b""
    assert first.trace_id != second.trace_id and first.trace_id.hex() != "0" * 32
    assert first.name == "embeddings text-embedding-3-small"
    assert attributes(first)["gen_ai.operation.name"] == "embeddings"
    assert attributes(first)["gen_ai.usage.input_tokens"] == one.json()["usage"]["prompt_tokens"]


@pytest.mark.parametrize(
    ("path", "headers", "status", "error_type"),
    [
        ("/openai/deployments/no-such-deployment/chat/completions?" + GA, {}, 404, "DeploymentNotFound"),
        (CHAT, {"x-aoai-mock-fault": "429"}, 429, "429"),
        (CHAT, {"x-aoai-mock-fault": "500"}, 500, "500"),
    ],
)
def test_a_failed_request_has_error_type_and_an_error_status(
    mock: str, receiver: Receiver, path: str, headers: dict[str, str], status: int, error_type: str
) -> None:
    answer = post(mock, path, {"messages": [{"role": "user", "content": "fail"}]}, **headers)
    assert answer.status_code == status
    _, span = receiver.span(answer.headers["apim-request-id"])
    assert attributes(span)["error.type"] == error_type
    assert attributes(span)["http.response.status_code"] == status
    assert span.status.code == Status.STATUS_CODE_ERROR


def test_a_stream_cut_short_is_an_error_named_by_its_outcome(mock: str, receiver: Receiver) -> None:
    body = {"messages": [{"role": "user", "content": "one two three four five six"}], "stream": True}
    with httpx.stream("POST", mock + CHAT, json=body, headers={**KEY, "x-aoai-mock-fault": "cut=2"}) as answer:
        request_id = answer.headers["apim-request-id"]
        with pytest.raises(httpx.HTTPError):
            answer.read()
    _, span = receiver.span(request_id)
    assert attributes(span)["error.type"] == "cut"
    assert attributes(span)["http.response.status_code"] == 200
    assert span.status.code == Status.STATUS_CODE_ERROR


def test_a_request_that_is_no_genai_operation_is_named_by_method_and_route(mock: str, receiver: Receiver) -> None:
    answer = httpx.get(mock + "/openai/models?" + GA, headers=KEY)
    _, span = receiver.span(answer.headers["apim-request-id"])
    assert span.name == "GET /openai/models"
    assert span.kind == Span.SPAN_KIND_SERVER
    assert not any(key.startswith("gen_ai.") for key in attributes(span))
    assert attributes(span)["http.route"] == "/openai/models"


def _points(metrics: dict[str, Any], name: str) -> list[Any]:
    metric = metrics.get(name)
    return list(metric.histogram.data_points) if metric is not None else []


def test_genai_server_metrics_with_units_buckets_and_attributes(mock: str, receiver: Receiver) -> None:
    content = "one two three four five six seven eight"
    streamed = post(mock, "/openai/deployments/gpt-4o-mini/chat/completions?" + GA,
                    {"messages": [{"role": "user", "content": content}], "stream": True})  # fmt: skip
    assert streamed.status_code == 200
    refused = post(mock, "/openai/deployments/gpt-4o-mini/chat/completions?" + GA,
                   {"messages": [{"role": "user", "content": "no"}]}, **{"x-aoai-mock-fault": "429"})  # fmt: skip
    assert refused.status_code == 429

    def mini(point: Any) -> bool:
        return attributes(point).get("gen_ai.request.model") == "gpt-4o-mini"

    def exported() -> dict[str, Any] | None:
        metrics = receiver.metrics()
        durations = [p for p in _points(metrics, "gen_ai.server.request.duration") if mini(p)]
        done = sum(p.count for p in durations) >= 2 and any(map(mini, _points(metrics, "gen_ai.server.time_to_first_token")))
        return metrics if done else None

    metrics = wait_for(exported, 10, "the metrics of the two gpt-4o-mini requests were not exported")
    names = {"gen_ai.server.request.duration": "s", "gen_ai.server.time_to_first_token": "s",
             "gen_ai.server.time_per_output_token": "s", "gen_ai.server.token.usage": "{token}",
             "http.server.request.duration": "s"}  # fmt: skip
    assert {name: metrics[name].unit for name in names} == names
    durations = {attributes(p).get("error.type"): p for p in _points(metrics, "gen_ai.server.request.duration") if mini(p)}
    assert set(durations) == {None, "429"}
    assert list(durations[None].explicit_bounds) == DURATION_BUCKETS
    assert attributes(durations[None]) == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "azure.ai.openai",
        "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": streamed_model(streamed),
        "server.address": "127.0.0.1", "server.port": int(mock.rsplit(":", 1)[1]),
    }  # fmt: skip
    [first_token] = [p for p in _points(metrics, "gen_ai.server.time_to_first_token") if mini(p)]
    assert first_token.count == 1 and list(first_token.explicit_bounds) == FIRST_TOKEN_BUCKETS
    [per_token] = [p for p in _points(metrics, "gen_ai.server.time_per_output_token") if mini(p)]
    assert per_token.count == 1 and list(per_token.explicit_bounds) == PER_TOKEN_BUCKETS
    tokens = {attributes(p)["gen_ai.token.type"]: p for p in _points(metrics, "gen_ai.server.token.usage") if mini(p)}
    assert set(tokens) == {"input", "output"}
    assert tokens["output"].sum == len(content.split())  # the echo responder's tokens: one a word here


def streamed_model(answer: httpx.Response) -> str:
    events = [json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: {")]
    return next(event["model"] for event in events if event["model"])


def test_spans_not_yet_exported_go_out_when_the_server_stops(receiver: Receiver) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "600000",
           "OTEL_METRIC_EXPORT_INTERVAL": "600000"}  # fmt: skip
    with mock_process(env={**env, "AOAI_MOCK_OTEL": "1"}) as (url, proc):
        answer = post(url, CHAT, {"messages": [{"role": "user", "content": "last words"}]})
        proc.send_signal(signal.SIGTERM)  # the span waits in the batch processor, its export ten minutes away
        proc.wait(timeout=15)  # (uvicorn re-raises the signal: the exit status is -15)
    receiver.span(answer.headers["apim-request-id"], timeout=1)


def test_without_otel_nothing_of_opentelemetry_is_imported() -> None:
    script = """
import sys, httpx, asyncio
from aoai_mock.app import create_app
from aoai_mock.settings import resolve

from tests.processes import running

settings = resolve({"port": 0}, env={"OTEL_SDK_DISABLED": "false"})
assert not settings.otel
app = create_app(settings)
async def ask():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        answer = await client.post("/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
                                   json={"messages": [{"role": "user", "content": "hi"}]}, headers={"api-key": "k"})
        assert answer.status_code == 200, answer.text
asyncio.run(ask())
assert len(app.state.journal) == 1
loaded = sorted(name for name in sys.modules if name.startswith("opentelemetry"))
assert not loaded, loaded
app.framework  # FastAPI itself imports the OpenTelemetry API, never the SDK or an exporter
loaded = sorted(name for name in sys.modules if name.startswith(("opentelemetry.sdk", "opentelemetry.exporter")))
assert not loaded, loaded
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AOAI_MOCK_"))})  # fmt: skip
    assert done.stdout.strip() == "ok", done.stderr


def test_otel_without_the_packages_stops_the_start_with_one_line() -> None:
    script = (
        "import sys; sys.modules['opentelemetry.exporter.otlp.proto.http'] = None\n"
        "from aoai_mock.cli import main\n"
        "sys.exit(main(['serve', '--otel', '--port', '0']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "aoai-mock: --otel needs the OpenTelemetry packages: pip install 'aoai-mock[otel]'"


ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}


@pytest.mark.parametrize(
    ("cli", "env", "on"),
    [
        ({}, {}, False),
        ({"otel": True}, {}, True),
        ({}, {"AOAI_MOCK_OTEL": "1"}, True),
        ({}, ENDPOINT, True),
        ({}, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({}, {**ENDPOINT, "AOAI_MOCK_OTEL": "0"}, False),
        ({"otel": True}, {"OTEL_SDK_DISABLED": "true"}, False),
        ({}, {**ENDPOINT, "OTEL_SDK_DISABLED": "TRUE"}, False),
        ({"otel": True}, {"OTEL_SDK_DISABLED": "false"}, True),
        ({}, {"AOAI_MOCK_OTEL": "maybe"}, False),
    ],
)
def test_settings_say_when_opentelemetry_is_on(cli: dict[str, Any], env: dict[str, str], on: bool) -> None:
    assert resolve({"port": 0, **cli}, env=env).otel is on


def _record(path: str, body: bytes, status: int | None = 200, stream: bool = False, outcome: str = "sent") -> Any:
    from aoai_mock.state.record import Record

    record = Record("r-1", "POST", path, b"", [(b"host", b"[::1]:8123"), (b"user-agent", b"tests")], 1.0)
    record.status, record.stream, record.outcome, record.operation = status, stream, outcome, "responses"
    record.sent_body(body)
    record.finish(2.0)
    return record


def test_a_responses_stream_is_read_for_its_id_model_and_the_code_of_its_error_event() -> None:
    from aoai_mock.http.telemetry_facts import facts

    created = b'event: response.created\ndata: {"response": {"id": "resp_1", "model": "gpt-4o", "error": null}}\n\n'
    failed = b'event: error\ndata: {"type": "error", "code": "server_error", "message": "boom"}\n\n'
    settings = resolve({"port": 0}, env={})
    found = facts(_record("/openai/responses", created + failed, stream=True, outcome="error_event"), settings)
    assert (found.span_name, found.response_id, found.error_type) == ("chat", "resp_1", "server_error")
    assert found.genai["gen_ai.response.model"] == "gpt-4o"
    assert found.server == {"server.address": "::1", "server.port": 8123}
    assert found.failed and found.http_error_type == "server_error"


def test_a_stored_response_read_back_is_no_genai_operation() -> None:
    from aoai_mock.http.telemetry_facts import facts

    found = facts(_record("/openai/responses/resp_1", b'{"id": "resp_1"}'), resolve({"port": 0}, env={}))
    assert found.genai == {} and found.span_name == "POST" and found.error_type is None
