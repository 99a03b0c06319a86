"""Three aoai-mock replicas behind one load balancer, sharing one Redis: one fault schedule, one quota.

Through the load balancer (AZURE_OPENAI_ENDPOINT) it installs the fault plan "the next 2 requests to gpt-4o
get a 429", sends 9 chat requests to gpt-4o and 12 to gpt-4o-metered (6 requests a minute), and prints
which replica answered each (nginx names it in ``x-served-by``). Without shared state each replica would
count on its own: up to 6 429s, and all 12 requests admitted (6 a replica). With it: exactly 2, and exactly
6, as one process. Exits 0 when that holds, 1 otherwise.
"""

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import openai
from openai import AzureOpenAI

ENDPOINT = os.environ["AZURE_OPENAI_ENDPOINT"]
ADMIN = {"x-aoai-mock-admin-key": os.environ["AOAI_MOCK_ADMIN_KEY"]}
REPLICAS = os.environ.get("REPLICAS", "aoai-mock-1,aoai-mock-2,aoai-mock-3").split(",")
FAULTED = 2  # "next 2"
FAULT_REQUESTS = 9
QUOTA = 6  # gpt-4o-metered's requests a minute, all of them in its bucket (aoai-mock.yaml)
REFILL_S = 60 / QUOTA
QUOTA_REQUESTS = 12


def replica_names() -> dict[str, str]:
    """Each replica's address, as nginx reports it in x-served-by (``172.18.0.3:8000``), to its name."""
    return {f"{socket.gethostbyname(name)}:8000": name for name in REPLICAS}


def served_by(headers: Mapping[str, str], names: dict[str, str]) -> str:
    address = headers.get("x-served-by", "?")
    return names.get(address, address)


def control(method: str, path: str, body: Any = None) -> tuple[Any, Mapping[str, str]]:
    """A control API call through the load balancer (the standard library: no client beyond the SDK)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(ENDPOINT + path, data=data, method=method, headers=ADMIN)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response), response.headers


def wait_for_every_replica(names: dict[str, str], ready: Callable[[dict], bool], failed: str, timeout: float) -> None:
    """Ask ``GET /_mock/faults`` through the load balancer until each replica has answered ``ready(answer)``;
    exit with ``failed`` (and the replicas that did not) after ``timeout`` seconds.

    nginx sends each request to the next replica, so a few rounds reach them all."""
    deadline = time.monotonic() + timeout
    pending = set(names.values())
    while pending:
        if time.monotonic() > deadline:
            sys.exit(f"{', '.join(sorted(pending))}: {failed} (waited {timeout:.0f} s)")
        try:
            answer, headers = control("GET", "/_mock/faults")
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)  # nginx is still starting
            continue
        if ready(answer):
            pending.discard(served_by(headers, names))
        else:
            time.sleep(0.02)


def chat(client: AzureOpenAI, deployment: str, names: dict[str, str]) -> tuple[int, str, Mapping[str, str]]:
    """One chat request: its status, the replica that answered, and the response headers."""
    try:
        raw = client.chat.completions.with_raw_response.create(
            model=deployment, messages=[{"role": "user", "content": "Which replica?"}], max_tokens=16
        )
        raw.parse()
        return raw.status_code, served_by(raw.headers, names), raw.headers
    except openai.APIStatusError as exc:
        return exc.status_code, served_by(exc.response.headers, names), exc.response.headers


def fault_schedule(client: AzureOpenAI, names: dict[str, str]) -> bool:
    plan_id = f"next-two-{uuid.uuid4().hex[:8]}"  # this run's plan, told apart from an earlier run's
    plan = {"faults": [{"id": plan_id, "kind": "429", "next": FAULTED, "deployment": "gpt-4o"}]}
    control("POST", "/_mock/faults", plan)
    posted = "the fault plan posted through the load balancer did not reach it; do the replicas share one Redis?"
    wait_for_every_replica(names, lambda answer: any(e["id"] == plan_id for e in answer["installed"]), posted, 10)
    print(f'\nfault plan "next {FAULTED} -> 429" for gpt-4o, posted once through the load balancer; '
          f"every replica lists it")
    statuses, replicas = [], set()
    for n in range(1, FAULT_REQUESTS + 1):
        status, replica, _ = chat(client, "gpt-4o", names)
        statuses.append(status)
        replicas.add(replica)
        print(f"  {n:2}  {replica:12} {status}")
    got = statuses.count(429)
    print(f"gpt-4o: {got} x 429 of {FAULT_REQUESTS} requests (one process: {FAULTED}; "
          f"{len(names)} replicas counting alone: up to {FAULTED * len(names)})")
    entry = next(e for e in control("GET", "/_mock/faults")[0]["installed"] if e["id"] == plan_id)
    print(f"  the plan's shared counters: seen {entry['seen']}, fired {entry['fired']}")
    schedule = [429] * FAULTED + [200] * (FAULT_REQUESTS - FAULTED)
    return statuses == schedule and entry["fired"] == FAULTED and replicas == set(names.values())


def shared_quota(client: AzureOpenAI, names: dict[str, str]) -> bool:
    print(f"\ngpt-4o-metered: {QUOTA} requests a minute, all {QUOTA} available at once, one more every "
          f"{REFILL_S:.0f} s")
    started = time.monotonic()
    statuses, replicas = [], set()
    for n in range(1, QUOTA_REQUESTS + 1):
        status, replica, headers = chat(client, "gpt-4o-metered", names)
        statuses.append(status)
        replicas.add(replica)
        if status == 429:
            detail = f"retry-after-ms {headers.get('retry-after-ms')}"
        else:
            detail = f"x-ratelimit-remaining-requests {headers.get('x-ratelimit-remaining-requests')}"
        print(f"  {n:2}  {replica:12} {status}  {detail}")
    refilled = int((time.monotonic() - started) // REFILL_S)  # 0 unless the burst took 10 s or more
    admitted = statuses.count(200)
    expected = QUOTA + refilled
    print(f"gpt-4o-metered: {admitted} admitted of {QUOTA_REQUESTS} (one process: {expected}; "
          f"{len(names)} replicas metering alone: {min(QUOTA_REQUESTS, QUOTA * len(names))})")
    return admitted == expected and statuses[:QUOTA] == [200] * QUOTA and replicas == set(names.values())


def main() -> int:
    names = replica_names()
    print("replicas (x-served-by):", ", ".join(f"{name} {address}" for address, name in names.items()))
    client = AzureOpenAI(max_retries=0)  # reads AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, OPENAI_API_VERSION
    wait_for_every_replica(names, lambda answer: True, "no answer through the load balancer", 30)
    control("POST", "/_mock/reset")  # full quotas, fresh counters on every replica: the client can run again
    faults_ok = fault_schedule(client, names)
    quota_ok = shared_quota(client, names)
    print(f"\nfault schedule across replicas: {'as one process' if faults_ok else 'WRONG'}; "
          f"quota across replicas: {'as one process' if quota_ok else 'WRONG'}")
    return 0 if faults_ok and quota_ok else 1


if __name__ == "__main__":
    sys.exit(main())
