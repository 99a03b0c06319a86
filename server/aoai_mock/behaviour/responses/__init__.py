"""The Responses API (``/responses``): requests, conversations, answers, streams and what is stored.

``service`` creates responses, ``stored`` serves the ones kept; ``request``, ``items``, ``build`` and
``events`` are the pieces (the request model, input items, the response object, the stream).
"""

from __future__ import annotations

from aoai_mock.behaviour.responses.service import (
    Chosen,
    Created,
    Prepared,
    choose_responder,
    create,
    prepare,
)
from aoai_mock.behaviour.responses.stored import delete, list_input_items, retrieve

__all__ = [
    "Prepared",
    "Created",
    "Chosen",
    "prepare",
    "choose_responder",
    "create",
    "retrieve",
    "delete",
    "list_input_items",
]
