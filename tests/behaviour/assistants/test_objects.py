"""Assistants, threads and messages without HTTP: their wire shapes, changes, deletion, paging and refusals."""

from __future__ import annotations

import pytest
from aoai_mock.behaviour.assistants import objects, threads
from aoai_mock.behaviour.assistants.common import (
    ListQuery,
    list_query,
    new_id,
)
from aoai_mock.behaviour.assistants.requests import (
    CreateAssistant,
    CreateMessage,
    CreateThread,
    ModifyAssistant,
    ModifyMessage,
    ModifyThread,
)
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import AssistantsObjectNotFound, InvalidRequest
from aoai_mock.settings import resolve
from aoai_mock.wire.validation import validate

from tests.behaviour.assistants.conftest import (
    T0,
    FakeClock,
    assistant,
    put_file,
    start_run,
    thread_with,
)

WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {}}},
}


async def test_an_assistant_has_the_services_shape(runtime: Runtime) -> None:
    made = await assistant(runtime, name="Math Tutor", instructions="Use Python.", tools=[{"type": "code_interpreter"}])
    assert made == {
        "id": made["id"],
        "object": "assistant",
        "created_at": int(T0),
        "name": "Math Tutor",
        "description": None,
        "model": "gpt-4o",
        "instructions": "Use Python.",
        "tools": [{"type": "code_interpreter"}],
        "tool_resources": {},
        "metadata": {},
        "top_p": 1.0,
        "temperature": 1.0,
        "response_format": "auto",
    }
    assert made["id"].startswith("asst_") and len(made["id"]) == len("asst_") + 24
    assert await objects.retrieve_assistant(runtime, made["id"]) == made


async def test_modify_replaces_only_the_fields_given(runtime: Runtime) -> None:
    made = await assistant(runtime, name="A", instructions="old", tools=[WEATHER], metadata={"k": "v"})
    changed = await objects.modify_assistant(runtime, made["id"], ModifyAssistant(instructions="new", temperature=0.2))
    assert changed["instructions"] == "new" and changed["temperature"] == 0.2
    assert changed["name"] == "A" and changed["tools"] == [WEATHER] and changed["metadata"] == {"k": "v"}
    assert (await objects.modify_assistant(runtime, made["id"], ModifyAssistant(metadata={})))["metadata"] == {}


async def test_an_unknown_model_is_refused(runtime: Runtime) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await assistant(runtime, model="no-such-deployment")
    assert caught.value.body()["error"] == {
        "message": "The requested model 'no-such-deployment' does not exist.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
    with pytest.raises(InvalidRequest):
        await assistant(runtime, model="text-embedding-3-small")  # not a chat deployment


async def test_unknown_ids_are_404_in_the_services_words(runtime: Runtime) -> None:
    with pytest.raises(AssistantsObjectNotFound) as caught:
        await objects.retrieve_assistant(runtime, "asst_nope")
    assert caught.value.status == 404
    assert caught.value.body()["error"]["message"] == "No assistant found with id 'asst_nope'."
    with pytest.raises(AssistantsObjectNotFound, match="No thread found with id 'thread_x'"):
        await threads.retrieve_message(runtime, "thread_x", "msg_x")


async def test_delete_answers_the_deleted_object(runtime: Runtime) -> None:
    made = await assistant(runtime)
    assert await objects.delete_assistant(runtime, made["id"]) == {
        "id": made["id"],
        "object": "assistant.deleted",
        "deleted": True,
    }
    with pytest.raises(AssistantsObjectNotFound):
        await objects.delete_assistant(runtime, made["id"])


@pytest.mark.parametrize(
    ("metadata", "param", "code"),
    [
        ({f"k{i}": "v" for i in range(17)}, "metadata", "object_above_max_properties"),
        ({"k" * 65: "v"}, "metadata", "string_above_max_length"),
        ({"k": 1}, "metadata.k", "invalid_type"),
        ({"k": "v" * 513}, "metadata.k", "string_above_max_length"),
    ],
)
async def test_metadata_limits(runtime: Runtime, metadata: dict, param: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await assistant(runtime, metadata=metadata)
    assert (caught.value.param, caught.value.code) == (param, code)


async def test_seeded_ids_repeat_from_run_to_run() -> None:
    async def first_ids() -> list[str]:
        fresh = Runtime.create(resolve({"port": 0, "seed": 3}, env={}))
        return [await new_id(fresh, "asst_"), await new_id(fresh, "asst_"), await new_id(fresh, "msg_")]

    ids = await first_ids()
    assert ids == await first_ids() and len(set(ids)) == 3


# -- threads and messages ---------------------------------------------------------------------------


async def test_a_thread_starts_with_its_messages(runtime: Runtime) -> None:
    made = await threads.create_thread(runtime, CreateThread(
        messages=[CreateMessage(role="user", content="Hi", metadata={"n": "1"}),
                  CreateMessage(role="assistant", content=[{"type": "text", "text": "Hello"}])],
        metadata={"topic": "greeting"},
    ))  # fmt: skip
    assert made == {
        "id": made["id"], "object": "thread", "created_at": int(T0), "metadata": {"topic": "greeting"},
        "tool_resources": {},
    }  # fmt: skip
    listed = await threads.list_messages(runtime, made["id"], ListQuery(order="asc"))
    first, second = listed["data"]
    assert first["content"] == [{"type": "text", "text": {"value": "Hi", "annotations": []}}]
    assert first["role"] == "user" and first["metadata"] == {"n": "1"} and first["assistant_id"] is None
    assert "status" not in first and first["attachments"] == [] and first["run_id"] is None  # as Azure writes it
    assert threads.message_text(second) == "Hello" and second["role"] == "assistant"


async def test_message_content_parts_and_attachments(runtime: Runtime) -> None:
    await put_file(runtime, "file-abc", "Paris is the capital of France.", "facts.txt")
    thread = await thread_with(runtime)
    message = await threads.create_message(runtime, thread["id"], CreateMessage(
        role="user",
        content=[{"type": "text", "text": "Look:"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
        attachments=[{"file_id": "file-abc", "tools": [{"type": "file_search"}]}],
    ))  # fmt: skip
    assert message["content"][1] == {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
    assert message["attachments"] == [{"file_id": "file-abc", "tools": [{"type": "file_search"}]}]
    store_ids = (await threads.retrieve_thread(runtime, thread["id"]))["tool_resources"]["file_search"][
        "vector_store_ids"
    ]
    assert len(store_ids) == 1 and store_ids[0].startswith("vs_")  # the thread's own store, made on first need


async def test_an_attachment_must_name_a_file(runtime: Runtime) -> None:
    thread = await thread_with(runtime)
    with pytest.raises(AssistantsObjectNotFound, match="No file found with id 'file-missing'"):
        await threads.create_message(runtime, thread["id"], CreateMessage(
            role="user", content="x", attachments=[{"file_id": "file-missing", "tools": []}]
        ))  # fmt: skip


async def test_empty_content_is_refused(runtime: Runtime) -> None:
    thread = await thread_with(runtime)
    with pytest.raises(InvalidRequest) as caught:
        await threads.create_message(runtime, thread["id"], CreateMessage(role="user", content=""))
    assert caught.value.param == "content"


async def test_modify_and_delete_threads_and_messages(runtime: Runtime) -> None:
    thread = await thread_with(runtime, "one", "two")
    changed = await threads.modify_thread(runtime, thread["id"], ModifyThread(metadata={"a": "b"}))
    assert changed["metadata"] == {"a": "b"}
    message = (await threads.list_messages(runtime, thread["id"], ListQuery()))["data"][0]
    edited = await threads.modify_message(runtime, thread["id"], message["id"], ModifyMessage(metadata={"x": "y"}))
    assert edited["metadata"] == {"x": "y"} and edited["content"] == message["content"]
    gone = await threads.delete_message(runtime, thread["id"], message["id"])
    assert gone == {"id": message["id"], "object": "thread.message.deleted", "deleted": True}
    assert [
        threads.message_text(m) for m in (await threads.list_messages(runtime, thread["id"], ListQuery()))["data"]
    ] == ["one"]
    assert (await threads.delete_thread(runtime, thread["id"]))["object"] == "thread.deleted"
    assert await runtime.store.all("thread.message") == []


async def test_no_message_while_a_run_is_active(runtime: Runtime) -> None:
    helper, thread = await assistant(runtime), await thread_with(runtime, "hi")
    run = await start_run(runtime, thread, helper)
    with pytest.raises(InvalidRequest, match=f"Can't add messages to {thread['id']} while a run {run['id']} is active"):
        await threads.create_message(runtime, thread["id"], CreateMessage(role="user", content="again"))


# -- paging -----------------------------------------------------------------------------------------


async def test_paging_across_many_assistants(runtime: Runtime, clock: FakeClock) -> None:
    made = []
    for n in range(55):
        clock.now = T0 + n // 10  # several per second: insertion order breaks the ties
        made.append((await assistant(runtime, name=f"a{n}"))["id"])
    newest_first = list(reversed(made))
    seen, after = [], None
    while True:
        page = await objects.list_assistants(
            runtime, list_query({"limit": "20", **({"after": after} if after else {})})
        )
        seen += [a["id"] for a in page["data"]]
        assert page["first_id"] == page["data"][0]["id"] and page["last_id"] == page["data"][-1]["id"]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == newest_first
    asc = await objects.list_assistants(runtime, ListQuery(order="asc", limit=5))
    assert [a["id"] for a in asc["data"]] == made[:5] and asc["has_more"] is True
    before = await objects.list_assistants(runtime, ListQuery(order="asc", limit=3, before=made[10]))
    assert [a["id"] for a in before["data"]] == made[7:10] and before["has_more"] is True


async def test_an_empty_list(runtime: Runtime) -> None:
    assert await objects.list_assistants(runtime, ListQuery()) == {
        "object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "param", "code"),
    [({"limit": "0"}, "limit", "integer_below_min_value"), ({"limit": "101"}, "limit", "integer_above_max_value"),
     ({"order": "sideways"}, "order", "invalid_value")],
)  # fmt: skip
def test_bad_paging_parameters(query: dict, param: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        list_query(query)
    assert (caught.value.param, caught.value.code) == (param, code)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"model": "gpt-4o", "tools": [{"type": "retrieval"}]}, "Invalid value: 'retrieval'"),
        ({"model": "gpt-4o", "colour": "blue"}, "Unrecognized request argument supplied: colour"),
        ({"model": ["gpt-4o"]}, "Invalid type for 'model'"),
        ({"model": "gpt-4o", "tools": [{"type": "function", "function": {"name": "has space"}}]}, "does not match"),
        ({"name": "no model"}, "Missing required parameter: 'model'."),
    ],
)
def test_bad_assistant_bodies(body: dict, says: str) -> None:
    with pytest.raises(InvalidRequest, match=says.replace("(", r"\(")):
        validate(CreateAssistant, body)
