"""Responders, registered by name. Importing this package registers the built-in ones."""

from aoai_mock.behaviour.responders import echo, fixture, generated  # noqa: F401  (registration)
from aoai_mock.behaviour.responders.base import UnknownResponder, create, names

__all__ = ["create", "names", "UnknownResponder"]
