// openai-node's AzureOpenAI against aoai-mock: a chat completion, then the same request streamed.
// The code is what runs against a real Azure resource; only the endpoint and the key differ.
//
//   AZURE_OPENAI_ENDPOINT=http://127.0.0.1:8000 AZURE_OPENAI_API_KEY=any-key node openai-azure.mjs
import { AzureOpenAI } from 'openai';

const client = new AzureOpenAI({
  endpoint: process.env.AZURE_OPENAI_ENDPOINT ?? 'http://127.0.0.1:8000',
  apiKey: process.env.AZURE_OPENAI_API_KEY ?? 'any-key',
  apiVersion: '2024-10-21',
  deployment: 'gpt-4o',
});

const messages = [{ role: 'user', content: 'When was Microsoft founded?' }];

const completion = await client.chat.completions.create({ model: 'gpt-4o', messages });
console.log(`chat: ${completion.choices[0].message.content}`);
console.log(`usage: ${completion.usage.prompt_tokens} prompt, ${completion.usage.completion_tokens} completion`);

const stream = await client.chat.completions.create({
  model: 'gpt-4o',
  messages,
  stream: true,
  stream_options: { include_usage: true },
});
let streamed = '';
let chunks = 0;
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta?.content ?? '';
  chunks += 1;
}
console.log(`stream: ${streamed}`);
console.log(`chunks: ${chunks}`);
