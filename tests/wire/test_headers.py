"""Which headers each family's answers carry, by era, as the recordings show them (../shared/recordings)."""

from __future__ import annotations

from aoai_mock.wire.headers import DEPLOYMENT, REQUEST_ID, family_headers


def names(operation: str, api_version: str, failed: bool = False) -> set[bytes]:
    fixed, per_request = family_headers(operation, api_version, failed)
    return {name for name, _ in (*fixed, *per_request)}


def test_chat_answers_say_rai_from_2024_04_and_their_deployment_from_2025() -> None:
    assert names("chat.completions", "2023-08-01-preview") == {
        b"access-control-allow-origin", b"x-accel-buffering", b"openai-processing-ms"}
    assert names("chat.completions", "2024-04-01-preview") == {
        b"x-ms-rai-invoked", b"access-control-allow-origin", b"x-accel-buffering"}
    assert names("chat.completions", "2024-10-21") == {b"x-ms-rai-invoked", b"x-envoy-upstream-service-time"}
    assert names("chat.completions", "2025-04-01-preview") == {
        b"x-ms-rai-invoked", b"x-envoy-upstream-service-time", b"x-ms-deployment-name",
        b"cmp-upstream-response-duration", b"ms-azureml-model-time"}
    assert names("chat.completions", "2024-10-21", failed=True) == {b"openai-processing-ms"}


def test_per_request_values_are_marked() -> None:
    fixed, per_request = family_headers("chat.completions", "2025-04-01-preview", False)
    assert (b"x-ms-rai-invoked", b"true") in fixed and per_request == ((b"x-ms-deployment-name", DEPLOYMENT),)
    _, assistants = family_headers("assistants", "2024-05-01-preview", False)
    assert assistants == ((b"x-ms-middleware-request-id", REQUEST_ID),)


def test_other_families() -> None:
    assert names("embeddings", "2024-10-21") == {b"access-control-allow-origin"}
    assert names("images.generations", "2024-10-21") == {b"x-envoy-upstream-service-time", b"x-ms-request-id"}
    assert b"openai-version" in names("responses", "2025-04-01-preview", failed=True)
    assert names("models", "2024-10-21") == names(None, None) == set()
