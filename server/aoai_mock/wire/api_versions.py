"""Azure OpenAI data-plane ``api-version`` values and the operations each one serves.

The versions are listed here; which operations each offers derives from the operation registry
(:mod:`aoai_mock.wire.operations`: every record names its first preview, first GA, v1-family versions and
any versions that dropped it). The operation constants (``CHAT``, ``FILES`` ...) are the registry's names.
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

Modelling choices (read before relying on a set; those about single operations, such as what
``FINE_TUNING`` or ``IMAGES_GENERATIONS`` covers, are in :mod:`aoai_mock.wire.operations`):

* The stored 2022-03-01-preview inference spec declares only completions; embeddings start with
  2022-06-01-preview in the specs.
* 2023-11-01-preview exists in the spec repo only as a generated TypeSpec draft, not as a released
  version, so it is left out.
* No dated data-plane inference version came after 2025-04-01-preview: the spec tree has no later
  ``inference/preview/<version>`` folder, the lifecycle page moves everything newer to the v1 family (preview
  from May 2025, GA opt-in from August 2025), and the .NET client's version table ends there too (Azure.AI.OpenAI's
  ``ServiceVersion``: latest ``V2025_04_01_Preview``). Nothing public names a ``2025-05-01-preview`` or
  ``2025-08-28`` inference version (searched: the docs, the specs and public code), so those stay unknown and
  get Azure's "API version not supported". Preview features of the v1 family go behind a per-feature header
  (``aoai-evals: preview`` for ``/openai/v1/evals`` while it was in preview) or an ``alpha`` path segment
  [documented: api-version-lifecycle]; neither names an operation modelled here.
* Previews are treated as cumulative: each carries everything the previous preview had. Evidence was found
  for every addition; the carry-over itself is an inference for versions whose full path list was not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from aoai_mock.wire.operations import (
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
    MODELS,
    OPERATIONS,
    REALTIME,
    RESPONSES,
    VECTOR_STORES,
)

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
    "REALTIME",
    "ALL_OPERATIONS",
    "DEPLOYMENT_OPERATIONS",
    "ApiVersion",
    "API_VERSIONS",
    "V1_FAMILY",
    "LATEST_GA",
    "LATEST_PREVIEW",
    "lookup",
    "is_at_least",
    "offers_since",
    "CHAT_ARGUMENTS_SINCE",
    "JSON_SCHEMA_SINCE",
]

# --- operation names: the registry's (wire/operations.py), re-exported here --------------------------
ALL_OPERATIONS: frozenset[str] = frozenset(OPERATIONS)
# Operations routed as /openai/deployments/{deployment}/<op> on dated versions; the rest are
# resource-scoped (/openai/<op>). On /openai/v1/ everything is resource-scoped.
DEPLOYMENT_OPERATIONS: frozenset[str] = frozenset(op.name for op in OPERATIONS.values() if op.deployment_scoped)


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
# Two chains, previews and GAs; what each version adds is the registry's ``preview_since`` / ``ga_since``
# (noted on the right). GA versions do not inherit from previews (no audio.speech, assistants or vector
# stores in any GA).
_PREVIEWS: tuple[str, ...] = (
    "2022-03-01-preview",  # completions, files, models (inference: completions only)
    "2022-06-01-preview",  # + embeddings
    "2023-03-15-preview",  # + chat
    "2023-06-01-preview",  # extensions chat, DALL-E 2 async (not modelled)
    "2023-07-01-preview",  # functions
    "2023-08-01-preview",
    "2023-09-01-preview",  # + audio transcriptions and translations (whisper)
    "2023-10-01-preview",  # + fine-tuning (authoring: /fine_tuning/jobs)
    "2023-12-01-preview",  # + images generations (DALL-E 3, deployment-scoped)
    "2024-02-15-preview",  # + audio speech, assistants
    "2024-03-01-preview",
    "2024-04-01-preview",
    "2024-05-01-preview",  # + vector stores (assistants v2)
    "2024-07-01-preview",  # + batches
    "2024-08-01-preview",
    "2024-09-01-preview",
    "2024-10-01-preview",
    "2024-12-01-preview",
    "2025-01-01-preview",
    "2025-02-01-preview",
    "2025-03-01-preview",  # + responses
    "2025-04-01-preview",  # + images edits (gpt-image-1)
)

_GAS: tuple[str, ...] = (
    "2022-12-01",  # completions, embeddings, files, models
    "2023-05-15",  # + chat
    "2024-02-01",  # + audio transcriptions and translations, images generations, fine-tuning
    "2024-06-01",
    "2024-10-21",  # + batches
)

# --- the v1 family ----------------------------------------------------------------------------------
V1_FAMILY: frozenset[str] = frozenset({"v1", "preview"})
# What they offer is the registry's ``v1_versions``. The v1 GA spec's paths: chat/completions, embeddings,
# files, fine_tuning, models, responses, vector_stores (plus containers and evals, which have no operation
# here); no completions, audio, images or batches. The preview spec's tags add "Images" (and "Video").
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


def _offers(name: str) -> frozenset[str]:
    return frozenset(op.name for op in OPERATIONS.values() if op.offered_by(name))


def _build() -> dict[str, ApiVersion]:
    table: dict[str, ApiVersion] = {}
    for chain, preview in ((_PREVIEWS, True), (_GAS, False)):
        for name in chain:
            table[name] = ApiVersion(name, _date_of(name), preview, _offers(name))
    table["preview"] = ApiVersion("preview", _V1_RELEASED["preview"], True, _offers("preview"))
    table["v1"] = ApiVersion("v1", _V1_RELEASED["v1"], False, _offers("v1"))
    return dict(sorted(table.items(), key=lambda kv: _sort_key(kv[1])))


def _sort_key(v: ApiVersion) -> tuple[date, int]:
    # On equal dates a preview sorts before the GA (a GA finalises what its preview tried out).
    return (v.released, 0 if v.preview else 1)


API_VERSIONS: dict[str, ApiVersion] = _build()

LATEST_GA = "2024-10-21"  # newest dated GA (v1 family excluded)
LATEST_PREVIEW = "2025-04-01-preview"  # newest dated preview (v1 family excluded)


# --- chat completions arguments that came after the operation ------------------------------------------
# (first preview, first GA) per request argument; a version before them does not know the argument and the
# service refuses it as unrecognized. From the inference specs (the 2024-05-01-preview and 2024-10-21 copies in
# /work/shared/azure-openai-spec; 2023-07-01-preview introduced functions, 2023-12-01-preview tools) and the
# service's answers quoted in public issues ("Unrecognized request arguments supplied: tool_choice, tools").
CHAT_ARGUMENTS_SINCE: dict[str, tuple[str, str]] = {
    "functions": ("2023-07-01-preview", "2024-02-01"),
    "function_call": ("2023-07-01-preview", "2024-02-01"),
    "tools": ("2023-12-01-preview", "2024-02-01"),
    "tool_choice": ("2023-12-01-preview", "2024-02-01"),
}
# ``response_format: {"type": "json_schema"}``: absent from the 2024-05-01-preview spec, present in 2024-10-21's;
# the service names its first version itself ("response_format value as json_schema is enabled only for api
# versions 2024-08-01-preview and later").
JSON_SCHEMA_SINCE: tuple[str, str] = ("2024-08-01-preview", "2024-10-21")


def offers_since(name: str, since: tuple[str, str]) -> bool:
    """Whether a known api-version has something that came with ``since`` (first preview, first GA); the v1
    family has everything."""
    found = API_VERSIONS.get(name)
    if found is None or found.v1_family:
        return True
    return is_at_least(name, since[0] if found.preview else since[1])


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
