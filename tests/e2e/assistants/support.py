"""Helpers for the assistants and vector store suites: the preview api-versions, scenarios, uploads, and
spec checks against the preview specs (with the places where the service differs from them)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios import load_paths, load_text
from openai import AzureOpenAI

from tests import spec_schema

PREVIEW = "2024-05-01-preview"  # the quickstart's api-version: assistants v2 and vector stores
SEARCH_PREVIEW = "2025-03-01-preview"  # the first with vector store search
SPEC_2024 = "inference-2024-05-01-preview"
SPEC_2025 = "inference-2025-03-01-preview"

# Where the service differs from the preview specs [spec vs service], stated once for every check:
# * run steps are "thread.run.step" objects (the SDK's type and the API reference); the specs say "assistant.run.step";
# * a finished run's expires_at is null (the spec's own create_run example shows null), the schema says integer;
# * runs end "incomplete" too (the SDK's RunStatus, run.incomplete_details); the status enum lacks it;
# * vectorStoreObject requires a "bytes" key it never declares; the service sends usage_bytes;
# * a message in a JSON answer has no status, incomplete_details, completed_at or incomplete_at (its stream events
#   do); a step has expires_at, not expired_at, and no metadata; a run has tool_resources [captured: recordings/
#   assistants and the Azure/azure-sdk-assets recordings behaviour/assistants/shapes.py names];
# * a run without instructions (neither its own nor its assistant's) has "instructions": null [captured: recordings/
#   assistants/net-BasicRunOperationsWork].
_STEP_REQUIRED = ["id", "object", "created_at", "assistant_id", "thread_id", "run_id", "type", "status", "step_details",
                  "last_error", "expires_at", "cancelled_at", "failed_at", "completed_at"]  # fmt: skip
KNOWN_DIFFERENCES: dict[str, Any] = {
    "/components/schemas/runStepObject/properties/object": {"type": "string", "enum": ["thread.run.step"]},
    "/components/schemas/runStepObject/required": _STEP_REQUIRED,
    "/components/schemas/runObject/properties/instructions": {"type": "string", "nullable": True},
    "/components/schemas/messageObject/required": [
        "id", "object", "created_at", "thread_id", "role", "content", "assistant_id", "run_id", "attachments",
        "metadata",
    ],
    "/components/schemas/runObject/properties/expires_at": {"type": "integer", "nullable": True},
    "/components/schemas/runObject/properties/status": {
        "type": "string",
        "enum": ["queued", "in_progress", "requires_action", "cancelling", "cancelled", "failed", "completed",
                 "expired", "incomplete"],
    },
    "/components/schemas/vectorStoreObject/required": [
        "id", "object", "usage_bytes", "created_at", "status", "last_active_at", "name", "file_counts", "metadata",
    ],
}
_SPEC_FILES = {  # whole copies of ../shared/azure-openai-spec/ (see tests/data/spec/SOURCES.md)
    SPEC_2024: "4ab0745757e70f813ab8dc28a6b5397120fc0486c65e9242c9db54feb5d99df7",
    SPEC_2025: "1d5bea837f5cc1766aaf7935f8efac194da6d122b180821ed11961814f1aa8c3",
}
for _name, _sha in _SPEC_FILES.items():
    spec_schema.SPECS.setdefault(
        _name, spec_schema.SpecFile(Path(spec_schema.__file__).parent / "data" / "spec" / f"{_name}.json", _sha,
                                    f"urn:azure-openai:{_name}")
    )  # fmt: skip


def spec_errors(body: Any, schema: str, spec: str = SPEC_2025) -> list[str]:
    """Violations of ``components/schemas/<schema>`` in a preview spec (the known differences allowed)."""
    return spec_schema.errors(schema, body, spec_name=spec, overrides=KNOWN_DIFFERENCES)


def spec_check(body: Any, schema: str, *specs: str) -> None:
    for spec in specs or (SPEC_2024, SPEC_2025):
        problems = spec_errors(body, schema, spec)
        assert not problems, f"{spec} {schema}:\n" + "\n".join(problems)


def undeclared(body: Any, schema: str, spec: str = SPEC_2025) -> set[str]:
    return spec_schema.undeclared(schema, body, spec_name=spec, overrides=KNOWN_DIFFERENCES)


def use_scenario(runtime: Runtime, text: str | None = None, shipped: str | None = None) -> None:
    """Load a scenario (YAML text, or a shipped one by name) and make it the active one."""
    loaded = load_paths([shipped])[0] if shipped else load_text(text or "", "test.yaml")
    runtime.book.load(loaded)
    runtime.book.activate(loaded.name)


def upload(client: AzureOpenAI, name: str, text: str) -> str:
    """A file for assistants, uploaded through the Files API as a user would."""
    return client.files.create(file=(name, io.BytesIO(text.encode())), purpose="assistants").id
