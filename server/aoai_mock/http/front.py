"""The front door, as pure ASGI middleware (it never buffers a stream).

* ``//openai/...`` is served as ``/openai/...`` (the legacy SDK with a trailing-slash base sends it);
* every response, errors and streams included, carries Azure's headers: request ids, region and the
  security headers; routes add their own (rate-limit figures) through ``scope["state"]``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aoai_mock.behaviour.ids import IdFactory

__all__ = ["AzureFront", "add_response_headers"]

_STATIC = [
    (b"x-content-type-options", b"nosniff"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains; preload"),
]
_CACHE = (b"cache-control", b"no-cache, must-revalidate")


def add_response_headers(scope: Scope, headers: dict[str, str]) -> None:
    """Headers a route wants on its response, whatever the response turns out to be."""
    scope.setdefault("state", {}).setdefault("azure_headers", {}).update(headers)


class AzureFront:
    def __init__(self, app: ASGIApp, ids: IdFactory, region: str) -> None:
        self.app = app
        self.ids = ids
        self.region = region.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("//"):
            fixed = "/" + path.lstrip("/")
            scope = dict(scope, path=fixed, raw_path=fixed.encode())
        request_id = self.ids.request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        client_id = request_id.encode()
        for name, value in scope["headers"]:
            if name == b"x-ms-client-request-id" and value:
                client_id = value
                break
        rid = request_id.encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [
                    (b"apim-request-id", rid),
                    (b"x-request-id", rid),
                    (b"x-ms-client-request-id", client_id),
                    (b"x-ms-region", self.region),
                    (b"azureml-model-session", b"d" + rid[:8]),
                    *_STATIC,
                ]
                if b"cache-control" not in present:
                    headers.append(_CACHE)
                for name, value in state.get("azure_headers", {}).items():
                    headers.append((name.encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
