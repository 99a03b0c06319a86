"""The pytest plugin: one aoai-mock per test session, a clean slate for every test.

Installed with aoai-mock (entry point ``pytest11``), it adds:

* ``aoai_mock``: the session's live server, reset before each test (scenario counters, faults, quotas,
  the journal; scenarios a test loaded are unloaded and the session's first scenario is active again).
  ``aoai_mock.endpoint``, ``.api_key``, ``.requests(**filters)``, ``.assert_called(...)``,
  ``.load_scenario(yaml_or_path)``, ``.use_scenario(name)``, ``.inject_faults(*entries)``;
* ``aoai_mock_endpoint``, ``azure_openai_client`` and ``async_azure_openai_client`` (the openai SDK's
  ``AzureOpenAI`` / ``AsyncAzureOpenAI`` pointed at the mock, ``max_retries=0`` unless the test changes it);
* the marker ``@pytest.mark.aoai_scenario("weather-agent")`` (a shipped name, a file or a folder): the
  scenario is loaded and active for that test.

Settings, in ``pytest.ini`` / ``pyproject.toml`` ``[tool.pytest.ini_options]``: ``aoai_mock_config`` (a
config file), ``aoai_mock_scenarios`` (loaded at start, the first one active), ``aoai_mock_seed``,
``aoai_mock_api_version`` (what the client fixtures use, default ``2024-10-21``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported lazily: pytest loads this plugin in every session of the environment
    from aoai_mock.testing.server import LiveServer

__all__ = ["MockServer", "CallAssertionError"]

API_KEY = "aoai-mock-test-key"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("aoai_mock_config", "aoai-mock configuration file for the session's server", default="")
    parser.addini("aoai_mock_scenarios", "scenarios to load at start (names, files, folders)", type="args")
    parser.addini("aoai_mock_seed", "seed for the session's server (freezes ids and timestamps)", default="")
    parser.addini("aoai_mock_api_version", "api-version of the client fixtures", default="2024-10-21")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "aoai_scenario(name_or_path): load and activate an aoai-mock scenario")


class CallAssertionError(AssertionError):
    pass


class MockServer:
    """The session's aoai-mock as a test sees it."""

    def __init__(self, server: LiveServer, api_version: str) -> None:
        self.server = server
        self.api_version = api_version
        self.api_key = API_KEY
        runtime = server.app.state.runtime
        self.runtime = runtime
        self.journal = server.app.state.journal
        self._default_scenario = runtime.book.active
        self._session_scenarios = set(runtime.book.names())

    @property
    def endpoint(self) -> str:
        return self.server.url

    # -- between tests ------------------------------------------------------------------------------

    def reset(self) -> None:
        book = self.runtime.book
        for name in set(book.names()) - self._session_scenarios:
            book.remove(name)
        book.activate(self._default_scenario)
        self.runtime.faults.clear()
        self.runtime.sync_scenario_faults()
        self.runtime.reset()
        self.journal.clear()

    # -- arranging ----------------------------------------------------------------------------------

    def load_scenario(self, source: str | Path, activate: bool = True) -> str:
        """Load a scenario from YAML text, a file, a folder or a shipped name; returns its name."""
        from aoai_mock.behaviour.scenarios import load_paths, load_text

        text = str(source)
        scenarios = [load_text(text, source="<test>")] if "\n" in text else load_paths([text])
        for scenario in scenarios:
            self.runtime.book.load(scenario)
        name = str(scenarios[0].name)
        if activate:
            self.use_scenario(name)
        return name

    def use_scenario(self, name: str | None) -> None:
        self.runtime.book.activate(name)
        self.runtime.sync_scenario_faults()

    def inject_faults(self, *entries: dict[str, Any]) -> list[str]:
        """Install fault entries (as in a scenario's ``faults:``) for this test; returns their ids."""
        from aoai_mock.behaviour.faults import load_plan

        return self.runtime.faults.install(load_plan(list(entries)), "control")

    # -- checking -----------------------------------------------------------------------------------

    def requests(self, **filters: str | int) -> list[dict[str, Any]]:
        """The journal's entries (``deployment``, ``operation``, ``status``, ``scenario``, ``since``, ``limit``)."""
        from aoai_mock.state.journal import Filters

        return self.journal.entries(Filters.parse([(k, str(v)) for k, v in filters.items()]))

    def assert_called(self, times: int | None = None, **expected: Any) -> list[dict[str, Any]]:
        """Assert the journal holds requests with every ``expected`` value (``deployment``, ``operation``,
        ``status``, ``scenario``, ``rule``, ``path``, ``stream``, ``message_contains``); ``times``: exactly
        that many. On failure the message lists the nearest requests and what differed in each."""
        entries = self.journal.entries()
        hits = [e for e in entries if not _differences(e, expected)]
        if (times is None and hits) or (times is not None and len(hits) == times):
            return hits
        wanted = f"{times} call(s)" if times is not None else "a call"
        raise CallAssertionError(f"expected {wanted} with {expected}, found {len(hits)}.\n" + _near(entries, expected))


def _message_text(entry: dict[str, Any]) -> str:
    body = entry.get("body")
    if not isinstance(body, dict):
        return ""
    parts = [str(m.get("content")) for m in body.get("messages", []) if isinstance(m, dict)]
    for key in ("prompt", "input"):
        if key in body:
            parts.append(str(body[key]))
    return "\n".join(parts)


def _differences(entry: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    found = []
    for key, want in expected.items():
        if key == "message_contains":
            if str(want) not in _message_text(entry):
                found.append(f"no message contains {want!r}")
        elif entry.get(key) != want:
            found.append(f"{key} is {entry.get(key)!r}, not {want!r}")
    return found


def _near(entries: list[dict[str, Any]], expected: dict[str, Any], most: int = 5) -> str:
    if not entries:
        return "The journal is empty: the mock received no request during this test."
    ranked = sorted(entries, key=lambda e: len(_differences(e, expected)))[:most]
    lines = [f"Nearest of {len(entries)} request(s):"]
    for entry in ranked:
        why = "; ".join(_differences(entry, expected)) or "matches"
        lines.append(f"  #{entry['seq']} {entry['method']} {entry['path']} -> {entry['status']}: {why}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def _aoai_mock_session(pytestconfig: pytest.Config) -> Iterator[MockServer]:
    from aoai_mock.settings import resolve
    from aoai_mock.testing.server import LiveServer

    given: dict[str, Any] = {"port": 0, "api_keys": (API_KEY,)}
    if pytestconfig.getini("aoai_mock_config"):
        given["config_path"] = str(pytestconfig.getini("aoai_mock_config"))
    if pytestconfig.getini("aoai_mock_scenarios"):
        given["scenarios"] = tuple(pytestconfig.getini("aoai_mock_scenarios"))
    if pytestconfig.getini("aoai_mock_seed"):
        given["seed"] = int(pytestconfig.getini("aoai_mock_seed"))
    with LiveServer(resolve(given, env={})) as server:
        yield MockServer(server, str(pytestconfig.getini("aoai_mock_api_version")))


@pytest.fixture()
def aoai_mock(_aoai_mock_session: MockServer, request: pytest.FixtureRequest) -> Iterator[MockServer]:
    mock = _aoai_mock_session
    mock.reset()
    marker = request.node.get_closest_marker("aoai_scenario")
    if marker is not None:
        mock.load_scenario(str(marker.args[0]))
    yield mock
    mock.reset()


@pytest.fixture()
def aoai_mock_endpoint(aoai_mock: MockServer) -> str:
    return aoai_mock.endpoint


@pytest.fixture()
def azure_openai_client(aoai_mock: MockServer) -> Any:
    from openai import AzureOpenAI

    return AzureOpenAI(
        azure_endpoint=aoai_mock.endpoint, api_key=aoai_mock.api_key, api_version=aoai_mock.api_version, max_retries=0
    )


@pytest.fixture()
def async_azure_openai_client(aoai_mock: MockServer) -> Any:
    from openai import AsyncAzureOpenAI

    return AsyncAzureOpenAI(
        azure_endpoint=aoai_mock.endpoint, api_key=aoai_mock.api_key, api_version=aoai_mock.api_version, max_retries=0
    )
