"""One record per request, from arrival to the last byte (in the spirit of WireMock's ``ServeEvent``).

The front door creates a :class:`Record` for every request on every route; whatever serves the request
fills in what it learns (the operation and deployment, the scenario and rule that answered, the fault and
what it did, the quota's decision, the tokens); the delivery fills in the outcome as sent. The journal,
the metrics, the JSON log line and the pytest plugin's assertions all read this one object, so they can
never disagree.

Recording sits on the hot path: the record holds raw values (the ASGI header list, the raw query and
body bytes, monotonic readings) and is described (decoded, masked, parsed) only when read. Fields are
plain attributes, written at most a few times per request.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

__all__ = [
    "Record",
    "Headers",
    "BODY_LIMIT",
    "SENT",
    "HUNG",
    "CLOSED",
    "RESET",
    "CUT",
    "MALFORMED",
    "ERROR_EVENT",
    "CLIENT_CLOSED",
    "SCENARIO_DEFAULT",
    "CURRENT",
    "current",
]

Headers = list[tuple[bytes, bytes]]

BODY_LIMIT = 64 * 1024  # bytes of a request or response body a record keeps

# The outcome as sent: how the response ended, whatever its status line said.
SENT = "sent"  # the whole response went out
HUNG = "hung"  # nothing was sent: the mock waited (a hang fault) until the client or the fault gave up
CLOSED = "closed"  # the connection was closed (FIN) before any byte
RESET = "reset"  # the connection was reset (RST) before any byte
CUT = "cut"  # the body stopped part-way (a stream after N events, or half a JSON body)
MALFORMED = "malformed"  # a stream carried an event that is not JSON, then went on
ERROR_EVENT = "error_event"  # a stream ended with an error event instead of its normal end
CLIENT_CLOSED = "client_closed"  # the client went away before the response ended

SCENARIO_DEFAULT = "(default reply)"  # the rule of an answer that came from a scenario's default, not a rule


class Record:
    """What one request was and what became of it. Times are ``time.monotonic()`` readings.

    Made for every request, so made cheaply: slots, every default set in a few chained assignments.
    """

    __slots__ = (
        "request_id", "method", "path", "query", "headers", "start", "body", "body_size", "operation",
        "deployment", "api_version", "scenario", "rule", "responder", "fault", "fault_source", "fault_effect",
        "quota", "tokens_in", "tokens_out", "status", "stream", "outcome", "events", "response_headers",
        "response_body", "response_size", "first_byte", "end", "seq", "wall", "_response_parts",
    )  # fmt: skip

    body: bytes  # as received (only the first BODY_LIMIT bytes are kept)
    body_size: int
    operation: str | None
    deployment: str | None
    api_version: str | None
    scenario: str | None  # the scenario that answered; None: no scenario was involved
    rule: str | None  # the rule that answered, or SCENARIO_DEFAULT
    responder: str | None  # the responder that wrote the answer
    fault: str | None  # the kind of fault injected ("429", "cut", ...)
    fault_source: str | None  # "header", "control", "scenario:<name>"
    fault_effect: str | None  # what the fault did, in words ("cut after 3 events")
    quota: dict[str, Any] | None  # an enforced quota's decision: cost, admitted, retry_after_ms
    tokens_in: int | None
    tokens_out: int | None
    status: int | None  # the status line sent; None when nothing was
    stream: bool  # the response was an event stream
    outcome: str  # SENT, or how the response ended otherwise
    events: int | None  # events sent, for a stream
    response_headers: Headers | None  # on errors: the retry and quota headers the journal keeps
    response_body: bytes  # the first BODY_LIMIT bytes sent
    response_size: int
    first_byte: float | None
    end: float | None  # the last byte (or the moment the response was given up)
    seq: int  # given by the journal
    wall: float  # wall-clock seconds at the end, given by the journal
    _response_parts: list[bytes] | None

    def __init__(
        self, request_id: str, method: str, path: str, query: bytes, headers: Headers, start: float
    ) -> None:
        self.request_id = request_id
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers  # the ASGI list as received: lower-case names, never changed afterwards
        self.start = start  # arrival
        self.body = self.response_body = b""
        self.body_size = self.response_size = self.seq = 0
        self.operation = self.deployment = self.status = self.tokens_in = self.tokens_out = self.fault = None
        self.first_byte = self.end = self._response_parts = self.api_version = self.scenario = self.rule = None
        self.responder = self.fault_source = self.fault_effect = self.quota = self.events = None
        self.response_headers = None
        self.stream = False
        self.outcome = SENT
        self.wall = 0.0

    def __repr__(self) -> str:
        return f"Record({self.method} {self.path} -> {self.status_label}, id={self.request_id})"

    def keep_body(self, body: bytes) -> None:
        self.body_size = len(body)
        self.body = body if len(body) <= BODY_LIMIT else body[:BODY_LIMIT]

    def sent_body(self, chunk: bytes) -> None:
        """A piece of the response body went out: keep it while under the limit."""
        if self.response_size < BODY_LIMIT:
            if self._response_parts is None:
                self._response_parts = []
            self._response_parts.append(chunk)
        self.response_size += len(chunk)

    def finish(self, end: float) -> None:
        """The response ended (or was given up): a body sent in one piece had its first byte now too."""
        self.end = end
        if self.first_byte is None and self.status is not None:
            self.first_byte = end
        if self._response_parts:
            self.join_response()

    def join_response(self) -> None:
        """The response body's pieces, kept as one (the first BODY_LIMIT bytes)."""
        joined = b"".join(self._response_parts or ())
        self.response_body = joined[:BODY_LIMIT]
        self._response_parts = None

    @property
    def tokens(self) -> tuple[int, int] | None:
        if self.tokens_in is None and self.tokens_out is None:
            return None
        return (self.tokens_in or 0, self.tokens_out or 0)

    @property
    def status_label(self) -> str:
        """The status as metrics and log lines name it: the code, or the transport outcome when none was sent."""
        return str(self.status) if self.status is not None else self.outcome

    @property
    def duration(self) -> float:
        return (self.end if self.end is not None else self.start) - self.start

    @property
    def arrived(self) -> float:
        """Wall time of arrival, in seconds since the epoch."""
        return self.wall - self.duration


# The record of the request being served, for behaviour that runs deep inside a request and has no
# record passed to it (an assistant run's turn, answered while a run is polled or streamed): the front
# door sets it for each request's task, like a tracer's current span.
CURRENT: ContextVar[Record | None] = ContextVar("aoai_mock_record", default=None)


def current() -> Record | None:
    """The record of the request this code runs for, if any."""
    return CURRENT.get()
