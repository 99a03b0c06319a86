"""Connections that hold the server: stalled headers and bodies are closed after the read timeout, too many
connections get a 503, oversized headers a 431, bytes that are not HTTP an Azure-shaped 400."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import KEY
from tests.hostile.conftest import assert_still_serving

READ_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def limited() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, "read_timeout": READ_TIMEOUT, "max_connections": 20}, env={})) as live:
        yield live


def _connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    sock.settimeout(seconds)
    try:
        return True, _read_all(sock)
    except TimeoutError:
        return False, b""


@pytest.mark.parametrize(
    "sent",
    [b"", b"POST /openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21 HTTP/1.1\r\nhost: x\r\n"],
    ids=["nothing", "unfinished-headers"],
)
def test_a_stalled_request_is_closed_after_the_read_timeout(limited: LiveServer, sent: bytes) -> None:
    with _connect(limited) as sock:
        sock.sendall(sent)
        closed, answer = _closed_within(sock, READ_TIMEOUT * 6)
    assert closed and answer == b""
    assert_still_serving(limited.url)


def test_a_stalled_body_is_closed_and_the_request_ends(limited: LiveServer) -> None:
    head = (
        "POST /openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21 HTTP/1.1\r\n"
        f"host: x\r\napi-key: {KEY}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n"
    ).encode()
    with _connect(limited) as sock:
        sock.sendall(head + b'{"messages": [')
        closed, _ = _closed_within(sock, READ_TIMEOUT * 6)
    assert closed
    assert_still_serving(limited.url)


def test_a_slow_but_moving_body_is_not_cut(limited: LiveServer) -> None:
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
    head = (
        "POST /openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21 HTTP/1.1\r\n"
        f"host: x\r\napi-key: {KEY}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode()
    with _connect(limited) as sock:
        sock.sendall(head)
        for i in range(0, len(body), len(body) // 4 + 1):  # each gap under the timeout, the whole over it
            time.sleep(READ_TIMEOUT * 0.4)
            sock.sendall(body[i : i + len(body) // 4 + 1])
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]


def test_connections_past_the_cap_get_a_503_and_the_rest_are_served(limited: LiveServer) -> None:
    held = [_connect(limited) for _ in range(20)]
    try:
        time.sleep(0.05)  # let the server accept them all
        with _connect(limited) as extra:
            answer = _read_all(extra)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:100]
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b"retry-after: 1" in head and b"connection: close" in head
        assert json.loads(body)["error"]["code"] == "ServiceUnavailable"
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.05)
    assert_still_serving(limited.url)


def test_headers_past_128_kib_get_a_431(limited: LiveServer) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /_mock/health HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 200_000 + b"\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"] == "RequestHeaderFieldsTooLarge"
    assert_still_serving(limited.url)


def test_bytes_that_are_not_http_get_an_azure_shaped_400(limited: LiveServer) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head
    assert json.loads(body) == {"error": {"code": "BadRequest", "message": "Invalid HTTP request."}}
    assert_still_serving(limited.url)
