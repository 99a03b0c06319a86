// LangChain.js (@langchain/openai) against aoai-mock: AzureChatOpenAI asked once and streamed once,
// AzureOpenAIEmbeddings for a query. The chat model takes azureOpenAIEndpoint; the embeddings class reads
// only azureOpenAIBasePath (or an instance name, which means a real *.openai.azure.com host).
//
//   AZURE_OPENAI_ENDPOINT=http://127.0.0.1:8000 AZURE_OPENAI_API_KEY=any-key node langchain-azure.mjs
import { AzureChatOpenAI, AzureOpenAIEmbeddings } from '@langchain/openai';

const endpoint = process.env.AZURE_OPENAI_ENDPOINT ?? 'http://127.0.0.1:8000';
const azure = {
  azureOpenAIApiKey: process.env.AZURE_OPENAI_API_KEY ?? 'any-key',
  azureOpenAIApiVersion: '2024-10-21',
};

const llm = new AzureChatOpenAI({
  ...azure,
  azureOpenAIEndpoint: endpoint,
  azureOpenAIApiDeploymentName: 'gpt-4o',
  maxRetries: 0,
});

const answer = await llm.invoke('When was Microsoft founded?');
console.log(`chat: ${answer.content}`);

let streamed = '';
for await (const chunk of await llm.stream('When was Microsoft founded?')) {
  streamed += chunk.content;
}
console.log(`stream: ${streamed}`);

const embeddings = new AzureOpenAIEmbeddings({
  ...azure,
  azureOpenAIBasePath: `${endpoint}/openai/deployments`,
  azureOpenAIApiDeploymentName: 'text-embedding-3-small',
  maxRetries: 0,
});
const vector = await embeddings.embedQuery('When was Microsoft founded?');
console.log(`embedding: ${vector.length} numbers`);
