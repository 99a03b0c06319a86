"""Multipart uploads for the images and audio routes: the body read within a limit, then its parts.

``read_form(request, limit, too_large)`` reads the whole body, refusing it with ``too_large(bytes_read)``
(an AzureError) once it grows past ``limit``; the rest of an oversized body is still drained, up to a cap,
so the client can read the refusal instead of finding its upload cut off. The parts are parsed by
Starlette's multipart parser (python-multipart): text fields keep every value of a repeated name
(``timestamp_granularities[]``), files their name and bytes. A body that is not multipart has no parts.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

from starlette.datastructures import UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request

from aoai_mock.errors import AzureError, InvalidRequest

__all__ = ["Upload", "Form", "read_form", "read_limited"]

_DRAIN_CAP = 256 * 1024 * 1024  # an oversized body is read (and dropped) up to here, then left


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str | None
    data: bytes
    content_type: str | None


@dataclass(frozen=True, slots=True)
class Form:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[Upload]] = field(default_factory=dict)

    def file(self, *names: str) -> Upload | None:
        """The first file under any of ``names``; a part sent without a file name counts, nameless."""
        for name in names:
            if self.files.get(name):
                return self.files[name][0]
            if self.fields.get(name):
                return Upload(None, self.fields[name][0].encode(), None)
        return None

    def all_files(self, *names: str) -> list[Upload]:
        return [upload for name in names for upload in self.files.get(name, ())]


async def read_limited(request: Request, limit: int, too_large: Callable[[int], AzureError]) -> bytes:
    """The body, or ``too_large(bytes read)`` as soon as it is longer than ``limit``."""
    chunks: list[bytes] = []
    size, exceeded = 0, None
    async for chunk in request.stream():
        size += len(chunk)
        if exceeded is None and size > limit:
            exceeded = size
            chunks.clear()
        elif exceeded is None:
            chunks.append(chunk)
        elif size > _DRAIN_CAP:
            break
    if exceeded is not None:
        raise too_large(exceeded)
    return b"".join(chunks)


async def _replay(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body
    yield b""


async def read_form(request: Request, limit: int, too_large: Callable[[int], AzureError]) -> Form:
    """The request's multipart (or url-encoded) form, its files read into memory."""
    body = await read_limited(request, limit, too_large)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    try:
        if media == "multipart/form-data":
            parsed = await MultiPartParser(
                request.headers, _replay(body), max_files=64, max_fields=256, max_part_size=1024 * 1024
            ).parse()
        elif media == "application/x-www-form-urlencoded":
            parsed = await FormParser(request.headers, _replay(body)).parse()
        else:
            return Form()
    except MultiPartException as exc:
        raise InvalidRequest(f"Could not parse multipart form: {exc.message}", code="invalid_multipart") from None
    form = Form()
    for name, value in parsed.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            form.files.setdefault(name, []).append(Upload(value.filename, data, value.content_type))
            await value.close()
        else:
            form.fields.setdefault(name, []).append(value)
    return form
