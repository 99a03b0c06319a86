"""Helpers for testing against aoai-mock: a live server in a thread."""

from aoai_mock.testing.server import LiveServer

__all__ = ["LiveServer"]
