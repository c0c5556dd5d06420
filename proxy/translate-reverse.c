/* Reverse direction, for /v1/messages sent to an openai-type provider (Claude Code -> Ollama/vLLM):
 * Anthropic Messages request -> OpenAI chat request, OpenAI chat.completion -> Anthropic message.
 * Trust level: requests from the untrusted agent, responses from the upstream. Pure: no I/O. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "proxy/translate-internal.h"
#include "proxy/translate.h"

/* Text of a string or array of text blocks, joined with "\n". Non-text blocks -> 400 unless
 * skip_other. */
static int blocks_text(const json_t *content, const char *param, bool skip_other,
                       struct strbuf *sb, struct api_error *err)
{
        if (translate_absent(content))
                return 0;
        if (json_is_string(content))
                return strbuf_append(sb, json_string_value(content), json_string_length(content));
        if (!json_is_array(content))
                return translate_bad(err, param, "%s: must be a string or an array of blocks", param);
        size_t i;
        const json_t *b;
        bool first = sb->len == 0;
        json_array_foreach(content, i, b) {
                const json_t *t = json_object_get(b, "text");
                if (strcmp(json_get_str(b, "type", ""), "text") != 0 || !json_is_string(t)) {
                        if (skip_other)
                                continue;
                        return translate_bad(err, param, "%s[%zu]: only text blocks are allowed here",
                                             param, i);
                }
                int r = 0;
                if (!first)
                        r = strbuf_append(sb, "\n", 1);
                if (r >= 0)
                        r = strbuf_append(sb, json_string_value(t), json_string_length(t));
                if (r < 0)
                        return r;
                first = false;
        }
        return 0;
}

static json_t *sb_string(struct strbuf *sb)
{
        return json_stringn(sb->data ? sb->data : "", sb->len);
}

/* Anthropic image/document block -> OpenAI content part. */
static int media_part(const json_t *b, const char *param, json_t **ret, struct api_error *err)
{
        const char *type = json_get_str(b, "type", "");
        const json_t *src = json_object_get(b, "source");
        const char *st = json_get_str(src, "type", "");
        if (strcmp(st, "base64") == 0) {
                const char *mt = json_get_str(src, "media_type", NULL);
                const char *data = json_get_str(src, "data", NULL);
                if (!mt || !data)
                        return translate_bad(err, param, "%s.source: media_type and data required",
                                             param);
                _cleanup_free_ char *url = NULL;
                if (asprintf(&url, "data:%s;base64,%s", mt, data) < 0)
                        return -ENOMEM;
                if (strcmp(type, "document") == 0)
                        *ret = json_pack("{s:s, s:{s:s, s:s}}", "type", "file", "file", "file_data",
                                         url, "filename", "document.pdf");
                else
                        *ret = json_pack("{s:s, s:{s:s}}", "type", "image_url", "image_url", "url",
                                         url);
        } else if (strcmp(st, "url") == 0 && strcmp(type, "image") == 0 &&
                   json_get_str(src, "url", NULL)) {
                *ret = json_pack("{s:s, s:{s:s}}", "type", "image_url", "image_url", "url",
                                 json_get_str(src, "url", ""));
        } else {
                return translate_bad(err, param, "%s.source: unsupported source type '%s'", param,
                                     st);
        }
        return *ret ? 0 : -ENOMEM;
}

/* Content parts -> string when all text (joined "\n"), else the parts array. Consumes parts. */
static json_t *collapse_parts(json_t *parts)
{
        size_t i;
        json_t *p;
        json_array_foreach(parts, i, p)
                if (strcmp(json_get_str(p, "type", ""), "text") != 0)
                        return parts;
        struct strbuf sb = STRBUF_INIT(64 * 1024 * 1024);
        int r = 0;
        json_array_foreach(parts, i, p) {
                if (i > 0 && (r = strbuf_append(&sb, "\n", 1)) < 0)
                        break;
                if ((r = strbuf_appends(&sb, json_get_str(p, "text", ""))) < 0)
                        break;
        }
        json_decref(parts);
        json_t *s = r < 0 ? NULL : sb_string(&sb);
        strbuf_free(&sb);
        return s;
}

static int user_message(const json_t *content, size_t mi, json_t *out, struct api_error *err)
{
        char p[128];
        int r;

        snprintf(p, sizeof(p), "messages[%zu].content", mi);
        if (json_is_string(content))
                return translate_append(out, json_pack("{s:s, s:O}", "role", "user", "content",
                                                       content));
        if (!json_is_array(content))
                return translate_bad(err, p, "%s: must be a string or an array of blocks", p);

        _cleanup_json_ json_t *parts = json_array();
        if (!parts)
                return -ENOMEM;
        size_t i;
        const json_t *b;
        json_array_foreach(content, i, b) {
                snprintf(p, sizeof(p), "messages[%zu].content[%zu]", mi, i);
                const char *type = json_get_str(b, "type", NULL);
                if (!json_is_object(b) || !type)
                        return translate_bad(err, p, "%s: block must be an object with a type", p);
                if (strcmp(type, "text") == 0) {
                        const char *t = json_get_str(b, "text", NULL);
                        if (!t)
                                return translate_bad(err, p, "%s.text: must be a string", p);
                        r = translate_append(parts, json_pack("{s:s, s:s}", "type", "text", "text", t));
                } else if (strcmp(type, "image") == 0 || strcmp(type, "document") == 0) {
                        json_t *part = NULL;
                        r = media_part(b, p, &part, err);
                        if (r >= 0)
                                r = translate_append(parts, part);
                } else if (strcmp(type, "tool_result") == 0) {
                        /* role "tool" messages go before the rest of this turn */
                        const char *id = json_get_str(b, "tool_use_id", NULL);
                        if (!id)
                                return translate_bad(err, p, "%s.tool_use_id: missing", p);
                        struct strbuf sb = STRBUF_INIT(64 * 1024 * 1024);
                        char cp[160];
                        snprintf(cp, sizeof(cp), "%s.content", p);
                        if (json_is_true(json_object_get(b, "is_error")))
                                r = strbuf_appends(&sb, "Error: ");
                        else
                                r = 0;
                        if (r >= 0)
                                r = blocks_text(json_object_get(b, "content"), cp, true, &sb, err);
                        if (r >= 0)
                                r = translate_append(out, json_pack("{s:s, s:s, s:o}", "role",
                                                                    "tool", "tool_call_id", id,
                                                                    "content", sb_string(&sb)));
                        strbuf_free(&sb);
                } else if (strcmp(type, "thinking") == 0 || strcmp(type, "redacted_thinking") == 0) {
                        r = 0;
                } else {
                        return translate_bad(err, p, "%s: unsupported block type '%s'", p, type);
                }
                if (r < 0)
                        return r;
        }
        if (json_array_size(parts) == 0)
                return 0;
        return translate_append(out, json_pack("{s:s, s:o}", "role", "user", "content",
                                               collapse_parts(TAKE_PTR(parts))));
}

static int assistant_message(const json_t *content, size_t mi, json_t *out, struct api_error *err)
{
        char p[128];
        int r;

        snprintf(p, sizeof(p), "messages[%zu].content", mi);
        if (json_is_string(content))
                return translate_append(out, json_pack("{s:s, s:O}", "role", "assistant",
                                                       "content", content));
        if (!json_is_array(content))
                return translate_bad(err, p, "%s: must be a string or an array of blocks", p);

        struct strbuf text = STRBUF_INIT(64 * 1024 * 1024);
        _cleanup_json_ json_t *calls = json_array();
        if (!calls)
                return -ENOMEM;
        bool have_text = false;
        size_t i;
        const json_t *b;
        r = 0;
        json_array_foreach(content, i, b) {
                snprintf(p, sizeof(p), "messages[%zu].content[%zu]", mi, i);
                const char *type = json_get_str(b, "type", "");
                if (strcmp(type, "text") == 0) {
                        const json_t *t = json_object_get(b, "text");
                        if (!json_is_string(t)) {
                                r = translate_bad(err, p, "%s.text: must be a string", p);
                                break;
                        }
                        r = strbuf_append(&text, json_string_value(t), json_string_length(t));
                        have_text = true;
                } else if (strcmp(type, "tool_use") == 0) {
                        const char *id = json_get_str(b, "id", NULL);
                        const char *name = json_get_str(b, "name", NULL);
                        const json_t *input = json_object_get(b, "input");
                        if (!id || !name) {
                                r = translate_bad(err, p, "%s: tool_use needs id and name", p);
                                break;
                        }
                        if (json_array_size(calls) >= TRANSLATE_MAX_TOOLS) {
                                r = translate_bad(err, p, "%s: too many tool calls", p);
                                break;
                        }
                        r = translate_append(calls, translate_openai_tool_call(id, name, input));
                } else if (strcmp(type, "thinking") == 0 || strcmp(type, "redacted_thinking") == 0) {
                        r = 0;
                } else {
                        r = translate_bad(err, p, "%s: unsupported block type '%s' in an assistant "
                                          "message", p, type);
                }
                if (r < 0)
                        break;
        }
        if (r < 0) {
                strbuf_free(&text);
                return r;
        }
        if (!have_text && json_array_size(calls) == 0) {
                strbuf_free(&text);
                return 0;
        }
        json_t *m = json_pack("{s:s, s:o}", "role", "assistant", "content",
                              have_text ? sb_string(&text) : json_null());
        strbuf_free(&text);
        if (m && json_array_size(calls) > 0 && json_object_set(m, "tool_calls", calls) < 0) {
                json_decref(m);
                return -ENOMEM;
        }
        return translate_append(out, m);
}

static int reverse_tools(const json_t *req, json_t *oreq, struct api_error *err)
{
        const json_t *tools = json_object_get(req, "tools");
        char p[64];
        int r;

        if (translate_absent(tools))
                return 0;
        if (!json_is_array(tools) || json_array_size(tools) > TRANSLATE_MAX_TOOLS)
                return translate_bad(err, "tools", "tools: must be an array of at most %d tools",
                                     TRANSLATE_MAX_TOOLS);
        _cleanup_json_ json_t *out = json_array();
        if (!out)
                return -ENOMEM;
        size_t i;
        const json_t *t;
        json_array_foreach(tools, i, t) {
                snprintf(p, sizeof(p), "tools[%zu]", i);
                const char *name = json_get_str(t, "name", NULL);
                const json_t *schema = json_object_get(t, "input_schema");
                const char *type = json_get_str(t, "type", "custom");
                if (strcmp(type, "custom") != 0 && translate_absent(schema))
                        continue; /* Anthropic server tools have no OpenAI equivalent */
                if (!name || !*name)
                        return translate_bad(err, p, "%s.name: missing", p);
                json_t *params = json_is_object(schema)
                                         ? json_deep_copy(schema)
                                         : json_pack("{s:s, s:{}}", "type", "object", "properties");
                json_t *fn = json_pack("{s:s, s:o}", "name", name, "parameters", params);
                const char *desc = json_get_str(t, "description", NULL);
                if (fn && desc && (r = translate_set(fn, "description", json_string(desc))) < 0) {
                        json_decref(fn);
                        return r;
                }
                if ((r = translate_append(out, json_pack("{s:s, s:o}", "type", "function",
                                                         "function", fn))) < 0)
                        return r;
        }
        if (json_array_size(out) == 0)
                return 0;
        if (json_object_set(oreq, "tools", out) < 0)
                return -ENOMEM;

        const json_t *tc = json_object_get(req, "tool_choice");
        if (translate_absent(tc))
                return 0;
        const char *type = json_get_str(tc, "type", "");
        json_t *choice;
        if (strcmp(type, "auto") == 0)
                choice = json_string("auto");
        else if (strcmp(type, "any") == 0)
                choice = json_string("required");
        else if (strcmp(type, "none") == 0)
                choice = json_string("none");
        else if (strcmp(type, "tool") == 0 && json_get_str(tc, "name", NULL))
                choice = json_pack("{s:s, s:{s:s}}", "type", "function", "function", "name",
                                   json_get_str(tc, "name", ""));
        else
                return translate_bad(err, "tool_choice", "tool_choice: invalid value");
        if ((r = translate_set(oreq, "tool_choice", choice)) < 0)
                return r;
        if (json_is_true(json_object_get(tc, "disable_parallel_tool_use")))
                return translate_set(oreq, "parallel_tool_calls", json_false());
        return 0;
}

static int copy_number(const json_t *req, const char *key, json_t *oreq, struct api_error *err)
{
        const json_t *v = json_object_get(req, key);
        if (translate_absent(v))
                return 0;
        if (!json_is_number(v) || json_number_value(v) < 0)
                return translate_bad(err, key, "%s: must be a non-negative number", key);
        return json_object_set(oreq, key, (json_t *)v) < 0 ? -ENOMEM : 0;
}

int translate_request_anthropic_to_openai(const json_t *req, const struct translate_request_opts *o,
                                          json_t **ret, struct api_error *err)
{
        int r;

        if (!json_is_object(req))
                return translate_bad(err, NULL, "Request body must be a JSON object");
        const json_t *msgs = json_object_get(req, "messages");
        if (!json_is_array(msgs) || json_array_size(msgs) == 0)
                return translate_bad(err, "messages", "messages: must be a non-empty array");
        if (json_array_size(msgs) > TRANSLATE_MAX_MESSAGES)
                return translate_bad(err, "messages", "messages: too many messages");

        _cleanup_json_ json_t *oreq = json_pack("{s:s}", "model", o && o->model ? o->model : "");
        _cleanup_json_ json_t *omsgs = json_array();
        if (!oreq || !omsgs)
                return -ENOMEM;

        const json_t *system = json_object_get(req, "system");
        if (!translate_absent(system)) {
                struct strbuf sb = STRBUF_INIT(64 * 1024 * 1024);
                r = blocks_text(system, "system", false, &sb, err);
                if (r >= 0 && sb.len > 0)
                        r = translate_append(omsgs, json_pack("{s:s, s:o}", "role", "system",
                                                              "content", sb_string(&sb)));
                strbuf_free(&sb);
                if (r < 0)
                        return r;
        }

        size_t i;
        const json_t *m;
        json_array_foreach(msgs, i, m) {
                char p[64];
                snprintf(p, sizeof(p), "messages[%zu].role", i);
                const char *role = json_get_str(m, "role", NULL);
                const json_t *content = json_object_get(m, "content");
                if (!role)
                        return translate_bad(err, p, "%s: missing", p);
                if (strcmp(role, "user") == 0)
                        r = user_message(content, i, omsgs, err);
                else if (strcmp(role, "assistant") == 0)
                        r = assistant_message(content, i, omsgs, err);
                else
                        return translate_bad(err, p, "%s: unsupported role '%s'", p, role);
                if (r < 0)
                        return r;
        }
        if (json_object_set(oreq, "messages", omsgs) < 0)
                return -ENOMEM;

        const json_t *mt = json_object_get(req, "max_tokens");
        if (!translate_absent(mt)) {
                if (!json_is_integer(mt) || json_integer_value(mt) < 1)
                        return translate_bad(err, "max_tokens", "max_tokens: must be a positive integer");
                if (json_object_set(oreq, "max_tokens", (json_t *)mt) < 0)
                        return -ENOMEM;
        }
        if ((r = copy_number(req, "temperature", oreq, err)) < 0 ||
            (r = copy_number(req, "top_p", oreq, err)) < 0 ||
            (r = copy_number(req, "top_k", oreq, err)) < 0)
                return r;

        const json_t *stop = json_object_get(req, "stop_sequences");
        if (!translate_absent(stop)) {
                if (!json_is_array(stop))
                        return translate_bad(err, "stop_sequences", "stop_sequences: must be an array");
                size_t k;
                const json_t *sv;
                json_array_foreach(stop, k, sv)
                        if (!json_is_string(sv))
                                return translate_bad(err, "stop_sequences",
                                                     "stop_sequences[%zu]: must be a string", k);
                if (json_array_size(stop) > 0 && json_object_set(oreq, "stop", (json_t *)stop) < 0)
                        return -ENOMEM;
        }
        if (json_is_true(json_object_get(req, "stream"))) {
                if ((r = translate_set(oreq, "stream", json_true())) < 0 ||
                    (r = translate_set(oreq, "stream_options",
                                       json_pack("{s:b}", "include_usage", 1))) < 0)
                        return r;
        }
        if ((r = reverse_tools(req, oreq, err)) < 0)
                return r;
        const char *user = json_get_str(json_object_get(req, "metadata"), "user_id", NULL);
        if (user && *user && (r = translate_set(oreq, "user", json_string(user))) < 0)
                return r;

        *ret = TAKE_PTR(oreq);
        return 0;
}

/* ------------------------------------------------------------------------------------------ */

json_t *translate_anthropic_usage(const struct llm_usage *u)
{
        int64_t in = u->input_tokens - u->cached_tokens - u->cache_creation_tokens;
        return json_pack("{s:I, s:I, s:I, s:I}", "input_tokens", (json_int_t)(in < 0 ? 0 : in),
                         "output_tokens", (json_int_t)u->output_tokens,
                         "cache_creation_input_tokens", (json_int_t)u->cache_creation_tokens,
                         "cache_read_input_tokens", (json_int_t)u->cached_tokens);
}

/* Tool arguments string -> object; unparseable or non-object -> {} (never fail a response). */
json_t *translate_parse_arguments(const char *args)
{
        json_error_t jerr;
        json_t *v = args ? json_loads(args, 0, &jerr) : NULL;
        if (json_is_object(v))
                return v;
        json_decref(v);
        return json_object();
}

int translate_response_openai_to_anthropic(const json_t *resp, const struct translate_response_opts *o,
                                           json_t **ret, struct llm_usage *ret_usage)
{
        int r;

        if (!json_is_object(resp))
                return -EBADMSG;
        const json_t *choice = json_array_get(json_object_get(resp, "choices"), 0);
        const json_t *msg = json_object_get(choice, "message");
        if (!json_is_object(msg))
                return -EBADMSG;

        _cleanup_json_ json_t *content = json_array();
        if (!content)
                return -ENOMEM;
        const json_t *text = json_object_get(msg, "content");
        if (json_is_string(text) && json_string_length(text) > 0 &&
            (r = translate_append(content, json_pack("{s:s, s:O}", "type", "text", "text", text))) < 0)
                return r;
        const json_t *calls = json_object_get(msg, "tool_calls");
        size_t i;
        const json_t *c;
        json_array_foreach(calls, i, c) {
                const json_t *fn = json_object_get(c, "function");
                const char *name = json_get_str(fn, "name", NULL);
                if (!name)
                        continue;
                char gen[32];
                snprintf(gen, sizeof(gen), "call_%zu", i);
                const json_t *args = json_object_get(fn, "arguments");
                json_t *input = json_is_object(args) ? json_deep_copy(args)
                                                     : translate_parse_arguments(json_string_value(args));
                r = translate_append(content, json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use",
                                                        "id", json_get_str(c, "id", gen), "name",
                                                        name, "input", input));
                if (r < 0)
                        return r;
        }

        struct llm_usage u = { 0 };
        usage_from_openai(resp, &u);
        const char *fr = json_get_str(choice, "finish_reason", NULL);
        const char *sr = translate_stop_reason_from_openai(fr);
        if (json_array_size(calls) > 0 && (!fr || strcmp(fr, "stop") == 0))
                sr = "tool_use"; /* some servers say "stop" after tool calls */

        _cleanup_free_ char *id = translate_response_id(o, resp, "msg_");
        if (!id)
                return -ENOMEM;
        json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:O, s:s, s:n, s:o}", "id", id, "type",
                                "message", "role", "assistant", "model",
                                o && o->model ? o->model : json_get_str(resp, "model", ""),
                                "content", content, "stop_reason", sr, "stop_sequence", "usage",
                                translate_anthropic_usage(&u));
        if (!out)
                return -ENOMEM;
        if (ret_usage)
                *ret_usage = u;
        *ret = out;
        return 0;
}
