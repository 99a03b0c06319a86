"""The operation registry: paths resolve to their operation and deployment, and every per-operation table
elsewhere says what the registry says (and what the tables said before they were derived from it)."""

from __future__ import annotations

import dataclasses
import types
import typing

import pytest
from aoai_mock.wire import api_versions as av
from aoai_mock.wire import operations as ops
from aoai_mock.wire.operations import OPERATIONS, Operation, by_name, resolve

# --- the tables as they were written by hand, before the registry (the contract) -------------------------
_CHAT_ERA = ["chat.completions", "completions", "embeddings", "files", "models"]
_WHISPER = ["audio.transcriptions", "audio.translations"]
_GA_2024 = sorted([*_CHAT_ERA, *_WHISPER, "fine_tuning", "images.generations"])
_PREVIEW_2024 = sorted([*_GA_2024, "assistants", "audio.speech"])
_PREVIEW_BATCH = sorted([*_PREVIEW_2024, "vector_stores", "batches"])
OLD_OFFERS: dict[str, list[str]] = {
    "2022-03-01-preview": ["completions", "files", "models"],
    "2022-06-01-preview": ["completions", "embeddings", "files", "models"],
    "2022-12-01": ["completions", "embeddings", "files", "models"],
    "2023-03-15-preview": _CHAT_ERA,
    "2023-05-15": _CHAT_ERA,
    "2023-06-01-preview": _CHAT_ERA,
    "2023-07-01-preview": _CHAT_ERA,
    "2023-08-01-preview": _CHAT_ERA,
    "2023-09-01-preview": sorted([*_CHAT_ERA, *_WHISPER]),
    "2023-10-01-preview": sorted([*_CHAT_ERA, *_WHISPER, "fine_tuning"]),
    "2023-12-01-preview": _GA_2024,
    "2024-02-01": _GA_2024,
    "2024-02-15-preview": _PREVIEW_2024,
    "2024-03-01-preview": _PREVIEW_2024,
    "2024-04-01-preview": _PREVIEW_2024,
    "2024-05-01-preview": sorted([*_PREVIEW_2024, "vector_stores"]),
    "2024-06-01": _GA_2024,
    "2024-07-01-preview": _PREVIEW_BATCH,
    "2024-08-01-preview": _PREVIEW_BATCH,
    "2024-09-01-preview": _PREVIEW_BATCH,
    "2024-10-01-preview": sorted([*_PREVIEW_BATCH, "realtime"]),  # the Realtime API's first version
    "2024-10-21": sorted([*_GA_2024, "batches"]),
    "2024-12-01-preview": sorted([*_PREVIEW_BATCH, "realtime"]),
    "2025-01-01-preview": sorted([*_PREVIEW_BATCH, "realtime"]),
    "2025-02-01-preview": sorted([*_PREVIEW_BATCH, "realtime"]),
    "2025-03-01-preview": sorted([*_PREVIEW_BATCH, "realtime", "responses"]),
    "2025-04-01-preview": sorted([*_PREVIEW_BATCH, "realtime", "responses", "images.edits"]),
    "preview": ["chat.completions", "embeddings", "files", "fine_tuning", "images.edits", "images.generations",
                "models", "realtime", "responses", "vector_stores"],
    "v1": ["chat.completions", "embeddings", "files", "fine_tuning", "models", "realtime", "responses",
           "vector_stores"],
}
OLD_OPERATION_NAMES = {  # http/deps.py: how OperationNotSupported names an operation
    "chat.completions": "chatCompletion", "completions": "completion", "embeddings": "embeddings",
    "images.generations": "imageGeneration", "images.edits": "imageEdit", "audio.transcriptions": "audioTranscription",
    "audio.translations": "audioTranslation", "audio.speech": "audioSpeech", "responses": "responses",
    "realtime": "realtime",
}
OLD_OPERATION_IDS = {  # behaviour/ratelimit.py: the operation a 429 names
    "chat.completions": "ChatCompletions_Create", "completions": "Completions_Create",
    "embeddings": "Embeddings_Create", "images.generations": "ImageGenerations_Create",
    "images.edits": "ImageEdits_Create", "audio.transcriptions": "Transcriptions_Create",
    "audio.translations": "Translations_Create", "audio.speech": "Speech_Create", "responses": "Create_Response",
    "realtime": "Realtime_Connect",
    "assistants": "Create_Run", "vector_stores": "Create_Vector_Store", "files": "Files_Upload",
    "batches": "Batch_Create", "fine_tuning": "FineTuning_Create", "models": "Models_List",
}
OLD_KIND_OPERATIONS = {  # config.py: what a deployment of each kind answers
    "chat": {"chat.completions", "responses"}, "completions": {"completions"}, "embeddings": {"embeddings"},
    "image": {"images.generations", "images.edits"}, "audio": {"audio.transcriptions", "audio.translations"},
    "speech": {"audio.speech"}, "realtime": {"realtime"},
}
OLD_ALIASES = {"chat": "chat.completions"}  # the scenario match schema
OLD_SCENARIO_OPERATIONS = (  # the scenario schema's Operation literal (and so the shipped JSON schema)
    "assistants", "audio.speech", "audio.transcriptions", "audio.translations", "batches", "chat",
    "chat.completions", "completions", "embeddings", "files", "fine_tuning", "images.edits",
    "images.generations", "models", "realtime", "responses", "vector_stores",
)
OLD_BATCH_ENDPOINTS = {
    "/chat/completions": "chat.completions", "/completions": "completions", "/embeddings": "embeddings",
}
OLD_DEPLOYMENT_OPERATIONS = {
    "chat.completions", "completions", "embeddings", "images.generations", "images.edits", "audio.transcriptions",
    "audio.translations", "audio.speech",
}
# http/resource_faults.py's path tables, and the paths http/routes/inference.py routes fast
OLD_DEPLOYMENT_TAILS = {
    "images/generations": "images.generations", "images/edits": "images.edits", "audio/speech": "audio.speech",
    "audio/transcriptions": "audio.transcriptions", "audio/translations": "audio.translations",
    "chat/completions": "chat.completions", "completions": "completions", "embeddings": "embeddings",
}
OLD_RESOURCE_WORDS = {
    "assistants": "assistants", "threads": "assistants", "vector_stores": "vector_stores", "files": "files",
    "batches": "batches", "fine_tuning": "fine_tuning", "responses": "responses", "models": "models",
    "realtime": "realtime", "realtimeapi": "realtime",  # the WebSocket, and the preview's ephemeral keys
}
# /openai/v1/...: the fast routes, the v1 copies of files, fine-tuning and vector stores, models, responses
OLD_V1_SERVED = {
    "chat/completions": "chat.completions", "embeddings": "embeddings", "files": "files",
    "fine_tuning": "fine_tuning", "vector_stores": "vector_stores", "models": "models", "responses": "responses",
    "realtime": "realtime",
}


def registry_view(pick: typing.Callable[[Operation], typing.Any]) -> dict[str, typing.Any]:
    return {op.name: pick(op) for op in OPERATIONS.values() if pick(op) is not None}


# --- the registry itself ---------------------------------------------------------------------------------
def test_the_registry_holds_every_operation_once_under_its_name():
    assert set(OPERATIONS) == set(OLD_OPERATION_IDS)
    for name, op in OPERATIONS.items():
        assert op.name == name and by_name(name) is op
    names = [op.name for op in OPERATIONS.values()]
    assert len(names) == len(set(names))


def test_records_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        by_name(av.CHAT).name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        OPERATIONS["x"] = by_name(av.CHAT)  # type: ignore[index]


def test_by_name_refuses_what_is_no_operation():
    with pytest.raises(KeyError, match="unknown operation 'chat'"):
        by_name("chat")  # an alias, not a name


def test_the_api_version_constants_are_the_registry_names():
    for constant in ("CHAT", "COMPLETIONS", "EMBEDDINGS", "IMAGES_GENERATIONS", "IMAGES_EDITS", "AUDIO_TRANSCRIPTIONS",
                     "AUDIO_TRANSLATIONS", "AUDIO_SPEECH", "ASSISTANTS", "VECTOR_STORES", "FILES", "BATCHES",
                     "FINE_TUNING", "MODELS", "RESPONSES"):
        assert getattr(av, constant) == getattr(ops, constant)
        assert getattr(av, constant) in OPERATIONS


def test_every_record_is_consistent():
    for op in OPERATIONS.values():
        assert op.scope in ("deployment", "resource")
        assert op.paths, op.name
        assert op.methods and op.methods <= {"GET", "POST", "DELETE"}
        assert op.preview_since is None or av.lookup(op.preview_since).preview
        assert op.ga_since is None or not av.lookup(op.ga_since).preview
        assert op.v1_versions <= av.V1_FAMILY
        assert all(av.lookup(v) is not None for v in op.dropped)
        for path in op.paths:
            assert path.startswith("/openai/") and not path.startswith("/openai/v1/")
            assert ("{deployment}" in path) == op.deployment_scoped
        for path in op.v1_paths:
            assert path.startswith("/openai/v1/") and "{" not in path
        assert not op.v1_paths or "v1" in op.v1_versions, f"{op.name} served under /openai/v1/ but not by v1"
        if op.deployment_scoped:
            assert op.methods == {"POST"}


def test_azure_spec_operation_ids():
    # The ids the shared OpenAPI files give (2025-03-01-preview spelling for embeddings).
    spec = {"chat.completions": "ChatCompletions_Create", "completions": "Completions_Create",
            "embeddings": "Embeddings_Create", "images.generations": "ImageGenerations_Create",
            "audio.transcriptions": "Transcriptions_Create", "audio.translations": "Translations_Create",
            "audio.speech": "Speech_Create", "responses": "Create_Response", "assistants": "Create_Run",
            "vector_stores": "Create_Vector_Store"}
    for name, operation_id in spec.items():
        assert by_name(name).operation_id == operation_id


# --- resolve ---------------------------------------------------------------------------------------------
DEPLOYMENTS = ("gpt-4o", "my.deployment-2_x", "d")


def concrete(template: str, deployment: str) -> str:
    return template.replace("{deployment}", deployment)


@pytest.mark.parametrize("op", list(OPERATIONS.values()), ids=lambda op: op.name)
def test_every_operation_resolves_from_its_paths(op: Operation):
    for template in op.paths:
        for method in op.methods:
            if op.deployment_scoped:
                for name in DEPLOYMENTS:
                    assert resolve(method, concrete(template, name)) == (op, name)
            else:
                assert resolve(method, template) == (op, None)
                if template != "/openai/deployments":  # below the list are the deployment-scoped paths
                    assert resolve(method, template + "/some-id/content") == (op, None)
    for template in op.v1_paths:
        for method in op.methods:
            assert resolve(method, template) == (op, None)
            if not op.deployment_scoped:
                assert resolve(method, template + "/some-id") == (op, None)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/openai/deployments/gpt-4o/chat/completions", (av.CHAT, "gpt-4o")),
        ("POST", "/openai/deployments/ada/embeddings", (av.EMBEDDINGS, "ada")),
        ("POST", "/openai/deployments/dalle/images/edits", (av.IMAGES_EDITS, "dalle")),
        ("POST", "/openai/v1/chat/completions", (av.CHAT, None)),
        ("POST", "/openai/v1/embeddings", (av.EMBEDDINGS, None)),
        ("POST", "/openai/threads/runs", (av.ASSISTANTS, None)),
        ("GET", "/openai/threads/thread_1/runs/run_1/steps", (av.ASSISTANTS, None)),
        ("DELETE", "/openai/assistants/asst_1", (av.ASSISTANTS, None)),
        ("POST", "/openai/vector_stores/vs_1/file_batches", (av.VECTOR_STORES, None)),
        ("GET", "/openai/v1/vector_stores", (av.VECTOR_STORES, None)),
        ("POST", "/openai/batches/batch_1/cancel", (av.BATCHES, None)),
        ("GET", "/openai/fine_tuning/jobs/ftjob-1/events", (av.FINE_TUNING, None)),
        ("GET", "/openai/v1/fine_tuning/jobs", (av.FINE_TUNING, None)),
        ("GET", "/openai/files/file-1/content", (av.FILES, None)),
        ("POST", "/openai/v1/files", (av.FILES, None)),
        ("POST", "/openai/responses", (av.RESPONSES, None)),
        ("GET", "/openai/v1/responses/resp_1/input_items", (av.RESPONSES, None)),
        ("GET", "/openai/models", (av.MODELS, None)),
        ("GET", "/openai/deployments", (av.MODELS, None)),
        ("GET", "/openai/v1/models/gpt-4o", (av.MODELS, None)),
    ],
)
def test_resolve_examples(method, path, expected):
    found = resolve(method, path)
    assert found is not None
    assert (found[0].name, found[1]) == expected


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/"),
        ("POST", "/openai"),
        ("POST", "/openai/"),
        ("POST", "/openai/v1"),
        ("POST", "/openai/v1/"),
        ("GET", "/_mock/requests"),
        ("POST", "/v1/chat/completions"),  # OpenAI's own path, not Azure's
        ("POST", "/openai/deployments/"),
        ("POST", "/openai/deployments//chat/completions"),  # no deployment name
        ("POST", "/openai/deployments/gpt-4o"),
        ("POST", "/openai/deployments/gpt-4o/"),
        ("POST", "/openai/deployments/gpt-4o/chat"),
        ("POST", "/openai/deployments/gpt-4o/chat/completions/"),
        ("POST", "/openai/deployments/gpt-4o/chat/completionsX"),
        ("POST", "/openai/deployments/gpt-4o/extensions/chat/completions"),  # not served
        ("POST", "/openai/deployments/gpt-4o/files"),
        ("GET", "/openai/deployments/gpt-4o/chat/completions"),  # inference is POST only
        ("DELETE", "/openai/deployments/gpt-4o/embeddings"),
        ("POST", "/openai/models"),  # models are only listed
        ("DELETE", "/openai/deployments"),
        ("PUT", "/openai/files"),
        ("POST", "/openai/chat/completions"),  # dated versions put the deployment in the path
        ("POST", "/openai/embeddings"),
        ("POST", "/openai/v1/completions"),  # v1 serves no completions
        ("POST", "/openai/v1/chat"),
        ("POST", "/openai/v1/chat/completions/x"),
        ("POST", "/openai/v1/images/generations"),  # Azure's preview has it; the mock does not serve it
        ("POST", "/openai/v1/audio/speech"),
        ("POST", "/openai/v1/assistants"),
        ("POST", "/openai/v1/threads"),
        ("POST", "/openai/v1/batches"),
        ("GET", "/openai/v1/deployments"),
        ("POST", "/openai/v1/deployments/gpt-4o/chat/completions"),
        ("GET", "/openai/evals"),
        ("GET", "/openai/filesX"),
        ("GET", "/openaifiles"),
        ("POST", "/openai/images/generations:submit"),
        ("GET", "/openai/operations/images/abc"),
    ],
)
def test_unknown_paths_resolve_to_none(method, path):
    assert resolve(method, path) is None


def test_resolve_uses_no_regular_expressions():
    assert not any(getattr(value, "__name__", "") == "re" for value in vars(ops).values())


# --- the api-version table --------------------------------------------------------------------------------
def test_every_api_version_offers_what_the_old_table_said():
    assert list(av.API_VERSIONS) == list(OLD_OFFERS)  # same versions, same order
    for name, version in av.API_VERSIONS.items():
        assert sorted(version.operations) == sorted(OLD_OFFERS[name]), name


def test_every_api_version_offers_what_the_registry_says():
    for name, version in av.API_VERSIONS.items():
        assert version.operations == {op.name for op in OPERATIONS.values() if op.offered_by(name)}, name


def test_first_versions_are_the_first_that_offer():
    for op in OPERATIONS.values():
        dated = [v for v in av.API_VERSIONS.values() if not v.v1_family and v.offers(op.name)]
        previews = [v.name for v in dated if v.preview]
        gas = [v.name for v in dated if not v.preview]
        assert (previews[0] if previews else None) == op.preview_since, op.name
        assert (gas[0] if gas else None) == op.ga_since, op.name
        assert {v for v in av.V1_FAMILY if av.lookup(v).offers(op.name)} == op.v1_versions


def test_offered_by_honours_dropped_versions():
    op = dataclasses.replace(by_name(av.FILES), dropped=frozenset({"2024-10-21"}))
    assert op.offered_by("2024-06-01") and not op.offered_by("2024-10-21")
    assert op.offered_by("2024-12-01-preview") and op.offered_by("v1")


def test_all_and_deployment_operations():
    assert av.ALL_OPERATIONS == frozenset(OPERATIONS) == frozenset(OLD_OPERATION_IDS)
    assert av.DEPLOYMENT_OPERATIONS == {op.name for op in OPERATIONS.values() if op.deployment_scoped}
    assert av.DEPLOYMENT_OPERATIONS == OLD_DEPLOYMENT_OPERATIONS


# --- the tables derived elsewhere -------------------------------------------------------------------------
def test_operation_not_supported_names():
    from aoai_mock.http.deps import OPERATION_NAMES

    assert OPERATION_NAMES == OLD_OPERATION_NAMES == registry_view(lambda op: op.unsupported_name)
    assert list(OPERATION_NAMES) == list(OLD_OPERATION_NAMES)


def test_rate_limit_operation_ids():
    from aoai_mock.behaviour.ratelimit import OPERATION_IDS, operation_id

    assert OPERATION_IDS == OLD_OPERATION_IDS == registry_view(lambda op: op.operation_id)
    assert list(OPERATION_IDS) == list(OLD_OPERATION_IDS)
    assert operation_id("Create_Thread_And_Run") == "Create_Thread_And_Run"


def test_deployment_kinds():
    from aoai_mock.config import KIND_OPERATIONS, Kind

    assert {kind.value: set(found) for kind, found in KIND_OPERATIONS.items()} == OLD_KIND_OPERATIONS
    for kind, found in KIND_OPERATIONS.items():
        assert found == {op.name for op in OPERATIONS.values() if kind.value in op.kinds}
    assert list(KIND_OPERATIONS) == list(Kind)


def test_scenario_operation_spellings():
    from aoai_mock.behaviour.scenarios import match_schema

    assert match_schema.OPERATION_ALIASES == OLD_ALIASES
    assert match_schema.OPERATION_ALIASES == {a: op.name for op in OPERATIONS.values() for a in op.aliases}
    assert typing.get_args(match_schema.Operation) == OLD_SCENARIO_OPERATIONS


def test_batch_endpoints():
    from aoai_mock.behaviour.batch_input import ENDPOINTS

    assert ENDPOINTS == OLD_BATCH_ENDPOINTS == {op.batch_url: op.name for op in OPERATIONS.values() if op.batch_url}
    assert list(ENDPOINTS) == list(OLD_BATCH_ENDPOINTS)


def test_paths_are_the_old_path_tables():
    tails = {p.rsplit("{deployment}/", 1)[1]: op.name for op in OPERATIONS.values() if op.deployment_scoped
             for p in op.paths}
    assert tails == OLD_DEPLOYMENT_TAILS
    words = {p.removeprefix("/openai/"): op.name for op in OPERATIONS.values() if not op.deployment_scoped
             for p in op.paths}
    assert words == {**OLD_RESOURCE_WORDS, "deployments": av.MODELS}  # + GET /openai/deployments (the list)
    v1 = {p.removeprefix("/openai/v1/"): op.name for op in OPERATIONS.values() for p in op.v1_paths}
    assert v1 == OLD_V1_SERVED


def _fast(path: str) -> typing.Any:
    from aoai_mock.http.routes import inference

    return inference.fast_route("POST", path)


def test_the_fast_router_agrees_with_resolve():
    for op in OPERATIONS.values():
        for template in (*op.paths, *op.v1_paths):
            path = concrete(template, "gpt-4o")
            found = _fast(path)
            if found is not None:
                assert found[0].__name__ == op.name.replace(".", "_"), path
                assert found[1] == (resolve("POST", path)[1] or ""), path
    for name in (av.CHAT, av.COMPLETIONS, av.EMBEDDINGS):  # the hot path, on every version
        for template in (*by_name(name).paths, *by_name(name).v1_paths):
            assert _fast(concrete(template, "gpt-4o")) is not None, template


# --- the application's routes -----------------------------------------------------------------------------
def _framework_routes() -> list[tuple[str, str]]:
    from aoai_mock.app import create_app
    from fastapi.routing import APIRoute

    def walk(routes: typing.Iterable[typing.Any]) -> typing.Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):  # FastAPI >= 0.16x keeps included routers whole
                yield from walk(route.original_router.routes)

    return [
        (method, route.path)
        for route in walk(create_app().routes)
        if route.path.startswith("/openai/")
        for method in sorted(route.methods or ())
    ]


def test_every_framework_route_resolves():
    routes = _framework_routes()
    assert routes
    for method, path in routes:
        assert resolve(method, path) is not None, (method, path)


def test_every_registry_path_is_served():
    served = {path for _, path in _framework_routes()}
    for op in OPERATIONS.values():
        for template in (*op.paths, *op.v1_paths):
            if _fast(concrete(template, "gpt-4o")) is not None:
                continue
            assert any(p == template or p.startswith(template + "/") for p in served), template


# The framework's /openai/v1/ routes before the registry: the copies of files, fine-tuning and vector stores,
# and the models and Responses routes declared for v1; the fast routes served chat and embeddings there.
OLD_V1_ROUTES = {
    ("POST", "/openai/v1/chat/completions"),
    ("POST", "/openai/v1/embeddings"),
    ("GET", "/openai/v1/files"),
    ("POST", "/openai/v1/files"),
    ("DELETE", "/openai/v1/files/{file_id}"),
    ("GET", "/openai/v1/files/{file_id}"),
    ("GET", "/openai/v1/files/{file_id}/content"),
    ("GET", "/openai/v1/fine_tuning/jobs"),
    ("POST", "/openai/v1/fine_tuning/jobs"),
    ("GET", "/openai/v1/fine_tuning/jobs/{job_id}"),
    ("DELETE", "/openai/v1/fine_tuning/jobs/{job_id}"),  # 204, as recorded (fine_tuning/net-CreateCancelDelete)
    ("POST", "/openai/v1/fine_tuning/jobs/{job_id}/cancel"),
    ("GET", "/openai/v1/fine_tuning/jobs/{job_id}/checkpoints"),
    ("GET", "/openai/v1/fine_tuning/jobs/{job_id}/events"),
    ("GET", "/openai/v1/models"),
    ("GET", "/openai/v1/models/{model_id}"),
    ("POST", "/openai/v1/responses"),
    ("DELETE", "/openai/v1/responses/{response_id}"),
    ("GET", "/openai/v1/responses/{response_id}"),
    ("GET", "/openai/v1/responses/{response_id}/input_items"),
    ("GET", "/openai/v1/vector_stores"),
    ("POST", "/openai/v1/vector_stores"),
    ("DELETE", "/openai/v1/vector_stores/{vs_id}"),
    ("GET", "/openai/v1/vector_stores/{vs_id}"),
    ("POST", "/openai/v1/vector_stores/{vs_id}"),
    ("POST", "/openai/v1/vector_stores/{vs_id}/file_batches"),
    ("GET", "/openai/v1/vector_stores/{vs_id}/file_batches/{batch_id}"),
    ("POST", "/openai/v1/vector_stores/{vs_id}/file_batches/{batch_id}/cancel"),
    ("GET", "/openai/v1/vector_stores/{vs_id}/file_batches/{batch_id}/files"),
    ("GET", "/openai/v1/vector_stores/{vs_id}/files"),
    ("POST", "/openai/v1/vector_stores/{vs_id}/files"),
    ("DELETE", "/openai/v1/vector_stores/{vs_id}/files/{file_id}"),
    ("GET", "/openai/v1/vector_stores/{vs_id}/files/{file_id}"),
    ("POST", "/openai/v1/vector_stores/{vs_id}/files/{file_id}"),
    ("GET", "/openai/v1/vector_stores/{vs_id}/files/{file_id}/content"),
    ("POST", "/openai/v1/vector_stores/{vs_id}/search"),
    ("POST", "/openai/v1/realtime/client_secrets"),  # the WebSocket itself is no HTTP route
}


def test_v1_routes_are_the_families_the_registry_serves_there():
    v1 = [(method, path) for method, path in _framework_routes() if path.startswith("/openai/v1/")]
    assert len(v1) == len(set(v1))
    fast = [("POST", p) for op in OPERATIONS.values() for p in op.v1_paths if _fast(p) is not None]
    assert not set(v1) & set(fast)
    assert set(v1) | set(fast) == OLD_V1_ROUTES
    served = {resolve(method, path)[0].name for method, path in v1}
    assert served == {op.name for op in OPERATIONS.values() if op.v1_paths and not op.deployment_scoped}


def test_scenario_rate_limit_ids():
    from aoai_mock.behaviour.scenarios import replies

    old = {name: OLD_OPERATION_IDS[name] for name in (
        "chat.completions", "completions", "embeddings", "images.generations", "audio.transcriptions",
        "audio.translations", "audio.speech")}
    assert replies._OPERATION_IDS == old
    assert all(by_name(name).operation_id == found for name, found in replies._OPERATION_IDS.items())


def test_every_framework_route_labels_its_requests_as_resolve_does():
    """The label a route gives a request (``azure_call``'s operation, read by the journal and the metrics) is
    the operation :func:`resolve` finds for its path."""
    from aoai_mock.app import create_app
    from fastapi import FastAPI

    app = create_app()

    async def call(method: str, path: str) -> str | None:
        query = b"" if path.startswith("/openai/v1/") else b"api-version=2025-04-01-preview"
        record = types.SimpleNamespace(operation=None, api_version=None)  # the front door's record, as routes see it
        state: dict[str, typing.Any] = {"record": record}
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query,
            "headers": [(b"api-key", b"k"), (b"content-type", b"application/json"), (b"host", b"test")],
            "server": ("test", 80), "client": ("test", 1), "state": state,
        }
        messages = [{"type": "http.request", "body": b"{}", "more_body": False}]

        async def receive() -> dict[str, typing.Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, typing.Any]) -> None:
            pass

        await FastAPI.__call__(app.framework, scope, receive, send)
        return state.get("operation") or record.operation

    async def all_routes() -> list[tuple[str, str, str | None, str]]:
        found = []
        for method, template in _framework_routes():
            path = template
            while "{" in path:
                head, _, tail = path.partition("{")
                path = head + "x" + tail.partition("}")[2]
            resolved = resolve(method, path)
            found.append((method, path, await call(method, path), resolved[0].name))
        return found

    import asyncio

    for method, path, label, resolved in asyncio.run(all_routes()):
        assert label == resolved, (method, path)
