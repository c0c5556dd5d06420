// The official @anthropic-ai/sdk client against qclaw-proxy /v1/messages: native non-stream and
// stream, a streamed tool call to an OpenAI-type provider (reverse translation), error classes.
// Env: PROXY_URL, TOKEN. Exits non-zero on any failure.
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';

const client = new Anthropic({ baseURL: process.env.PROXY_URL, apiKey: process.env.TOKEN, maxRetries: 0 });

const m = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'sdk native' }] });
assert.equal(m.content[0].text, 'echo: sdk native');
assert.ok(m.usage.output_tokens > 0);

const s = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'sdk native stream' }] });
let text = '';
s.on('text', (d) => { text += d; });
const fin = await s.finalMessage();
assert.equal(text, 'echo: sdk native stream');
assert.equal(fin.stop_reason, 'end_turn');

// Claude-Code style request to an OpenAI-type provider, streamed, with a tool call.
const ts = client.messages.stream({
  model: 'gpt-4o', max_tokens: 64,
  tools: [{ name: 'read_file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } }],
  messages: [{ role: 'user', content: 'call_tool:read_file {"path":"/etc/hosts"}' }],
});
const tm = await ts.finalMessage();
assert.equal(tm.stop_reason, 'tool_use');
const tu = tm.content.find((b) => b.type === 'tool_use');
assert.equal(tu.name, 'read_file');
assert.deepEqual(tu.input, { path: '/etc/hosts' });

await assert.rejects(client.messages.create({ model: 'forbidden-model', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
  (e) => e instanceof Anthropic.PermissionDeniedError && e.status === 403);
await assert.rejects(client.messages.create({ model: 'no-such-model', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
  (e) => e instanceof Anthropic.NotFoundError && e.status === 404);
console.log('anthropic SDK: ok');
