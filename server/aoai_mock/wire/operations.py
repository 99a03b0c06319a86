"""The operations the mock serves: one immutable record each, the one place their facts are written down.

An operation is what Azure versions, meters and names in its errors: ``chat.completions``, ``files``,
``assistants`` (assistants, threads, messages, runs and run steps together) ... Every per-operation table
elsewhere derives from :data:`OPERATIONS`: the api-versions' offers (``wire/api_versions.py``), the
deployment kinds' operations (``config.py``), the 429 message's operation id (``behaviour/ratelimit.py``),
OperationNotSupported's name (``http/deps.py``), the scenario files' spellings, the batch endpoints.
:func:`resolve` labels a request by its path, with dict lookups only (no regex).

Pure data, standard library only. Where the facts come from:

* Azure's operation ids are the ``operationId`` of Azure's OpenAPI files (``/work/shared/azure-openai-spec``
  and the authoring specs); for families with many (files, batches, ...) the one that spends quota or that
  a 429 names. Chat, completions and embeddings are [captured] in 429 messages (the 2024-10-21 spec spells
  the last ``embeddings_create``; 2025-03-01-preview and the service say ``Embeddings_Create``).
* The OperationNotSupported names are [captured] for chat and embeddings, [inferred] for the rest.
* First versions: see ``wire/api_versions.py``, whose docstring cites the spec tree it was read from.

Modelling choices (read before relying on a record):

* ``fine_tuning`` is the ``/fine_tuning/jobs`` family (from 2023-10-01-preview, GA 2024-02-01). The older
  ``/fine-tunes`` API is not modelled; the versions of that era still offer ``files`` and ``models``.
* ``images.generations`` is the deployment-scoped ``/deployments/{id}/images/generations`` (DALL-E 3 style,
  from 2023-12-01-preview); the DALL-E 2 asynchronous routes (``/images/generations:submit`` and
  ``/operations/images/{id}``) are not modelled.
* ``/deployments/{id}/extensions/chat/completions`` ("on your data", 2023-06-01-preview ..
  2023-12-01-preview) counts as ``chat.completions`` for the versions, but the mock does not serve it.
* The v1 preview spec's "Images" tag is read as generations + edits (``v1_versions``), but the mock serves
  no image route under ``/openai/v1/``, so those records carry no ``v1_paths``.
* ``streams``: a request may ask for an SSE answer (``stream: true``) and the mock gives one.
  ``usage``: every answer carries a token ``usage`` (images add one only for gpt-image deployments, and a
  run's usage arrives on the finished run, so neither counts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

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
    "Scope",
    "Operation",
    "OPERATIONS",
    "by_name",
    "resolve",
]

# --- the names (journal and metrics labels, scenario files, deployments' ``operations``) ---------------
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
REALTIME = "realtime"  # the WebSocket session of /openai/realtime and /openai/v1/realtime

Scope = Literal["deployment", "resource"]

_PREFIX = "/openai/"
_V1_PREFIX = "/openai/v1/"
_DEPLOYMENT_PREFIX = "/openai/deployments/"
_DEPLOYMENT_TEMPLATE = _DEPLOYMENT_PREFIX + "{deployment}/"
_POST = frozenset({"POST"})
_GET = frozenset({"GET"})
_ANY = frozenset({"GET", "POST", "DELETE"})
_V1_BOTH = frozenset({"v1", "preview"})
_V1_PREVIEW = frozenset({"preview"})


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation and everything the mock needs to know about it.

    Paths are templates. A deployment-scoped operation's is exact
    (``/openai/deployments/{deployment}/chat/completions``); a resource family's names its root and covers
    everything below it (``/openai/files`` covers ``/openai/files/{file_id}/content``), except that
    ``/openai/deployments`` covers only itself. Under ``/openai/v1/`` there is no deployment in the path
    (the body's ``model`` names it), so a deployment-scoped operation's v1 template is exact
    (``/openai/v1/chat/completions``) and a family's is again a root.
    """

    name: str  # the mock's name: "chat.completions"
    operation_id: str  # Azure's operationId, as 429 messages name the operation: "ChatCompletions_Create"
    scope: Scope
    paths: tuple[str, ...]  # templates under /openai/ (dated api-versions)
    v1_paths: tuple[str, ...]  # templates under /openai/v1/ the mock serves; () when it serves none there
    preview_since: str | None  # the first dated preview offering it
    ga_since: str | None  # the first dated GA offering it; None: no GA does
    v1_versions: frozenset[str] = frozenset()  # which of the v1 family ("v1", "preview") offer it
    dropped: frozenset[str] = frozenset()  # dated versions after the first that no longer offer it
    methods: frozenset[str] = _ANY
    streams: bool = False
    usage: bool = False
    unsupported_name: str | None = None  # as OperationNotSupported names it; None: never said, the name is used
    aliases: tuple[str, ...] = ()  # other spellings scenario files and fault plans accept
    kinds: frozenset[str] = frozenset()  # the deployment kinds (config.Kind values) answering it by default
    batch_url: str | None = None  # the ``url`` a batch input line names to run it

    @property
    def deployment_scoped(self) -> bool:
        return self.scope == "deployment"

    def offered_by(self, api_version: str) -> bool:
        """Whether ``api_version`` offers it: a v1-family name by ``v1_versions``, a dated one by the
        first version of its chain (previews and GAs are separate chains) and ``dropped``.

        Compares the ``YYYY-MM-DD`` prefixes as strings; meant for building tables, not for requests.
        """
        if api_version in ("v1", "preview"):
            return api_version in self.v1_versions
        since = self.preview_since if api_version.endswith("-preview") else self.ga_since
        return since is not None and api_version[:10] >= since[:10] and api_version not in self.dropped


def _deployment(tail: str) -> tuple[str, ...]:
    return (_DEPLOYMENT_TEMPLATE + tail,)


# The order is the order of the tables derived from it (OperationNotSupported names, 429 ids, ...).
_TABLE: tuple[Operation, ...] = (
    Operation(
        name=CHAT, operation_id="ChatCompletions_Create", scope="deployment",
        paths=_deployment("chat/completions"), v1_paths=(_V1_PREFIX + "chat/completions",),
        preview_since="2023-03-15-preview", ga_since="2023-05-15", v1_versions=_V1_BOTH,
        methods=_POST, streams=True, usage=True, unsupported_name="chatCompletion", aliases=("chat",),
        kinds=frozenset({"chat"}), batch_url="/chat/completions",
    ),
    Operation(
        name=COMPLETIONS, operation_id="Completions_Create", scope="deployment",
        paths=_deployment("completions"), v1_paths=(),
        preview_since="2022-03-01-preview", ga_since="2022-12-01",
        methods=_POST, streams=True, usage=True, unsupported_name="completion",
        kinds=frozenset({"completions"}), batch_url="/completions",
    ),
    Operation(
        name=EMBEDDINGS, operation_id="Embeddings_Create", scope="deployment",
        paths=_deployment("embeddings"), v1_paths=(_V1_PREFIX + "embeddings",),
        preview_since="2022-06-01-preview", ga_since="2022-12-01", v1_versions=_V1_BOTH,
        methods=_POST, usage=True, unsupported_name="embeddings",
        kinds=frozenset({"embeddings"}), batch_url="/embeddings",
    ),
    Operation(
        name=IMAGES_GENERATIONS, operation_id="ImageGenerations_Create", scope="deployment",
        paths=_deployment("images/generations"), v1_paths=(),
        preview_since="2023-12-01-preview", ga_since="2024-02-01", v1_versions=_V1_PREVIEW,
        methods=_POST, unsupported_name="imageGeneration", kinds=frozenset({"image"}),
    ),
    Operation(
        name=IMAGES_EDITS, operation_id="ImageEdits_Create", scope="deployment",
        paths=_deployment("images/edits"), v1_paths=(),
        preview_since="2025-04-01-preview", ga_since=None, v1_versions=_V1_PREVIEW,
        methods=_POST, unsupported_name="imageEdit", kinds=frozenset({"image"}),
    ),
    Operation(
        name=AUDIO_TRANSCRIPTIONS, operation_id="Transcriptions_Create", scope="deployment",
        paths=_deployment("audio/transcriptions"), v1_paths=(),
        preview_since="2023-09-01-preview", ga_since="2024-02-01",
        methods=_POST, unsupported_name="audioTranscription", kinds=frozenset({"audio"}),
    ),
    Operation(
        name=AUDIO_TRANSLATIONS, operation_id="Translations_Create", scope="deployment",
        paths=_deployment("audio/translations"), v1_paths=(),
        preview_since="2023-09-01-preview", ga_since="2024-02-01",
        methods=_POST, unsupported_name="audioTranslation", kinds=frozenset({"audio"}),
    ),
    Operation(
        name=AUDIO_SPEECH, operation_id="Speech_Create", scope="deployment",
        paths=_deployment("audio/speech"), v1_paths=(),
        preview_since="2024-02-15-preview", ga_since=None,
        methods=_POST, unsupported_name="audioSpeech", kinds=frozenset({"speech"}),
    ),
    Operation(
        name=RESPONSES, operation_id="Create_Response", scope="resource",
        paths=(_PREFIX + "responses",), v1_paths=(_V1_PREFIX + "responses",),
        preview_since="2025-03-01-preview", ga_since=None, v1_versions=_V1_BOTH,
        streams=True, usage=True, unsupported_name="responses",
        kinds=frozenset({"chat"}),  # chat models answer the Responses API too
    ),
    Operation(  # a WebSocket: the deployment is named by the query (deployment=, or model= under /openai/v1/)
        name=REALTIME, operation_id="Realtime_Connect", scope="resource",  # [inferred] operation id
        paths=(_PREFIX + "realtime", _PREFIX + "realtimeapi"), v1_paths=(_V1_PREFIX + "realtime",),
        preview_since="2024-10-01-preview", ga_since=None, v1_versions=_V1_BOTH,
        usage=True, unsupported_name="realtime", kinds=frozenset({"realtime"}),
    ),
    Operation(
        name=ASSISTANTS, operation_id="Create_Run",  # runs are what spend a deployment's quota
        scope="resource", paths=(_PREFIX + "assistants", _PREFIX + "threads"), v1_paths=(),
        preview_since="2024-02-15-preview", ga_since=None, streams=True,
    ),
    Operation(
        name=VECTOR_STORES, operation_id="Create_Vector_Store", scope="resource",
        paths=(_PREFIX + "vector_stores",), v1_paths=(_V1_PREFIX + "vector_stores",),
        preview_since="2024-05-01-preview", ga_since=None, v1_versions=_V1_BOTH,
    ),
    Operation(
        name=FILES, operation_id="Files_Upload", scope="resource",
        paths=(_PREFIX + "files",), v1_paths=(_V1_PREFIX + "files",),
        preview_since="2022-03-01-preview", ga_since="2022-12-01", v1_versions=_V1_BOTH,
    ),
    Operation(
        name=BATCHES, operation_id="Batch_Create", scope="resource",
        paths=(_PREFIX + "batches",), v1_paths=(),
        preview_since="2024-07-01-preview", ga_since="2024-10-21",
    ),
    Operation(
        name=FINE_TUNING, operation_id="FineTuning_Create", scope="resource",
        paths=(_PREFIX + "fine_tuning",), v1_paths=(_V1_PREFIX + "fine_tuning",),
        preview_since="2023-10-01-preview", ga_since="2024-02-01", v1_versions=_V1_BOTH,
    ),
    Operation(  # GET /openai/models, /openai/deployments (the list), /openai/v1/models[/{id}]
        name=MODELS, operation_id="Models_List", scope="resource",
        paths=(_PREFIX + "models", _PREFIX + "deployments"), v1_paths=(_V1_PREFIX + "models",),
        preview_since="2022-03-01-preview", ga_since="2022-12-01", v1_versions=_V1_BOTH, methods=_GET,
    ),
)

OPERATIONS: Mapping[str, Operation] = MappingProxyType({op.name: op for op in _TABLE})


def by_name(name: str) -> Operation:
    """The record of an operation's name (``"chat.completions"``); KeyError for anything else."""
    found = OPERATIONS.get(name)
    if found is None:
        raise KeyError(f"unknown operation {name!r}; known: {', '.join(OPERATIONS)}")
    return found


# --- resolving a path: four dicts built once ---------------------------------------------------------
def _tails() -> dict[str, Operation]:  # "chat/completions" -> chat, after /openai/deployments/{d}/
    return {p[len(_DEPLOYMENT_TEMPLATE) :]: op for op in _TABLE if op.deployment_scoped for p in op.paths}


def _roots(prefix: str, v1: bool) -> dict[str, Operation]:  # "files" -> files, after /openai/ or /openai/v1/
    return {
        p[len(prefix) :]: op
        for op in _TABLE
        if not op.deployment_scoped
        for p in (op.v1_paths if v1 else op.paths)
    }


_TAILS = _tails()
_ROOTS = _roots(_PREFIX, v1=False)
_V1_ROOTS = _roots(_V1_PREFIX, v1=True)
_V1_EXACT = {p[len(_V1_PREFIX) :]: op for op in _TABLE if op.deployment_scoped for p in op.v1_paths}


def resolve(method: str, path: str) -> tuple[Operation, str | None] | None:
    """The operation a request is for, and the deployment its path names (None when the path names none:
    resource families, and everything under ``/openai/v1/``). None for a path or method no operation has.

    ``POST /openai/deployments/gpt-4o/chat/completions`` -> (chat.completions, "gpt-4o");
    ``GET /openai/v1/files/file-1/content`` -> (files, None); ``GET /openai/deployments`` -> (models, None).
    """
    if not path.startswith(_PREFIX):
        return None
    rest = path[8:]  # len("/openai/")
    if rest.startswith("deployments/"):
        name, _, tail = rest[12:].partition("/")  # len("deployments/")
        op = _TAILS.get(tail)
        if op is None or not name or method not in op.methods:
            return None
        return op, name
    if rest.startswith("v1/"):
        rest = rest[3:]
        op = _V1_EXACT.get(rest) or _V1_ROOTS.get(rest.partition("/")[0])
    else:  # "deployments" here is the list itself: the paths below it were handled above
        op = _ROOTS.get(rest.partition("/")[0])
    if op is None or method not in op.methods:
        return None
    return op, None
