/* Anthropic message -> OpenAI chat.completion (llm-protocols.md 5.3), and the stop/finish reason
 * maps. Trust level: parses untrusted upstream JSON. Pure: no I/O. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "proxy/translate-internal.h"
#include "proxy/translate.h"

const char *translate_finish_reason_from_anthropic(const char *sr)
{
        static const struct { const char *from, *to; } map[] = {
                { "end_turn", "stop" },
                { "stop_sequence", "stop" },
                { "pause_turn", "stop" },
                { "max_tokens", "length" },
                { "model_context_window_exceeded", "length" },
                { "tool_use", "tool_calls" },
                { "refusal", "content_filter" },
        };
        for (size_t i = 0; sr && i < ELEMENTSOF(map); i++)
                if (strcmp(sr, map[i].from) == 0)
                        return map[i].to;
        return "stop";
}

const char *translate_stop_reason_from_openai(const char *fr)
{
        static const struct { const char *from, *to; } map[] = {
                { "stop", "end_turn" },
                { "length", "max_tokens" },
                { "tool_calls", "tool_use" },
                { "function_call", "tool_use" },
                { "content_filter", "refusal" },
        };
        for (size_t i = 0; fr && i < ELEMENTSOF(map); i++)
                if (strcmp(fr, map[i].from) == 0)
                        return map[i].to;
        return "end_turn";
}

json_t *translate_openai_usage(const struct llm_usage *u)
{
        return json_pack("{s:I, s:I, s:I, s:{s:I}}", "prompt_tokens", (json_int_t)u->input_tokens,
                         "completion_tokens", (json_int_t)u->output_tokens, "total_tokens",
                         (json_int_t)llm_usage_total(u), "prompt_tokens_details", "cached_tokens",
                         (json_int_t)u->cached_tokens);
}

int translate_emit(struct strbuf *out, const char *name, json_t *j)
{
        if (!j)
                return -ENOMEM;
        char *s = json_dump_compact(j);
        json_decref(j);
        if (!s)
                return -ENOMEM;
        int r = 0;
        if (name)
                r = strbuf_appendf(out, "event: %s\n", name);
        if (r >= 0)
                r = strbuf_appends(out, "data: ");
        if (r >= 0)
                r = strbuf_appends(out, s);
        if (r >= 0)
                r = strbuf_appends(out, "\n\n");
        free(s);
        return r;
}

json_t *translate_openai_tool_call(const char *id, const char *name, const json_t *input)
{
        _cleanup_free_ char *args = json_is_object(input) ? json_dump_compact(input) : strdup("{}");
        if (!args)
                return NULL;
        return json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "function", "function",
                         "name", name, "arguments", args);
}

char *translate_response_id(const struct translate_response_opts *o, const json_t *resp,
                            const char *prefix)
{
        if (o && o->id)
                return strdup(o->id);
        char *id = NULL;
        if (asprintf(&id, "%s%s", prefix, json_get_str(resp, "id", "0")) < 0)
                return NULL;
        return id;
}

static int tool_call_json(const json_t *block, json_t **ret)
{
        const char *id = json_get_str(block, "id", NULL);
        const char *name = json_get_str(block, "name", NULL);
        if (!id || !name)
                return -EBADMSG;
        *ret = translate_openai_tool_call(id, name, json_object_get(block, "input"));
        return *ret ? 0 : -ENOMEM;
}

int translate_response_anthropic_to_openai(const json_t *resp, const struct translate_response_opts *o,
                                           json_t **ret, struct llm_usage *ret_usage)
{
        int r;

        if (!json_is_object(resp))
                return -EBADMSG;
        const char *type = json_get_str(resp, "type", "message");
        const json_t *content = json_object_get(resp, "content");
        if (strcmp(type, "message") != 0 || !json_is_array(content))
                return -EBADMSG;

        struct strbuf text = STRBUF_INIT(64 * 1024 * 1024);
        _cleanup_json_ json_t *calls = json_array();
        if (!calls)
                return -ENOMEM;
        bool have_text = false;
        size_t i;
        const json_t *b;
        r = 0;
        json_array_foreach(content, i, b) {
                const char *bt = json_get_str(b, "type", "");
                if (strcmp(bt, "text") == 0) {
                        const json_t *t = json_object_get(b, "text");
                        if (!json_is_string(t))
                                continue;
                        have_text = true;
                        r = strbuf_append(&text, json_string_value(t), json_string_length(t));
                } else if (strcmp(bt, "tool_use") == 0) {
                        json_t *c = NULL;
                        r = tool_call_json(b, &c);
                        if (r >= 0)
                                r = translate_append(calls, c);
                }
                /* thinking, redacted_thinking, server tool blocks: dropped */
                if (r < 0)
                        break;
        }
        if (r < 0) {
                strbuf_free(&text);
                return r;
        }

        struct llm_usage u = { 0 };
        usage_from_anthropic(resp, &u);

        _cleanup_free_ char *id = translate_response_id(o, resp, "chatcmpl-");
        if (!id) {
                strbuf_free(&text);
                return -ENOMEM;
        }
        const char *model = o && o->model ? o->model : json_get_str(resp, "model", "");

        json_t *msg = json_pack("{s:s, s:o, s:n}", "role", "assistant", "content",
                                have_text ? json_stringn(text.data ? text.data : "", text.len)
                                          : json_null(),
                                "refusal");
        strbuf_free(&text);
        if (!msg)
                return -ENOMEM;
        if (json_array_size(calls) > 0 && json_object_set(msg, "tool_calls", calls) < 0) {
                json_decref(msg);
                return -ENOMEM;
        }
        const char *fr = translate_finish_reason_from_anthropic(json_get_str(resp, "stop_reason", NULL));
        json_t *out = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s}], s:o}", "id", id,
                                "object", "chat.completion", "created",
                                (json_int_t)(o ? o->created : 0), "model", model, "choices",
                                "index", 0, "message", msg, "logprobs", "finish_reason", fr,
                                "usage", translate_openai_usage(&u));
        if (!out)
                return -ENOMEM;
        if (ret_usage)
                *ret_usage = u;
        *ret = out;
        return 0;
}
