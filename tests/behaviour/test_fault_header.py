"""The x-aoai-mock-fault header: its grammar, and a 400 that names the problem for each bad value."""

from __future__ import annotations

import pytest
from aoai_mock.behaviour.fault_header import parse_fault_header
from aoai_mock.behaviour.faults import FaultBook
from aoai_mock.errors import InvalidRequest

from tests.behaviour.fault_helpers import FakeClock, book_with, kinds, view

# -- the header -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "fields"),
    [
        ("429", {"kind": "429"}),
        (" 503 ", {"kind": "503"}),
        ("500;retry_after_ms=250", {"kind": "500", "retry_after_ms": 250}),
        ("delay=1500", {"kind": "delay", "delay_ms": 1500}),
        ("HANG", {"kind": "hang"}),
        ("hang=2.5", {"kind": "hang", "seconds": 2.5}),
        ("cut=3", {"kind": "cut", "after_chunks": 3}),
        ("stall=2;seconds=5", {"kind": "stall", "after_chunks": 2, "seconds": 5.0}),
        ("malformed=1", {"kind": "malformed", "after_chunks": 1}),
        ("stream_error = 2 ; message = oops", {"kind": "stream_error", "after_chunks": 2, "message": "oops"}),
        ("429;retry_after=off;should_retry=true",
         {"kind": "429", "headers": {"retry_after": False, "should_retry": True}}),
        ("429;retry_after_ms=off", {"kind": "429", "headers": {"retry_after_ms": False}}),
        ("cut=1;graceful=false", {"kind": "cut", "after_chunks": 1, "graceful": False}),
    ],
)
def test_header_grammar(header, fields):
    spec = parse_fault_header(header, stream=True)
    assert spec.model_dump(exclude_none=True) == fields


@pytest.mark.parametrize(
    ("header", "stream", "problem"),
    [
        ("", False, "no kind given"),
        ("4299", False, "unknown kind '4299'"),
        ("429=5", False, "429 takes no value after '='; use parameters, e.g. 429;retry_after_ms=250"),
        ("delay=", False, "delay= needs a value"),
        ("delay=soon", False, "delay_ms must be a whole number of milliseconds, not 'soon'"),
        ("cut=-1", True, "after_chunks: Input should be greater than or equal to 0"),
        ("hang=forever", False, "seconds must be a number of seconds, not 'forever'"),
        ("429;retry=5", False, "unknown parameter 'retry'"),
        ("429;should_retry=maybe", False, "should_retry must be true, false, on or off, not 'maybe'"),
        ("429;after_chunks=2", False, "after_chunks does not apply to kind 429"),
        ("429;limit=tokens", False, "limit: Input should be 'token' or 'call'"),
        ("500;message", False, "message needs a value"),
        ("429;", False, "empty parameter"),
        ("stall=2", False, 'stall applies to streaming requests only (send "stream": true)'),
    ],
)
def test_header_errors_are_400s_naming_the_header_and_the_problem(header, stream, problem):
    book = FaultBook(FakeClock())
    with pytest.raises(InvalidRequest) as caught:
        book.decide(view(headers={"x-aoai-mock-fault": header}, stream=stream))
    error = caught.value
    assert error.status == 400 and error.param == "x-aoai-mock-fault" and error.code == "invalid_fault"
    assert problem in error.message and "<kind>[=<value>]" in error.message


def test_a_header_fault_wins_and_none_exempts_a_request_and_the_plan_does_not_count_either():
    book = book_with({"kind": "500", "every": 2})
    assert book.decide(view(headers={"x-aoai-mock-fault": "none"})) is None
    assert book.decide(view(headers={"x-aoai-mock-fault": "reset"})).kind == "reset"
    assert kinds(book, 2) == [None, "500"]
