"""Scenario rules answering and failing realtime turns, faults on sockets, and what the journal and metrics
say about sessions and turns."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aoai_mock.testing import LiveServer
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import Sleeps
from tests.realtime.conftest import AUTH, PREVIEW_Q, ws_url
from tests.realtime.support import recv as _recv
from tests.realtime.support import text_turn as _text_turn


@pytest.fixture()
def control(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/_mock", timeout=10) as client:
        client.post("/reset").raise_for_status()
        client.post("/scenarios/deactivate").raise_for_status()
        yield client
        client.delete("/faults", params={"all": "true"})


def _socket(server: LiveServer, **headers: str) -> ClientConnection:
    """A session marked with this test's ``x-test`` header, so that its journal entries are told apart from
    a session of an earlier test the server finishes a moment later."""
    socket = connect(ws_url(server, PREVIEW_Q), additional_headers={**AUTH, "x-test": _test_id(), **headers})
    assert _recv(socket)["type"] == "session.created"
    return socket


def _test_id() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]


def _entries(control: httpx.Client) -> list[dict[str, Any]]:
    """This test's realtime entries, once its session's is in (a session is journalled when the server has
    seen the close, a moment after the client has)."""
    deadline = time.monotonic() + 10
    while True:
        entries = [e for e in control.get("/requests").json()["data"]
                   if e["operation"] == "realtime" and e["headers"].get("x-test") == _test_id()]
        if any(e["method"] == "GET" for e in entries) or time.monotonic() > deadline:
            return entries
        time.sleep(0.01)


# -- scenarios ---------------------------------------------------------------------------------------------------


def test_a_scenario_rule_answers_a_turn(server: LiveServer, control: httpx.Client) -> None:
    with _socket(server, **{"x-aoai-mock-scenario": "flaky-service"}) as socket:
        _text_turn(socket, "first")  # throttle-twice-then-answer: two 429s, then the answer
        _text_turn(socket, "second")
        events = _text_turn(socket, "third")
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Third time lucky: third"
    turns = [e for e in _entries(control) if e["method"] == "WS"]
    assert [t["rule"] for t in turns[-3:]] == ["throttle-twice-then-answer"] * 3
    assert [t["scenario"] for t in turns[-3:]] == ["flaky-service"] * 3


def test_a_scenario_rule_fails_a_turn_and_the_session_goes_on(server: LiveServer, control: httpx.Client) -> None:
    control.post("/scenarios/flaky-service/activate").raise_for_status()
    with _socket(server) as socket:
        failed = _text_turn(socket, "something forbidden")
        assert [e["type"] for e in failed] == ["error"]
        assert failed[0]["error"]["code"] == "content_filter"
        control.post("/scenarios/deactivate").raise_for_status()
        assert _text_turn(socket, "fine now")[-1]["type"] == "response.done"


def test_a_scenario_throttling_says_it_with_rate_limit_events(server: LiveServer, control: httpx.Client) -> None:
    with _socket(server, **{"x-aoai-mock-scenario": "flaky-service"}) as socket:
        events = _text_turn(socket, "hello")
    limits, error = events[-2], events[-1]
    assert limits["type"] == "rate_limits.updated"
    assert [(r["name"], r["remaining"]) for r in limits["rate_limits"]] == [("requests", 0), ("tokens", 0)]
    assert error["error"]["code"] == "rate_limit_exceeded" and error["error"]["type"] == "rate_limit_error"


# -- faults ------------------------------------------------------------------------------------------------------


def test_fault_429_is_a_rate_limit_event_then_an_error(server: LiveServer, control: httpx.Client) -> None:
    with _socket(server, **{"x-aoai-mock-fault": "429;retry_after_ms=2000"}) as socket:
        events = _text_turn(socket, "hi")
    assert [e["type"] for e in events] == ["rate_limits.updated", "error"]
    assert events[0]["rate_limits"][0]["reset_seconds"] == 2.0
    assert events[1]["error"]["code"] == "rate_limit_exceeded"


def test_fault_500_is_a_server_error_event(server: LiveServer, control: httpx.Client) -> None:
    with _socket(server, **{"x-aoai-mock-fault": "500"}) as socket:
        events = _text_turn(socket, "hi")
    assert [e["type"] for e in events] == ["error"]
    assert events[0]["error"]["type"] == "server_error"


def test_fault_close_drops_the_socket(server: LiveServer, control: httpx.Client) -> None:
    with _socket(server, **{"x-aoai-mock-fault": "close"}) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            _text_turn(socket, "hi")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    turn = [e for e in _entries(control) if e["method"] == "WS"][-1]
    assert turn["outcome"] == "closed" and turn["fault"]["kind"] == "close"


def test_fault_delay_waits_before_the_response(server: LiveServer, control: httpx.Client, sleeps: Sleeps) -> None:
    with _socket(server, **{"x-aoai-mock-fault": "delay=1500"}) as socket:
        events = _text_turn(socket, "hi")
    assert events[-1]["type"] == "response.done"
    assert sleeps.seconds == [1.5]


def test_a_paced_deployment_spaces_the_deltas(server: LiveServer, control: httpx.Client, sleeps: Sleeps) -> None:
    pacing = {"pacing": {"time_to_first_token_ms": 500, "tokens_per_second": 10}}
    control.patch("/deployments/gpt-4o-realtime-preview", json=pacing).raise_for_status()
    try:
        with _socket(server) as socket:
            events = _text_turn(socket, "one two three")
    finally:
        control.post("/reset").raise_for_status()
    assert [e["delta"] for e in events if e["type"] == "response.text.delta"] == ["one", " two", " three"]
    assert sleeps.seconds == pytest.approx([0.5, 0.1, 0.1])


def test_fault_stream_error_ends_the_response_with_an_error_event(server: LiveServer, control: httpx.Client) -> None:
    with _socket(server, **{"x-aoai-mock-fault": "stream_error=2"}) as socket:
        events = _text_turn(socket, "hi there")
        assert [e["type"] for e in events] == ["response.created", "response.output_item.added", "error"]
        control.delete("/faults", params={"all": "true"})
    turn = [e for e in _entries(control) if e["method"] == "WS"][-1]
    assert turn["outcome"] == "error_event"


def test_a_fault_plan_scoped_to_realtime(server: LiveServer, control: httpx.Client) -> None:
    plan = {"faults": [{"kind": "503", "operation": ["realtime"], "next": 1}]}
    control.post("/faults", json=plan).raise_for_status()
    with _socket(server) as socket:
        assert _text_turn(socket, "one")[-1]["error"]["type"] == "server_error"
        assert _text_turn(socket, "two")[-1]["type"] == "response.done"  # the plan's one fault is spent


# -- journal and metrics -----------------------------------------------------------------------------------------


def test_the_journal_records_the_session_and_each_turn(server: LiveServer, control: httpx.Client) -> None:
    with _socket(server) as socket:
        _text_turn(socket, "one")
        _text_turn(socket, "two")
    entries = _entries(control)
    session = [e for e in entries if e["method"] == "GET"]
    turns = [e for e in entries if e["method"] == "WS"]
    assert len(session) == 1 and len(turns) == 2
    assert session[0]["status"] == 101 and session[0]["deployment"] == "gpt-4o-realtime-preview"
    assert session[0]["api_version"] == "2025-04-01-preview"
    assert session[0]["headers"]["api-key"] != AUTH["api-key"]  # masked, as every key
    assert turns[1]["body"]["messages"][-1] == {"role": "user", "content": "two"}
    assert turns[1]["status"] == 200 and turns[1]["tokens"]["completion"] == 1 and turns[1]["events"] > 5
    shown = [json.loads(e["data"]) if isinstance(e["data"], str) else e["data"] for e in turns[1]["response"]["sse"]]
    assert shown[-1]["type"] == "response.done"
    assert session[0]["events"] >= turns[0]["events"] + turns[1]["events"] + 1


def test_metrics_count_sessions_and_turns(server: LiveServer, control: httpx.Client) -> None:
    def counted(status: str) -> float:
        text = httpx.get(f"{server.url}/metrics").text
        for line in text.splitlines():
            labels = ('operation="realtime"', f'status="{status}"', 'deployment="gpt-4o-realtime-preview"')
            if line.startswith("aoai_mock_requests_total{") and all(label in line for label in labels):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    sessions, turns = counted("101"), counted("200")
    with _socket(server) as socket:
        _text_turn(socket, "one")
        _text_turn(socket, "two")
    _entries(control)  # the session's record is in, so it is counted
    assert (counted("101"), counted("200")) == (sessions + 1, turns + 2)
