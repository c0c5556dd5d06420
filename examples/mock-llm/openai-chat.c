/* mock-llm OpenAI Chat Completions: POST /v1/chat/completions, streaming or not, echo or one
 * scripted tool call. Trust level: parses untrusted request JSON (bounded by main.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "mock-llm.h"

struct chat {
        char id[64];
        json_int_t created;
        const char *model;
        bool include_usage;
        struct toolcall tool; /* name NULL: plain text reply */
        char *reply;
        json_int_t prompt_tokens, completion_tokens;
};

/* Text of every message, counted; the last user or tool message is what gets echoed. */
static int chat_prompt(const json_t *messages, struct prompt *ret)
{
        struct prompt p = {};
        size_t i;
        const json_t *m;
        json_array_foreach(messages, i, m) {
                struct strbuf b = STRBUF_INIT(MOCK_MAX_BODY);
                int r = prompt_add_content(&b, json_object_get(m, "content"));
                if (r < 0) {
                        strbuf_free(&b);
                        prompt_done(&p);
                        return r;
                }
                p.words += count_words(b.data);
                const char *role = json_get_str(m, "role", "");
                if (!strcmp(role, "user") || !strcmp(role, "tool") || !strcmp(role, "function")) {
                        free(p.last_user);
                        p.last_user = b.data ? b.data : strdup("");
                        if (!p.last_user)
                                return -ENOMEM;
                } else
                        strbuf_free(&b);
        }
        if (!p.last_user && !(p.last_user = strdup("")))
                return -ENOMEM;
        p.words = MAX(p.words, 1ul);
        *ret = p;
        return 0;
}

static json_t *usage_json(const struct chat *c)
{
        return json_pack("{s:I, s:I, s:I, s:{s:i}, s:{s:i}}", "prompt_tokens", c->prompt_tokens,
                         "completion_tokens", c->completion_tokens, "total_tokens",
                         c->prompt_tokens + c->completion_tokens, "prompt_tokens_details",
                         "cached_tokens", 0, "completion_tokens_details", "reasoning_tokens", 0);
}

static json_t *tool_call_json(const struct chat *c, bool with_index, const char *args)
{
        json_t *t = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", "call_mock_1", "type", "function",
                              "function", "name", c->tool.name, "arguments", args);
        if (t && with_index)
                json_object_set_new(t, "index", json_integer(0));
        return t;
}

static enum MHD_Result chat_full(struct mock_req *r, const struct chat *c)
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

static json_t *chunk(const struct chat *c, json_t *delta, const char *finish)
{
        json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:[{s:i, s:o, s:n, s:s?}]}", "id", c->id,
                              "object", "chat.completion.chunk", "created", c->created, "model",
                              c->model, "system_fingerprint", "fp_mock", "choices", "index", 0,
                              "delta", delta, "logprobs", "finish_reason", finish);
        if (j && c->include_usage)
                json_object_set_new(j, "usage", json_null());
        return j;
}

static enum MHD_Result chat_stream(struct mock_req *r, const struct chat *c, bool reset)
{
        struct stream *s = stream_new(r);
        if (!s)
                return MHD_NO;
        const char *text = c->tool.name ? c->tool.args : c->reply;
        size_t len = strlen(text);
        size_t want = c->tool.name ? MAX(mock_cfg.chunks, 2u) : mock_cfg.chunks;
        _cleanup_free_ size_t *offs = calloc(want + 1, sizeof(size_t));
        if (!offs)
                goto fail;
        size_t n = split_utf8(text, len, want, offs);

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
        if (reset)
                stream_reset_before(s, 2);
        return stream_queue(r, API_OPENAI, s);
fail:
        stream_free(s);
        return MHD_NO;
}

enum MHD_Result openai_chat(struct mock_req *r)
{
        const json_t *b = r->json;
        const char *model = json_get_str(b, "model", NULL);
        const json_t *messages = json_object_get(b, "messages");
        if (!model)
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "you must provide a model parameter");
        if (!json_is_array(messages) || json_array_size(messages) == 0)
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "'messages' must be a non-empty array");
        if (json_get_int(b, "n", 1) != 1)
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "mock-llm only supports n=1");

        struct prompt p = {};
        if (chat_prompt(messages, &p) < 0)
                return MHD_NO;
        bool stream = json_is_true(json_object_get(b, "stream"));
        enum fail_mode f = fail_mode_of(p.last_user);
        enum MHD_Result ret;
        if (fail_handle(r, API_OPENAI, f, stream, &ret)) {
                prompt_done(&p);
                return ret;
        }

        struct chat c = {
                .created = (json_int_t)time(NULL),
                .model = model,
                .prompt_tokens = (json_int_t)p.words,
        };
        snprintf(c.id, sizeof(c.id), "chatcmpl-mock-%lu", r->id);
        c.include_usage = json_is_true(
                json_object_get(json_object_get(b, "stream_options"), "include_usage"));
        int k = toolcall_parse(p.last_user, &c.tool);
        if (k < 0) {
                prompt_done(&p);
                return reply_error(r, API_OPENAI, 400, "invalid_request_error", NULL,
                                   "call_tool: needs a tool name and a JSON object");
        }
        if (k == 0) {
                c.reply = echo_text(p.last_user);
                if (!c.reply) {
                        prompt_done(&p);
                        return MHD_NO;
                }
                c.completion_tokens = (json_int_t)count_words(c.reply);
        } else
                c.completion_tokens =
                        (json_int_t)(count_words(c.tool.name) + count_words(c.tool.args));
        prompt_done(&p);

        ret = stream ? chat_stream(r, &c, f == FAIL_RESET) : chat_full(r, &c);
        free(c.reply);
        toolcall_done(&c.tool);
        return ret;
}
