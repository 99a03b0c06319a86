"""The Responses API (``/responses``): requests, conversations, answers, streams and what is stored.

``service`` creates responses, ``stored`` serves the ones kept; ``request``, ``items``, ``build`` and
``events`` are the pieces (the request model, input items, the response object, the stream), ``kept`` the
items stored responses keep for ``item_reference``. ``filtering`` holds the content filter's prompt check and
cut, ``pipeline`` the quota estimate and the paced events.
"""

from __future__ import annotations

from aoai_mock.behaviour.responses.filtering import ResponsesPromptFiltered, check_prompt
from aoai_mock.behaviour.responses.pipeline import content_event_count, is_content_event, quota_estimate
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
    "check_prompt",
    "ResponsesPromptFiltered",
    "quota_estimate",
    "is_content_event",
    "content_event_count",
]
