"""The journal without HTTP: recording raw values, describing them lazily, filters, capacity and clear."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from aoai_mock.state.journal import BODY_LIMIT, MASK, FilterError, Filters, Journal

from tests.records import make_record

T0 = 1_735_689_600.0  # 2025-01-01T00:00:00Z
CHAT = "/openai/deployments/gpt-4o/chat/completions"


class FakeClock:
    """Wall time that moves only when told."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def record(journal: Journal, at: float = 0.0, took: float = 0.010, **given: Any) -> int:
    """One entry whose response ended at monotonic ``at + took``; the wall clock reads ``T0 + at + took``."""
    values: dict[str, Any] = {
        "method": "POST",
        "path": CHAT,
        "query": b"api-version=2024-10-21",
        "headers": [(b"content-type", b"application/json")],
        "body": b'{"messages": []}',
        "status": 200,
        "deployment": "gpt-4o",
        "operation": "chat.completions",
    } | given
    clock = journal._clock
    if isinstance(clock, FakeClock):
        clock.now = T0 + at + took
    return journal.add(make_record(at, at + took, **values))


@pytest.fixture()
def journal() -> Journal:
    return Journal(100, clock=FakeClock())


def only(journal: Journal, **filters: str) -> dict[str, Any]:
    (entry,) = journal.entries(Filters.parse(filters.items()))
    return entry


def seqs(journal: Journal, **filters: str) -> list[int]:
    return [entry["seq"] for entry in journal.entries(Filters.parse(filters.items()))]


def test_an_entry_has_the_documented_shape(journal: Journal) -> None:
    seq = record(
        journal,
        at=0.5,
        took=0.0123,
        request_id="rid-1",
        stream=True,
        scenario="retries",
        rule="first-429",
        status=429,
        response_headers=[(b"retry-after", b"1"), (b"x-ratelimit-remaining-tokens", b"0")],
        api_version="2024-10-21",
        responder="scenario",
        fault="429",
        fault_source="header",
        fault_effect="answered 429 429",
        tokens_in=12,
        response_body=b'{"error": {"code": "429"}}',
        events=0,
    )
    assert journal.entries() == [
        {
            "seq": seq,
            "id": "rid-1",
            "time": "2025-01-01T00:00:00.500Z",
            "method": "POST",
            "path": CHAT,
            "query": {"api-version": "2024-10-21"},
            "headers": {"content-type": "application/json"},
            "body": {"messages": []},
            "body_encoding": "json",
            "body_size": 16,
            "body_truncated": False,
            "deployment": "gpt-4o",
            "operation": "chat.completions",
            "api_version": "2024-10-21",
            "scenario": "retries",
            "rule": "first-429",
            "responder": "scenario",
            "fault": {"kind": "429", "source": "header", "effect": "answered 429 429"},
            "quota": None,
            "tokens": {"prompt": 12, "completion": None},
            "status": 429,
            "outcome": "sent",
            "stream": True,
            "events": 0,
            "duration_ms": 12.3,
            "timings": {"received": "2025-01-01T00:00:00.500Z", "first_byte_ms": 12.3, "last_byte_ms": 12.3},
            "response_headers": {"retry-after": "1", "x-ratelimit-remaining-tokens": "0"},
            "response": {"body": {"error": {"code": "429"}}, "body_encoding": "json", "body_size": 26,
                         "body_truncated": False},
            "retry_count": None,
            "retry": None,
        }
    ]


def test_record_keeps_raw_values_and_numbers_entries(journal: Journal) -> None:
    headers = [(b"api-key", b"k")]
    first = record(journal, headers=headers)
    second = record(journal, body=b"\xff not json, not text")  # nothing is parsed while recording
    assert (first, second) == (1, 2)
    assert len(journal) == 2
    kept = next(iter(journal))
    assert kept.headers is headers and kept.body == b'{"messages": []}'


SECRET = "sk-very-secret-value-1234"


@pytest.mark.parametrize(
    "name",
    [
        "api-key",
        "Authorization",
        "x-aoai-mock-admin-key",
        "ocp-apim-subscription-key",
        "x-custom-token",
        "x-client-secret",
        "x-auth-thing",
        "cookie",
    ],
)
def test_secret_headers_are_masked_entirely(journal: Journal, name: str) -> None:
    record(journal, headers=[(name.encode(), SECRET.encode()), (b"user-agent", b"AzureOpenAI/Python 1.0")])
    entry = only(journal)
    assert entry["headers"] == {name.lower(): MASK, "user-agent": "AzureOpenAI/Python 1.0"}
    assert "1234" not in json.dumps(entry)


def test_repeated_headers_are_joined(journal: Journal) -> None:
    record(journal, headers=[(b"accept", b"a"), (b"accept", b"b"), (b"api-key", b"x"), (b"api-key", b"y")])
    assert only(journal)["headers"] == {"accept": "a, b", "api-key": f"{MASK}, {MASK}"}


def test_query_is_decoded_and_key_like_parameters_are_masked(journal: Journal) -> None:
    record(journal, query=b"api-version=2024-10-21&api-key=" + SECRET.encode() + b"&sig=abc&x=1&x=2&q=a%20b")
    assert only(journal)["query"] == {
        "api-version": "2024-10-21",
        "api-key": MASK,
        "sig": MASK,
        "x": ["1", "2"],
        "q": "a b",
    }


@pytest.mark.parametrize(
    ("body", "value", "encoding"),
    [
        (b"", None, None),
        (b'{"a": [1, 2]}', {"a": [1, 2]}, "json"),
        (b"hello, caf\xc3\xa9", "hello, café", "text"),
        (b"\x89PNG\r\n\x1a\n\x00", base64.b64encode(b"\x89PNG\r\n\x1a\n\x00").decode(), "base64"),
    ],
    ids=["empty", "json", "text", "binary"],
)
def test_bodies_are_json_text_or_base64(journal: Journal, body: bytes, value: Any, encoding: str | None) -> None:
    record(journal, body=body)
    entry = only(journal)
    assert (entry["body"], entry["body_encoding"], entry["body_size"]) == (value, encoding, len(body))
    assert entry["body_truncated"] is False


def test_large_bodies_are_cut_and_flagged(journal: Journal) -> None:
    big = b'{"input": "' + "é".encode() * BODY_LIMIT + b'"}'  # the cut falls inside a character
    record(journal, body=big)
    entry = only(journal)
    assert entry["body_truncated"] is True
    assert entry["body_size"] == len(big)
    assert entry["body_encoding"] == "text"
    assert entry["body"].startswith('{"input": "éé')
    assert len(entry["body"].encode()) <= BODY_LIMIT
    assert len(next(iter(journal)).body) == BODY_LIMIT  # memory stays bounded


def test_a_body_at_the_limit_is_kept_whole(journal: Journal) -> None:
    body = b'"' + b"a" * (BODY_LIMIT - 2) + b'"'
    record(journal, body=body)
    entry = only(journal)
    assert (entry["body_truncated"], entry["body_encoding"]) == (False, "json")


def test_capacity_drops_the_oldest() -> None:
    journal = Journal(3, clock=FakeClock())
    for at in range(5):
        record(journal, at=at)
    assert len(journal) == 3
    assert seqs(journal) == [3, 4, 5]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Journal(0)


def test_clear_forgets_entries_but_not_the_sequence(journal: Journal) -> None:
    record(journal)
    record(journal, at=1)
    assert journal.clear() == 2
    assert len(journal) == 0 and journal.entries() == []
    assert record(journal, at=2) == 3
    assert seqs(journal, since="2") == [3]


def test_entries_come_in_order_of_arrival(journal: Journal) -> None:
    quick = record(journal, at=1.0, took=0.01)  # arrived third, ended first
    first = record(journal, at=0.0, took=5.0)
    stream = record(journal, at=0.5, took=9.0, stream=True)  # arrived second, ended last
    assert (quick, first, stream) == (1, 2, 3)  # seq: order of recording
    assert seqs(journal) == [first, stream, quick]


@pytest.fixture()
def mixed(journal: Journal) -> Journal:
    record(journal, at=0, deployment="gpt-4o", status=200, scenario="happy")
    record(journal, at=1, deployment="gpt-4o", status=429, scenario="retries", rule="burst")
    record(journal, at=2, deployment="embed", operation="embeddings", status=400)
    record(journal, at=3, deployment="gpt-4o", status=500, scenario="retries")
    record(journal, at=4, deployment=None, operation=None, path="/openai/models", method="GET", status=404)
    return journal


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [1, 2, 3, 4, 5]),
        ({"deployment": "gpt-4o"}, [1, 2, 4]),
        ({"operation": "embeddings"}, [3]),
        ({"scenario": "retries"}, [2, 4]),
        ({"status": "429"}, [2]),
        ({"status": "4xx"}, [2, 3, 5]),
        ({"status": "5XX"}, [4]),
        ({"status": "2xx", "deployment": "gpt-4o"}, [1]),
        ({"since": "3"}, [4, 5]),
        ({"since": "0"}, [1, 2, 3, 4, 5]),
        ({"since": "2025-01-01T00:00:02Z"}, [3, 4, 5]),
        ({"since": "2025-01-01T00:00:02.001Z"}, [4, 5]),
        ({"since": "2025-01-01T01:00:03+01:00"}, [4, 5]),
        ({"since": "2025-01-01T01:00:03 01:00"}, [4, 5]),  # "+" decoded to a space in a query string
        ({"since": "2025-01-01 00:00:04"}, [5]),  # no offset: UTC
        ({"limit": "2"}, [4, 5]),
        ({"limit": "50"}, [1, 2, 3, 4, 5]),
        ({"deployment": "gpt-4o", "limit": "1"}, [4]),
        ({"deployment": "nope"}, []),
    ],
)
def test_filters(mixed: Journal, filters: dict[str, str], expected: list[int]) -> None:
    assert seqs(mixed, **filters) == expected


def test_filters_as_python_values(mixed: Journal) -> None:
    found = mixed.entries(Filters(deployment="gpt-4o", status_class=5))
    assert [entry["seq"] for entry in found] == [4]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ([("model", "gpt-4o")], "model"),
        ([("status", "abc")], "status"),
        ([("status", "6xx")], "status"),
        ([("status", "99")], "status"),
        ([("status", "4x")], "status"),
        ([("since", "yesterday")], "since"),
        ([("since", "-1")], "since"),
        ([("limit", "0")], "limit"),
        ([("limit", "-3")], "limit"),
        ([("limit", "ten")], "limit"),
        ([("limit", "²")], "limit"),
        ([("since", "²")], "since"),
        ([("status", "٤٢٩")], "status"),
        ([("deployment", "")], "deployment"),
        ([("status", "200"), ("status", "429")], "status"),
    ],
)
def test_bad_filters_are_refused_with_their_name(params: list[tuple[str, str]], param: str) -> None:
    with pytest.raises(FilterError) as caught:
        Filters.parse(params)
    assert caught.value.param == param


def test_the_clock_is_injected() -> None:
    clock: Callable[[], float] = lambda: 0.0  # noqa: E731
    journal = Journal(2, clock=clock)
    journal.add(make_record(10.0, 10.25, method="GET", path="/x"))
    (entry,) = journal.entries()
    assert entry["time"] == "1969-12-31T23:59:59.750Z"  # arrival: the clock at the end, less the duration
    assert entry["duration_ms"] == 250.0


def _retry_of(journal: Journal, seq: int) -> dict | None:
    return next(e["retry"] for e in journal.entries() if e["seq"] == seq)


def test_retries_follow_failures_or_say_so(journal: Journal) -> None:
    failed = record(journal, at=10.0, took=0.5, status=429, body=b'{"a":1}')
    retried = record(journal, at=11.0, took=0.2, status=200, body=b'{"a":1}')
    again = record(journal, at=12.0, took=0.1, status=200, body=b'{"a":1}')  # after a success: a new request
    assert _retry_of(journal, failed) is None
    assert _retry_of(journal, retried) == {"of": failed, "attempt": 2, "wait_ms": 500.0, "after_status": 429,
                                           "after_outcome": "sent"}
    assert _retry_of(journal, again) is None
    said = record(journal, at=13.0, took=0.1, status=200, body=b'{"a":1}',
                  headers=[(b"x-stainless-retry-count", b"1")])
    assert _retry_of(journal, said) == {"of": again, "attempt": 2, "wait_ms": 900.0, "after_status": 200,
                                        "after_outcome": "sent"}
    first_try = record(journal, at=14.0, took=0.1, status=500, body=b'{"a":1}',
                       headers=[(b"x-stainless-retry-count", b"0")])
    assert _retry_of(journal, first_try) is None  # after a success, and the SDK says it is a first attempt


def test_a_retry_comes_within_the_wait_the_failure_asked_for(journal: Journal) -> None:
    asked = [(b"retry-after-ms", b"3000"), (b"retry-after", b"3")]
    failed = record(journal, at=10.0, took=0.1, status=429, body=b'{"b":1}', response_headers=asked)
    in_time = record(journal, at=13.2, took=0.1, status=429, body=b'{"b":1}', response_headers=asked)
    assert _retry_of(journal, in_time)["of"] == failed
    # Minutes after a failure, the same request is a new one: 3 s asked, plus the margin, have long passed.
    late = record(journal, at=200.0, took=0.1, status=200, body=b'{"b":1}')
    assert _retry_of(journal, late) is None


def test_clients_that_retry_on_their_own_are_linked_by_timing(journal: Journal) -> None:
    """langchain-js, llama-index and litellm's num_retries call the SDK with its own retries off: every
    attempt says x-stainless-retry-count 0, so only the timing links them."""
    zero = [(b"x-stainless-retry-count", b"0")]
    first = record(journal, at=1.0, took=0.1, status=503, body=b'{"c":1}', headers=zero)
    second = record(journal, at=2.5, took=0.1, status=200, body=b'{"c":1}', headers=zero)
    assert _retry_of(journal, second) == {"of": first, "attempt": 2, "wait_ms": 1400.0, "after_status": 503,
                                          "after_outcome": "sent"}


def test_a_broken_delivery_counts_as_a_failure(journal: Journal) -> None:
    reset = record(journal, at=1.0, took=0.01, status=None, outcome="reset", body=b'{"d":1}')
    again = record(journal, at=1.5, took=0.1, status=200, body=b'{"d":1}')
    assert _retry_of(journal, again) == {"of": reset, "attempt": 2, "wait_ms": 490.0, "after_status": None,
                                         "after_outcome": "reset"}


def test_filters_by_rule_request_id_path_fault_and_outcome(journal: Journal) -> None:
    one = record(journal, at=1, rule="hello", request_id="r-1", fault="cut", outcome="cut")
    two = record(journal, at=2, rule="other", request_id="r-2", path="/openai/responses")
    assert seqs(journal, rule="hello") == [one]
    assert seqs(journal, id="r-2") == [two]
    assert seqs(journal, path="/openai/responses") == [two]
    assert seqs(journal, fault="cut") == seqs(journal, outcome="cut") == [one]
