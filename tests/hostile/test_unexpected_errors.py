"""A bug of ours in a framework route: the service's 500, and the client's keep-alive connection goes on."""

from __future__ import annotations

import json
import socket

import pytest
from aoai_mock.testing import LiveServer

from tests.conftest import KEY


def _exchange(sock: socket.socket, request: bytes) -> tuple[int, bytes]:
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ")[1]), body


def test_a_500_keeps_the_connection(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    store = server.app.state.runtime.store

    async def broken(kind: str) -> list:
        raise RuntimeError("a bug")

    request = f"GET /openai/files?api-version=2024-10-21 HTTP/1.1\r\nhost: x\r\napi-key: {KEY}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        with monkeypatch.context() as patched:
            patched.setattr(store, "all", broken)
            status, body = _exchange(sock, request)
        assert status == 500 and json.loads(body)["error"]["type"] == "server_error"
        status, body = _exchange(sock, request)  # the same connection
        assert status == 200 and json.loads(body)["object"] == "list"
