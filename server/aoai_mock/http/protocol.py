"""uvicorn's httptools protocol, sending each response in one write, with the limits a server on a network needs.

uvicorn writes the status line and headers, then the body, as two writes, and every write on a socket
is a system call that also wakes the client. For the mock's small JSON answers that second call cost
about a fifth of a request's CPU time. Here the writes made in one turn of the event loop are joined
and sent at the end of that turn: a JSON response leaves in one write, and a stream still leaves chunk
by chunk, since its chunks are written in separate turns.

Limits (uvicorn has none of these for httptools): a request whose headers or body stop arriving for
``read_timeout`` seconds has its connection closed (a connection that never sends a byte included); headers
past ``max_header_bytes`` after the first read (128 KiB in all at most) get a 431; connections past ``max_connections`` get a 503 and are closed at once;
bytes that are not HTTP get a JSON 400 instead of uvicorn's plain text. Idle keep-alive connections are
closed by uvicorn's own ``timeout_keep_alive``.
"""

from __future__ import annotations

import asyncio
import resource
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "CoalescingHttpToolsProtocol",
    "UVICORN_OPTIONS",
    "ARRIVED",
    "CONNECTION",
    "drop_connection",
    "connection_cap",
    "ConnectionLimits",
    "LIMITS",
]

CONNECTION = "aoai_mock.connection"  # scope["extensions"] key of the request's transport
ARRIVED = "aoai_mock.arrived"  # scope["extensions"] key of time.monotonic() when the request began to arrive


class _CoalescingTransport:
    """A transport whose ``write`` waits for the end of the current loop turn; the rest is delegated."""

    __slots__ = ("_transport", "_loop", "_pending")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:  # a reset sends nothing that was waiting
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _raw_response(status: bytes, body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(body)).encode() + b"\r\n" + extra + b"connection: close\r\n\r\n" + body
    )


# Answers written by the protocol itself, before any request reaches the app: Azure's short gateway shape.
_NOT_HTTP = _raw_response(b"400 Bad Request", b'{"error":{"code":"BadRequest","message":"Invalid HTTP request."}}')
_HEADERS_TOO_LARGE = _raw_response(
    b"431 Request Header Fields Too Large",
    b'{"error":{"code":"RequestHeaderFieldsTooLarge","message":"The request headers are too large."}}',
)
_TOO_MANY = _raw_response(
    b"503 Service Unavailable",
    b'{"error":{"code":"ServiceUnavailable","message":"The server has too many open connections. '
    b'Please retry later."}}',
    b"retry-after: 1\r\n",
)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    read_timeout: float = 30.0  # seconds a request's headers or body may stall
    max_connections: int = 4096
    max_header_bytes: int = 64 * 1024  # the request line and headers together


# The app's lifespan puts the server's ConnectionLimits in uvicorn's app state under this key (each worker
# process from its own settings); the protocol reads them there as a connection opens.
LIMITS = "aoai_mock.connection_limits"
_DEFAULT_LIMITS = ConnectionLimits()


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = _CoalescingTransport(transport, self.loop)  # type: ignore[assignment]
        limits = self.app_state.get(LIMITS, _DEFAULT_LIMITS)
        self.read_timeout = limits.read_timeout
        self.max_header_bytes = limits.max_header_bytes
        self._read_timer: asyncio.TimerHandle | None = None
        self._last_read = self.loop.time()
        self._reading = True  # owed a request (or the rest of one) by the client
        self._header_bytes = 0
        self._in_headers = self._refused = False
        if len(self.connections) > limits.max_connections:
            transport.write(_TOO_MANY)
            transport.close()
            return
        self._read_timer = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if not self._reading or self.transport.is_closing():
            return  # the request is read; the app answers (or uvicorn's keep-alive timeout watches the idle)
        waited = self.loop.time() - self._last_read
        if waited >= self.read_timeout:
            self.transport.close()  # a cycle in progress sees http.disconnect
        else:
            self._read_timer = self.loop.call_later(self.read_timeout - waited, self._read_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._last_read = self.loop.time()
        if self._in_headers:  # headers arriving in several reads: bounded (the first read is at most 64 KiB)
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._refuse(_HEADERS_TOO_LARGE)
        if self._refused:
            return  # what the client still sends after a refusal is read and dropped
        super().data_received(data)

    def _refuse(self, answer: bytes) -> None:
        """Answer and close without reading the request: the answer, then our end shut, then whatever the client
        still sends dropped until it closes (at most a second), so that closing does not reset the connection
        under the answer before the client has read it."""
        self._refused = True
        self._in_headers = self._reading = False
        self.transport.write(answer)
        self.transport.flush()  # type: ignore[attr-defined]
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(1.0, self.transport.close)

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading = self._in_headers = True
        self._header_bytes = 0
        if self._read_timer is None:
            self._read_timer = self.loop.call_later(self.read_timeout, self._read_timed_out)
        # The connection itself, for faults that close or reset it (see drop_connection), and when the request
        # came: a burst's last request may wait for the others before its task runs, and pacing counts from here.
        extensions = self.scope.setdefault("extensions", {})
        extensions[CONNECTION] = self.transport  # type: ignore[typeddict-item]
        extensions[ARRIVED] = time.monotonic()  # type: ignore[typeddict-item]

    def on_headers_complete(self) -> None:
        self._in_headers = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._reading = False
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        self._refuse(_NOT_HTTP)


def drop_connection(scope: dict[str, Any], reset: bool = False) -> bool:
    """Close the request's connection now, with a FIN (``reset=False``) or a TCP reset; False when the
    server gives no access to it (another ASGI server), in which case nothing happens."""
    transport = (scope.get("extensions") or {}).get(CONNECTION)
    if transport is None:
        return False
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:  # linger 0: close() sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.flush()
        transport.close()
    return True


# How aoai-mock runs under uvicorn, from the CLI and in tests alike. Azure sends no `server` header, and
# the mock never looks at client addresses, so X-Forwarded-* handling would be work for nothing.
UVICORN_OPTIONS: dict[str, Any] = {"http": CoalescingHttpToolsProtocol, "server_header": False, "proxy_headers": False}


def connection_cap(requested: int | None = None) -> int:
    """How many connections to serve at once: ``requested``, else what the process's file limit allows (raised
    to its hard limit first), keeping some descriptors for files, the state database and the listening socket."""
    if requested is not None:
        return requested
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return 65536
    return max(16, min(65536, soft - 128))

