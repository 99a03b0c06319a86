"""The pytest plugin: one aoai-mock per test session, a clean slate for every test.

Installed with aoai-mock (entry point ``pytest11``), it adds:

* ``aoai_mock``: the session's live server, reset before and after each test (see
  :class:`~aoai_mock.testing.mock.MockServer`): ``.endpoint``, ``.api_key``, ``.on(...)`` (rules and faults
  from Python), ``.load_scenario(...)``, ``.use_scenario(name)``, ``.inject_faults(*entries)``,
  ``.requests(**filters)``, ``.assert_called(...)``, ``.clear_state()``;
* ``aoai_mock_endpoint``, ``aoai_mock_env`` (``AZURE_OPENAI_ENDPOINT``, ``AZURE_OPENAI_API_KEY`` and
  ``OPENAI_API_VERSION`` set for the test), ``azure_openai_client`` and ``async_azure_openai_client`` (the
  openai SDK's ``AzureOpenAI`` / ``AsyncAzureOpenAI`` pointed at the mock, ``max_retries=0``);
* the markers ``@pytest.mark.aoai_scenario(source)`` (a shipped name, a file, a folder, YAML text or a
  mapping: loaded and active for that test) and ``@pytest.mark.aoai_fault(*entries, **entry)`` (fault entries
  installed for that test).

Settings, in ``pytest.ini`` / ``pyproject.toml`` ``[tool.pytest.ini_options]``: ``aoai_mock_config`` (a
config file), ``aoai_mock_scenarios`` (loaded at start, the first one active), ``aoai_mock_seed``,
``aoai_mock_api_version`` (what the client fixtures use, default ``2024-10-21``), ``aoai_mock_clear_state``
(forget stored objects between tests).

Importing this module imports pytest and the standard library only: pytest loads it in every session of an
environment where aoai-mock is installed, and the server, its app and the SDK come with the first fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aoai_mock.testing import API_KEY
from aoai_mock.testing.calls import CallAssertionError
from aoai_mock.testing.mock import RULES_SCENARIO, MockServer

__all__ = ["MockServer", "CallAssertionError", "API_KEY", "RULES_SCENARIO"]

MARKER_FAULTS = "marker"  # the fault-plan source of @pytest.mark.aoai_fault entries


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("aoai_mock_config", "aoai-mock configuration file for the session's server", default="")
    parser.addini("aoai_mock_scenarios", "scenarios to load at start (names, files, folders)", type="args")
    parser.addini("aoai_mock_seed", "seed for the session's server (freezes ids and timestamps)", default="")
    parser.addini("aoai_mock_api_version", "api-version of the client fixtures", default="2024-10-21")
    parser.addini(
        "aoai_mock_clear_state",
        "forget stored objects (files, batches, assistants, threads, vector stores, responses...) between tests",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "aoai_scenario(source): load an aoai-mock scenario (name, path, YAML text or dict) for this test"
    )
    config.addinivalue_line(
        "markers", "aoai_fault(*entries, **entry): install aoai-mock fault entries (as in faults:) for this test"
    )


def _openai() -> Any:
    try:
        import openai
    except ImportError:
        pytest.fail(
            "the aoai-mock client fixtures use the openai package, which is not installed: pip install openai",
            pytrace=False,
        )
    return openai


def _marker_faults(node: pytest.Item) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for marker in reversed(list(node.iter_markers("aoai_fault"))):
        entries += [dict(entry) for entry in marker.args]
        if marker.kwargs:
            entries.append(dict(marker.kwargs))
    return entries


@pytest.fixture(scope="session")
def _aoai_mock_session(pytestconfig: pytest.Config) -> Iterator[MockServer]:
    """The session's server: started on first use, stopped at the end of the session."""
    from aoai_mock.settings import resolve
    from aoai_mock.testing.server import LiveServer

    given: dict[str, Any] = {"port": 0}
    if pytestconfig.getini("aoai_mock_config"):
        given["config_path"] = str(pytestconfig.getini("aoai_mock_config"))
    if pytestconfig.getini("aoai_mock_scenarios"):
        given["scenarios"] = tuple(pytestconfig.getini("aoai_mock_scenarios"))
    if pytestconfig.getini("aoai_mock_seed"):
        given["seed"] = int(pytestconfig.getini("aoai_mock_seed"))
    with LiveServer(resolve(given, env={})) as server:
        yield MockServer(
            server,
            str(pytestconfig.getini("aoai_mock_api_version")),
            clear_state=bool(pytestconfig.getini("aoai_mock_clear_state")),
        )


@pytest.fixture()
def aoai_mock(_aoai_mock_session: MockServer, request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """The session's live aoai-mock, reset for this test: .endpoint and .api_key (any non-empty key is
    accepted); .on(...).reply(...) / .fail(...), .load_scenario(...), .use_scenario(...), .inject_faults(...)
    to arrange; .requests(...), .assert_called(...) to check. What a test arranges is gone after it."""
    mock = _aoai_mock_session
    mock.reset()
    marker = request.node.get_closest_marker("aoai_scenario")
    if marker is not None:
        mock.load_scenario(marker.args[0])
    faults = _marker_faults(request.node)
    if faults:
        mock.install_faults(faults, MARKER_FAULTS)
    yield mock
    mock.reset()


@pytest.fixture()
def aoai_mock_endpoint(aoai_mock: MockServer) -> str:
    """The mock's base URL (http://127.0.0.1:<port>), for AZURE_OPENAI_ENDPOINT or azure_endpoint=."""
    return aoai_mock.endpoint


@pytest.fixture()
def aoai_mock_env(aoai_mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and OPENAI_API_VERSION set for this test (and restored
    after it), so code under test that builds its own AzureOpenAI() talks to the mock; returns them."""
    values = {
        "AZURE_OPENAI_ENDPOINT": aoai_mock.endpoint,
        "AZURE_OPENAI_API_KEY": aoai_mock.api_key,
        "OPENAI_API_VERSION": aoai_mock.api_version,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture()
def azure_openai_client(aoai_mock: MockServer) -> Iterator[Any]:
    """openai.AzureOpenAI pointed at the mock (max_retries=0, api-version from aoai_mock_api_version)."""
    client = _openai().AzureOpenAI(
        azure_endpoint=aoai_mock.endpoint, api_key=aoai_mock.api_key, api_version=aoai_mock.api_version, max_retries=0
    )
    with client:
        yield client


@pytest.fixture()
def async_azure_openai_client(aoai_mock: MockServer) -> Any:
    """openai.AsyncAzureOpenAI pointed at the mock (max_retries=0, api-version from aoai_mock_api_version)."""
    return _openai().AsyncAzureOpenAI(
        azure_endpoint=aoai_mock.endpoint, api_key=aoai_mock.api_key, api_version=aoai_mock.api_version, max_retries=0
    )
