// The official openai npm client against qclaw-proxy: chat non-stream and stream, a tool call
// through the Anthropic translation, and the error classes for 403/404/401.
// Env: PROXY_URL (http://127.0.0.1:PORT), TOKEN (client token). Exits non-zero on any failure.
import OpenAI from 'openai';
import assert from 'node:assert/strict';

const client = new OpenAI({ baseURL: `${process.env.PROXY_URL}/v1`, apiKey: process.env.TOKEN, maxRetries: 0 });

const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'sdk hello' }] });
assert.equal(r.choices[0].message.content, 'echo: sdk hello');
assert.ok(r.usage.total_tokens > 0);

let text = '';
const stream = await client.chat.completions.create({
  model: 'claude-sonnet-4-5', stream: true, stream_options: { include_usage: true },
  messages: [{ role: 'user', content: 'sdk stream' }],
});
let usage = null;
for await (const chunk of stream) {
  if (chunk.choices.length) text += chunk.choices[0].delta.content ?? '';
  if (chunk.usage) usage = chunk.usage;
}
assert.equal(text, 'echo: sdk stream');
assert.ok(usage && usage.completion_tokens > 0, 'usage chunk');

const t = await client.chat.completions.create({
  model: 'claude-sonnet-4-5',
  messages: [{ role: 'user', content: 'call_tool:get_time {"tz":"UTC"}' }],
  tools: [{ type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } } } } }],
});
assert.equal(t.choices[0].finish_reason, 'tool_calls');
assert.equal(t.choices[0].message.tool_calls[0].function.name, 'get_time');
assert.deepEqual(JSON.parse(t.choices[0].message.tool_calls[0].function.arguments), { tz: 'UTC' });

// Streamed tool call through the translation, accumulated the way SDK users do.
const ts = await client.chat.completions.create({
  model: 'claude-sonnet-4-5', stream: true,
  messages: [{ role: 'user', content: 'call_tool:get_time {"tz":"CET"}' }],
});
let args = '', name = '';
for await (const chunk of ts) {
  const tc = chunk.choices[0]?.delta?.tool_calls?.[0];
  if (tc?.function?.name) name = tc.function.name;
  if (tc?.function?.arguments) args += tc.function.arguments;
}
assert.equal(name, 'get_time');
assert.deepEqual(JSON.parse(args), { tz: 'CET' });

await assert.rejects(client.chat.completions.create({ model: 'forbidden-model', messages: [{ role: 'user', content: 'x' }] }),
  (e) => e instanceof OpenAI.PermissionDeniedError && e.status === 403);
await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
  (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
const bad = new OpenAI({ baseURL: `${process.env.PROXY_URL}/v1`, apiKey: 'not-a-valid-token-000', maxRetries: 0 });
await assert.rejects(bad.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
  (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
const models = await client.models.list();
assert.ok(Array.isArray(models.data));
console.log('openai SDK: ok');
