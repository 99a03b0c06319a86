"""The request journal shared through Redis, with real processes: two ``serve`` commands on one Redis (and
``--workers 2``) list each other's requests in order, with filters and ``since``; a DELETE on one clears it for
both; the journal size caps it; a Redis that goes away costs no answer, and the requests served meanwhile are
in the journal once it is back."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from aoai_mock.state import shared_journal
from aoai_mock.state.journal import describe
from aoai_mock.state.record import Record
from aoai_mock.state.redis_state import RedisState
from aoai_mock.state.shared_journal import SharedJournal, dump, load

from tests.processes import running
from tests.redis_server import RedisServer
from tests.shared.test_fault_schedules import CHAT, KEY, until


def chat(url: str, text: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": text}]}
    return httpx.post(url + CHAT, json=body, headers={**KEY, **(headers or {})}, timeout=30)


def entries(url: str, **filters: Any) -> list[dict[str, Any]]:
    found = httpx.get(url + "/_mock/requests", params=filters, timeout=30)
    assert found.status_code == 200, found.text
    return found.json()["data"]


def ids(url: str, **filters: Any) -> list[str]:
    return [entry["id"] for entry in entries(url, **filters)]


def test_two_servers_list_every_request_in_order_with_filters_and_since(redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (a, _), running("serve", "--state", redis_url) as (b, _):
        sent = [chat(url, f"number {n}") for n, url in enumerate((a, b, a, b))]
        assert [r.status_code for r in sent] == [200] * 4
        order = [r.headers["x-request-id"] for r in sent]
        until(lambda: ids(a) == order and ids(b) == order)
        listed = entries(a)
        assert entries(b) == listed  # the same entries, numbers and retry links, whichever process is asked
        assert [e["body"]["messages"][0]["content"] for e in listed] == [f"number {n}" for n in range(4)]
        assert {e["headers"]["api-key"] for e in listed} == {"***"}
        seqs = [e["seq"] for e in listed]
        assert len(set(seqs)) == 4

        refused = chat(b, "refused", {"x-aoai-mock-fault": "429"})
        assert refused.status_code == 429
        rid = refused.headers["x-request-id"]
        until(lambda: ids(a, status="429") == [rid])
        assert ids(a, status="2xx") == order
        assert ids(b, id=order[1]) == [order[1]]
        assert ids(a, limit=2) == [order[3], rid]
        middle = sorted(seqs)[1]
        assert ids(b, since=middle) == [e["id"] for e in entries(b) if e["seq"] > middle]
        newest = max(e["seq"] for e in entries(a))
        assert entries(b, since=newest) == []
        later = chat(a, "later").headers["x-request-id"]
        until(lambda: ids(b, since=newest) == [later])


def test_a_retry_served_by_another_process_is_linked_to_its_first_attempt(redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (a, _), running("serve", "--state", redis_url) as (b, _):
        first = chat(a, "again", {"x-aoai-mock-fault": "429"})
        assert first.status_code == 429
        retry = chat(b, "again", {"x-stainless-retry-count": "1"})
        assert retry.status_code == 200
        until(lambda: len(entries(b)) == 2)
        attempt, again = entries(b)
        assert attempt["id"] == first.headers["x-request-id"] and again["id"] == retry.headers["x-request-id"]
        assert again["retry"]["of"] == attempt["seq"]
        assert (again["retry"]["attempt"], again["retry"]["after_status"]) == (2, 429)
        # The fault log is a's own; how the client answered reads the shared journal.
        injected = httpx.get(a + "/_mock/faults").json()["injected"]
        assert [i["client"]["answer"] for i in injected] == ["retried"]
        assert injected[0]["client"]["request_id"] == again["id"]


def test_a_delete_on_one_server_clears_the_journal_for_both(redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (a, _), running("serve", "--state", redis_url) as (b, _):
        for url in (a, b, b):
            assert chat(url, "before").status_code == 200
        until(lambda: len(entries(a)) == 3)
        before = max(e["seq"] for e in entries(a))
        assert httpx.delete(a + "/_mock/requests").json() == {"deleted": 3}
        assert entries(b) == [] and entries(a) == []
        after = chat(b, "after").headers["x-request-id"]
        until(lambda: ids(a) == [after])
        assert entries(a)[0]["seq"] > before  # numbers carry on after a clear
        assert httpx.post(b + "/_mock/reset").json()["requests_deleted"] == 1
        assert entries(a) == []


def test_the_journal_size_caps_the_shared_journal(redis_url: str) -> None:
    args = ("serve", "--state", redis_url, "--journal-size", "3")
    with running(*args) as (a, _), running(*args) as (b, _):
        sent = []
        for n, url in enumerate((a, b, a, b, a)):
            sent.append(chat(url, f"number {n}").headers["x-request-id"])
            other = b if url == a else a
            until(lambda: sent[-1] in ids(other))
        assert ids(a) == ids(b) == sent[-3:]


def test_workers_share_one_journal(redis_url: str) -> None:
    with running("serve", "--workers", "2", "--state", redis_url, timeout=60) as (url, _):

        def one(n: int) -> str:
            with httpx.Client(timeout=30) as client:  # a connection of its own: any worker may take it
                answer = client.post(url + CHAT, json={"messages": [{"role": "user", "content": f"n{n}"}]}, headers=KEY)
                return answer.headers["x-request-id"]

        with ThreadPoolExecutor(10) as pool:
            sent = set(pool.map(one, range(30)))
        until(lambda: set(ids(url)) == sent)
        for _ in range(20):  # every read, whichever worker answers it, lists all of them
            assert set(ids(url)) == sent


def test_requests_are_answered_while_redis_is_gone_and_journaled_once_it_is_back(
    redis_server: RedisServer, redis_url: str
) -> None:
    with running("serve", "--state", redis_url) as (url, proc):
        first = chat(url, "first").headers["x-request-id"]
        until(lambda: ids(url) == [first])
        seq = entries(url)[0]["seq"]
        redis_server.stop()
        try:
            started = time.monotonic()
            during = [chat(url, f"during {n}") for n in range(3)]
            assert [r.status_code for r in during] == [200] * 3
            assert time.monotonic() - started < 5  # nothing a request waits for touches Redis
            unread = httpx.get(url + "/_mock/requests", timeout=30)
            assert unread.status_code == 500
            assert unread.json()["error"]["type"] == "server_error"
        finally:
            redis_server.start()
        # Redis came back empty: the first request went with it; those served meanwhile are written, numbered on.
        kept = [r.headers["x-request-id"] for r in during]
        until(lambda: ids(url) == kept, timeout=15)
        assert min(e["seq"] for e in entries(url)) > seq
    log = proc.stdout.read().decode()
    assert f"Redis at {redis_url} is unavailable" in log
    assert log.count("the journal keeps this process's requests") == 1
    assert "the journal is writing the requests kept meanwhile" in log
    assert "Traceback" not in log


def test_a_record_read_back_from_redis_describes_the_same() -> None:
    record = Record("rid-1", "POST", "/openai/deployments/gpt-4o/chat/completions", b"api-version=1&sig=x",
                    [(b"api-key", b"secret"), (b"x-stainless-retry-count", b"1"), (b"x-raw", b"\xff\xfe")], 100.0)
    record.keep_body(b"\x00\xff not utf-8")
    record.operation, record.deployment, record.status, record.outcome = "chat.completions", "gpt-4o", 429, "sent"
    record.fault, record.fault_source, record.fault_effect = "429", "header", "429 rate limited"
    record.quota, record.tokens_in, record.tokens_out = {"cost": 10, "admitted": False}, 3, None
    record.response_headers = [(b"retry-after-ms", b"1500")]
    record.sent_body(b'{"error": {}}')
    record.first_byte = 100.25
    record.finish(100.5)
    record.wall = 1_700_000_000.5
    record.seq = 7
    end, payload = dump(record)
    assert end == record.wall
    again = load(payload, 7)
    assert describe(again) == describe(record)
    assert (again.start, again.first_byte, again.end) == (1_700_000_000.0, 1_700_000_000.25, 1_700_000_000.5)


def _record(n: int) -> Record:
    record = Record(f"id-{n}", "POST", "/openai/deployments/gpt-4o/chat/completions", b"", [], time.monotonic())
    record.status = 200
    record.finish(time.monotonic())
    return record


async def test_a_large_journal_is_read_in_pages(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_journal, "_PAGE", 3)
    writer = SharedJournal(8, RedisState.from_url(redis_url))
    reader = SharedJournal(8, RedisState.from_url(redis_url))  # another process: it has read nothing yet
    for n in range(11):
        writer.add(_record(n))
    # The cap, 8: the queue kept this process's newest 8, which got the numbers 1 to 8.
    assert [r.request_id for r in await writer.gather()] == [f"id-{n}" for n in range(3, 11)]
    assert [(r.seq, r.request_id) for r in await reader.gather()] == [(n - 2, f"id-{n}") for n in range(3, 11)]
    writer.add(_record(11))
    assert len(await writer.gather()) == 8  # written (a server's task writes it as soon as the loop turns)
    assert [r.seq for r in await reader.gather()] == list(range(2, 10))
    assert [r.request_id for r in await reader.gather()] == [f"id-{n}" for n in range(4, 12)]
    await writer.state.close()
    await reader.state.close()


async def test_a_reader_follows_a_redis_that_came_back_empty(redis_server: RedisServer, redis_url: str) -> None:
    before = SharedJournal(10, RedisState.from_url(redis_url))
    for n in range(5):
        before.add(_record(n))
    assert len(await before.gather()) == 5
    redis_server.flush()  # as a restart without persistence leaves it
    fresh = SharedJournal(10, RedisState.from_url(redis_url))  # a process that never saw the old numbers
    fresh.add(_record(9))
    assert [(r.seq, r.request_id) for r in await fresh.gather()] == [(1, "id-9")]
    assert [(r.seq, r.request_id) for r in await before.gather()] == [(1, "id-9")]  # not behind its old numbers
    await before.state.close()
    await fresh.state.close()
