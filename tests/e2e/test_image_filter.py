"""Content filtering on images: a filtered image prompt is the image-specific 400; results in data[]."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests.conftest import KEY

CONFIG = """
deployments:
  - name: dall-e-3
    model: dall-e-3
    version: "3.0"
    kind: image
    content_filter:
      blocklists: [{id: no-dragons, terms: [dragon]}]
      triggers: [{words: [explosion], category: violence, severity: high, side: prompt}]
"""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureOpenAI]:
    config = Path(tmp_path_factory.mktemp("images")) / "config.yaml"
    config.write_text(CONFIG)
    with LiveServer(resolve({"port": 0, "config_path": str(config)}, env={})) as live:
        yield AzureOpenAI(azure_endpoint=live.url, api_key=KEY, api_version="2024-10-21", max_retries=0)


def test_a_safe_prompt_is_annotated_in_data(client: AzureOpenAI) -> None:
    raw = client.images.with_raw_response.generate(model="dall-e-3", prompt="A quiet harbour at dawn", n=1)
    data = raw.http_response.json()["data"][0]
    assert data["prompt_filter_results"]["violence"] == {"filtered": False, "severity": "safe"}
    assert data["content_filter_results"]["hate"] == {"filtered": False, "severity": "safe"}


@pytest.mark.parametrize("prompt", ["A huge explosion over the city", "A dragon in the sky"])
def test_a_filtered_image_prompt_is_the_image_400(client: AzureOpenAI, prompt: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="dall-e-3", prompt=prompt, n=1)
    body = caught.value.body
    assert isinstance(body, dict) and body["code"] == "content_policy_violation"
    assert body["inner_error"]["code"] == "ResponsibleAIPolicyViolation"
