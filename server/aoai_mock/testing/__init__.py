"""Helpers for testing against aoai-mock: a live server in a thread, and the pytest plugin's pieces.

``LiveServer`` is imported on first use: pytest loads this package's plugin in every session of an environment
where aoai-mock is installed, and a session that never starts a mock should not pay for importing the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aoai_mock.testing.server import LiveServer

__all__ = ["LiveServer", "API_KEY"]

API_KEY = "aoai-mock-test-key"
"""The key the plugin's client fixtures and ``aoai_mock_env`` send (``aoai_mock.api_key``). The plugin's server
accepts any non-empty key, so code under test may bring its own."""


def __getattr__(name: str) -> Any:
    if name == "LiveServer":
        from aoai_mock.testing.server import LiveServer

        return LiveServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
