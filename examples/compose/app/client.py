"""The example app: unchanged Azure OpenAI code, pointed at the mock by AZURE_OPENAI_ENDPOINT."""

import os
import sys

from openai import AzureOpenAI

# AzureOpenAI() reads AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and OPENAI_API_VERSION itself.
client = AzureOpenAI(max_retries=0)
completion = client.chat.completions.create(
    model=os.environ.get("AZURE_OPENAI_DEPLOYMENT", "gpt-4o"),
    messages=[{"role": "user", "content": "Who answers?"}],
)
answer = completion.choices[0].message.content
print(f"{os.environ['AZURE_OPENAI_ENDPOINT']} answered: {answer!r} ({completion.usage.total_tokens} tokens)")
sys.exit(0 if answer == "aoai-mock, from its container." else 1)
