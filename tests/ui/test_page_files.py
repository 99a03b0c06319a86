"""The web view's files, over HTTP (no browser): served openly, with no data in them and nothing fetched from
elsewhere, while every read the page makes stays behind the admin key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.resources import files

import httpx
import pytest
from aoai_mock.http.ui import UI_FILES
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.ui.traffic import ADMIN_KEY, AZURE_KEY, client

SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name, never fetched


@pytest.fixture(scope="module")
def locked() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, "admin_key": ADMIN_KEY, "api_keys": (AZURE_KEY,)}, env={})) as server:
        yield server


@pytest.fixture()
def http(locked: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=locked.url, timeout=10) as opened:
        yield opened


def test_the_page_opens_without_the_key_and_is_the_packaged_file(http: httpx.Client) -> None:
    moved = http.get("/_mock/ui")
    assert moved.status_code == 307 and moved.headers["location"] == "ui/"  # relative: works behind a path prefix
    page = http.get("/_mock/ui/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.content == (files("aoai_mock") / "data" / "ui" / "index.html").read_bytes()
    for name, media_type in UI_FILES.items():
        served = http.get(f"/_mock/ui/{name}")
        assert (served.status_code, served.headers["content-type"]) == (200, media_type), name


def test_the_page_allows_only_its_own_files_and_origin(http: httpx.Client) -> None:
    policy = http.get("/_mock/ui/").headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    for name in UI_FILES:
        text = http.get(f"/_mock/ui/{name}").text
        assert set(re.findall(r"https?://[^\s'\")]+", text)) <= {SVG_NAMESPACE}, f"{name} names another site"
        assert "innerHTML" not in text and "eval(" not in text and "document.write" not in text


def test_only_the_page_files_are_served(http: httpx.Client) -> None:
    for name in ("secret.txt", "..%2Fui.py", "%2E%2E%2F%2E%2E%2Fsettings.py", "app.js.map"):
        assert http.get(f"/_mock/ui/{name}").status_code == 404, name


def test_what_the_page_reads_needs_the_key(locked: LiveServer, http: httpx.Client) -> None:
    client(locked).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "private words"}])
    for path in ("/_mock/requests", "/_mock/scenarios", "/_mock/faults", "/_mock/deployments"):
        assert http.get(path).status_code == 401, path
        assert http.get(path, headers={"x-aoai-mock-admin-key": AZURE_KEY}).status_code == 401, path
        assert http.get(path, headers={"x-aoai-mock-admin-key": ADMIN_KEY}).status_code == 200, path
    for name in UI_FILES:
        assert "private words" not in http.get(f"/_mock/ui/{name}").text
