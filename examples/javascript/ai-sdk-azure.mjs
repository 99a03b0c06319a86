// The Vercel AI SDK's Azure provider (@ai-sdk/azure) against aoai-mock, through the /openai/v1 routes:
// azure('gpt-4o') speaks the Responses API, azure.chat('gpt-4o') chat completions; each is asked once
// and streamed once, and azure.embedding() embeds.
//
//   AZURE_OPENAI_ENDPOINT=http://127.0.0.1:8000 AZURE_OPENAI_API_KEY=any-key node ai-sdk-azure.mjs
import { createAzure } from '@ai-sdk/azure';
import { embed, generateText, streamText } from 'ai';

const endpoint = process.env.AZURE_OPENAI_ENDPOINT ?? 'http://127.0.0.1:8000';
const azure = createAzure({
  baseURL: `${endpoint}/openai/v1`,
  apiKey: process.env.AZURE_OPENAI_API_KEY ?? 'any-key',
});

const prompt = 'When was Microsoft founded?';

const responses = await generateText({ model: azure('gpt-4o'), prompt });
console.log(`responses: ${responses.text}`);

const chat = await generateText({ model: azure.chat('gpt-4o'), prompt });
console.log(`chat: ${chat.text}`);

for (const [name, model] of [['responses', azure('gpt-4o')], ['chat', azure.chat('gpt-4o')]]) {
  const result = streamText({ model, prompt });
  let streamed = '';
  for await (const part of result.textStream) {
    streamed += part;
  }
  console.log(`${name} stream: ${streamed}`);
}

const { embedding } = await embed({ model: azure.embedding('text-embedding-3-small'), value: prompt });
console.log(`embedding: ${embedding.length} numbers`);
