"""Which headers each family's answers carry, by era, kind and framing, as the recordings show them
(../shared/recordings); the live checks are in tests/http/test_family_headers.py."""

from __future__ import annotations

from aoai_mock.wire.headers import (
    ASSISTANTS_FILES,
    AUDIO_SECONDS,
    CREATE,
    DEPLOYMENT,
    ENQUEUED_TOKENS,
    LIMIT_REQUESTS,
    LIMIT_TOKENS,
    MODEL,
    MODEL_SESSION,
    QUOTA,
    REASONING,
    REQUEST_ID,
    family_headers,
    fast_kind,
)

REMAINING = {b"x-ratelimit-remaining-requests", b"x-ratelimit-remaining-tokens"}
LIMITS = {b"x-ratelimit-limit-requests", b"x-ratelimit-limit-tokens"}
OPENAI_BACKEND = {b"openai-organization", b"openai-version", b"openai-processing-ms", b"x-ms-middleware-request-id"}
BATCH_SERVICE = {b"mise-correlation-id", b"request-context", b"vary", b"x-aml-cluster", b"x-ms-response-type",
                 b"x-request-time"}


def names(operation: str | None, api_version: str | None, failed: bool = False, kind: str = "",
          stream: bool = False) -> set[bytes]:
    """The names an answer carries beyond the common ones (the model session, tested on its own, aside)."""
    fixed, per_request, _ = family_headers(operation, api_version, failed, kind, stream)
    return {name for name, _ in (*fixed, *per_request)} - {SESSION}


SESSION = b"azureml-model-session"


def test_the_model_names_its_session_on_its_own_answers_only() -> None:
    for operation in ("chat.completions", "completions", "embeddings", "audio.transcriptions", "audio.translations"):
        for version in ("2023-08-01-preview", "2024-10-21", "2025-04-01-preview"):
            fixed, per_request, _ = family_headers(operation, version, False)
            assert (SESSION, MODEL_SESSION) in per_request, (operation, version)
            assert SESSION not in {n for n, _ in family_headers(operation, version, True)[1]}
    assert (SESSION, MODEL_SESSION) in family_headers("chat.completions", "2025-03-01-preview", False, REASONING)[1]
    for operation, kind in (("images.generations", ""), ("responses", CREATE), ("assistants", ""), ("files", ""),
                            ("batches", ""), ("fine_tuning", "")):
        fixed, per_request, _ = family_headers(operation, "2025-04-01-preview", False, kind)
        assert SESSION not in {n for n, _ in (*fixed, *per_request)}, operation


def absent(operation: str, api_version: str, failed: bool = False, kind: str = "", stream: bool = False) -> set[bytes]:
    return set(family_headers(operation, api_version, failed, kind, stream)[2])


def test_chat_answers_by_era() -> None:
    assert names("chat.completions", "2023-08-01-preview") == {
        b"access-control-allow-origin", b"x-accel-buffering", b"openai-processing-ms", b"azureml-model-group",
        b"openai-model"}
    assert names("chat.completions", "2024-04-01-preview") == {
        b"x-ms-rai-invoked", b"access-control-allow-origin", b"x-accel-buffering"}
    assert names("chat.completions", "2024-10-21") == {b"x-ms-rai-invoked", b"x-envoy-upstream-service-time"}
    assert names("chat.completions", "2025-04-01-preview") == names("chat.completions", "v1") == {
        b"x-ms-rai-invoked", b"x-envoy-upstream-service-time", b"x-ms-deployment-name",
        b"cmp-upstream-response-duration", b"ms-azureml-model-time", *LIMITS}
    assert names("chat.completions", "2024-10-21", failed=True) == {b"openai-processing-ms"}


def test_a_2024_04_chat_stream_says_its_upstream_time_and_later_streams_do_not_buffer_differently() -> None:
    assert names("chat.completions", "2024-04-01-preview", stream=True) == {
        b"x-ms-rai-invoked", b"access-control-allow-origin", b"x-accel-buffering", b"cmp-upstream-response-duration"}
    assert names("chat.completions", "2024-10-21", stream=True) == names("chat.completions", "2024-10-21")
    assert b"x-accel-buffering" not in names("chat.completions", "2025-01-01-preview", stream=True)


def test_o_series_chat_answers_by_era() -> None:
    assert names("chat.completions", "2025-01-01-preview", kind=REASONING) == {
        b"x-ms-rai-invoked", b"x-accel-buffering", b"x-aml-cluster"}
    assert names("chat.completions", "2025-03-01-preview", kind=REASONING) == {
        b"x-ms-rai-invoked", b"x-accel-buffering", b"x-aml-cluster", b"x-envoy-upstream-service-time",
        b"cmp-upstream-response-duration", b"ms-azureml-model-time", *LIMITS}
    assert names("chat.completions", "2025-03-01-preview", failed=True, kind=REASONING) == {b"openai-processing-ms"}


def test_the_2023_previews_answer_without_the_quotas_remaining_figures() -> None:
    assert absent("chat.completions", "2023-08-01-preview") == absent("completions", "2023-08-01-preview") == REMAINING
    assert absent("chat.completions", "2024-04-01-preview") == absent("completions", "2024-10-21") == set()
    assert absent("chat.completions", "2023-08-01-preview", failed=True) == set()  # a 429 says them


def test_per_request_values_are_marked() -> None:
    fixed, per_request, _ = family_headers("chat.completions", "2025-04-01-preview", False)
    assert (b"x-ms-rai-invoked", b"true") in fixed
    assert per_request == ((b"azureml-model-session", MODEL_SESSION), (b"x-ms-deployment-name", DEPLOYMENT),
                           (b"x-ratelimit-limit-requests", LIMIT_REQUESTS), (b"x-ratelimit-limit-tokens", LIMIT_TOKENS))
    assert (b"openai-model", MODEL) in family_headers("completions", "2023-08-01-preview", False)[1]
    _, assistants, _ = family_headers("assistants", "2024-05-01-preview", False)
    assert assistants == ((b"x-ms-middleware-request-id", REQUEST_ID),)
    _, created, _ = family_headers("assistants", "2024-05-01-preview", False, CREATE)
    assert created == ((b"x-ms-middleware-request-id", REQUEST_ID), (b"x-ratelimit-remaining-*", QUOTA))
    assert family_headers("audio.transcriptions", "2024-10-21", False)[1] == (
        (b"csp-billing-usage", AUDIO_SECONDS), (b"azureml-model-session", MODEL_SESSION))
    assert (b"deployment-enqueued-tokens", ENQUEUED_TOKENS) in family_headers(
        "batches", "2025-04-01-preview", False, CREATE)[1]


def test_completions_answer_as_chat_did_in_2023() -> None:
    assert names("completions", "2023-08-01-preview") == {
        b"access-control-allow-origin", b"openai-processing-ms", b"azureml-model-group", b"openai-model",
        b"x-accel-buffering"}
    assert names("completions", "2024-10-21") == {b"access-control-allow-origin"}
    assert names("completions", "2023-08-01-preview", failed=True) == {b"openai-processing-ms"}


def test_an_assistants_creation_says_its_models_quota_and_a_404_nothing() -> None:
    assert names("assistants", "2024-05-01-preview") == {b"x-ms-middleware-request-id"}
    assert names("assistants", "2024-05-01-preview", kind=CREATE) == {
        b"x-ms-middleware-request-id", b"x-ratelimit-remaining-*"}
    assert names("assistants", "2024-05-01-preview", failed=True) == set()


def test_the_two_file_services_from_2025_03() -> None:
    backend = OPENAI_BACKEND - {b"openai-organization"} | {b"access-control-allow-origin"}
    for failed in (False, True):
        assert names("files", "2025-03-01-preview", failed, ASSISTANTS_FILES) == backend
    assert names("files", "2025-03-01-preview", kind=CREATE) == {b"x-ms-middleware-request-id"}
    assert names("files", "2025-04-01-preview") == names("files", "v1") == {b"x-envoy-upstream-service-time"}
    assert names("files", "2025-04-01-preview", failed=True) == set()
    assert names("files", "2024-10-21") == names("files", "2024-10-21", kind=CREATE) == set()


def test_batches_and_fine_tuning_from_2025_04() -> None:
    assert names("batches", "2025-04-01-preview") == BATCH_SERVICE
    assert names("batches", "2025-04-01-preview", kind=CREATE) == BATCH_SERVICE | {
        b"deployment-enqueued-tokens", b"deployment-maximum-enqueued-tokens"}
    assert names("batches", "2024-10-21") == names("batches", "2025-04-01-preview", failed=True) == set()
    assert names("fine_tuning", "2025-04-01-preview") == {b"x-envoy-upstream-service-time"}
    assert names("fine_tuning", "2024-10-21") == set()


def test_responses_by_route_and_era() -> None:
    for failed in (False, True):  # retrieve, delete and their 404
        assert names("responses", "2025-04-01-preview", failed) == OPENAI_BACKEND
    assert names("responses", "2025-03-01-preview", kind=CREATE, stream=True) == OPENAI_BACKEND
    assert absent("responses", "2025-03-01-preview", kind=CREATE, stream=True) == REMAINING
    created = {b"x-ms-deployment-name", b"x-ms-middleware-request-id", b"x-ratelimit-limit-requests"}
    assert names("responses", "2025-04-01-preview", kind=CREATE) == created | {b"x-ratelimit-limit-tokens"}
    assert names("responses", "2025-04-01-preview", kind=CREATE, stream=True) == created
    assert absent("responses", "2025-04-01-preview", kind=CREATE, stream=True) == {b"x-ratelimit-remaining-tokens"}
    assert absent("responses", "2025-04-01-preview", kind=CREATE) == set()
    assert names("responses", "v1", kind=CREATE) == names("responses", "2025-04-01-preview", kind=CREATE)
    assert names("responses", "2025-04-01-preview", failed=True, kind=CREATE) == set()


def test_request_metered_families_say_no_remaining_tokens() -> None:
    assert names("audio.transcriptions", "2024-10-21") == names("audio.translations", "2024-10-21") == {
        b"csp-billing-usage"}
    for operation in ("audio.transcriptions", "images.generations"):
        assert absent(operation, "2024-10-21") == {b"x-ratelimit-remaining-tokens"}


def test_other_families() -> None:
    assert names("embeddings", "2024-10-21") == {b"access-control-allow-origin"}
    assert names("images.generations", "2024-10-21") == {b"x-envoy-upstream-service-time", b"x-ms-request-id"}
    assert names("models", "2024-10-21") == names(None, None) == set()


def test_the_answering_routes_kinds() -> None:
    assert fast_kind("chat.completions", True) == REASONING
    assert fast_kind("chat.completions", False) == fast_kind("embeddings", False) == ""
    assert fast_kind("responses", False) == fast_kind("responses", True) == CREATE


def test_header_sets_are_computed_once() -> None:
    assert family_headers("chat.completions", "2024-10-21", False) is family_headers(
        "chat.completions", "2024-10-21", False)
