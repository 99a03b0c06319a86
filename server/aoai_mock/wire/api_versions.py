"""Azure OpenAI data-plane ``api-version`` values and the operations each one serves.

Pure data, standard library only. Where the facts come from (all public, summarised here in our own words):

* Inference specs in Azure/azure-rest-api-specs, under
  ``specification/cognitiveservices/data-plane/AzureOpenAI/inference/{stable,preview}/<version>/``
  (``inference.json``, later also ``inference.yaml``). Their ``paths`` give the deployment-scoped routes
  (``/deployments/{deployment-id}/<op>``) and, from 2024-02-15-preview on, assistants, threads and
  vector stores; 2025-03-01-preview adds ``/responses``, 2025-04-01-preview adds images/edits.
  The paths of 2022-03-01-preview, 2022-06-01-preview, 2023-10-01-preview, 2024-02-01 and 2024-06-01 were
  read directly; copies of 2024-05-01-preview, 2024-10-21 and 2025-03-01-preview sit in
  ``/work/shared/azure-openai-spec``. For the other previews the example files stored next to each spec
  (``audio_speech``, ``create_assistant``, ``image_edits``, ...) were the evidence.
* Authoring specs, same tree under ``authoring/{stable,preview}/<version>/azureopenai.json``: files, models,
  fine-tuning and (from 2024-07-01-preview, GA 2024-10-21) batches. From 2024-10-01-preview the preview
  inference specs also carry files and batches.
* The v1 family (``/openai/v1/...``, ``api-version`` optional, ``v1`` or ``preview``):
  ``specification/ai/data-plane/OpenAI.v1/azure-v1-v1-generated.json`` and
  ``azure-v1-preview-generated.json`` (their ``info.version`` is ``v1`` / ``preview``), and the Azure docs
  page on the API version lifecycle (MicrosoftDocs/azure-ai-docs, ``api-version-lifecycle.md``), which
  also names 2024-10-21 as the latest GA and 2025-04-01-preview as the last dated preview before v1.

Modelling choices (read before relying on a set):

* ``FINE_TUNING`` means the ``/fine_tuning/jobs`` family. It first appears in the 2023-10-01-preview
  authoring spec (GA 2024-02-01). The older ``/fine-tunes`` API of 2022-03-01-preview .. 2023-12-01-preview
  (and GA 2022-12-01, 2023-05-15) is not modelled; those versions still offer ``FILES`` and ``MODELS``.
* The DALL-E 2 asynchronous routes (``/images/generations:submit`` plus ``/operations/images/{id}``,
  2023-06-01-preview .. 2023-12-01-preview) are not ``IMAGES_GENERATIONS``; that constant is the
  deployment-scoped ``/deployments/{id}/images/generations`` (DALL-E 3 style), from 2023-12-01-preview.
* ``/deployments/{id}/extensions/chat/completions`` ("on your data", 2023-06-01-preview ..
  2023-12-01-preview) counts as ``CHAT``.
* The stored 2022-03-01-preview inference spec declares only completions; embeddings start with
  2022-06-01-preview in the specs.
* 2023-11-01-preview exists in the spec repo only as a generated TypeSpec draft, not as a released
  version, so it is left out.
* Previews are treated as cumulative: each carries everything the previous preview had. Evidence was found
  for every addition; the carry-over itself is an inference for versions whose full path list was not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = [
    "CHAT",
    "COMPLETIONS",
    "EMBEDDINGS",
    "IMAGES_GENERATIONS",
    "IMAGES_EDITS",
    "AUDIO_TRANSCRIPTIONS",
    "AUDIO_TRANSLATIONS",
    "AUDIO_SPEECH",
    "ASSISTANTS",
    "VECTOR_STORES",
    "FILES",
    "BATCHES",
    "FINE_TUNING",
    "MODELS",
    "RESPONSES",
    "ALL_OPERATIONS",
    "DEPLOYMENT_OPERATIONS",
    "ApiVersion",
    "API_VERSIONS",
    "V1_FAMILY",
    "LATEST_GA",
    "LATEST_PREVIEW",
    "lookup",
    "is_at_least",
]

# --- operation names -------------------------------------------------------------------------------
CHAT = "chat.completions"
COMPLETIONS = "completions"
EMBEDDINGS = "embeddings"
IMAGES_GENERATIONS = "images.generations"
IMAGES_EDITS = "images.edits"
AUDIO_TRANSCRIPTIONS = "audio.transcriptions"
AUDIO_TRANSLATIONS = "audio.translations"
AUDIO_SPEECH = "audio.speech"
ASSISTANTS = "assistants"  # assistants, threads, messages, runs, run steps
VECTOR_STORES = "vector_stores"
FILES = "files"
BATCHES = "batches"
FINE_TUNING = "fine_tuning"
MODELS = "models"
RESPONSES = "responses"

ALL_OPERATIONS: frozenset[str] = frozenset({
    CHAT, COMPLETIONS, EMBEDDINGS, IMAGES_GENERATIONS, IMAGES_EDITS, AUDIO_TRANSCRIPTIONS,
    AUDIO_TRANSLATIONS, AUDIO_SPEECH, ASSISTANTS, VECTOR_STORES, FILES, BATCHES, FINE_TUNING, MODELS,
    RESPONSES,
})
# Operations routed as /openai/deployments/{deployment}/<op> on dated versions; the rest are
# resource-scoped (/openai/<op>). On /openai/v1/ everything is resource-scoped.
DEPLOYMENT_OPERATIONS: frozenset[str] = frozenset({
    CHAT, COMPLETIONS, EMBEDDINGS, IMAGES_GENERATIONS, IMAGES_EDITS, AUDIO_TRANSCRIPTIONS,
    AUDIO_TRANSLATIONS, AUDIO_SPEECH,
})


@dataclass(frozen=True, slots=True)
class ApiVersion:
    name: str  # "2024-10-21"
    released: date  # the date in the name; for the v1 family see _V1_RELEASED
    preview: bool
    operations: frozenset[str]

    def offers(self, operation: str) -> bool:
        return operation in self.operations

    @property
    def v1_family(self) -> bool:
        """True for ``v1`` / ``preview``: the /openai/v1/ routes, no deployment in the path."""
        return self.name in V1_FAMILY


# --- dated versions ---------------------------------------------------------------------------------
# Two cumulative chains: each entry adds operations to what the previous entry of its chain offered.
# GA versions do not inherit from previews (no audio.speech, assistants or vector stores in any GA).
_AUDIO = (AUDIO_TRANSCRIPTIONS, AUDIO_TRANSLATIONS)

_PREVIEW_CHAIN: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("2022-03-01-preview", (COMPLETIONS, FILES, MODELS)),  # inference: completions only
    ("2022-06-01-preview", (EMBEDDINGS,)),
    ("2023-03-15-preview", (CHAT,)),
    ("2023-06-01-preview", ()),  # + extensions chat, DALL-E 2 async (not modelled)
    ("2023-07-01-preview", ()),  # functions
    ("2023-08-01-preview", ()),
    ("2023-09-01-preview", _AUDIO),  # whisper
    ("2023-10-01-preview", (FINE_TUNING,)),  # authoring: /fine_tuning/jobs
    ("2023-12-01-preview", (IMAGES_GENERATIONS,)),  # DALL-E 3, deployment-scoped
    ("2024-02-15-preview", (AUDIO_SPEECH, ASSISTANTS)),
    ("2024-03-01-preview", ()),
    ("2024-04-01-preview", ()),
    ("2024-05-01-preview", (VECTOR_STORES,)),  # assistants v2
    ("2024-07-01-preview", (BATCHES,)),
    ("2024-08-01-preview", ()),
    ("2024-09-01-preview", ()),
    ("2024-10-01-preview", ()),
    ("2024-12-01-preview", ()),
    ("2025-01-01-preview", ()),
    ("2025-02-01-preview", ()),
    ("2025-03-01-preview", (RESPONSES,)),
    ("2025-04-01-preview", (IMAGES_EDITS,)),  # gpt-image-1
)

_GA_CHAIN: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("2022-12-01", (COMPLETIONS, EMBEDDINGS, FILES, MODELS)),
    ("2023-05-15", (CHAT,)),
    ("2024-02-01", (*_AUDIO, IMAGES_GENERATIONS, FINE_TUNING)),
    ("2024-06-01", ()),
    ("2024-10-21", (BATCHES,)),
)

# --- the v1 family ----------------------------------------------------------------------------------
V1_FAMILY: frozenset[str] = frozenset({"v1", "preview"})
# v1 GA spec paths: chat/completions, embeddings, files, fine_tuning, models, responses, vector_stores
# (plus containers and evals, which have no constant here). No completions, audio, images or batches.
_V1_OPS = frozenset({CHAT, EMBEDDINGS, FILES, FINE_TUNING, MODELS, RESPONSES, VECTOR_STORES})
# The preview spec's tags add "Images" (and "Video"); mapping "Images" to generations + edits is our reading.
_V1_PREVIEW_OPS = _V1_OPS | {IMAGES_GENERATIONS, IMAGES_EDITS}
# These names carry no date. The dates below are sort keys only: the v1 preview came out after
# 2025-04-01-preview (the docs list its changes relative to that version; we use 2025-05-01), and the
# docs date the v1 GA opt-in to August 2025 (we use 2025-08-01).
_V1_RELEASED = {"preview": date(2025, 5, 1), "v1": date(2025, 8, 1)}

_DATED = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(-preview)?$")


def _date_of(name: str) -> date:
    m = _DATED.match(name)
    if m is None:
        raise ValueError(f"not a dated api-version: {name!r}")
    return date(int(m[1]), int(m[2]), int(m[3]))


def _build() -> dict[str, ApiVersion]:
    table: dict[str, ApiVersion] = {}
    for chain, preview in ((_PREVIEW_CHAIN, True), (_GA_CHAIN, False)):
        ops: frozenset[str] = frozenset()
        for name, added in chain:
            ops = ops | frozenset(added)
            table[name] = ApiVersion(name, _date_of(name), preview, ops)
    table["preview"] = ApiVersion("preview", _V1_RELEASED["preview"], True, _V1_PREVIEW_OPS)
    table["v1"] = ApiVersion("v1", _V1_RELEASED["v1"], False, _V1_OPS)
    return dict(sorted(table.items(), key=lambda kv: _sort_key(kv[1])))


def _sort_key(v: ApiVersion) -> tuple[date, int]:
    # On equal dates a preview sorts before the GA (a GA finalises what its preview tried out).
    return (v.released, 0 if v.preview else 1)


API_VERSIONS: dict[str, ApiVersion] = _build()

LATEST_GA = "2024-10-21"  # newest dated GA (v1 family excluded)
LATEST_PREVIEW = "2025-04-01-preview"  # newest dated preview (v1 family excluded)


def lookup(name: str) -> ApiVersion | None:
    """The entry for an ``api-version`` value, or None when the service would not know it."""
    return API_VERSIONS.get(name)


def _key_of(name: str) -> tuple[date, int]:
    known = API_VERSIONS.get(name)
    if known is not None:
        return _sort_key(known)
    return (_date_of(name), 0 if name.endswith("-preview") else 1)


def is_at_least(name: str, minimum: str) -> bool:
    """Whether ``name`` is released no earlier than ``minimum`` (e.g. a model gated on a version).

    Compares release dates. On the same date a preview counts as *before* the GA, so
    ``is_at_least("2024-10-21-preview", "2024-10-21")`` is False and the reverse is True.
    Either argument may be a well-formed dated value not in the table; anything else raises ValueError.
    ``v1`` / ``preview`` compare by the sort dates documented at ``_V1_RELEASED``.
    """
    return _key_of(name) >= _key_of(minimum)
