"""Raw HTTP/1.1 clients for the streaming figures, cheap enough not to be what is measured.

* :class:`RawConnection` — one blocking keep-alive socket; :meth:`RawConnection.exchange` sends one request
  and reads the whole response (content-length or chunked) with a few ``recv`` calls and no parsing
  until it is over.
* :func:`run_streams` — many streams at once on an asyncio (uvloop) event loop with one
  :class:`asyncio.Protocol` per socket: all sockets are opened first, then every request is written in
  one burst; ``data_received`` only stamps ``time.perf_counter()`` and keeps the bytes, so the parsing
  happens after the run.
* :func:`events_with_arrival` — a finished response's SSE events, each with the moment its last byte
  arrived.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import socket
import time
from bisect import bisect_left
from dataclasses import dataclass, field

HOST = "127.0.0.1"
_END_CHUNKED = b"\r\n0\r\n\r\n"  # the last chunk of a chunked body (after the previous chunk's CRLF)


def request_bytes(port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """One keep-alive POST as it goes on the wire."""
    head = [f"POST {path} HTTP/1.1", f"Host: {HOST}:{port}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def split_head(raw: bytes) -> tuple[int, bytes, bytes]:
    """(status, lower-cased head, body as sent) of one response."""
    end = raw.find(b"\r\n\r\n")
    if end < 0 or not raw.startswith(b"HTTP/1."):
        raise RuntimeError(f"not an HTTP response: {raw[:200]!r}")
    return int(raw[9:12]), raw[:end].lower(), raw[end + 4:]


def dechunk(body: bytes) -> bytes:
    """The payload of a chunked body."""
    return b"".join(data for _, _, data in _chunks(body))


def _chunks(body: bytes) -> list[tuple[int, int, bytes]]:
    """(offset in `body` of the chunk's data, offset in the payload, data) of every chunk."""
    out: list[tuple[int, int, bytes]] = []
    pos = payload = 0
    while True:
        eol = body.index(b"\r\n", pos)
        size = int(body[pos:eol].split(b";")[0], 16)
        if size == 0:
            return out
        start = eol + 2
        out.append((start, payload, body[start:start + size]))
        payload += size
        pos = start + size + 2


def response_payload(raw: bytes) -> bytes:
    """The body of one whole response, chunked or not; raises unless the status is 200."""
    status, head, body = split_head(raw)
    if status != 200:
        raise RuntimeError(f"got {status}: {body[:300]!r}")
    return dechunk(body) if b"transfer-encoding: chunked" in head else body


def sse_events(payload: bytes) -> list[bytes]:
    """The events of an SSE payload, each with its closing blank line."""
    return [e + b"\n\n" for e in payload.split(b"\n\n") if e]


def is_content_event(event: bytes) -> bool:
    """True if this SSE event is a chat chunk whose delta carries non-empty content."""
    data = event.strip()
    if not data.startswith(b"data:") or data == b"data: [DONE]":
        return False
    try:
        choices = json.loads(data[5:]).get("choices") or []
    except ValueError:
        return False
    return any((c.get("delta") or {}).get("content") for c in choices)


class RawConnection:
    """One blocking keep-alive connection to 127.0.0.1:port."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def exchange(self, request: bytes) -> tuple[float, bytes]:
        """Send `request`, read its whole response: (seconds from the send to the last byte, response)."""
        sock = self.sock
        buf = bytearray()
        started = time.perf_counter()
        sock.sendall(request)
        need = -1  # total length once known from content-length; -2: chunked
        while True:
            data = sock.recv(1 << 20)
            if not data:
                raise RuntimeError(f"connection closed mid-response: {bytes(buf[:300])!r}")
            buf += data
            if need == -1:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    continue
                head = bytes(buf[:end]).lower()
                m = re.search(rb"\r\ncontent-length:\s*(\d+)", head)
                need = end + 4 + int(m.group(1)) if m else -2
            if (need == -2 and buf.endswith(_END_CHUNKED)) or (need >= 0 and len(buf) >= need):
                return time.perf_counter() - started, bytes(buf)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------ many streams at once

@dataclass(slots=True)
class StreamRecord:
    """One stream of a burst: when its request was written, and every read with its time."""

    sent_at: float = 0.0
    reads: list[tuple[float, bytes]] = field(default_factory=list)
    done_at: float = 0.0

    def raw(self) -> bytes:
        return b"".join(data for _, data in self.reads)


class _StreamProtocol(asyncio.Protocol):
    """Keeps every read with its arrival time; notices the end of a chunked response, nothing more."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.record = StreamRecord()
        self.tail = b""
        self.done: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.record.reads.append((now, data))
        tail = (self.tail + data[-7:])[-7:]
        self.tail = tail
        if tail == _END_CHUNKED and self.done is not None and not self.done.done():
            self.record.done_at = now
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(RuntimeError(
                f"connection closed mid-response: {self.record.raw()[:300]!r} ({exc})"))


async def _open(port: int, count: int) -> list[_StreamProtocol]:
    loop = asyncio.get_running_loop()
    protos: list[_StreamProtocol] = []
    for start in range(0, count, 100):  # in batches: the listen backlog stays well below its limit
        pairs = await asyncio.gather(*(loop.create_connection(_StreamProtocol, HOST, port)
                                       for _ in range(start, min(count, start + 100))))
        protos += [p for _, p in pairs]
    for p in protos:
        sock = p.transport.get_extra_info("socket") if p.transport else None
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return protos


async def _bursts(port: int, request: bytes, count: int, bursts: int, settle: float,
                  timeout: float) -> list[list[StreamRecord]]:
    loop = asyncio.get_running_loop()
    protos = await _open(port, count)
    await asyncio.sleep(settle)  # let the server accept every connection before the burst
    out: list[list[StreamRecord]] = []
    try:
        for _ in range(bursts):
            for p in protos:
                p.record, p.tail, p.done = StreamRecord(), b"", loop.create_future()
            for p in protos:  # one burst: each request's write is done when write() returns (sent at once)
                p.transport.write(request)  # type: ignore[union-attr]
                p.record.sent_at = time.perf_counter()
            done, pending = await asyncio.wait([p.done for p in protos], timeout=timeout)  # type: ignore[misc]
            failed = [exc for exc in (f.exception() for f in done) if exc is not None]  # each one retrieved
            if failed:
                raise failed[0]
            if pending:
                late = [p for p in protos if p.done in pending]
                raise RuntimeError(f"{len(late)} of {count} streams unfinished after {timeout:g}s; one began "
                                   f"{late[0].record.raw()[:300]!r}")
            out.append([p.record for p in protos])
    finally:
        for p in protos:
            done, p.done = p.done, None  # closing on purpose: no error for the stream, and none left unretrieved
            if done is not None and done.done() and not done.cancelled():
                done.exception()
            if p.transport is not None:
                p.transport.close()
    return out


def run_streams(port: int, request: bytes, count: int, bursts: int = 1, settle: float = 0.3,
                timeout: float = 60.0) -> list[list[StreamRecord]]:
    """Open `count` connections, then `bursts` times write `request` on each at once and wait for every
    response to end; returns each burst's records. The garbage collector is off meanwhile, so that its
    pauses do not delay time stamps."""
    try:
        import uvloop  # type: ignore[import-not-found]
        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        runner = asyncio.run
    enabled = gc.isenabled()
    gc.disable()
    try:
        return runner(_bursts(port, request, count, bursts, settle, timeout))
    finally:
        if enabled:
            gc.enable()


def events_with_arrival(record: StreamRecord) -> list[tuple[float, bytes]]:
    """Each SSE event of a finished chunked stream with the time its last byte arrived."""
    raw = record.raw()
    ends, total = [], 0
    for _, data in record.reads:
        total += len(data)
        ends.append(total)
    status, head, _ = split_head(raw)
    if status != 200 or b"transfer-encoding: chunked" not in head:
        raise RuntimeError(f"stream got {status}: {raw[:300]!r}")
    body_at = raw.find(b"\r\n\r\n") + 4
    chunks = _chunks(raw[body_at:])
    payload = b"".join(data for _, _, data in chunks)
    starts = [p for _, p, _ in chunks]
    out = []
    pos = 0
    while (cut := payload.find(b"\n\n", pos)) >= 0:
        last = cut + 1  # payload offset of the event's last byte
        k = bisect_left(starts, last + 1) - 1  # the chunk holding it
        raw_off = body_at + chunks[k][0] + (last - starts[k])
        out.append((record.reads[bisect_left(ends, raw_off + 1)][0], payload[pos:cut + 2]))
        pos = cut + 2
    return out
