"""uvicorn's httptools protocol, sending each response in one write.

uvicorn writes the status line and headers, then the body, as two writes, and every write on a socket
is a system call that also wakes the client. For the mock's small JSON answers that second call cost
about a fifth of a request's CPU time. Here the writes made in one turn of the event loop are joined
and sent at the end of that turn: a JSON response leaves in one write, and a stream still leaves chunk
by chunk, since its chunks are written in separate turns.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CoalescingHttpToolsProtocol", "UVICORN_OPTIONS", "CONNECTION", "drop_connection"]

CONNECTION = "aoai_mock.connection"  # scope["extensions"] key of the request's transport


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


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = _CoalescingTransport(transport, self.loop)  # type: ignore[assignment]

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # The connection itself, for faults that close or reset it (see drop_connection).
        self.scope.setdefault("extensions", {})[CONNECTION] = self.transport  # type: ignore[typeddict-item]


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
