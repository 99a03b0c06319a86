"""The /openai/v1 family and the model/deployment lists, with the SDK's OpenAI and AzureOpenAI clients."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import OpenAI

from tests.conftest import GA, KEY


@pytest.fixture()
def v1(base_url: str) -> OpenAI:
    return OpenAI(base_url=f"{base_url}/openai/v1/", api_key=KEY, max_retries=0)


def test_chat_through_openai_with_an_azure_v1_base_url(v1: OpenAI) -> None:
    completion = v1.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hello v1"}])
    assert completion.choices[0].message.content == "Hello v1"
    assert completion.model == "gpt-4o-2024-08-06"


def test_streaming_and_embeddings_on_v1(v1: OpenAI) -> None:
    stream = v1.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "streamed"}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "streamed"
    vectors = v1.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [len(d.embedding) for d in vectors.data] == [1536, 1536]


def test_v1_takes_the_key_as_api_key_or_bearer_and_an_optional_api_version(base_url: str) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    for headers, query in (({"api-key": KEY}, ""), ({"Authorization": f"Bearer {KEY}"}, "?api-version=preview")):
        r = httpx.post(f"{base_url}/openai/v1/chat/completions{query}", json=body, headers=headers)
        assert r.status_code == 200, r.text
    r = httpx.post(f"{base_url}/openai/v1/chat/completions?api-version={GA}", json=body, headers={"api-key": KEY})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"  # dated versions are not v1
    r = httpx.post(f"{base_url}/openai/v1/chat/completions", json=body)
    assert r.status_code == 401


def test_v1_errors_name_the_model(v1: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        v1.chat.completions.create(model="no-such-deployment", messages=[{"role": "user", "content": "x"}])
    assert caught.value.body["code"] == "DeploymentNotFound"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as missing:
        v1.with_options().post("/chat/completions", body={"messages": [{"role": "user", "content": "x"}]}, cast_to=object)
    assert missing.value.param == "model"  # type: ignore[attr-defined]


def test_v1_models_list_the_deployments(v1: OpenAI, live_server: object) -> None:
    ids = [m.id for m in v1.models.list()]
    assert "gpt-4o" in ids and "text-embedding-3-large" in ids
    assert v1.models.retrieve("gpt-4o").owned_by == "system"
    with pytest.raises(openai.NotFoundError):
        v1.models.retrieve("nope")


def test_azure_models_and_deployments(http: httpx.Client) -> None:
    models = http.get(f"/openai/models?api-version={GA}").json()
    ids = {m["id"] for m in models["data"]}
    assert "gpt-4o-2024-08-06" in ids
    chat = next(m for m in models["data"] if m["id"] == "gpt-4o-2024-08-06")
    assert chat["capabilities"]["chat_completion"] is True
    deployments = http.get(f"/openai/deployments?api-version={GA}").json()
    assert {"id": "gpt-4o", "model": "gpt-4o-2024-08-06"}.items() <= next(
        d for d in deployments["data"] if d["id"] == "gpt-4o"
    ).items()
    assert http.get("/openai/models").status_code == 404  # api-version required outside v1


def test_files_fine_tuning_and_vector_stores_on_v1(v1: OpenAI) -> None:
    uploaded = v1.files.create(file=("notes.txt", b"aoai-mock serves the v1 family."), purpose="assistants")
    assert uploaded.id in [f.id for f in v1.files.list()]
    assert v1.files.retrieve(uploaded.id).filename == "notes.txt"
    assert v1.files.content(uploaded.id).read() == b"aoai-mock serves the v1 family."
    store = v1.vector_stores.create(name="v1-store", file_ids=[uploaded.id])
    assert v1.vector_stores.retrieve(store.id).name == "v1-store"
    hits = v1.vector_stores.search(store.id, query="v1 family")
    assert [h.file_id for h in hits][:1] == [uploaded.id]
    assert isinstance(list(v1.fine_tuning.jobs.list()), list)
    assert v1.files.delete(uploaded.id).deleted


def test_v1_resource_routes_refuse_dated_api_versions(base_url: str) -> None:
    r = httpx.get(f"{base_url}/openai/v1/files?api-version={GA}", headers={"api-key": KEY})
    assert r.status_code == 400
    assert httpx.get(f"{base_url}/openai/v1/files?api-version=preview", headers={"api-key": KEY}).status_code == 200
