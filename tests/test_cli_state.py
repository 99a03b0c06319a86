"""``aoai-mock serve --state FILE`` as users run it: a real process keeps its objects across a SIGTERM and a
restart, and refuses, with a message naming the file, a state file it cannot use."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.test_cli import serve

V = "?api-version=2024-10-21"
PREVIEW = "?api-version=2024-05-01-preview"
KEY = {"api-key": "k"}
EXAMPLES = "".join(
    json.dumps({"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}) + "\n"
    for i in range(10)
).encode()


def _upload(url: str, name: str, data: bytes, purpose: str) -> dict:
    answer = httpx.post(url + "/openai/files" + V, headers=KEY, files={"file": (name, data, "application/jsonl")},
                        data={"purpose": purpose})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=10)
    assert proc.returncode in (0, -signal.SIGTERM)


def test_objects_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    args = ("--state", str(state), "--seed", "9", "--fine-tuning-seconds", "0")
    with serve(*args) as (url, proc):
        kept = _upload(url, "notes.jsonl", b'{"kept": true}\n', "assistants")
        training = _upload(url, "train.jsonl", EXAMPLES, "fine-tune")
        job = httpx.post(url + "/openai/fine_tuning/jobs" + V, headers=KEY,
                         json={"model": "gpt-4o-mini", "training_file": training["id"]}).json()  # fmt: skip
        model = httpx.get(url + f"/openai/fine_tuning/jobs/{job['id']}" + V, headers=KEY).json()["fine_tuned_model"]
        assistant = httpx.post(url + "/openai/assistants" + PREVIEW, headers=KEY, json={"model": "gpt-4o", "name": "kept"})
        thread = httpx.post(url + "/openai/threads" + PREVIEW, headers=KEY, json={})
        _stop(proc)
    with serve(*args) as (url, _):
        assert httpx.get(url + f"/openai/files/{kept['id']}" + V, headers=KEY).json() == kept
        assert httpx.get(url + f"/openai/files/{kept['id']}/content" + V, headers=KEY).content == b'{"kept": true}\n'
        assert httpx.get(url + f"/openai/fine_tuning/jobs/{job['id']}" + V, headers=KEY).json()["status"] == "succeeded"
        chat = httpx.post(url + f"/openai/deployments/{model}/chat/completions" + V, headers=KEY,
                          json={"messages": [{"role": "user", "content": "still here?"}]})  # fmt: skip
        assert chat.status_code == 200 and chat.json()["model"] == model
        # The assistants family keeps its objects in the same store.
        found = httpx.get(url + f"/openai/assistants/{assistant.json()['id']}" + PREVIEW, headers=KEY)
        assert found.status_code == 200 and found.json() == assistant.json()
        assert httpx.get(url + f"/openai/threads/{thread.json()['id']}" + PREVIEW, headers=KEY).json() == thread.json()
        again = _upload(url, "notes.jsonl", b'{"kept": true}\n', "assistants")  # same seed, same request:
        assert again["id"] != kept["id"]  # the id serials were kept too, so no id is handed out twice
        listed = httpx.get(url + "/openai/files" + V, headers=KEY).json()["data"]
        assert {kept["id"], training["id"], again["id"]} <= {f["id"] for f in listed}


def test_state_from_the_environment(tmp_path: Path) -> None:
    state = tmp_path / "env-state.db"
    with serve(env={"AOAI_MOCK_STATE": str(state)}) as (url, proc):
        kept = _upload(url, "a.jsonl", b"{}", "batch")
        _stop(proc)
    with serve(env={"AOAI_MOCK_STATE": str(state)}) as (url, _):
        assert httpx.get(url + f"/openai/files/{kept['id']}" + V, headers=KEY).status_code == 200


def _refused(path: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "aoai_mock", "serve", "--port", "0", "--state", str(path)],
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"aoai-mock: not starting: state file {path}" in done.stderr
    return done.stderr


def test_a_file_that_is_not_a_state_file_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 50)
    assert "not a SQLite database" in _refused(path)
    assert path.read_bytes().startswith(b"these are my notes")


def test_a_damaged_state_file_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE filler (x TEXT)")
    db.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 50)
    db.commit()
    db.close()
    assert "another program" in _refused(path)
    raw = bytearray(path.read_bytes())
    raw[100:6000] = b"\x5a" * 5900
    path.write_bytes(bytes(raw))
    assert "damaged" in _refused(path) or "another program" in _refused(path)


@pytest.mark.parametrize("where", ["folder", "missing-folder"])
def test_an_unusable_path_refuses_to_start(tmp_path: Path, where: str) -> None:
    path = tmp_path if where == "folder" else tmp_path / "nowhere" / "state.db"
    assert "folder" in _refused(path)


def test_after_sigterm_the_main_file_alone_holds_everything(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with serve("--state", str(state)) as (url, proc):
        kept = _upload(url, "notes.jsonl", b'{"kept": true}\n', "assistants")
        _stop(proc)
    wal = tmp_path / "state.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0, "objects were left in the write-ahead log"
    copy = tmp_path / "copy.db"
    copy.write_bytes(state.read_bytes())  # the main file alone, as a backup that copies one file would have it
    with sqlite3.connect(copy) as db:
        found = db.execute("SELECT count(*) FROM docs WHERE id = ?", (kept["id"],)).fetchone()[0]
    assert found == 1
