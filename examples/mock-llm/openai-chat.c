/* mock-llm OpenAI Chat Completions: POST /v1/chat/completions, streaming or not, echo or one
 * scripted tool call. Trust level: parses untrusted request JSON (bounded by main.c). */
#include <stdio.h>
#include <stdlib.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "mock-llm.h"

/* Text of every message, counted; the last user or tool message is what gets echoed. */
static const char *const echo_roles[] = { "user", "tool", "function", NULL };

static json_t *usage_json(const struct gen *c)
{
        return json_pack("{s:I, s:I, s:I, s:{s:i}, s:{s:i}}", "prompt_tokens", c->in,
                         "completion_tokens", c->out, "total_tokens", c->in + c->out,
                         "prompt_tokens_details", "cached_tokens", 0, "completion_tokens_details",
                         "reasoning_tokens", 0);
}

static json_t *tool_call_json(const struct gen *c, bool with_index, const char *args)
{
        json_t *t = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", "call_mock_1", "type", "function",
                              "function", "name", c->tool.name, "arguments", args);
        if (t && with_index)
                json_object_set_new(t, "index", json_integer(0));
        return t;
}

static enum MHD_Result chat_full(struct mock_req *r, const struct gen *c)
{
        json_t *msg = json_pack("{s:s, s:s?, s:n}", "role", "assistant", "content", c->reply,
                                "refusal");
        if (msg && c->tool.name)
                json_object_set_new(msg, "tool_calls",
                                    json_pack("[o]", tool_call_json(c, false, c->tool.args)));
        json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:[{s:i, s:o, s:n, s:s}], s:o}", "id",
                              c->id, "object", "chat.completion", "created", c->created, "model",
                              c->model, "system_fingerprint", "fp_mock", "choices", "index", 0,
                              "message", msg, "logprobs", "finish_reason",
                              c->tool.name ? "tool_calls" : "stop", "usage", usage_json(c));
        return reply_json(r, API_OPENAI, 200, j);
}

static json_t *chunk(const struct gen *c, json_t *delta, const char *finish)
{
        json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:[{s:i, s:o, s:n, s:s?}]}", "id", c->id,
                              "object", "chat.completion.chunk", "created", c->created, "model",
                              c->model, "system_fingerprint", "fp_mock", "choices", "index", 0,
                              "delta", delta, "logprobs", "finish_reason", finish);
        if (j && c->include_usage)
                json_object_set_new(j, "usage", json_null());
        return j;
}

static enum MHD_Result chat_stream(struct mock_req *r, const struct gen *c)
{
        struct stream *s = stream_new(r);
        if (!s)
                return MHD_NO;
        const char *text = gen_text(c);
        size_t n = 0;
        _cleanup_free_ size_t *offs = gen_pieces(c, &n);
        if (!offs)
                goto fail;

        json_t *first = c->tool.name
                ? json_pack("{s:s, s:n, s:[o]}", "role", "assistant", "content", "tool_calls",
                            tool_call_json(c, true, ""))
                : json_pack("{s:s, s:s}", "role", "assistant", "content", "");
        if (stream_chunk(s) < 0 || stream_event(s, NULL, chunk(c, first, NULL)) < 0)
                goto fail;
        for (size_t i = 0; i < n; i++) {
                json_t *piece = json_stringn(text + offs[i], offs[i + 1] - offs[i]);
                json_t *delta = c->tool.name
                        ? json_pack("{s:[{s:i, s:{s:o}}]}", "tool_calls", "index", 0, "function",
                                    "arguments", piece)
                        : json_pack("{s:o}", "content", piece);
                if (stream_chunk(s) < 0 || stream_event(s, NULL, chunk(c, delta, NULL)) < 0)
                        goto fail;
        }
        if (stream_chunk(s) < 0 ||
            stream_event(s, NULL, chunk(c, json_object(), c->tool.name ? "tool_calls" : "stop")) <
                    0)
                goto fail;
        if (c->include_usage) {
                json_t *u = json_pack("{s:s, s:s, s:I, s:s, s:s, s:[], s:o}", "id", c->id, "object",
                                      "chat.completion.chunk", "created", c->created, "model",
                                      c->model, "system_fingerprint", "fp_mock", "choices",
                                      "usage", usage_json(c));
                if (stream_event(s, NULL, u) < 0)
                        goto fail;
        }
        if (stream_raw(s, "data: [DONE]\n\n") < 0)
                goto fail;
        if (c->fail == FAIL_RESET)
                stream_reset_before(s, 2);
        return stream_queue(r, API_OPENAI, s);
fail:
        stream_free(s);
        return MHD_NO;
}

enum MHD_Result openai_chat(struct mock_req *r)
{
        const json_t *b = r->json;
        const json_t *messages = json_object_get(b, "messages");
        struct gen c = { .model = json_get_str(b, "model", NULL),
                         .stream = json_is_true(json_object_get(b, "stream")) };
        if (!c.model)
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "you must provide a model parameter");
        if (!json_is_array(messages) || json_array_size(messages) == 0)
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "'messages' must be a non-empty array");
        if (json_get_int(b, "n", 1) != 1)
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "mock-llm only supports n=1");

        snprintf(c.id, sizeof(c.id), "chatcmpl-mock-%lu", r->id);
        c.include_usage = json_is_true(
                json_object_get(json_object_get(b, "stream_options"), "include_usage"));

        struct prompt p = {};
        if (prompt_add_messages(&p, messages, echo_roles) < 0 || prompt_finish(&p) < 0) {
                prompt_done(&p);
                return MHD_NO;
        }
        enum MHD_Result ret;
        if (gen_prepare(r, API_OPENAI, &c, &p, true, &ret))
                return ret;
        ret = c.stream ? chat_stream(r, &c) : chat_full(r, &c);
        gen_done(&c);
        return ret;
}
