"""The api-version table: quickstart versions, operation sets, and agreement with the shared spec files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.api_versions import (
    API_VERSIONS,
    ASSISTANTS,
    AUDIO_SPEECH,
    AUDIO_TRANSCRIPTIONS,
    AUDIO_TRANSLATIONS,
    BATCHES,
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    FILES,
    FINE_TUNING,
    IMAGES_EDITS,
    IMAGES_GENERATIONS,
    LATEST_GA,
    LATEST_PREVIEW,
    MODELS,
    RESPONSES,
    VECTOR_STORES,
    ApiVersion,
    is_at_least,
    lookup,
)

SPEC_DIR = Path("/work/shared/azure-openai-spec")

CONSTANTS = {
    "CHAT": "chat.completions",
    "COMPLETIONS": "completions",
    "EMBEDDINGS": "embeddings",
    "IMAGES_GENERATIONS": "images.generations",
    "IMAGES_EDITS": "images.edits",
    "AUDIO_TRANSCRIPTIONS": "audio.transcriptions",
    "AUDIO_TRANSLATIONS": "audio.translations",
    "AUDIO_SPEECH": "audio.speech",
    "ASSISTANTS": "assistants",
    "VECTOR_STORES": "vector_stores",
    "FILES": "files",
    "BATCHES": "batches",
    "FINE_TUNING": "fine_tuning",
    "MODELS": "models",
    "RESPONSES": "responses",
    "REALTIME": "realtime",
}

# Our own reading of the route shapes, independent of the module.
DEPLOYMENT_SUFFIX_TO_OP = {
    "completions": COMPLETIONS,
    "chat/completions": CHAT,
    "extensions/chat/completions": CHAT,
    "embeddings": EMBEDDINGS,
    "audio/transcriptions": AUDIO_TRANSCRIPTIONS,
    "audio/translations": AUDIO_TRANSLATIONS,
    "audio/speech": AUDIO_SPEECH,
    "images/generations": IMAGES_GENERATIONS,
    "images/edits": IMAGES_EDITS,
}
RESOURCE_PREFIX_TO_OP = {
    "assistants": ASSISTANTS,
    "threads": ASSISTANTS,
    "vector_stores": VECTOR_STORES,
    "files": FILES,
    "batches": BATCHES,
    "fine_tuning": FINE_TUNING,
    "models": MODELS,
    "responses": RESPONSES,
    "chat": CHAT,  # v1 family: /chat/completions
    "embeddings": EMBEDDINGS,
    "completions": COMPLETIONS,
    "images": None,  # resolved by the second segment below
    "audio": None,
}


# --- constants and structure ------------------------------------------------------------------------
def test_operation_constants_have_the_agreed_values():
    for attr, value in CONSTANTS.items():
        assert getattr(av, attr) == value
    assert av.ALL_OPERATIONS == frozenset(CONSTANTS.values())
    assert av.DEPLOYMENT_OPERATIONS <= av.ALL_OPERATIONS


def test_every_operation_of_every_version_is_a_known_constant():
    allowed = frozenset(CONSTANTS.values())
    for name, v in API_VERSIONS.items():
        assert isinstance(v, ApiVersion)
        assert v.name == name
        assert v.operations, name
        assert v.operations <= allowed, (name, v.operations - allowed)


def test_public_names_are_exported():
    for name in av.__all__:
        assert hasattr(av, name), name
    for name in ("ApiVersion", "API_VERSIONS", "lookup", "is_at_least", "LATEST_GA", "LATEST_PREVIEW"):
        assert name in av.__all__


def test_dated_versions_carry_their_date_and_preview_flag():
    for name, v in API_VERSIONS.items():
        if v.v1_family:
            continue
        assert v.released == date.fromisoformat(name.removesuffix("-preview"))
        assert v.preview == name.endswith("-preview")


def test_expected_versions_are_present():
    ga = ["2022-12-01", "2023-05-15", "2024-02-01", "2024-06-01", "2024-10-21"]
    previews = [
        "2022-03-01-preview", "2022-06-01-preview", "2023-03-15-preview", "2023-06-01-preview",
        "2023-07-01-preview", "2023-08-01-preview", "2023-09-01-preview", "2023-10-01-preview",
        "2023-12-01-preview", "2024-02-15-preview", "2024-03-01-preview", "2024-04-01-preview",
        "2024-05-01-preview", "2024-07-01-preview", "2024-08-01-preview", "2024-09-01-preview",
        "2024-10-01-preview", "2024-12-01-preview", "2025-01-01-preview", "2025-02-01-preview",
        "2025-03-01-preview", "2025-04-01-preview",
    ]
    for name in ga:
        assert lookup(name) is not None and not lookup(name).preview, name
    for name in previews:
        assert lookup(name) is not None and lookup(name).preview, name


def test_latest_constants():
    dated = [v for v in API_VERSIONS.values() if not v.v1_family]
    assert LATEST_GA == max((v for v in dated if not v.preview), key=lambda v: v.released).name
    assert LATEST_PREVIEW == max((v for v in dated if v.preview), key=lambda v: v.released).name
    assert LATEST_GA == "2024-10-21"
    assert LATEST_PREVIEW == "2025-04-01-preview"


def test_v1_family_is_marked_separately():
    assert av.V1_FAMILY == {"v1", "preview"}
    v1, preview = lookup("v1"), lookup("preview")
    assert v1.v1_family and preview.v1_family and not v1.preview and preview.preview
    assert not any(v.v1_family for n, v in API_VERSIONS.items() if n not in av.V1_FAMILY)
    for op in (CHAT, EMBEDDINGS, RESPONSES, FILES, FINE_TUNING, MODELS, VECTOR_STORES):
        assert v1.offers(op) and preview.offers(op)
    assert v1.operations <= preview.operations
    assert not v1.offers(COMPLETIONS) and not v1.offers(ASSISTANTS)


def test_lookup_of_unknown_values():
    assert lookup("2023-01-01") is None
    assert lookup("") is None
    assert lookup("2024-10-21 ") is None


# --- what the quickstarts (seeds) use -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("version", "op"),
    [
        ("2022-06-01-preview", COMPLETIONS),
        ("2022-12-01", COMPLETIONS),
        ("2023-05-15", CHAT),
        ("2024-10-21", CHAT),
        ("2024-10-21", EMBEDDINGS),
        ("2024-10-21", IMAGES_GENERATIONS),
        ("2024-10-21", AUDIO_TRANSCRIPTIONS),
        ("2024-10-21", COMPLETIONS),
        ("2024-10-01-preview", AUDIO_SPEECH),
        ("2024-05-01-preview", ASSISTANTS),
    ],
)
def test_quickstart_versions_offer_what_their_snippets_call(version, op):
    v = lookup(version)
    assert v is not None, version
    assert v.offers(op), (version, op)


def test_operations_absent_where_they_should_be():
    assert not lookup("2022-12-01").offers(CHAT)
    assert not lookup("2022-06-01-preview").offers(CHAT)
    assert not lookup("2024-10-21").offers(AUDIO_SPEECH)
    assert not lookup("2024-06-01").offers(AUDIO_SPEECH)
    assert not lookup("2024-10-21").offers(ASSISTANTS)
    assert not lookup("2024-04-01-preview").offers(VECTOR_STORES)
    assert not lookup("2024-06-01").offers(BATCHES)
    assert not lookup("2025-02-01-preview").offers(RESPONSES)
    assert not lookup("2025-03-01-preview").offers(IMAGES_EDITS)
    assert not lookup("2023-09-01-preview").offers(IMAGES_GENERATIONS)


def test_first_appearances():
    def first(op: str, preview: bool) -> str:
        dated = [v for v in API_VERSIONS.values() if not v.v1_family and v.preview == preview]
        return min((v for v in dated if v.offers(op)), key=lambda v: v.released).name

    assert first(CHAT, True) == "2023-03-15-preview"
    assert first(AUDIO_TRANSCRIPTIONS, True) == "2023-09-01-preview"
    assert first(IMAGES_GENERATIONS, True) == "2023-12-01-preview"
    assert first(AUDIO_SPEECH, True) == "2024-02-15-preview"
    assert first(ASSISTANTS, True) == "2024-02-15-preview"
    assert first(VECTOR_STORES, True) == "2024-05-01-preview"
    assert first(BATCHES, True) == "2024-07-01-preview"
    assert first(RESPONSES, True) == "2025-03-01-preview"
    assert first(IMAGES_EDITS, True) == "2025-04-01-preview"
    assert first(IMAGES_GENERATIONS, False) == "2024-02-01"
    assert first(AUDIO_TRANSCRIPTIONS, False) == "2024-02-01"
    assert first(BATCHES, False) == "2024-10-21"


def test_is_at_least():
    assert is_at_least("2024-10-21", "2024-10-21")
    assert is_at_least("2024-12-01-preview", "2024-10-21")
    assert not is_at_least("2024-06-01", "2024-12-01-preview")
    assert is_at_least("2025-04-01-preview", "2024-12-01-preview")
    # same date: preview counts as before the GA
    assert not is_at_least("2024-10-21-preview", "2024-10-21")
    assert is_at_least("2024-10-21", "2024-10-21-preview")
    # values not in the table still compare by their date
    assert is_at_least("2026-01-01-preview", LATEST_PREVIEW)
    assert is_at_least("v1", LATEST_PREVIEW) and is_at_least("preview", LATEST_PREVIEW)
    with pytest.raises(ValueError):
        is_at_least("latest", "2024-10-21")


def test_api_version_is_frozen():
    v = lookup("2024-10-21")
    with pytest.raises(AttributeError):
        v.name = "x"  # type: ignore[misc]


# --- agreement with the official spec files, when present ---------------------------------------------
def _spec_files() -> list[Path]:
    if not SPEC_DIR.is_dir():
        return []
    return sorted(SPEC_DIR.glob("*.json"))


def _op_for_path(path: str) -> str | None:
    parts = path.strip("/").split("/")
    if parts[0] == "deployments":
        return DEPLOYMENT_SUFFIX_TO_OP.get("/".join(parts[2:]), "<unmapped>")
    if parts[0] in ("images", "audio") and len(parts) > 1:
        return DEPLOYMENT_SUFFIX_TO_OP.get("/".join(parts[:2]), "<unmapped>")
    return RESOURCE_PREFIX_TO_OP.get(parts[0])  # None: a route we do not model (evals, containers, ...)


def test_spec_files_are_found():
    if not SPEC_DIR.is_dir():
        pytest.skip(f"{SPEC_DIR} not present")
    assert _spec_files(), "no json spec files in the shared folder"


@pytest.mark.parametrize("spec_file", _spec_files(), ids=lambda p: p.name)
def test_spec_versions_and_their_paths_are_covered(spec_file: Path):
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    version = spec.get("info", {}).get("version")
    if not version:
        pytest.skip(f"{spec_file.name} has no info.version")
    v = lookup(version)
    assert v is not None, f"{version} (from {spec_file.name}) missing from API_VERSIONS"
    paths = list(spec.get("paths", {}))
    deployment_paths = [p for p in paths if p.startswith("/deployments/{deployment-id}/")]
    if not v.v1_family:
        assert deployment_paths, f"{spec_file.name} declares no deployment-scoped paths"
    for p in deployment_paths:
        op = _op_for_path(p)
        assert op in av.DEPLOYMENT_OPERATIONS, f"{spec_file.name}: {p} maps to no deployment operation"
        assert v.offers(op), f"{version} lacks {op} though {spec_file.name} declares {p}"
    for p in paths:
        if p in deployment_paths:
            continue
        op = _op_for_path(p)
        if op is None:
            continue
        assert op != "<unmapped>", f"{spec_file.name}: {p} not understood"
        assert v.offers(op), f"{version} lacks {op} though {spec_file.name} declares {p}"


# --- arguments that came after the operation -------------------------------------------------------------
@pytest.mark.parametrize(
    ("version", "functions", "tools", "json_schema"),
    [
        ("2023-05-15", False, False, False),
        ("2023-06-01-preview", False, False, False),
        ("2023-07-01-preview", True, False, False),
        ("2023-12-01-preview", True, True, False),
        ("2024-02-01", True, True, False),
        ("2024-06-01", True, True, False),
        ("2024-07-01-preview", True, True, False),
        ("2024-08-01-preview", True, True, True),
        ("2024-10-21", True, True, True),
        ("2025-04-01-preview", True, True, True),
        ("v1", True, True, True),
        ("preview", True, True, True),
    ],
)
def test_chat_arguments_by_version(version, functions, tools, json_schema):
    since = av.CHAT_ARGUMENTS_SINCE
    assert av.offers_since(version, since["functions"]) is functions
    assert av.offers_since(version, since["function_call"]) is functions
    assert av.offers_since(version, since["tools"]) is tools
    assert av.offers_since(version, since["tool_choice"]) is tools
    assert av.offers_since(version, av.JSON_SCHEMA_SINCE) is json_schema


def test_json_schema_agrees_with_the_shared_specs():
    """The 2024-05-01-preview spec has no json_schema response format; the 2024-10-21 one has it."""
    for version, expected in (("2024-05-01-preview", False), ("2024-10-21", True), ("2025-03-01-preview", True)):
        path = SPEC_DIR / f"inference-{version}.json"
        if not path.exists():
            pytest.skip(f"{path} is absent")
        assert ("json_schema" in path.read_text()) is expected
        assert av.offers_since(version, av.JSON_SCHEMA_SINCE) is expected


@pytest.mark.parametrize("version", ["2025-05-01-preview", "2025-08-28", "2025-07-01-preview", "2025-06-01"])
def test_no_dated_inference_version_after_2025_04_01_preview(version):
    assert lookup(version) is None
