"""The errors Azure OpenAI answers with, as plain exceptions.

Behaviour raises these; ``http/errors.py`` renders them. Nothing here knows about HTTP frameworks.

Azure sends two body shapes (``../shared/WIRE-NOTES.md``):

* the gateway's, ``{"error": {"code": ..., "message": ...}}`` (auth, routing, api-version, deployment);
* the model service's, ``{"error": {"message", "type", "param", "code"}}`` with every key present, nulls
  included (validation, context length, server errors, content filter).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar

__all__ = [
    "AzureError",
    "AccessDenied",
    "PermissionDenied",
    "MissedModelDeployment",
    "ResourceNotFound",
    "ApiVersionNotSupported",
    "ModelNeedsNewerApiVersion",
    "FeatureNeedsNewerApiVersion",
    "DeploymentNotFound",
    "OperationNotSupported",
    "InvalidRequest",
    "InvalidJson",
    "RequestTooLarge",
    "UnsupportedMediaType",
    "ServerError",
    "AdminKeyRequired",
    "RateLimited",
]


class AzureError(Exception):
    """An error response. ``gateway`` selects the short ``{code, message}`` body."""

    status: ClassVar[int] = 400
    gateway: ClassVar[bool] = False
    # The exact bytes the service sends, where a JSON serialiser would write them differently.
    verbatim: ClassVar[bytes | None] = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str | None = "invalid_request_error",
        inner: dict[str, Any] | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.type = type
        self.inner = inner
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body Azure sends for this error."""
        if self.gateway:
            return {"error": {"code": self.code, "message": self.message}}
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "param": self.param,
            "code": self.code,
        }
        if self.inner is not None:
            error["status"] = self.status
            error["innererror"] = self.inner
        return {"error": error}


class AccessDenied(AzureError):
    status = 401
    gateway = True

    def __init__(self) -> None:
        super().__init__(
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
            "valid key for an active subscription and use a correct regional API endpoint for your resource.",
            code="401",
        )


class PermissionDenied(AzureError):
    status = 401
    gateway = True
    verbatim = b'{"error":{"code":"PermissionDenied","message": "Principal does not have access to API/Operation."}}'

    def __init__(self) -> None:
        super().__init__("Principal does not have access to API/Operation.", code="PermissionDenied")


__all__ += ["TokenRejected", "MissingDataAction", "KeyAuthDisabled"]


class TokenRejected(AzureError):
    """401 for a Bearer token the service will not read: a wrong audience, expired or not yet valid, or not a
    token at all [captured message, 2023-2025 issue reports: one text for every case]. Its body is not the
    ``{"error": ...}`` shape but ``{"statusCode", "message"}``."""

    status = 401
    gateway = True

    def __init__(self, audience: str) -> None:
        message = (
            f"Unauthorized. Access token is missing, invalid, audience is incorrect ({audience}), or have expired."
        )
        super().__init__(message, code="401")
        self.verbatim = b'{"statusCode":401,"message":' + json.dumps(message).encode() + b"}"


class MissingDataAction(AzureError):
    """401 for a valid token whose principal holds no role granting the operation's data action [captured:
    ``.../deployments/chat/completions/action`` for chat, ``.../OpenAI/responses/write`` for Responses]."""

    status = 401
    gateway = True

    def __init__(self, principal: str, data_action: str, operation: str) -> None:
        super().__init__(
            f"The principal `{principal}` lacks the required data action `{data_action}` to perform "
            f"`{operation}` operation.",
            code="PermissionDenied",
        )


class KeyAuthDisabled(AzureError):
    """403 for an api-key sent to a resource whose local (key) authentication is disabled [captured body]."""

    status = 403
    gateway = True
    verbatim = (
        b'{"error":{"code":"AuthenticationTypeDisabled","message": "Key based authentication is disabled for this '
        b'resource."}}'
    )

    def __init__(self) -> None:
        super().__init__("Key based authentication is disabled for this resource.", code="AuthenticationTypeDisabled")


class MissedModelDeployment(AzureError):
    """400 for a dated ``/openai/responses`` request without ``model`` [captured: recordings/errors, Mar 2026,
    2025-04-01-preview]: a message only, pretty-printed with two-space indents."""

    status = 400
    gateway = True
    verbatim = b'{\n  "error": {\n    "message": "Missed model deployment"\n  }\n}'

    def __init__(self) -> None:
        super().__init__("Missed model deployment")


class ResourceNotFound(AzureError):
    """Unknown route, missing api-version, or an api-version without this operation."""

    status = 404
    gateway = True
    verbatim = b'{"error":{"code":"404","message": "Resource not found"}}'  # [captured], the space included

    def __init__(self) -> None:
        super().__init__("Resource not found", code="404")


class ApiVersionNotSupported(AzureError):
    gateway = True

    def __init__(self) -> None:
        super().__init__("API version not supported", code="BadRequest")


class ModelNeedsNewerApiVersion(AzureError):
    gateway = True

    def __init__(self, minimum: str) -> None:
        # The braces are literally in the service's text.
        super().__init__(
            f"Model {{modelName}} is enabled only for api versions {minimum} and later", code="BadRequest"
        )


class FeatureNeedsNewerApiVersion(AzureError):
    """400 from the gateway for a request value the api-version does not have yet [captured in public issues:
    ``{"error": {"code": "BadRequest", "message": "response_format value as json_schema is enabled only for api
    versions 2024-08-01-preview and later"}}``]."""

    gateway = True

    def __init__(self, feature: str, minimum: str) -> None:
        super().__init__(f"{feature} is enabled only for api versions {minimum} and later", code="BadRequest")


class DeploymentNotFound(AzureError):
    status = 404
    gateway = True

    def __init__(self) -> None:
        super().__init__(
            "The API deployment for this resource does not exist. If you created the deployment within "
            "the last 5 minutes, please wait a moment and try again.",
            code="DeploymentNotFound",
        )


class OperationNotSupported(AzureError):
    gateway = True

    def __init__(self, operation: str, model: str) -> None:
        super().__init__(
            f"The {operation} operation does not work with the specified model, {model}. Please choose "
            "different model and try again. You can learn more about which models can be used with each "
            "operation here: https://go.microsoft.com/fwlink/?linkid=2197993.",
            code="OperationNotSupported",
        )


class InvalidRequest(AzureError):
    """A 400 from the model service: the body is wrong in some way ``param`` names."""


class InvalidJson(InvalidRequest):
    def __init__(self) -> None:
        super().__init__(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
            "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
            "valid JSON. If you have trouble figuring out how to fix this, please contact us through our "
            "help center at help.openai.com.)"
        )


class RequestTooLarge(AzureError):
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The request body is too large. The maximum size is {limit} bytes.", code="request_too_large"
        )


class UnsupportedMediaType(InvalidRequest):
    def __init__(self, content_type: str) -> None:
        shown = content_type or "none"
        super().__init__(
            f"Invalid Content-Type header ({shown}), expected application/json.",
            code="invalid_content_type",
        )


class ServerError(AzureError):
    status = 500

    def __init__(self, request_id: str) -> None:
        super().__init__(
            "The server had an error while processing your request. Sorry about that! You can retry your "
            "request, or contact us through an Azure support request at: "
            "https://go.microsoft.com/fwlink/?linkid=2213926 if the error persists. "
            f"(Please include the request ID {request_id} in your message.)",
            type="server_error",
        )


class AdminKeyRequired(AzureError):
    """The ``/_mock/`` control API was called without the admin key (``--admin-key``), or with another key."""

    status = 401
    gateway = True

    def __init__(self) -> None:
        super().__init__(
            "The /_mock/ control API needs the admin key this mock was started with (--admin-key): send it "
            "in the x-aoai-mock-admin-key header or as Authorization: Bearer <admin key>. An Azure API key "
            "does not grant access.",
            code="AdminKeyRequired",
        )


class RateLimited(AzureError):
    """The gateway's 429: a deployment's token or call (request) quota ran out [captured].

    ``limit`` is ``"token"`` or ``"call"``; ``operation_id`` names the endpoint as Azure does
    (``ChatCompletions_Create``); ``headers`` are the 429's headers (``retry-after``, ``x-ratelimit-*``, ...).
    """

    status = 429
    gateway = True

    def __init__(
        self,
        operation_id: str,
        api_version: str,
        retry_after: int,
        limit: str = "token",
        headers: dict[str, str] | None = None,
    ) -> None:
        if limit not in ("token", "call"):
            raise ValueError(f"limit must be 'token' or 'call', not {limit!r}")
        unit = "second" if retry_after == 1 else "seconds"
        super().__init__(
            f"Requests to the {operation_id} Operation under Azure OpenAI API version {api_version} have "
            f"exceeded {limit} rate limit of your current OpenAI S0 pricing tier. Please retry after "
            f"{retry_after} {unit}. Please go here: https://aka.ms/oai/quotaincrease if you would like to "
            "further increase the default rate limit.",
            code="429",
            headers=headers,
        )
        self.operation_id = operation_id
        self.api_version = api_version
        self.retry_after = retry_after
        self.limit = limit


__all__ += ["CapacityExceeded"]


class CapacityExceeded(AzureError):
    """A provisioned deployment's immediate 429: its utilization is at or above 100% [documented: the status,
    ``retry-after-ms`` and ``retry-after``; inferred: the body, in the shape and words of the captured standard
    429, since no provisioned one is published]. ``headers`` carry the wait and the utilization."""

    status = 429
    gateway = True

    def __init__(self, operation_id: str, api_version: str, retry_after: int, headers: dict[str, str]) -> None:
        unit = "second" if retry_after == 1 else "seconds"
        super().__init__(
            f"Requests to the {operation_id} Operation under Azure OpenAI API version {api_version} have "
            f"exceeded the provisioned throughput of this deployment: its utilization is above 100%. Please "
            f"retry after {retry_after} {unit}.",
            code="429",
            headers=headers,
        )
        self.retry_after = retry_after


# -- injected faults (behaviour/faults.py): the gateway's and the model service's other retryable errors ----------

__all__ += ["RequestTimedOut", "BadGateway", "ModelOverloaded", "GatewayTimeout"]


class RequestTimedOut(AzureError):
    """408, the gateway's short body, as seen in public bug reports of Azure OpenAI timing out."""

    status = 408
    gateway = True

    def __init__(self, message: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message or "The operation was timeout.", code="Timeout", headers=headers)


class BadGateway(AzureError):
    """502 in the gateway's short shape [inferred: no captured body; the code follows the gateway's style]."""

    status = 502
    gateway = True

    def __init__(self, message: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(
            message or "The gateway received an invalid response from the backend service. Please retry your request.",
            code="BadGateway",
            headers=headers,
        )


class ModelOverloaded(AzureError):
    """503 from the model service: the model is overloaded [inferred, see WIRE-NOTES], every key present."""

    status = 503

    def __init__(self, request_id: str, message: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(
            message
            or "That model is currently overloaded with other requests. You can retry your request, or contact us "
            "through an Azure support request at: https://go.microsoft.com/fwlink/?linkid=2213926 if the error "
            f"persists. (Please include the request ID {request_id} in your message.)",
            type="server_error",
            headers=headers,
        )


class GatewayTimeout(AzureError):
    """504 in the gateway's short shape [inferred: the wording of Azure's ARM gateway timeouts]."""

    status = 504
    gateway = True

    def __init__(self, message: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(
            message or "The gateway did not receive a response from 'Microsoft.CognitiveServices' within the "
            "specified time period.",
            code="GatewayTimeout",
            headers=headers,
        )


# -- images and audio (behaviour/images.py, behaviour/transcription.py) ---------------------------------------------

__all__ += ["InvalidPayload", "ContentTooLarge", "UnrecognizedFileFormat", "InvalidImageFile"]


class InvalidPayload(AzureError):
    """dall-e-3's 400 for a value the model does not take, in the gateway's short shape [captured, for
    ``quality``: ``{"error":{"code":"invalidPayload","message":"Invalid payload: Value for property quality is
    invalid."}}``; the same wording for the other properties is inferred]."""

    gateway = True

    def __init__(self, prop: str) -> None:
        super().__init__(f"Invalid payload: Value for property {prop} is invalid.", code="invalidPayload")
        self.property = prop


class ContentTooLarge(AzureError):
    """413 for an upload over the 25 MB audio limit, every key present [captured, public bug reports]."""

    status = 413

    def __init__(self, limit: int, read: int) -> None:
        super().__init__(f"Maximum content size limit ({limit}) exceeded ({read} bytes read)", type="server_error")


class UnrecognizedFileFormat(InvalidRequest):
    """An upload that is not audio whisper reads [captured message; status 400 as reported for Azure]."""

    def __init__(self, formats: tuple[str, ...]) -> None:
        super().__init__(f"Unrecognized file format. Supported formats: {list(formats)!r}")


class InvalidImageFile(InvalidRequest):
    """An ``images/edits`` upload that is not a PNG, JPEG or WebP image [inferred wording, OpenAI's]."""

    def __init__(self, index: int, param: str = "image") -> None:
        super().__init__(
            f"Invalid image file or mode for image {index}, please check your image file.",
            param=param,
            code="invalid_image_file",
        )


# -- the resource families (files, batches, fine-tuning): the authoring API's short {code, message} body ------------
# Azure's authoring spec (2024-10-21) answers with {"error": {"code", "message"}} and codes such as invalidPayload,
# notFound, unexpectedEntityState, jsonlValidationFailed. "Invalid value for purpose." and "fileName contains an
# invalid filename: wrong suffix." are [captured] (public bug reports); the other messages are [inferred].

__all__ += [
    "InvalidResourceRequest", "ObjectNotFound", "AssistantsObjectNotFound", "ResponseNotFound", "NoSuchFileObject",
    "UnexpectedEntityState", "JsonlValidationFailed", "FileTooLarge"
]


class InvalidResourceRequest(AzureError):
    """400 ``invalidPayload``: a resource request the service cannot use (a bad upload, a bad parameter).

    Free wording; the images family's ``InvalidPayload`` words dall-e's 400 around one property name instead."""

    gateway = True

    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalidPayload")


class ObjectNotFound(AzureError):
    """404 ``notFound``: no file, batch or fine-tuning job has that id [inferred message]."""

    status = 404
    gateway = True

    def __init__(self, what: str, id: str) -> None:
        super().__init__(f"{what} with id '{id}' not found.", code="notFound")


class AssistantsObjectNotFound(AzureError):
    """404 for an id the assistants service (assistants, threads, messages, runs, steps, vector stores) does not
    know, in the model service's shape: ``invalid_request_error``, no code [inferred from OpenAI's wording]."""

    status = 404

    def __init__(self, what: str, id: str) -> None:
        super().__init__(f"No {what} found with id '{id}'.")


class NoSuchFileObject(InvalidRequest):
    """404 from the assistants file service for an ``assistant-`` file it does not have (deleted twice, say)
    [captured: recordings/files, 2025-03-01-preview]: ``type``, ``param: "id"``, ``code: null``."""

    def __init__(self, file_id: str) -> None:
        super().__init__(f"No such File object: {file_id}", param="id", status=404)


class ResponseNotFound(InvalidRequest):
    """404 for a stored response the service does not have (never stored, forgotten, or ``store: false``)."""

    def __init__(self, response_id: str) -> None:
        super().__init__(f"Response with id '{response_id}' not found.", status=404)


class UnexpectedEntityState(AzureError):
    """400 ``unexpectedEntityState``: the object cannot do that now (cancelling a finished batch)."""

    gateway = True

    def __init__(self, message: str) -> None:
        super().__init__(message, code="unexpectedEntityState")


class JsonlValidationFailed(AzureError):
    """400 ``jsonlValidationFailed``: an uploaded fine-tuning file is not JSON Lines."""

    gateway = True

    def __init__(self, message: str) -> None:
        super().__init__(message, code="jsonlValidationFailed")


class FileTooLarge(AzureError):
    """413: an upload over the size limit of its purpose (512 MB for files, 200 MB for batch input)."""

    status = 413
    gateway = True

    def __init__(self, limit: int, purpose: str | None = None) -> None:
        which = f" with purpose '{purpose}'" if purpose else ""
        super().__init__(
            f"The file is too large. Files{which} may be at most {limit} bytes.", code="invalidPayload"
        )
        self.limit = limit


# -- content filtering (behaviour/content_filter.py) ---------------------------------------------------------------

__all__ += ["PromptFiltered", "ImagePromptFiltered", "PROMPT_FILTERED_MESSAGE", "IMAGE_PROMPT_FILTERED_MESSAGE",
            "PROMPT_FILTERED_MESSAGE_2024_02"]

PROMPT_FILTERED_MESSAGE = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please "
    "modify your prompt and retry. To learn more about our content filtering policies please read our "
    "documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)
# The 2024-02-15-preview shape's wording: a line break before the link and a final full stop
# [captured: recordings/errors/issues-error-bodies#3].
PROMPT_FILTERED_MESSAGE_2024_02 = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please "
    "modify your prompt and retry. To learn more about our content filtering policies please read our "
    "documentation: \r\nhttps://go.microsoft.com/fwlink/?linkid=2198766."
)
IMAGE_PROMPT_FILTERED_MESSAGE = (
    "Your request was rejected as a result of our safety system. Your prompt may contain text that is not "
    "allowed by our safety system."
)


class PromptFiltered(AzureError):
    """400: the prompt tripped the deployment's content filter (chat and completions) [captured].

    ``results`` is the prompt's filter results (``innererror.content_filter_result``, singular as the service
    writes it); None for api-versions without annotations, whose 400 has no ``innererror`` [captured, 2023].
    The body always carries ``status``.
    """

    def __init__(self, results: dict[str, Any] | None, shape: str = "innererror") -> None:
        inner = None if results is None else {"code": "ResponsibleAIPolicyViolation", "content_filter_result": results}
        super().__init__(PROMPT_FILTERED_MESSAGE, code="content_filter", param="prompt", type=None, inner=inner)
        self.results = results
        self.shape = shape
        if shape == "inner_error":
            self.message = PROMPT_FILTERED_MESSAGE_2024_02
            self.args = (self.message,)

    def body(self) -> dict[str, Any]:
        if self.shape == "inner_error":
            return self._body_2024_02()
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "param": self.param,
            "code": self.code,
            "status": self.status,
        }
        if self.inner is not None:
            error["innererror"] = self.inner
        return {"error": error}

    def _body_2024_02(self) -> dict[str, Any]:
        """``shape="inner_error"`` (the 2024-02-15-preview era): ``inner_error`` with plural
        ``content_filter_results`` holding only what the blocking check reports, and no ``status``
        [captured: recordings/errors/issues-error-bodies#3]."""
        error: dict[str, Any] = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        if self.results is not None:
            error["inner_error"] = {
                "code": "ResponsibleAIPolicyViolation",
                "content_filter_results": _blocking_check(self.results),
            }
        return {"error": error}


_PROMPT_SHIELDS = frozenset({"jailbreak", "indirect_attack"})


def _blocking_check(results: dict[str, Any]) -> dict[str, Any]:
    """The results of the check that blocked: the prompt shield's own keys when only a shield blocked
    [captured: issues-error-bodies#3, ``{"jailbreak": {...}}`` alone], else everything the harm classifiers
    report (a public capture of the same shape lists the four harm categories, sexual filtered, no jailbreak)."""
    def blocked(value: Any) -> bool:
        return isinstance(value, dict) and bool(value.get("filtered"))

    if not any(blocked(v) for k, v in results.items() if k not in _PROMPT_SHIELDS):
        return {k: v for k, v in results.items() if k in _PROMPT_SHIELDS and blocked(v)}
    return {k: v for k, v in results.items() if k not in _PROMPT_SHIELDS}


class ImagePromptFiltered(AzureError):
    """400: an image prompt tripped the content filter. DALL-E's shape [captured]: sorted keys, ``inner_error``
    with plural ``content_filter_results``, no ``param``; no ``inner_error`` without annotations."""

    def __init__(self, results: dict[str, Any] | None) -> None:
        inner = None if results is None else {"code": "ResponsibleAIPolicyViolation", "content_filter_results": results}
        super().__init__(IMAGE_PROMPT_FILTERED_MESSAGE, code="content_policy_violation", inner=inner)
        self.results = results

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code}
        if self.inner is not None:
            error["inner_error"] = self.inner
        error["message"] = self.message
        error["type"] = self.type
        return {"error": error}


# -- the mock's own scenarios, and the Responses API's filtered prompt -------------------------------------------

class UnknownScenario(InvalidRequest):
    def __init__(self, name: str, known: Iterable[str]) -> None:
        listed = ", ".join(known) or "none"
        message = f"aoai-mock: no scenario named {name!r} is loaded (loaded: {listed})."
        super().__init__(message, code="unknown_scenario")


class ScriptedError(AzureError):
    """An error a scenario answers with; ``gateway`` picks the short ``{code, message}`` body."""

    def __init__(self, message: str, *, gateway: bool = False, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.gateway = gateway  # type: ignore[misc]


# The typographic apostrophe is the service's [captured: see behaviour/responses/filtering.py]; chat's has "'".
RESPONSES_PROMPT_FILTERED_MESSAGE = (
    "The response was filtered due to the prompt triggering Azure OpenAI\u2019s content management policy. Please "
    "modify your prompt and retry. To learn more about our content filtering policies please read our "
    "documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)


class ResponsesPromptFiltered(PromptFiltered):
    """400: a Responses request's prompt tripped the deployment's content filter.

    ``results`` are the prompt's ``content_filter_results`` (None for an api-version without annotations);
    ``detailed`` says whether the body lists them in ``content_filters`` (the v1 family).
    """

    def __init__(self, results: dict[str, Any] | None, detailed: bool) -> None:
        super().__init__(results)
        self.message = RESPONSES_PROMPT_FILTERED_MESSAGE
        self.type = "invalid_request_error"
        self.inner = None
        self.detailed = detailed and results is not None
        self.args = (self.message,)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        if self.detailed:
            error["content_filters"] = [
                {"blocked": True, "source_type": "prompt", "content_filter_results": self.results}
            ]
        return {"error": error}


class InvalidFaultHeader(InvalidRequest):
    """400 for an ``x-aoai-mock-fault`` header the mock cannot read; ``usage`` says the grammar and kinds."""

    def __init__(self, header: str, problem: str, usage: str) -> None:
        super().__init__(f"aoai-mock: x-aoai-mock-fault {header!r}: {problem} ({usage}).",
                         param="x-aoai-mock-fault", code="invalid_fault")


__all__ += ["UnknownScenario", "ScriptedError", "ResponsesPromptFiltered", "RESPONSES_PROMPT_FILTERED_MESSAGE",
            "InvalidFaultHeader"]
