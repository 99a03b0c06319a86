"""The openai SDK against a running aoai-mock container: `python docker/sdk_check.py http://127.0.0.1:PORT`.

Part of `make docker-test` (docker/test.sh). The container has examples/compose/scenarios mounted at
/scenarios, so the scripted answer proves the mount is read; the rest is the shipped echo responder.
"""

import sys

from openai import AzureOpenAI


def main(endpoint: str) -> int:
    client = AzureOpenAI(azure_endpoint=endpoint, api_key="any-key", api_version="2024-10-21", max_retries=0)
    scripted = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Who answers?"}])
    assert scripted.choices[0].message.content == "aoai-mock, from its container.", scripted
    stream = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hello from the host"}], stream=True
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "Hello from the host" in streamed, streamed
    vectors = client.embeddings.create(model="text-embedding-3-small", input=["one", "two"])
    assert len(vectors.data) == 2, vectors
    print(f"openai SDK against {endpoint}: scripted answer, stream {streamed!r}, {len(vectors.data)} embeddings")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
