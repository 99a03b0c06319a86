"""Files: upload, list, retrieve, content, delete (``/openai/files``), and the files the mock writes itself.

The file object is Azure's [docs: the batch how-to's upload output]::

    {"id": "file-<32 hex>", "object": "file", "bytes": 140, "created_at": 1743391067, "filename": "x.jsonl",
     "purpose": "batch", "status": "processed", "status_details": null}   (+ "expires_at" when asked for)

Eras, from the recordings (``../shared/recordings/files``, ``fine_tuning``, ``batches``); before them the
mock keeps the shape above:

* from ``2025-03-01-preview`` [captured: files/net-CanUploadAndDeleteFiles]: an ``assistants`` upload is
  answered by the assistants file service, 200 with an ``assistant-<22 letters and digits>`` id and
  ``status_details: null``; ``batch`` / ``fine-tune`` uploads 201 with ``file-<32 hex>`` and no
  ``status_details``. Deleting an ``assistant-`` file twice is that service's 404, ``No such File object: <id>``;
* from ``2025-04-01-preview`` [captured: fine_tuning/net-CreateCancelDelete]: deleting a ``file-`` id twice is
  200 ``{"deleted": false}`` (the id is remembered, kind ``"file.deleted"``).

The shape a file has is the one of the api-version it was uploaded with. A ``fine-tune`` upload is
``pending`` and turns ``processed`` a quarter of ``fine_tuning_seconds`` later (:data:`LIFECYCLE`, on the
injected clock) [captured: pending at upload, processed 6 s later]; a job may use it while it is pending, as
before. Other uploads are ``processed`` at once [captured]. The doc in the store (kind ``"file"``) is this
object (plus the lifecycle's private ``_`` keys, never shown) and its bytes are ``store.get_blob(id)``: the
assistants and vector-store families read files that way (see :mod:`aoai_mock.state.store`).

Uploads are checked in the service's order: purpose, the file part, its content type, emptiness, size (512 MB
by default, 200 MB for ``batch``; ``settings.max_file_bytes`` / ``max_batch_file_bytes``), and for
``fine-tune`` the ``.jsonl`` suffix and JSON Lines content. A batch input file is checked line by line only
when a batch uses it (:mod:`aoai_mock.behaviour.batch_input`), as Azure does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aoai_mock.behaviour.lifecycle import Lifecycle, State, until
from aoai_mock.behaviour.objects import Doc, ListQuery, each_looked, mint_hex, mint_uuid, parse_jsonl, public
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import (
    FileTooLarge,
    InvalidResourceRequest,
    JsonlValidationFailed,
    NoSuchFileObject,
    ObjectNotFound,
)
from aoai_mock.state.store import Page
from aoai_mock.wire import api_versions as av

__all__ = [
    "Upload",
    "UPLOAD_PURPOSES",
    "ALL_PURPOSES",
    "upload",
    "retrieve",
    "content",
    "delete",
    "list_files",
    "write_file",
    "size_limit",
    "assistants_service",
    "ERA_2025_03",
    "ERA_2025_04",
    "LIFECYCLE",
]

KIND = "file"
UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision")
ALL_PURPOSES = (*UPLOAD_PURPOSES, "assistants_output", "batch_output", "fine-tune-results")
DELETED = "file.deleted"  # ids deleted from the Files API, so a second delete answers ``deleted: false``
EXPIRY_SECONDS = (1_209_600, 2_592_000)  # 14 to 30 days [docs]
ERA_2025_03 = "2025-03-01-preview"  # files/net-CanUploadAndDeleteFiles-2025-03-01-preview.json
ERA_2025_04 = "2025-04-01-preview"  # fine_tuning/net-CreateCancelDelete-2025-04-01-preview.json
ASSISTANT_PREFIX = "assistant-"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class Upload:
    """One multipart upload as the route read it. ``filename`` is None when there was no file part."""

    purpose: str | None
    filename: str | None
    content_type: str | None
    data: bytes
    expires_after: Mapping[str, str] | None = None  # the expires_after[seconds] / [anchor] form fields


def size_limit(runtime: Runtime, purpose: str | None) -> int:
    settings = runtime.settings
    if purpose == "batch":
        return min(settings.max_batch_file_bytes, settings.max_file_bytes)
    return settings.max_file_bytes


async def upload(runtime: Runtime, given: Upload, api_version: str) -> Doc:
    """Check an upload as Azure does and store it; the new file object."""
    _check_purpose(given.purpose, api_version)
    if given.filename is None:
        raise InvalidResourceRequest("No file was provided: the form needs a 'file' part.")
    if not given.filename.strip():
        raise InvalidResourceRequest("fileName contains an invalid filename: the name is empty.")
    if not given.content_type:
        raise InvalidResourceRequest("The file has no or an empty content type specified.")  # [captured]
    if not given.data:
        raise InvalidResourceRequest("The file is empty.")
    limit = size_limit(runtime, given.purpose)
    if len(given.data) > limit:
        raise FileTooLarge(limit, given.purpose)
    if given.purpose == "fine-tune":
        _check_fine_tune(given.filename, given.data)
    expires = _expiry(given.expires_after)
    newer = av.is_at_least(api_version, ERA_2025_03)
    doc = await write_file(
        runtime, given.filename, given.purpose or "", given.data, expires_after=expires,
        assistants=newer and given.purpose == "assistants", details=not newer or given.purpose == "assistants",
        processing=given.purpose == "fine-tune",
    )  # fmt: skip
    return public(doc)


def assistants_service(doc_or_id: Mapping[str, object] | str) -> bool:
    """Whether the file is the assistants file service's (an ``assistant-`` id, 2025-03-01-preview on)."""
    file_id = doc_or_id if isinstance(doc_or_id, str) else str(doc_or_id.get("id", ""))
    return file_id.startswith(ASSISTANT_PREFIX)


def _check_purpose(purpose: str | None, api_version: str) -> None:
    if purpose not in UPLOAD_PURPOSES:
        raise InvalidResourceRequest("Invalid value for purpose.")  # [captured]
    version = av.lookup(api_version)
    if purpose == "batch" and version is not None and not version.offers(av.BATCHES):
        raise InvalidResourceRequest("Invalid value for purpose.")  # [captured] on versions before batches


def _check_fine_tune(filename: str, data: bytes) -> None:
    if not filename.lower().endswith(".jsonl"):
        raise InvalidResourceRequest("fileName contains an invalid filename: wrong suffix.")  # [captured]
    lines = parse_jsonl(data)
    if not lines:
        raise JsonlValidationFailed("Validation of jsonl file failed: No valid json line found in file.")
    for line in lines:
        if line.error is not None or not isinstance(line.value, dict):
            why = line.error or "not an object"
            raise JsonlValidationFailed(
                f"Validation of jsonl file failed: line {line.number} is not a JSON object ({why})."
            )


def _expiry(fields: Mapping[str, str] | None) -> int | None:
    if not fields:
        return None
    anchor = fields.get("anchor", "created_at")
    try:
        seconds = int(fields.get("seconds", ""))
    except ValueError:
        seconds = -1
    low, high = EXPIRY_SECONDS
    if anchor != "created_at" or not low <= seconds <= high:
        raise InvalidResourceRequest(
            f"expires_after needs anchor 'created_at' and seconds from {low} to {high} (14 to 30 days)."
        )
    return seconds


async def write_file(
    runtime: Runtime,
    filename: str,
    purpose: str,
    data: bytes,
    *,
    created_at: int | None = None,
    expires_after: int | None = None,
    uuid_id: bool = False,
    assistants: bool = False,
    details: bool = True,
    processing: bool = False,
) -> Doc:
    """Store a file (an upload, or output the mock writes) and its bytes; the stored doc.

    ``assistants``: an ``assistant-`` id; ``details``: the ``status_details: null`` key; ``processing``:
    ``pending`` first, then ``processed`` (:data:`LIFECYCLE`)."""
    if assistants:
        file_id = ASSISTANT_PREFIX + _base62(await mint_hex(runtime, "file"))
    else:
        file_id = "file-" + (await mint_uuid(runtime, "file") if uuid_id else await mint_hex(runtime, "file"))
    created = runtime.clock.created() if created_at is None else created_at
    doc: Doc = {
        "id": file_id,
        "object": "file",
        "bytes": len(data),
        "created_at": created,
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
    }
    if details:
        doc["status_details"] = None
    if expires_after is not None:
        doc["expires_at"] = created + expires_after
    if processing:
        await LIFECYCLE.start(runtime, doc, runtime.clock.now())
    await runtime.store.put_blob(file_id, data)
    await runtime.store.put(KIND, doc)
    return doc


def _base62(hex32: str) -> str:
    """22 letters and digits from 32 hex digits (the length of Azure's ``assistant-`` ids [captured])."""
    number, digits = int(hex32, 16), []
    for _ in range(22):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(digits)


def _processing_seconds(runtime: Runtime, _doc: Doc | None = None) -> float:
    return runtime.settings.fine_tuning_seconds / 4


# A fine-tune upload: ``pending`` until a quarter of ``fine_tuning_seconds`` has passed, then ``processed``.
LIFECYCLE: Lifecycle[Runtime] = Lifecycle(
    State("pending", then="processed", ends=until(_processing_seconds)),
    State("processed"),
)


async def _advance(runtime: Runtime, doc: Doc) -> Doc:
    """The file as of now (a fine-tune upload may have finished processing); the wire object."""
    if "_t0" in doc and await LIFECYCLE.advance(runtime, doc, runtime.clock.now()):
        await runtime.store.put(KIND, doc)
    return public(doc)


async def retrieve(runtime: Runtime, file_id: str) -> Doc:
    found = await runtime.store.get(KIND, file_id)
    if found is None:
        raise ObjectNotFound("File", file_id)
    return await _advance(runtime, found)


async def content(runtime: Runtime, file_id: str) -> bytes:
    await retrieve(runtime, file_id)
    data = await runtime.store.get_blob(file_id)
    return data if data is not None else b""


async def delete(runtime: Runtime, file_id: str, api_version: str = av.LATEST_GA) -> Doc:
    """Delete a file. Asked again: the assistants service's 404 for an ``assistant-`` id [captured,
    2025-03-01-preview]; 200 ``deleted: false`` for a ``file-`` id from 2025-04-01-preview [captured]."""
    if await runtime.store.get(KIND, file_id) is None:
        if assistants_service(file_id):
            raise NoSuchFileObject(file_id)
        if await runtime.store.get(DELETED, file_id) is not None and av.is_at_least(api_version, ERA_2025_04):
            return {"id": file_id, "object": "file", "deleted": False}
        raise ObjectNotFound("File", file_id)
    await runtime.store.delete(KIND, file_id)
    await runtime.store.delete_blob(file_id)
    if not assistants_service(file_id):
        await runtime.store.put(DELETED, {"id": file_id})
    return {"id": file_id, "object": "file", "deleted": True}


async def list_files(runtime: Runtime, query: ListQuery, purpose: str | None = None) -> Page:
    if purpose is not None and purpose not in ALL_PURPOSES:
        raise InvalidResourceRequest("Invalid value for purpose.")
    docs = await each_looked(await runtime.store.all(KIND), lambda doc: _advance(runtime, doc))
    if purpose is not None:
        docs = [doc for doc in docs if doc.get("purpose") == purpose]
    return query.page(docs)
