"""The Responses API (``/responses``): requests, conversations, answers, streams and what is stored.

``service`` creates responses, ``stored`` serves the ones kept; ``request``, ``items``, ``build`` and
``events`` are the pieces (the request model, input items, the response object, the stream), ``kept`` the
items stored responses keep for ``item_reference``. ``filtering`` holds the content filter's prompt check and
cut, ``pipeline`` the quota estimate and the paced events.

The names below are imported from their modules when first asked for: a server that answers no Responses
request never loads the request model and the builders (the front door reaches ``family`` and ``pipeline``,
which load them on the first request).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_FROM = {
    "check_prompt": "filtering", "ResponsesPromptFiltered": "filtering",
    "quota_estimate": "pipeline", "is_content_event": "pipeline", "content_event_count": "pipeline",
    "retrieve": "stored", "delete": "stored", "list_input_items": "stored",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_FROM.get(name, 'service')}"), name)
