"""The Responses API's create as a :class:`~aoai_mock.behaviour.inference.Family`: the same seam as chat,
so faults (stream faults included), an enforced quota, pacing, the content filter and scenario rules apply
to it as they do to chat completions. The store is read before the answer (:func:`_load`) and written after it
(:func:`_keep`), on the event loop: the answer itself may be worked out in a worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aoai_mock.behaviour.inference import Answer, Answered, Call, Family
from aoai_mock.behaviour.responders.base import Responder
from aoai_mock.behaviour.responses.pipeline import quota_estimate
from aoai_mock.behaviour.scenarios.request_facts import RequestView
from aoai_mock.wire import api_versions as av

if TYPE_CHECKING:
    from aoai_mock.behaviour.responses.service import Created, Loaded, Prepared

__all__ = ["RESPONSES"]


async def _load(call: Call) -> Loaded:
    # The first Responses request loads the request model and the builders (a server may never need them).
    from aoai_mock.behaviour.responses.service import load

    return await load(call.runtime, call.body)


def _parse(call: Call) -> Prepared:
    from aoai_mock.behaviour.responses.service import prepared_from

    return prepared_from(call.runtime, call.deployment, call.api_version or "v1", call.body, call.loaded)


def _run(call: Call, prepared: Prepared, responder: Responder | None) -> Answered:
    from aoai_mock.behaviour.responses.filtering import check_prompt
    from aoai_mock.behaviour.responses.service import answered

    check_prompt(prepared)  # the deployment's content filter: Azure's 400 for a blocked prompt
    created = answered(call.runtime, prepared, responder)
    usage = created.response.get("usage") or {}
    tokens_in, tokens_out = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    return Answered(created, tokens_in, tokens_out, _body, _events)


async def _keep(call: Call, answer: Answer) -> None:
    from aoai_mock.behaviour.responses.service import keep_created

    await keep_created(call.runtime, answer.result)  # type: ignore[attr-defined]  # (an Answered of _run's)


def _body(created: Created) -> Mapping[str, Any]:
    return created.response


def _events(created: Created) -> list[dict[str, Any]]:
    """Every event of the stream, made before the first is sent (and before the response is stored)."""
    return list(created.events())


def _view(call: Call, prepared: Prepared) -> RequestView:
    return prepared.view(call.view().headers)


RESPONSES = Family(
    operation=av.RESPONSES,
    parse=_parse,
    streams=True,
    estimate=lambda call, prepared: quota_estimate(prepared),
    run=_run,
    view=_view,
    load=_load,
    keep=_keep,
)
