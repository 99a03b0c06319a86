"""Malformed requests: each gets Azure's error (status, body, headers), never a 500 or a hang, and the
server keeps serving afterwards.

Gateway bodies that ``WIRE-NOTES.md`` quotes are compared byte for byte (spacing included: the 404 really
has a space after ``"message":``). Model-service errors are checked for their shape, ``param``, ``code``
and the telling part of the message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aoai_mock.errors import PermissionDenied, ResourceNotFound
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import GA, KEY, chat_path

# [captured] bodies, exactly as WIRE-NOTES.md gives them.
ACCESS_DENIED = (
    b'{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. '
    b"Make sure to provide a valid key for an active subscription and use a correct regional API endpoint "
    b'for your resource."}}'
)
NOT_FOUND = b'{"error":{"code":"404","message": "Resource not found"}}'
VERSION_NOT_SUPPORTED = b'{"error":{"code":"BadRequest","message":"API version not supported"}}'
MODEL_NEEDS_NEWER = (
    b'{"error":{"code":"BadRequest","message":"Model {modelName} is enabled only for api versions '
    b'2024-12-01-preview and later"}}'
)
DEPLOYMENT_NOT_FOUND = (
    b'{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. '
    b'If you created the deployment within the last 5 minutes, please wait a moment and try again."}}'
)
AZURE_HEADERS = ("apim-request-id", "x-request-id", "x-ms-region")
MESSAGES = [{"role": "user", "content": "hi"}]
PREVIEW = "2024-12-01-preview"
EMBED = f"/openai/deployments/text-embedding-3-small/embeddings?api-version={GA}"
ADA = f"/openai/deployments/text-embedding-ada-002/embeddings?api-version={GA}"
INSTRUCT = f"/openai/deployments/gpt-35-turbo-instruct/completions?api-version={GA}"
JSON = {"content-type": "application/json"}


def model_error(param: str | None, code: str | None, says: str) -> dict[str, Any]:
    return {"param": param, "code": code, "says": says}


def case(name: str, status: int, expect: bytes | dict[str, Any], **request: Any) -> Any:
    request.setdefault("method", "POST")
    request.setdefault("url", chat_path())
    return pytest.param(request, status, expect, id=name)


def chat(**body: Any) -> dict[str, Any]:
    return {"messages": MESSAGES, **body}


BODY_CASES = [
    case("invalid JSON", 400, model_error(None, None, "We could not parse the JSON body"),
         content=b'{"messages": [', headers=JSON),
    case("invalid UTF-8", 400, model_error(None, None, "We could not parse the JSON body"),
         content=b'{"messages": [{"role": "user", "content": "\xff"}]}', headers=JSON),
    case("NaN", 400, model_error(None, None, "We could not parse the JSON body"),
         content=b'{"messages": [{"role": "user", "content": "hi"}], "temperature": NaN}', headers=JSON),
    case("nested too deep", 400, model_error(None, None, "We could not parse the JSON body"),
         content=b'{"messages": ' + b"[" * 5000 + b"]" * 5000 + b"}", headers=JSON),
    case("empty body", 400, model_error(None, None, "We could not parse the JSON body"), content=b"", headers=JSON),
    case("JSON array", 400, model_error(None, "invalid_type", "expected an object, but got an array"), json=[1]),
    case("JSON number", 400, model_error(None, "invalid_type", "expected an object, but got an integer"), json=3),
    case("missing messages", 400, model_error("messages", "missing_required_parameter", "'messages'"), json={}),
    case("stream_options without stream", 400,
         model_error("stream_options", "invalid_value", "only allowed when 'stream' is enabled"),
         json={"messages": [{"role": "user", "content": "hi"}], "stream_options": {"include_usage": True}}),
    case("empty messages", 400, model_error("messages", "empty_array", "empty array"), json={"messages": []}),
    case("bad role", 400, model_error("messages[0].role", "invalid_value", "Invalid value: 'robot'"),
         json={"messages": [{"role": "robot", "content": "x"}]}),
    case("content wrong type", 400, model_error("messages[0].content", "invalid_type", "got an integer"),
         json={"messages": [{"role": "user", "content": 5}]}),
    case("tool message without tool_call_id", 400,
         model_error("messages[0].tool_call_id", "missing_required_parameter", "'messages[0].tool_call_id'"),
         json={"messages": [{"role": "tool", "content": "x"}]}),
    case("unknown field", 400, model_error(None, None, "Unrecognized request argument supplied: foo"),
         json=chat(foo=1)),
    case("n=0", 400, model_error("n", "integer_below_min_value", "Expected a value >= 1, but got 0"), json=chat(n=0)),
    case("n=200", 400, model_error("n", "integer_above_max_value", "Expected a value <= 128, but got 200"),
         json=chat(n=200)),
    case("temperature 3", 400, model_error(
        "temperature", "decimal_above_max_value",
        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3.0 instead."),
        json=chat(temperature=3)),
    case("string for int", 400, model_error("max_tokens", "invalid_type", "expected an integer, but got a string"),
         json=chat(max_tokens="5")),
    case("max_tokens over the output cap", 400,
         model_error("max_tokens", "invalid_value", "This model supports at most 16384 completion tokens"),
         json=chat(max_tokens=20000)),
    case("max_tokens over the context window", 400,
         model_error("messages", "context_length_exceeded", "maximum context length is 8192 tokens"),
         json=chat(max_tokens=8190), url=chat_path("gpt-4")),
    case("max_tokens on o-series", 400, model_error(
        "max_tokens", "unsupported_parameter", "'max_tokens' is not supported with this model"),
         json=chat(max_tokens=5), url=chat_path("o3-mini", PREVIEW)),
    case("o-series on an older api-version", 400, MODEL_NEEDS_NEWER, json=chat(), url=chat_path("o3-mini", GA)),
    case("dimensions on ada-002", 400, model_error("dimensions", None, "does not support specifying dimensions"),
         json={"input": "x", "dimensions": 256}, url=ADA),
    case("empty embeddings input", 400, model_error("input", None, "'$.input' is invalid"),
         json={"input": ""}, url=EMBED),
    case("empty embeddings input list", 400, model_error("input", None, "'$.input' is invalid"),
         json={"input": []}, url=EMBED),
    case("unknown token id (embeddings)", 400, model_error(None, None, "Invalid token in prompt: -1."),
         json={"input": [-1]}, url=EMBED),
    case("unknown token id (completions)", 400, model_error(None, None, "Invalid token in prompt: 100256."),
         json={"prompt": [100256]}, url=INSTRUCT),
    case("text/plain", 400, model_error(None, "invalid_content_type", "(text/plain)"),
         content=json.dumps(chat()).encode(), headers={"content-type": "text/plain"}),
    case("multipart", 400, model_error(None, "invalid_content_type", "(multipart/form-data)"),
         files={"file": ("a.json", b"{}")}),
    case("form-urlencoded", 400, model_error(None, "invalid_content_type", "(application/x-www-form-urlencoded)"),
         data={"messages": "hi"}),
]
ROUTE_CASES = [
    case("GET /", 404, NOT_FOUND, method="GET", url="/"),
    case("POST /openai/foo", 404, NOT_FOUND, url=f"/openai/foo?api-version={GA}", json=chat()),
    case("GET on the chat route", 404, NOT_FOUND, method="GET"),
    case("missing api-version", 404, NOT_FOUND, url="/openai/deployments/gpt-4o/chat/completions", json=chat()),
    case("unknown api-version", 400, VERSION_NOT_SUPPORTED, url=chat_path(version="2099-01-01"), json=chat()),
    case("api-version without chat", 404, NOT_FOUND, url=chat_path(version="2022-12-01"), json=chat()),
    case("missing key", 401, ACCESS_DENIED, json=chat(), headers={"api-key": None}),
    case("empty key", 401, ACCESS_DENIED, json=chat(), headers={"api-key": ""}),
    case("Basic instead of Bearer", 401, ACCESS_DENIED, json=chat(), headers={"api-key": None,
                                                                           "authorization": f"Basic {KEY}"}),
    case("Bearer without a token", 401, ACCESS_DENIED, json=chat(), headers={"api-key": None,
                                                                          "authorization": "Bearer"}),
    case("unknown deployment", 404, DEPLOYMENT_NOT_FOUND, url=chat_path("no-such-deployment"), json=chat()),
    case("chat on an embeddings deployment", 400, {"code": "OperationNotSupported"},
         url=chat_path("text-embedding-3-small"), json=chat()),
]


@pytest.fixture()
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as c:
        yield c


def send(client: httpx.Client, request: dict[str, Any]) -> httpx.Response:
    request = dict(request)
    headers = {"api-key": KEY, **request.pop("headers", {})}
    headers = {k: v for k, v in headers.items() if v is not None}
    return client.request(headers=headers, **request)


def check(response: httpx.Response, status: int, expect: bytes | dict[str, Any]) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    if status == 401:  # a refused key: the request id and the content's headers, nothing more [captured:
        # recordings/errors/net-ChatCompletionBadKey-401]
        assert set(response.headers) == {"apim-request-id", "content-type", "content-length", "date"}, response.headers
    else:
        assert all(response.headers.get(h) for h in AZURE_HEADERS), response.headers
    if isinstance(expect, bytes):
        assert response.content == expect
        return
    error = response.json()["error"]
    if "says" not in expect:  # a gateway error WIRE-NOTES names only by code
        assert error.keys() == {"code", "message"} and error["code"] == expect["code"]
        return
    assert error.keys() == {"message", "type", "param", "code"}
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", expect["param"], expect["code"])
    assert expect["says"] in error["message"]


def still_serving(client: httpx.Client) -> None:
    response = client.post(chat_path(), json=chat(), headers={"api-key": KEY})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("request_", "status", "expect"), BODY_CASES + ROUTE_CASES)
def test_bad_request_gets_azure_error(
    client: httpx.Client, request_: dict[str, Any], status: int, expect: bytes | dict[str, Any]
) -> None:
    check(send(client, request_), status, expect)
    still_serving(client)


def test_doubled_slash_is_served(base_url: str) -> None:
    # The legacy SDK with a trailing-slash api_base sends //openai/...; build the URL by hand, since
    # httpx would read a relative "//openai/..." as a host name.
    url = f"{base_url}//openai/deployments/gpt-4o/chat/completions?api-version={GA}"
    response = httpx.post(url, json=chat(), headers={"api-key": KEY})
    assert response.status_code == 200 and response.json()["object"] == "chat.completion"


@pytest.mark.parametrize("error", [ResourceNotFound(), PermissionDenied()], ids=lambda e: type(e).__name__)
def test_verbatim_gateway_bodies_say_what_body_says(error: Any) -> None:
    assert json.loads(error.verbatim) == error.body()


# -- the body-size limit, on a server of its own -------------------------------------------------------

LIMIT = 1000


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = tmp_path_factory.mktemp("config") / "small.yaml"
    config.write_text(f"max_body_bytes: {LIMIT}\n")
    settings = resolve({"port": 0, "config_path": config}, env={})
    assert settings.config.max_body_bytes == LIMIT
    with LiveServer(settings, fixtures_dir=Path(__file__).parents[1] / "data") as server:
        yield server.url


def _pieces(data: bytes, size: int = 256) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("size", [LIMIT + 1, 1_000_000])
def test_body_over_the_limit_is_413(small_server: str, framing: str, size: int) -> None:
    body = json.dumps(chat(user="x" * size)).encode()
    with httpx.Client(base_url=small_server, headers={"api-key": KEY, **JSON}, timeout=10) as client:
        response = client.post(chat_path(), content=body if framing == "content-length" else _pieces(body))
        assert response.request.headers.get("transfer-encoding") == ("chunked" if framing == "chunked" else None)
        check(response, 413, model_error(None, "request_too_large", f"The maximum size is {LIMIT} bytes"))
        still_serving(client)


def test_body_at_the_limit_is_accepted(small_server: str) -> None:
    empty = json.dumps(chat(user="")).encode()
    body = json.dumps(chat(user="x" * (LIMIT - len(empty)))).encode()
    assert len(body) == LIMIT
    with httpx.Client(base_url=small_server, headers={"api-key": KEY, **JSON}, timeout=10) as client:
        assert client.post(chat_path(), content=_pieces(body)).status_code == 200


@pytest.mark.parametrize(
    ("seed", "says"),
    [
        (b"1208925819614629174706176", "integer above maximum value. Expected a value <= 9223372036854775807, "
         "but got 1208925819614629174706176 instead."),
        (b"9223372036854775808", "integer above maximum value. Expected a value <= 9223372036854775807, "
         "but got 9223372036854775808 instead."),
        (b"-1208925819614629174706176", "integer below minimum value. Expected a value >= -9223372036854775808, "
         "but got -1208925819614629174706176 instead."),
    ],
)
def test_a_seed_past_64_bits_is_out_of_range_not_a_decimal(http: httpx.Client, seed: bytes, says: str) -> None:
    body = b'{"messages": [{"role": "user", "content": "hi"}], "seed": ' + seed + b"}"
    answer = http.post(chat_path(), content=body, headers=JSON)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"] == f"Invalid 'seed': {says}" and error["param"] == "seed"
    assert error["code"] == ("integer_below_min_value" if seed.startswith(b"-") else "integer_above_max_value")


def test_more_than_2048_messages_is_azures_400(http: httpx.Client) -> None:
    messages = [{"role": "user", "content": "hi"}] * 2049
    answer = http.post(chat_path(), json={"messages": messages})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"] == "'$.messages' is too long. Maximum length is 2048, but got 2049 items."
    assert error["param"] == "messages"
    assert http.post(chat_path(), json={"messages": messages[:2048]}).status_code == 200


def test_more_than_128_functions_is_refused_as_tools_are(http: httpx.Client) -> None:
    functions = [{"name": f"f{i}", "parameters": {"type": "object", "properties": {}}} for i in range(129)]
    answer = http.post(chat_path(), json={"messages": MESSAGES, "functions": functions})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "array_above_max_length" and error["param"] == "functions"
    assert "maximum length 128, but got an array with length 129" in error["message"]
