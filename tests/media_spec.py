"""Spec checks for the images and audio families.

The 2024-10-21 inference spec (``spec_schema``'s default) has ``generateImagesResponse``, ``audioResponse`` and
``audioVerboseResponse`` without ``words``; the 2025-03-01-preview excerpt registered here (see
``data/spec/SOURCES.md``) adds ``audioWord``, ``words`` and ``createSpeechRequest``.
"""

from __future__ import annotations

from typing import Any

from tests import spec_schema
from tests.spec_schema import SpecFile

__all__ = ["PREVIEW", "errors", "undeclared"]

PREVIEW = "images-audio-2025-03-01-preview"
spec_schema.SPECS.setdefault(
    PREVIEW,
    SpecFile(
        spec_schema._DATA / f"{PREVIEW}.json",
        "64a4c937d09639e8030a3b465ea5f8fffd5c04ec0733fb8ba3767e3cba648d2f",
        f"urn:azure-openai:{PREVIEW}",
    ),
)


def errors(name: str, body: Any, preview: bool = False) -> list[str]:
    """Schema violations of ``body`` against ``components/schemas/<name>`` (2024-10-21, or the preview excerpt)."""
    return spec_schema.errors(name, body, spec_name=PREVIEW if preview else spec_schema.INFERENCE)


def undeclared(name: str, body: Any, preview: bool = False) -> set[str]:
    return spec_schema.undeclared(name, body, spec_name=PREVIEW if preview else spec_schema.INFERENCE)
