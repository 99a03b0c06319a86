"""Fault plans: every kind, every schedule, scopes, installing, and the log of injected faults.

The x-aoai-mock-fault header's grammar is tested in ``test_fault_header.py``.

Time comes from a fake clock; nothing sleeps.
"""

from __future__ import annotations

import pytest
from aoai_mock.behaviour.delivery import (
    Cut,
    Delay,
    DeliveryPlan,
    Drop,
    ErrorEvent,
    Hang,
    Malformed,
    Refuse,
    Stall,
)
from aoai_mock.behaviour.fault_log import client_answers
from aoai_mock.behaviour.faults import FaultBook, load_plan
from aoai_mock.behaviour.scenarios import load_paths, load_text
from aoai_mock.errors import InvalidRequest
from aoai_mock.state.journal import Journal

from tests.behaviour.fault_helpers import (
    FakeClock,
    asked,
    book_with,
    fired_at,
    kinds,
    view,
)
from tests.records import make_record

# -- kinds: status errors ------------------------------------------------------------------------------


def test_429_has_azures_body_naming_operation_and_version_and_every_throttling_header():
    fault = asked("429")
    assert fault.error is not None and fault.error.status == 429
    assert fault.error.body() == {"error": {"code": "429", "message": (
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded "
        "token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second. Please go here: "
        "https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.")}}
    assert fault.error.headers == {
        "retry-after": "1", "retry-after-ms": "1000",
        "x-ratelimit-limit-tokens": "10000", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1",
        "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1",
        "policy-id": "DeploymentRatelimit-Token",
    }


def test_429_message_follows_operation_wait_and_limit():
    fault = asked("429;retry_after_ms=6000;limit=call", operation="embeddings")
    message = fault.error.message
    assert "Embeddings_Create Operation" in message and "call rate limit" in message
    assert "Please retry after 6 seconds." in message
    assert fault.error.headers["retry-after"] == "6" and fault.error.headers["policy-id"] == "DeploymentRatelimit-Call"
    assert asked("429;retry_after_ms=250").error.headers["retry-after"] == "1"  # whole seconds, rounded up


def test_throttling_headers_switch_off_and_should_retry_on_demand():
    fault = asked("429;retry_after=off;retry_after_ms=off;ratelimit_headers=off;should_retry=false")
    assert fault.error.headers == {"x-should-retry": "false"}
    assert asked("503;should_retry").error.headers == {"x-should-retry": "true"}


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [
        ("408", 408, {"error": {"code": "Timeout", "message": "The operation was timeout."}}),
        ("502", 502, {"error": {"code": "BadGateway", "message": "The gateway received an invalid response from "
                                "the backend service. Please retry your request."}}),
        ("504", 504, {"error": {"code": "GatewayTimeout", "message": "The gateway did not receive a response from "
                                "'Microsoft.CognitiveServices' within the specified time period."}}),
    ],
)
def test_gateway_errors_have_the_short_body_and_no_retry_headers_by_default(kind, status, body):
    fault = asked(kind)
    assert (fault.error.status, fault.error.body(), fault.error.headers) == (status, body, {})


@pytest.mark.parametrize(("kind", "status", "starts"), [
    ("500", 500, "The server had an error while processing your request. Sorry about that!"),
    ("503", 503, "That model is currently overloaded with other requests."),
])
def test_model_service_errors_have_every_key_and_the_request_id(kind, status, starts):
    error = asked(kind).error
    body = error.body()["error"]
    assert error.status == status and set(body) == {"message", "type", "param", "code"}
    assert body["type"] == "server_error" and body["code"] is None and body["param"] is None
    assert body["message"].startswith(starts)
    assert "(Please include the request ID rid-1 in your message.)" in body["message"]


def test_an_explicit_retry_after_ms_adds_retry_headers_to_any_status_and_a_message_replaces_azures():
    error = asked("500;retry_after_ms=250;message=boom").error
    assert error.headers == {"retry-after": "1", "retry-after-ms": "250"}
    assert error.body()["error"]["message"] == "boom"
    assert asked("429;message=slow down").error.body() == {"error": {"code": "429", "message": "slow down"}}


# -- kinds: timing, connection and stream -------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "stream", "expected"),
    [
        ("delay", False, (Delay(1.0),)),
        ("delay=1500", False, (Delay(1.5),)),
        ("hang", False, (Hang(None),)),
        ("hang=30", False, (Hang(30.0),)),
        ("close", False, (Drop(reset=False),)),
        ("reset;delay_ms=50", False, (Delay(0.05), Drop(reset=True))),
        ("cut", True, (Cut(1, graceful=False),)),
        ("cut=3;graceful", True, (Cut(3, graceful=True),)),
        ("cut=0", False, (Cut(0),)),  # non-streaming: mid-body
        ("stall", True, (Stall(1, 5.0),)),
        ("stall=2;seconds=0.5", True, (Stall(2, 0.5),)),
        ("malformed=1", True, (Malformed(1),)),
    ],
)
def test_timing_connection_and_stream_kinds_resolve_to_typed_effects(header, stream, expected):
    fault = asked(header, stream=stream)
    assert fault.effects == expected
    assert fault.entry == fault.source == "header" and fault.stream is stream


def test_a_status_kind_refuses_after_its_delay():
    fault = asked("429;delay_ms=200")
    delay, refuse = fault.effects
    assert delay == Delay(0.2) and isinstance(refuse, Refuse) and refuse.error.status == 429
    plan = fault.apply(DeliveryPlan())
    assert (plan.delay_s, plan.error, plan.fault) == (0.2, fault.error, fault.record)
    assert plan.effects == "delayed 200 ms; answered 429 429" and not plan.answers


def test_effects_shape_the_delivery_plan_and_say_what_they_do():
    plan = asked("cut=3;graceful", stream=True).apply(DeliveryPlan())
    assert (plan.cut_after, plan.cut_graceful, plan.answers, plan.shapes_stream) == (3, True, True, True)
    assert plan.effects == "cut after 3 events (body ended); a complete answer: half its body"
    assert asked("malformed=1", stream=True).apply(DeliveryPlan()).malformed_after == 1
    assert asked("hang=2").apply(DeliveryPlan()).effects == "hung, closed after 2.0 s"


def test_stream_error_carries_an_error_object_the_sdk_raises_on():
    fault = asked("stream_error=2", stream=True)
    (effect,) = fault.effects
    assert isinstance(effect, ErrorEvent) and effect.after == 2
    assert effect.body["error"]["type"] == "server_error" and "rid-1" in effect.body["error"]["message"]
    custom = asked("stream_error;message=mid-stream failure", stream=True)
    assert custom.effects[0].body["error"]["message"] == "mid-stream failure"


# -- schedules -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "fired"),
    [
        ({}, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ({"next": 2}, [1, 2]),
        ({"every": 3}, [3, 6, 9]),
        ({"after": 7}, [8, 9, 10]),
        ({"after": 2, "next": 3}, [3, 4, 5]),
        ({"after": 1, "every": 4}, [5, 9]),
        ({"every": 2, "times": 2}, [2, 4]),
        ({"after": 2, "next": 6, "every": 2}, [4, 6, 8]),
        ({"probability": 0}, []),
        ({"probability": 1, "times": 3}, [1, 2, 3]),
    ],
)
def test_count_schedules(schedule, fired):
    assert fired_at(book_with({"kind": "500", **schedule}), 10) == fired


def test_window_is_an_outage_in_seconds_since_install_and_reset_moves_it():
    clock = FakeClock()
    book = book_with({"kind": "503", "window": {"start_s": 10, "end_s": 20}}, clock=clock)
    seen = []
    for _ in range(6):
        seen.append(book.decide(view()) is not None)
        clock.advance(5)
    assert seen == [False, False, True, True, False, False]  # at 0, 5, 10, 15, 20, 25 s
    book.reset()
    clock.advance(12)
    assert book.decide(view()) is not None
    open_ended = book_with({"kind": "503", "window": {"start_s": 1}}, clock=clock)
    assert open_ended.decide(view()) is None
    clock.advance(1000)
    assert open_ended.decide(view()) is not None


def test_probability_with_a_seed_gives_the_same_faults_in_two_fresh_books():
    entry = {"kind": "cut", "probability": 0.3, "seed": 42}
    first = fired_at(book_with(entry), 50, stream=True)
    assert first == fired_at(book_with(entry), 50, stream=True)
    assert 5 <= len(first) <= 25
    assert first != fired_at(book_with({**entry, "seed": 43}), 50, stream=True)
    again = book_with(entry)
    fired_at(again, 20, stream=True)
    again.reset()
    assert fired_at(again, 50, stream=True) == first


def test_the_nth_request_in_scope_draws_the_nth_number_whatever_else_holds():
    entry = {"kind": "500", "probability": 0.5, "seed": 7}
    every = set(fired_at(book_with(entry), 40))
    later = fired_at(book_with({**entry, "after": 20}), 40)
    assert later == sorted(n for n in every if n > 20)


def test_each_entry_counts_every_request_in_scope_and_the_first_due_fires():
    book = book_with({"id": "a", "kind": "429", "next": 1}, {"id": "b", "kind": "503", "next": 2})
    assert kinds(book, 3) == ["429", "503", None]
    installed = {e["id"]: e for e in book.summary()["installed"]}
    assert (installed["a"]["fired"], installed["b"]["fired"], installed["b"]["shadowed"]) == (1, 1, 1)
    assert installed["b"]["seen"] == 3


def test_times_cap_shows_as_exhausted_and_reset_restarts_counters():
    book = book_with({"kind": "500", "times": 2})
    assert kinds(book, 3) == ["500", "500", None]
    assert book.summary()["installed"][0]["exhausted"] is True
    book.reset()
    assert kinds(book, 1) == ["500"] and book.summary()["injected"][0]["n"] == 1


# -- scopes ----------------------------------------------------------------------------------------------


def test_scope_by_deployment_operation_and_stream():
    book = book_with({"kind": "429", "deployment": ["gpt-4o", "mini"], "operation": "chat", "stream": True})
    assert book.decide(view(deployment="gpt-4o", stream=True)) is not None
    assert book.decide(view(deployment="mini", stream=True)) is not None
    assert book.decide(view(deployment="other", stream=True)) is None
    assert book.decide(view(stream=False)) is None
    assert book.decide(view(stream=True, operation="completions")) is None


def test_scope_by_any_rule_match():
    book = book_with({"kind": "hang", "match": {"message": {"contains": "please hang", "ignore_case": True},
                                                 "headers": {"x-tenant": "acme"}}})
    assert book.decide(view("Please HANG now", headers={"x-tenant": "acme"})).kind == "hang"
    assert book.decide(view("Please hang now", headers={"x-tenant": "other"})) is None
    assert book.decide(view("hello", headers={"x-tenant": "acme"})) is None
    numbered = book_with({"kind": "500", "match": {"call": {"every": 2}}})
    assert fired_at(numbered, 5) == [2, 4]


def test_match_call_counts_the_requests_since_the_plan_was_installed():
    book = book_with({"kind": "500", "operation": "embeddings"})
    assert kinds(book, 3) == [None, None, None]
    book.install([{"kind": "503", "match": {"call": 1, "message": "request"}}], "later")
    assert book.decide(view("hello", headers={"x-aoai-mock-fault": "none"})) is None  # not counted
    assert kinds(book, 2) == ["503", None]


def test_stream_only_kinds_leave_non_streaming_requests_alone_but_cut_applies_to_both():
    book = book_with({"id": "s", "kind": "stall", "next": 1}, {"id": "c", "kind": "cut", "every": 2})
    assert kinds(book, 1) == [None]  # non-streaming: not in stall's scope, and cut's 1st request
    assert kinds(book, 1, stream=True) == ["stall"]  # cut's 2nd request too: due, but stall comes first
    assert kinds(book, 2) == [None, "cut"]  # cut's 4th request, not streaming: the body is cut
    counters = {e["id"]: (e["seen"], e["fired"], e["shadowed"]) for e in book.summary()["installed"]}
    assert counters == {"s": (1, 1, 0), "c": (4, 1, 1)}


def test_operation_alias_chat_and_full_names_are_the_same():
    book = book_with({"kind": "500", "operation": ["chat.completions", "embeddings"]})
    assert book.decide(view()) is not None and book.decide(view(operation="embeddings")) is not None
    assert book.decide(view(operation="completions")) is None


# -- the log and the client's answers ------------------------------------------------------------------------


def _journaled(journal: Journal, request_id: str, start: float, end: float, status: int | None, **given) -> None:
    """The journal's record of one chat request with the same body (what a retry sends again)."""
    journal.add(make_record(start, end, request_id=request_id, path="/chat", body=b'{"q":"hi"}', status=status,
                            **given))


def test_summary_lists_each_injection_and_how_the_journal_says_the_client_answered():
    clock = FakeClock()
    journal = Journal(10)
    book = book_with({"id": "throttle", "kind": "429", "next": 2}, clock=clock)
    first = book.decide(view("hi"), request_id="r1")
    clock.advance(0.1)
    book.delivered(first.record)
    _journaled(journal, "r1", 0.0, 0.1, 429, response_headers=[(b"retry-after-ms", b"1000")], fault="429")
    second = book.decide(view("hi", headers={"x-stainless-retry-count": "1"}), request_id="r2")
    book.delivered(second.record, client_closed=False, status=429)
    _journaled(journal, "r2", 1.35, 1.4, 429, headers=[(b"x-stainless-retry-count", b"1")], fault="429")
    assert book.decide(view("hi", headers={"x-stainless-retry-count": "2"}), request_id="r3") is None
    _journaled(journal, "r3", 3.4, 3.5, 200, headers=[(b"x-stainless-retry-count", b"2")])
    summary = book.summary(answers=client_answers(journal))
    one, two = summary["injected"]
    assert (one["n"], one["entry"], one["source"], one["kind"]) == (1, "throttle", "test", "429")
    assert one["request_id"] == "r1"
    assert (one["deployment"], one["operation"], one["stream"], one["time_s"], one["delivered_s"]) == (
        "gpt-4o", "chat.completions", False, 0.0, 0.1)
    assert one["client"] == {"answer": "retried", "after_ms": 1250.0, "measured_from": "response end",
                             "request_id": "r2", "retry_count": "1", "faulted_again": True}
    assert two["client"]["after_ms"] == 2000.0 and two["transport"] == {"client_closed": False, "status": 429}
    assert summary["totals"] == {"injected": 2, "kept": 2, "by_kind": {"429": 2}, "retried": 2, "not_retried": 0}
    assert summary["requests"] == 3 and summary["installed"][0]["fired"] == 2


def test_an_injection_without_a_retry_reads_not_retried_and_other_bodies_are_not_retries():
    clock = FakeClock()
    journal = Journal(10)
    book = book_with({"kind": "hang", "next": 1}, clock=clock)
    fault = book.decide(view("slow question"), request_id="h1")
    clock.advance(30)
    book.delivered(fault.record, client_closed=True)
    _journaled(journal, "h1", 0.0, 30.0, None, outcome="hung")
    journal.add(make_record(30.5, 30.6, request_id="h2", path="/chat", body=b'{"q":"another"}'))
    clock.advance(4)
    entry = book.summary(answers=client_answers(journal))["injected"][0]
    assert entry["client"] == {"answer": "not retried", "waited_ms": 4000.0}
    assert entry["transport"] == {"client_closed": True}
    book.record_outcome(fault.record, answer="gave up", error="APITimeoutError")
    assert book.summary()["injected"][0]["client"] == {"answer": "gave up", "error": "APITimeoutError"}


def test_a_first_attempt_the_sdk_numbers_0_long_after_the_failure_is_not_its_retry():
    """The fault log and the journal agree: both read the journal's links."""
    clock = FakeClock()
    journal = Journal(10)
    book = book_with({"kind": "503", "next": 1}, clock=clock)
    book.decide(view("x"), request_id="f1")
    _journaled(journal, "f1", 0.0, 0.1, 503, fault="503")
    _journaled(journal, "f2", 120.0, 120.1, 200, headers=[(b"x-stainless-retry-count", b"0")])
    client = book.summary(answers=client_answers(journal))["injected"][0]["client"]
    assert client["answer"] == "not retried"
    assert [e["retry"] for e in journal.entries()] == [None, None]


def test_the_log_keeps_the_last_n_and_unknown_records_are_ignored():
    book = FaultBook(FakeClock(), log_size=3)
    book.install([{"kind": "500"}], "test")
    for i in range(5):
        book.decide(view(f"q{i}"))
    assert [r["n"] for r in book.summary()["injected"]] == [3, 4, 5]
    assert book.summary()["totals"]["injected"] == 5
    book.delivered(1)
    book.record_outcome(1, answer="x")


# -- installing ---------------------------------------------------------------------------------------------


def test_plans_by_source_replace_clear_and_order():
    book = FaultBook(FakeClock())
    assert book.decide(view()) is None
    ids = book.install([{"kind": "500", "next": 1}, {"id": "late", "kind": "503"}], "scenario:x")
    assert ids == ["fault-1", "late"]
    book.install(load_plan({"faults": [{"kind": "429", "operation": "embeddings"}]}), "control")
    assert book.sources() == ["scenario:x", "control"]
    assert kinds(book, 2) == ["500", "503"] and book.decide(view(operation="embeddings")).kind == "503"
    book.install([], "scenario:x")
    assert book.sources() == ["control"] and book.decide(view(operation="embeddings")).kind == "429"
    book.clear()
    assert book.decide(view(operation="embeddings")) is None and book.summary()["injected"]


def test_bad_plans_are_400s_naming_the_field():
    with pytest.raises(InvalidRequest) as caught:
        load_plan([{"kind": "429"}, {"kind": "cut", "retry_after_ms": 5}])
    assert caught.value.param == "faults[1]" and "retry_after_ms does not apply to kind cut" in caught.value.message
    with pytest.raises(InvalidRequest, match=r"faults\[0\]\.every: Input should be greater than or equal to 1"):
        FaultBook().install([{"kind": "500", "every": 0}])
    with pytest.raises(InvalidRequest, match="fault ids must be unique; repeated: a"):
        FaultBook().install([{"id": "a", "kind": "500"}, {"id": "a", "kind": "503"}])
    entries = load_plan([{"id": "a", "kind": "500"}]).faults * 2
    with pytest.raises(InvalidRequest, match="fault ids must be unique; repeated: a"):
        FaultBook().install(entries)
    with pytest.raises(InvalidRequest, match="seed goes with probability"):
        load_plan({"faults": [{"kind": "500", "seed": 1}]})
    with pytest.raises(InvalidRequest, match="end_s"):
        load_plan([{"kind": "500", "window": {"start_s": 5, "end_s": 5}}])


def test_a_scenario_file_carries_a_fault_plan():
    scenario = load_text(
        "name: s\nfaults:\n  - {id: t, kind: 429, next: 1, headers: {ratelimit_headers: false}}\n"
        "  - {kind: 502, every: 2, deployment: gpt-4o}\n"
    )
    book = FaultBook(FakeClock())
    book.install(scenario.faults, f"scenario:{scenario.name}")
    first = book.decide(view())
    assert first.entry == "t" and first.source == "scenario:s" and "x-ratelimit-limit-tokens" not in first.error.headers
    assert book.decide(view()).kind == "502"


def test_the_shipped_resilience_scenario_throttles_twice_then_answers_and_has_an_outage():
    (scenario,) = load_paths(["resilience"])
    clock = FakeClock()
    book = FaultBook(clock)
    book.install(scenario.faults, "scenario:resilience")
    assert kinds(book, 3) == ["429", "429", None]
    assert book.decide(view("please hang")).kind == "hang"
    assert book.decide(view(operation="embeddings", stream=False)).kind == "delay"
    clock.advance(61)
    assert book.decide(view("during the outage")).kind == "500"
    clock.advance(30)
    assert book.decide(view("after the outage")) is None


def test_a_bad_fault_in_a_scenario_file_is_named_by_line_and_field():
    from aoai_mock.behaviour.scenarios import ScenarioError

    text = "name: s\nfaults:\n  - kind: 429\n    next: 2\n  - kind: cut\n    after_chunk: 3\n  - kind: 4290\n"
    with pytest.raises(ScenarioError) as caught:
        load_text(text, "s.yaml")
    shown = str(caught.value)
    assert "s.yaml:6: faults[1].after_chunk: unknown field 'after_chunk'; did you mean 'after_chunks'?" in shown
    assert "s.yaml:7: faults[2].kind: Input should be '429'" in shown


def test_the_json_schema_takes_status_kinds_as_numbers_and_describes_them():
    import jsonschema
    from aoai_mock.behaviour.scenarios import json_schema

    validator = jsonschema.Draft202012Validator(json_schema())
    assert not list(validator.iter_errors({"faults": [{"kind": 429, "next": 2}, {"kind": "cut", "after_chunks": 1}]}))
    assert list(validator.iter_errors({"faults": [{"kind": 430}]}))
    assert list(validator.iter_errors({"faults": [{"kind": "429", "nxt": 2}]}))
    assert "outage" in json_schema()["$defs"]["Window"]["description"]
