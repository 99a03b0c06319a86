"""Header names and values, in one place: the mock's own request headers, and the fixed response headers.

The mock's own headers (``x-aoai-mock-*``) let one request choose its scenario, responder or fault, and
the control API's admin key; each name is here as text (for mappings of decoded headers) and as bytes
(for the raw ASGI header lists the hot path reads).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SCENARIO",
    "RESPONDER",
    "FAULT",
    "ADMIN_KEY",
    "SCENARIO_B",
    "RESPONDER_B",
    "FAULT_B",
    "FORWARDED",
    "RETRY_COUNT",
    "JSON_HEADER",
    "CACHE_HEADER",
    "kept_headers",
    "family_headers",
    "fast_kind",
    "Fact",
    "Rule",
    "RULES",
    "REQUEST_ID",
    "MODEL_SESSION",
    "DEPLOYMENT",
    "MODEL",
    "LIMIT_REQUESTS",
    "LIMIT_TOKENS",
    "QUOTA",
    "ELAPSED_S",
    "AUDIO_SECONDS",
    "ENQUEUED_TOKENS",
    "VIENNA",
    "HYENA",
    "CREATE",
    "REASONING",
    "ASSISTANTS_FILES",
]

SCENARIO = "x-aoai-mock-scenario"  # answer from this scenario (loaded), whichever is active
RESPONDER = "x-aoai-mock-responder"  # answer with this responder, whatever the scenario says
FAULT = "x-aoai-mock-fault"  # inject this fault (docs/scenarios-and-journal.md), or "none"
ADMIN_KEY = "x-aoai-mock-admin-key"  # the control API's key, when one is set

SCENARIO_B = SCENARIO.encode()
RESPONDER_B = RESPONDER.encode()
FAULT_B = FAULT.encode()

FORWARDED = (SCENARIO, RESPONDER, FAULT)  # what a batch passes on to each of its lines
RETRY_COUNT = "x-stainless-retry-count"  # the openai SDKs' attempt number, 0 for the first

JSON_HEADER = (b"content-type", b"application/json")
CACHE_HEADER = (b"cache-control", b"no-cache, must-revalidate")

_KEPT = (b"retry-after", b"x-should-retry", b"x-ratelimit-", b"policy-id", b"azure-openai-deployment-",
         b"x-ms-spillover-")  # fmt: skip


def kept_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers of an error response a retry test asks about (and the journal keeps)."""
    return [(name, value) for name, value in headers if name.lower().startswith(_KEPT)]


# -- what each family's answers carry beyond the common headers [captured: ../shared/recordings, per route] -------
#
# One table, per operation: each rule names the headers, the answers they go on (the route's kind, whole
# answers or streams, answers or errors) and the eras (dated api-versions, compared by their date; v1 and
# preview count as the newest). A header is listed only for the eras, kinds and outcomes a recording shows it
# on; where a recording of an era shows it absent, no rule adds it there, and a rule's ``absent`` takes out
# what the route added (the quota's figures) where the recordings show the service without it. family_headers()
# reads the table once per (operation, api-version, outcome, kind, stream) and keeps the result.


class Fact:
    """A header value known only per request; the front door fills it in (``http/front.py``), between
    ``prefix`` and ``suffix``. A route supplies the values the front door cannot know (``audio_seconds``)."""

    __slots__ = ("name", "prefix", "suffix")

    def __init__(self, name: str, prefix: bytes = b"", suffix: bytes = b"") -> None:
        self.name, self.prefix, self.suffix = name, prefix, suffix

    def __repr__(self) -> str:
        return f"Fact({self.name!r})"


REQUEST_ID = Fact("request_id")  # the request's id (apim-request-id)
MODEL_SESSION = Fact("model_session")  # the model session that answered: "d" and the request id's first 8 chars
DEPLOYMENT = Fact("deployment")  # the deployment's name, as the request named it
MODEL = Fact("model")  # the deployment's model
LIMIT_REQUESTS = Fact("limit_requests")  # the deployment's request quota a minute (omitted when its
LIMIT_TOKENS = Fact("limit_tokens")  # ... rate_limit.limit_headers already sends them), and its token quota
QUOTA = Fact("quota")  # the x-ratelimit-* figures of the model's deployment (several headers; unmetered only)
ELAPSED_S = Fact("elapsed_s")  # seconds since the request arrived, 3 decimals
AUDIO_SECONDS = Fact("audio_seconds", b"CognitiveServices.OpenAI.Whisper=")  # the audio's seconds, rounded up
ENQUEUED_TOKENS = Fact("enqueued_tokens")  # the prompt tokens a new batch enqueued
VIENNA = Fact("cluster", b"vienna-", b"-02")  # the region's cluster: vienna-swedencentral-02 as recorded
HYENA = Fact("cluster", b"hyena-", b"-02")  # the o-series models' clusters: hyena-uksouth-02

# The kinds of answer a route says it gives (http/front.py: Exchange.target, answer_as), beyond its plain one.
CREATE = "create"  # assistants' and batches' create, the Files service's upload, Responses' create
REASONING = "reasoning"  # a chat answer of an o-series deployment (``reasoning: true``)
ASSISTANTS_FILES = "assistants-files"  # a file of the assistants file service (an ``assistant-`` id)

_ANY_ORIGIN = (b"access-control-allow-origin", b"*")
_ACCEL = (b"x-accel-buffering", b"no")
_OPENAI_VERSION = (b"openai-version", b"2020-10-01")
_PROCESSING = (b"openai-processing-ms", b"1")  # the mock's own processing time is about a millisecond
_UPSTREAM = (b"x-envoy-upstream-service-time", b"1")
_MIDDLEWARE = (b"x-ms-middleware-request-id", REQUEST_ID)
_RAI = (b"x-ms-rai-invoked", b"true")
_DEPLOYMENT_NAME = (b"x-ms-deployment-name", DEPLOYMENT)
_CMP = (b"cmp-upstream-response-duration", b"1")
_MODEL_TIME = (b"ms-azureml-model-time", b"1")
_LIMITS = ((b"x-ratelimit-limit-requests", LIMIT_REQUESTS), (b"x-ratelimit-limit-tokens", LIMIT_TOKENS))
# The model's own answers say which session served them; errors, and the other services' answers, do not
# [captured: recordings/chat, completions, embeddings, audio (200s) against chat and completions 400s, images,
# Responses, assistants, files, batches and fine-tuning].
_SESSION = (b"azureml-model-session", MODEL_SESSION)
_MODEL_GROUP = (b"azureml-model-group", b"online")
_OPENAI_MODEL = (b"openai-model", MODEL)
_ORGANIZATION = (b"openai-organization", b"5b1c0de8a0e94f2d9c6a7e3f41d2b8a6")  # one 32-hex id, as recorded
# The OpenAI backend's own answers: Responses' retrieve and delete, the assistants file service.
_OPENAI_BACKEND = (_ORGANIZATION, _OPENAI_VERSION, _PROCESSING, _MIDDLEWARE)
# The batch service's front end [captured: batches/net-CanCancelBatch-2025-04-01-preview.json #1-#4].
_BATCH_SERVICE = (
    (b"mise-correlation-id", REQUEST_ID),
    (b"request-context", b"appId="),
    (b"vary", b"Accept-Encoding"),
    (b"x-aml-cluster", VIENNA),
    (b"x-ms-response-type", b"standard"),
    (b"x-request-time", ELAPSED_S),
)

# The assistants / Files services split [captured: files/net-CanUploadAndDeleteFiles-2025-03-01-preview].
_FILES_SINCE = "2025-03-01"
# [captured: batches/net-CanCancelBatch-2025-04-01-preview, fine_tuning/net-CreateCancelDelete-2025-04-01-preview]
_JOBS_SINCE = "2025-04-01"
_RESPONSES_SPLIT = "2025-04-01"  # Responses' create: the OpenAI backend's headers in 2025-03-01-preview, Azure's after


_REMAINING = (b"x-ratelimit-remaining-requests", b"x-ratelimit-remaining-tokens")


@dataclass(frozen=True, slots=True)
class Rule:
    """Headers an operation's answers carry (or, ``absent``, never carry): on which kinds, outcomes, framings and
    eras (``since`` included, ``until`` not; dates of api-versions, "" for no bound)."""

    headers: tuple[tuple[bytes, Any], ...] = ()
    kinds: tuple[str, ...] = ("",)
    since: str = ""
    until: str = ""
    answers: bool = True
    errors: bool = False
    streams: bool | None = None  # True: streams only; False: whole answers only; None: both
    absent: tuple[bytes, ...] = ()  # names taken out of such answers, whoever added them

    def applies(self, era: str, failed: bool, kind: str, stream: bool) -> bool:
        return (
            kind in self.kinds
            and (self.errors if failed else self.answers)
            and (self.streams is None or self.streams == stream)
            and era >= self.since
            and (not self.until or era < self.until)
        )


_BOTH = ("", REASONING)

RULES: dict[str, tuple[Rule, ...]] = {
    # [captured: recordings/chat, Aug 2023 to Aug 2025]: the 2023 previews answer with the model's name and
    # group; CORS and x-accel-buffering up to 2024-10-21, the envoy upstream time from then on; a 2024-04
    # stream says its upstream time; the 2025 previews name their deployment and quota, with the model times.
    "chat.completions": (
        Rule(absent=_REMAINING, until="2023-12-01"),  # no quota figures on a 2023-08 answer (on a 2023-12 429: some)
        Rule((_SESSION,), kinds=_BOTH),
        Rule((_ANY_ORIGIN, _ACCEL), until="2024-10-21"),
        Rule((_PROCESSING, _MODEL_GROUP, _OPENAI_MODEL), until="2024-04-01"),
        Rule((_RAI,), kinds=_BOTH, since="2024-04-01"),
        Rule((_CMP,), since="2024-04-01", until="2024-10-21", streams=True),
        Rule((_UPSTREAM,), since="2024-10-21"),
        Rule((_DEPLOYMENT_NAME, _CMP, _MODEL_TIME, *_LIMITS), since="2025-01-01"),
        # o-series deployments answer from the hyena clusters: buffering off and the cluster's name always;
        # the upstream and model times and the quota from 2025-03-01-preview (not in 2025-01-01-preview);
        # never the deployment's name [captured: chat/net-MaxOutputTokens-o3-mini-2025-01-01-preview,
        # chat/net-ChatWithO1Works (2025-03-01-preview)].
        Rule((_ACCEL, (b"x-aml-cluster", HYENA)), kinds=(REASONING,)),
        Rule((_UPSTREAM, _CMP, _MODEL_TIME, *_LIMITS), kinds=(REASONING,), since="2025-03-01"),
        Rule((_PROCESSING,), kinds=_BOTH, answers=False, errors=True),
    ),
    # [captured: completions/js-CompletionsAcrossModels-2023-08-01-preview]: as chat's 2023 answers.
    "completions": (
        Rule(absent=_REMAINING, until="2023-12-01"),
        Rule((_ANY_ORIGIN, _SESSION)),
        Rule((_PROCESSING, _MODEL_GROUP, _OPENAI_MODEL, _ACCEL), until="2024-04-01"),
        Rule((_PROCESSING,), answers=False, errors=True),
    ),
    "embeddings": (Rule((_ANY_ORIGIN, _SESSION)),),  # [captured: embeddings/, 2024-03-01-preview and 2024-10-21]
    # DALL-E's quota is of requests: no remaining tokens [captured: images/net-ImageCanGetContentFilterResults].
    "images.generations": (Rule((_UPSTREAM, (b"x-ms-request-id", REQUEST_ID)), absent=_REMAINING[1:]),),
    "images.edits": (Rule((_UPSTREAM, (b"x-ms-request-id", REQUEST_ID))),),
    # Whisper bills the audio's seconds, rounded up (3.07 s: 4)
    # [captured: audio/net-TranscriptionVerboseJson-2024-10-21].
    # Its quota is of requests: no remaining tokens.
    "audio.transcriptions": (Rule(((b"csp-billing-usage", AUDIO_SECONDS), _SESSION), absent=_REMAINING[1:]),),
    "audio.translations": (Rule(((b"csp-billing-usage", AUDIO_SECONDS), _SESSION), absent=_REMAINING[1:]),),
    "audio.speech": (Rule((_SESSION,)),),  # a model's answer too [inferred: no recording of speech]
    # Every answer names the middleware's request; an assistant's creation spends its model's quota and says
    # what is left; a 404 carries neither [captured: assistants/net-BasicAssistantOperationsWork-2024-05-01-preview].
    "assistants": (
        Rule((_MIDDLEWARE,), kinds=("", CREATE)),
        Rule(((b"x-ratelimit-remaining-*", QUOTA),), kinds=(CREATE,)),
    ),
    "vector_stores": (Rule((_MIDDLEWARE,)),),
    # From 2025-03-01-preview two services answer /files: the assistants file service (the OpenAI backend's
    # headers, its 404 too) and the Files service (the middleware's request id on an upload, the envoy upstream
    # time on everything else) [captured: files/, batches/ #0 #5, fine_tuning/ #0 #1 #6 #7].
    "files": (
        Rule((_ANY_ORIGIN, _OPENAI_VERSION, _PROCESSING, _MIDDLEWARE), kinds=(ASSISTANTS_FILES,), since=_FILES_SINCE,
             errors=True),
        Rule((_MIDDLEWARE,), kinds=(CREATE,), since=_FILES_SINCE),
        Rule((_UPSTREAM,), since=_FILES_SINCE),
    ),
    # The batch service's front end on every answer; a new batch says the deployment's enqueued tokens and their
    # ceiling (the recorded ceiling: the mock has no batch quota) [captured: batches/net-CanCancelBatch #1-#4].
    "batches": (
        Rule(_BATCH_SERVICE, kinds=("", CREATE), since=_JOBS_SINCE),
        Rule(
            ((b"deployment-enqueued-tokens", ENQUEUED_TOKENS), (b"deployment-maximum-enqueued-tokens", b"24487000")),
            kinds=(CREATE,), since=_JOBS_SINCE,
        ),
    ),
    "fine_tuning": (Rule((_UPSTREAM,), since=_JOBS_SINCE),),  # [captured: fine_tuning/ #2 #3 #4]
    # Retrieve and delete (and their 404) come from the OpenAI backend [captured: responses/net-CanDeleteResponse
    # #1-#3]; so did a create in 2025-03-01-preview [captured: responses/net-HelloWorldStreaming-2025-03-01-preview];
    # from 2025-04-01-preview a create names its deployment and quota (a stream, its request quota only), and a
    # create the front end refuses carries none of them [captured: responses/net-FunctionCall,
    # net-StreamingResponses-2025-04-01-preview-Aug2025, errors/net-ResponsesMissingModel-400].
    "responses": (
        Rule(_OPENAI_BACKEND, errors=True),
        Rule(_OPENAI_BACKEND, kinds=(CREATE,), until=_RESPONSES_SPLIT),
        Rule(kinds=(CREATE,), until=_RESPONSES_SPLIT, streams=True, absent=_REMAINING),
        Rule((_DEPLOYMENT_NAME, _MIDDLEWARE, _LIMITS[0]), kinds=(CREATE,), since=_RESPONSES_SPLIT),
        Rule((_LIMITS[1],), kinds=(CREATE,), since=_RESPONSES_SPLIT, streams=False),
        Rule(kinds=(CREATE,), since=_RESPONSES_SPLIT, streams=True, absent=_REMAINING[1:]),
    ),
}

# What the answering (fast) routes' answers are, by operation: Responses' one fast route is its create.
_FAST_KIND = {"responses": CREATE}


def fast_kind(operation: str | None, reasoning: bool) -> str:
    """The kind of an answering route's answer: an o-series deployment's chat answer, Responses' create."""
    if reasoning and operation == "chat.completions":
        return REASONING
    return _FAST_KIND.get(operation or "", "")


def _era(api_version: str | None) -> str:
    """The date an api-version is compared by; v1 and preview (no date) are the newest."""
    if not api_version:
        return ""
    if api_version in ("v1", "preview"):
        return "9999"
    return api_version[:10]


Pairs = tuple[tuple[bytes, Any], ...]
Family = tuple[Pairs, Pairs, frozenset[bytes]]
_CACHE: dict[tuple[str | None, str | None, bool, str, bool], Family] = {}


def family_headers(
    operation: str | None, api_version: str | None, failed: bool, kind: str = "", stream: bool = False
) -> Family:
    """The headers an answer (or, ``failed``, an error) of this operation carries as Azure sends them, beyond
    the common ones: ``(fixed, per_request, absent)``; in the second, each value is a :class:`Fact` the front
    door fills in; the third, names such an answer never carries. ``kind``: which of the operation's answers
    (:data:`CREATE`, ...; "" its plain one); ``stream``: an event stream."""
    key = (operation, api_version, failed, kind, stream)
    found = _CACHE.get(key)
    if found is None:
        era = _era(api_version)
        pairs: dict[bytes, Any] = {}
        absent: set[bytes] = set()
        for rule in RULES.get(operation or "", ()):
            if rule.applies(era, failed, kind, stream):
                absent.update(rule.absent)
                for name, value in rule.headers:
                    pairs.setdefault(name, value)
        fixed = tuple((n, v) for n, v in pairs.items() if isinstance(v, bytes))
        per_request = tuple((n, v) for n, v in pairs.items() if not isinstance(v, bytes))
        found = (fixed, per_request, frozenset(absent))
        if len(_CACHE) < 4096:
            _CACHE[key] = found
    return found
