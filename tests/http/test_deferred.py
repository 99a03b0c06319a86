"""The framework application is built when first needed (http/deferred.py, app.py): a fresh server answers its
health check and the answering operations without it, builds it for the first request that needs it, and builds
it unasked soon after start-up."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
import pytest
from aoai_mock import app as app_module
from aoai_mock.app import MockApp, create_app
from aoai_mock.http.front import AzureFront
from aoai_mock.http.routes import inference
from aoai_mock.settings import Settings, resolve

# A fresh interpreter: whether FastAPI is loaded says whether the framework application was built. What else the
# first answers need not load: Prometheus' client (the framework's /metrics), the Responses API's request model
# and builders, SQLite (a server without --state), and tiktoken's tokenizer (short texts are encoded without it).
_UNNEEDED = ("prometheus_client", "aoai_mock.behaviour.responses.service", "aoai_mock.behaviour.responses.request",
             "sqlite3")
_FRESH = """
import asyncio, sys
from aoai_mock.behaviour import tokens
import httpx
from aoai_mock.app import create_app
from aoai_mock.settings import resolve

app = create_app(resolve({"port": 0}, env={}))

async def main():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock",
                                 headers={"api-key": "k"}) as http:
        health = await http.get("/_mock/health")
        chat = await http.post("/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
                               json={"messages": [{"role": "user", "content": "hi"}]})
        print(health.status_code, chat.status_code, app.deferred.built, "fastapi" in sys.modules)
        print(sorted(name for name in UNNEEDED if name in sys.modules), tokens._built)
        files = await http.get("/openai/files?api-version=2024-10-21")
        print(files.status_code, files.json()["object"], app.deferred.built, "fastapi" in sys.modules)

asyncio.run(main())
""".replace("UNNEEDED", repr(_UNNEEDED))


def test_health_and_chat_are_answered_before_the_framework_is_built():
    run = subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["200 200 False False", "[] {}", "200 list True True"]


def _client(app: MockApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")


async def test_the_early_health_answer_is_the_framework_routes():
    app = create_app(Settings())
    async with _client(app) as http:
        early = await http.get("/_mock/health", headers={"x-ms-client-request-id": "c1"})
    assert not app.deferred.built
    # The framework straight behind the front door, as before the deferred build: its own health route answers.
    front = AzureFront(app.framework, app.state.runtime, inference.fast_route, app.state.journal, app.state.metrics)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=front), base_url="http://mock") as http:
        late = await http.get("/_mock/health", headers={"x-ms-client-request-id": "c1"})
    assert early.status_code == late.status_code == 200
    assert early.content == late.content == b'{"deployments":%d,"status":"ok"}' % len(app.settings.config.deployments)

    def shape(response: httpx.Response) -> list[tuple[str, str]]:
        ids = ("apim-request-id", "x-request-id")
        return [(k, "id" if k in ids else v) for k, v in response.headers.multi_items()]

    assert shape(early) == shape(late)


async def test_the_framework_shares_the_apps_state():
    app = create_app(Settings())
    framework = app.framework
    assert framework.state is app.state
    assert app.state.runtime is app.front.runtime and app.state.journal is app.front.journal
    assert app.state.metrics_registry is not None
    assert app.routes is framework.routes


async def test_requests_that_arrive_together_build_it_once(monkeypatch):
    app = create_app(Settings())
    builds = []
    build = app._build_framework

    def counted():
        builds.append(1)
        return build()

    monkeypatch.setattr(app.deferred, "_build", counted)
    async with _client(app) as http:
        answers = await asyncio.gather(*(http.get("/openai/models?api-version=2024-10-21", headers={"api-key": "k"})
                                         for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    assert builds == [1]


async def test_it_is_built_soon_after_start_up_unasked(monkeypatch):
    monkeypatch.setattr(app_module, "WARM_UP_AFTER", 0.0)
    app = create_app(resolve({"port": 0}, env={}))
    messages = [{"type": "lifespan.startup"}]
    sent: list[dict] = []
    stop = asyncio.Event()

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await stop.wait()
        return {"type": "lifespan.shutdown"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, receive, send))
    for _ in range(1000):  # not a timing: it waits, at most 20 s, for the build to be done
        if app.deferred.built:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task
    assert app.deferred.built
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert "aoai_mock.connection_limits" in scope["state"]


async def test_a_failing_start_says_so(monkeypatch):
    app = create_app(Settings())

    def broken():
        raise RuntimeError("no")

    monkeypatch.setattr(app_module.gc, "freeze", broken)
    messages = [{"type": "lifespan.startup"}]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    with pytest.raises(RuntimeError):
        await app({"type": "lifespan", "state": {}}, receive, send)
    assert sent[0]["type"] == "lifespan.startup.failed" and "no" in sent[0]["message"]
