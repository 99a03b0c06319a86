"""Helpers for testing against aoai-mock: a live server in a thread.

``LiveServer`` is imported on first use: pytest loads this package's plugin in every session of an environment
where aoai-mock is installed, and a session that never starts a mock should not pay for importing the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aoai_mock.testing.server import LiveServer

__all__ = ["LiveServer"]


def __getattr__(name: str) -> Any:
    if name == "LiveServer":
        from aoai_mock.testing.server import LiveServer

        return LiveServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
