"""The handshake (keys, api-versions, deployments: Azure's HTTP errors instead of the upgrade) and the
protocol's refusals: a bad client event gets an ``error`` event naming it, and the socket goes on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aoai_mock.testing import LiveServer
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import KEY
from tests.realtime.conftest import AUTH, PREVIEW_Q, ws_url
from tests.realtime.support import recv as _recv
from tests.realtime.support import send as _send
from tests.realtime.support import text_turn as _text_turn

# -- the handshake ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "headers", "query"),
    [
        ("api-key header", AUTH, PREVIEW_Q),
        ("api-key query parameter", {}, PREVIEW_Q + f"&api-key={KEY}"),
        ("Bearer", {"Authorization": f"Bearer {KEY}"}, PREVIEW_Q),
    ],
)
def test_every_way_azure_takes_a_key(server: LiveServer, where: str, headers: dict[str, str], query: str) -> None:
    with connect(ws_url(server, query), additional_headers=headers) as socket:
        created = _recv(socket)
    assert created["type"] == "session.created", where
    assert created["session"]["model"] == "gpt-4o-realtime-preview"


def _refused(url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any], Any]:
    with pytest.raises(InvalidStatus) as caught:
        with connect(url, additional_headers=headers):
            pass
    response = caught.value.response
    return response.status_code, json.loads(response.body), response.headers


def test_no_key_is_a_401_at_the_handshake(server: LiveServer) -> None:
    status, body, headers = _refused(ws_url(server, PREVIEW_Q), {})
    assert status == 401
    assert body["error"]["code"] == "401" and "Access denied" in body["error"]["message"]
    assert headers["apim-request-id"]


def test_a_wrong_key_is_a_401_when_keys_are_configured(tmp_path: Any) -> None:
    from aoai_mock.settings import resolve

    with LiveServer(resolve({"port": 0, "api_keys": ("right-key",)}, env={})) as server:
        status, body, _ = _refused(ws_url(server, PREVIEW_Q), {"api-key": "wrong-key"})
        assert status == 401 and body["error"]["code"] == "401"
        with connect(ws_url(server, PREVIEW_Q), additional_headers={"api-key": "right-key"}) as socket:
            assert _recv(socket)["type"] == "session.created"


def test_the_handshake_checks_version_and_deployment(server: LiveServer) -> None:
    status, body, _ = _refused(ws_url(server, "api-version=2030-01-01-preview&deployment=gpt-4o-realtime-preview"), AUTH)
    assert (status, body["error"]) == (400, {"code": "BadRequest", "message": "API version not supported"})
    status, body, _ = _refused(ws_url(server, "api-version=2025-04-01-preview&deployment=nope"), AUTH)
    assert (status, body["error"]["code"]) == (404, "DeploymentNotFound")
    status, body, _ = _refused(ws_url(server, "api-version=2025-04-01-preview&deployment=gpt-4o"), AUTH)
    assert (status, body["error"]["code"]) == (400, "OperationNotSupported")
    assert "The realtime operation does not work with the specified model, gpt-4o" in body["error"]["message"]
    status, _, _ = _refused(ws_url(server, "api-version=2024-10-21&deployment=gpt-4o-realtime-preview"), AUTH)
    assert status == 404  # a GA dated version without the realtime route


def test_v1_takes_the_model_and_no_version(server: LiveServer) -> None:
    with connect(ws_url(server, "model=gpt-realtime", v1=True), additional_headers=AUTH) as socket:
        session = _recv(socket)["session"]
    assert session["type"] == "realtime" and session["model"] == "gpt-realtime"


def test_the_beta_header_asks_for_preview_events_on_v1(server: LiveServer) -> None:
    headers = {**AUTH, "OpenAI-Beta": "realtime=v1"}
    with connect(ws_url(server, "model=gpt-realtime", v1=True), additional_headers=headers) as socket:
        session = _recv(socket)["session"]
        assert "type" not in session and session["modalities"] == ["text", "audio"]
        assert [e["type"] for e in _text_turn(socket, "hi") if "delta" in e["type"]] == ["response.text.delta"]


# -- bad events: an error event, and the socket goes on ---------------------------------------------------------


BAD_EVENTS = [
    ("not json", "{nope", "invalid_json", None),
    ("not an object", "[1, 2]", "invalid_type", None),
    ("unknown type", json.dumps({"type": "response.explode", "event_id": "evt_1"}), "invalid_value", "type"),
    ("unknown session field", json.dumps({"type": "session.update", "session": {"colour": "blue"}}),
     "unknown_parameter", "session.colour"),
    ("bad voice", json.dumps({"type": "session.update", "session": {"voice": "robot"}}), "invalid_value",
     "session.voice"),
    ("empty commit", json.dumps({"type": "input_audio_buffer.commit"}), "input_audio_buffer_commit_empty", None),
    ("audio not base64", json.dumps({"type": "input_audio_buffer.append", "audio": "%%%"}), "invalid_value", "audio"),
    ("item without content", json.dumps({"type": "conversation.item.create", "item": {"type": "message", "role": "user"}}),
     "missing_required_parameter", "item.content"),
    ("unknown item", json.dumps({"type": "conversation.item.delete", "item_id": "item_x"}), "item_not_found", "item_id"),
    ("nothing to cancel", json.dumps({"type": "response.cancel"}), "response_cancel_not_active", None),
    ("a response's own bad voice", json.dumps({"type": "response.create", "response": {"voice": "robot"}}),
     "invalid_value", "response.voice"),
    ("a GA field in a preview response", json.dumps({"type": "response.create", "response": {"max_output_tokens": 5}}),
     "unknown_parameter", "response.max_output_tokens"),
]


def test_bad_events_get_error_events_and_the_socket_stays_usable(server: LiveServer) -> None:
    with connect(ws_url(server, PREVIEW_Q), additional_headers=AUTH) as socket:
        _recv(socket)
        for name, raw, code, param in BAD_EVENTS:
            socket.send(raw)
            event = _recv(socket)
            assert event["type"] == "error", name
            error = event["error"]
            assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param), name
            assert error["message"], name
        socket.send(json.dumps({"type": "response.explode", "event_id": "evt_mine"}))
        assert _recv(socket)["error"]["event_id"] == "evt_mine"  # the error names the client event
        events = _text_turn(socket, "still here")
    assert events[-1]["type"] == "response.done"
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "still here"


def test_a_refused_session_update_changes_nothing(server: LiveServer) -> None:
    with connect(ws_url(server, PREVIEW_Q), additional_headers=AUTH) as socket:
        _recv(socket)
        _send(socket, {"type": "session.update", "session": {"modalities": ["text"], "voice": "robot"}})
        assert _recv(socket)["type"] == "error"
        _send(socket, {"type": "session.update", "session": {"instructions": "x"}})
        assert _recv(socket)["session"]["modalities"] == ["text", "audio"]


def test_conversation_items_can_be_retrieved_and_deleted(server: LiveServer) -> None:
    with connect(ws_url(server, "model=gpt-realtime", v1=True), additional_headers=AUTH) as socket:
        _recv(socket)
        _send(socket, {"type": "conversation.item.create", "item": {
            "id": "item_mine", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}})
        assert [_recv(socket)["type"], _recv(socket)["type"]] == ["conversation.item.added", "conversation.item.done"]
        _send(socket, {"type": "conversation.item.retrieve", "item_id": "item_mine"})
        assert _recv(socket)["item"]["content"][0]["text"] == "hi"
        _send(socket, {"type": "conversation.item.delete", "item_id": "item_mine"})
        assert _recv(socket) | {"event_id": ""} == {"type": "conversation.item.deleted", "item_id": "item_mine",
                                                     "event_id": ""}
        _send(socket, {"type": "conversation.item.retrieve", "item_id": "item_mine"})
        assert _recv(socket)["error"]["code"] == "item_not_found"


def _jwt(expires_in: float) -> str:
    """An unsigned Entra ID token for the Cognitive Services audience (the mock reads it; docs/entra-id.md)."""
    import base64
    import time

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"aud": "https://cognitiveservices.azure.com", "oid": "00000000-0000-0000-0000-000000000001",
              "iat": int(time.time()), "nbf": int(time.time()) - 60, "exp": int(time.time() + expires_in)}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_an_entra_token_opens_a_session_and_an_expired_one_is_a_401(server: LiveServer) -> None:
    with connect(ws_url(server, PREVIEW_Q), additional_headers={"Authorization": f"Bearer {_jwt(3600)}"}) as socket:
        assert _recv(socket)["type"] == "session.created"
    status, _, _ = _refused(ws_url(server, PREVIEW_Q), {"Authorization": f"Bearer {_jwt(-3600)}"})
    assert status == 401
