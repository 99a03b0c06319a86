"""The images family: ``images/generations`` (JSON), ``images/edits`` (multipart) and the generated files.

* ``POST /openai/deployments/{deployment}/images/generations?api-version=...``
* ``POST /openai/deployments/{deployment}/images/edits?api-version=...`` (2025-04-01-preview on)
* ``GET /_mock/files/images/{name}``: a generated image, for the ``url`` of a ``response_format: url``
  answer. Like Azure's SAS link to blob storage it needs no key; an unknown name is blob storage's 404.

Behaviour: :mod:`aoai_mock.behaviour.images`. Rendering is CPU work, done in a worker thread.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour import images
from aoai_mock.behaviour.media_store import MediaStore
from aoai_mock.config import Deployment
from aoai_mock.errors import InvalidRequest, RequestTooLarge
from aoai_mock.http.deps import deployment_for, json_body
from aoai_mock.http.front import add_response_headers, record_of
from aoai_mock.http.render import json_response
from aoai_mock.http.resource import AzureCall, azure_call
from aoai_mock.http.uploads import Form, read_form
from aoai_mock.wire import api_versions as av
from aoai_mock.wire import headers as names
from aoai_mock.wire.images import ImageGenerationRequest
from aoai_mock.wire.validation import validate

__all__ = ["router", "FILES_PATH", "deployment_of"]

router = APIRouter()

FILES_PATH = "/_mock/files/images/"
_BLOB_NOT_FOUND = (
    b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code><Message>The specified '
    b"blob does not exist.</Message></Error>"
)
_INTEGERS = ("n", "output_compression", "partial_images")


def deployment_of(request: Request, call: AzureCall, name: str, operation: str) -> Deployment:
    """The deployment, checked as the inference routes check it, noted for the journal."""
    found = deployment_for(call.runtime, name, operation, call.api_version, request.headers.get(names.SCENARIO))
    record_of(request.scope).deployment = name
    add_response_headers(request.scope, {k.decode(): v.decode() for k, v in found.rate_headers})
    return found


def _url_prefix(request: Request) -> str:
    return str(request.base_url).rstrip("/") + FILES_PATH


@router.post("/openai/deployments/{deployment}/images/generations")
async def generations(request: Request, deployment: str) -> Response:
    call = azure_call(request, av.IMAGES_GENERATIONS)
    found = deployment_of(request, call, deployment, av.IMAGES_GENERATIONS)
    settings = call.runtime.settings
    headers = request.headers
    limit = settings.config.max_body_bytes
    _, given = await json_body(request.receive, headers.get("content-type"), headers.get("content-length"), limit)
    parsed = validate(ImageGenerationRequest, given)
    job = images.generation_job(parsed, found, call.api_version, settings.seed or 0)
    created = call.runtime.clock.created()
    media, prefix = call.runtime.media, _url_prefix(request)
    answered = await anyio.to_thread.run_sync(images.answer_images, job, media, created, prefix)
    return await _answered(request, answered, media)


def _typed_fields(form: Form) -> dict[str, Any]:
    """The form's text fields as the JSON request would carry them (numbers as numbers)."""
    fields: dict[str, Any] = {}
    for name, values in form.fields.items():
        if name in ("image", "image[]", "mask"):
            continue
        value: Any = values[-1]
        if name in _INTEGERS:
            try:
                value = int(value)
            except ValueError:
                raise InvalidRequest(
                    f"Invalid type for '{name}': expected an integer, but got a string instead.",
                    param=name,
                    code="invalid_type",
                ) from None
        elif name == "stream":
            value = value.lower() in ("true", "1")
        fields[name] = value
    return fields


@router.post("/openai/deployments/{deployment}/images/edits")
async def edits(request: Request, deployment: str) -> Response:
    call = azure_call(request, av.IMAGES_EDITS)
    found = deployment_of(request, call, deployment, av.IMAGES_EDITS)
    limit = call.runtime.settings.config.max_body_bytes
    form = await read_form(request, limit, lambda _read: RequestTooLarge(limit))
    mask = form.file("mask")
    upload = images.EditUpload(
        tuple(u.data for u in form.all_files("image", "image[]")), mask.data if mask is not None else None
    )
    seed = call.runtime.settings.seed or 0
    created = call.runtime.clock.created()

    media = call.runtime.media

    def work() -> images.ImagesAnswer:  # decoding the uploads is CPU work too
        job = images.edit_job(_typed_fields(form), upload, found, call.api_version, seed)
        return images.answer_images(job, media, created, _url_prefix(request))

    return await _answered(request, await anyio.to_thread.run_sync(work), media)


async def _answered(request: Request, answered: images.ImagesAnswer, media: MediaStore) -> Response:
    """The answer, its usage (gpt-image-1 reports one) in the request's record for the journal and metrics;
    the images its ``url``s name are kept once it is rendered."""
    body = answered.body
    usage = body.get("usage")
    if usage:
        record = record_of(request.scope)
        record.tokens_in, record.tokens_out = usage.get("input_tokens"), usage.get("output_tokens")
    response = json_response(body)
    await answered.keep(media)
    return response


@router.api_route(FILES_PATH + "{name}", methods=["GET", "HEAD"])
async def image_file(request: Request, name: str) -> Response:
    runtime = request.app.state.runtime
    recipe = await runtime.media.image_recipes.fetch(name)
    if recipe is None:
        return Response(_BLOB_NOT_FOUND, status_code=404, media_type="application/xml")
    image = await anyio.to_thread.run_sync(images.stored_image, runtime.media, recipe)
    body = b"" if request.method == "HEAD" else image.data
    headers = {"content-length": str(len(image.data))}
    return Response(body, media_type=image.media_type, headers=headers)
