/* OpenAI chat request -> Anthropic Messages request (llm-protocols.md 5.2, 5.6).
 * Trust level: parses untrusted agent JSON; every problem is a precise 400, never a crash.
 * Pure: no I/O. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/json-util.h"
#include "proxy/translate-internal.h"
#include "proxy/translate.h"

int translate_bad(struct api_error *err, const char *param, const char *fmt, ...)
{
        char msg[API_ERROR_MESSAGE_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        api_error_set(err, API_ERROR_INVALID_REQUEST, NULL, param, "%s", msg);
        return -EINVAL;
}

/* Append to an array, consuming v. -ENOMEM if v is NULL or the append fails. */
int translate_append(json_t *a, json_t *v)
{
        if (!v)
                return -ENOMEM;
        return json_array_append_new(a, v) < 0 ? -ENOMEM : 0;
}

int translate_set(json_t *o, const char *key, json_t *v)
{
        if (!v)
                return -ENOMEM;
        return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

void translate_openai_stream_flags(const json_t *req, bool *ret_stream, bool *ret_include_usage)
{
        bool stream = json_is_true(json_object_get(req, "stream"));
        const json_t *so = json_object_get(req, "stream_options");
        bool usage = stream && json_is_object(so) && json_is_true(json_object_get(so, "include_usage"));
        if (ret_stream)
                *ret_stream = stream;
        if (ret_include_usage)
                *ret_include_usage = usage;
}

static bool is_blank(const char *s)
{
        for (; *s; s++)
                if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '\f' && *s != '\v')
                        return false;
        return true;
}

/* {"type":"text","text":s} keeping cache_control from the source part if any. */
static json_t *text_block(const char *s, const json_t *part)
{
        json_t *b = json_pack("{s:s, s:s}", "type", "text", "text", s);
        const json_t *cc = part ? json_object_get(part, "cache_control") : NULL;
        if (b && json_is_object(cc))
                json_object_set(b, "cache_control", (json_t *)cc);
        return b;
}

/* "data:<mt>;base64,<b64>" -> media type and payload (pointers into url). */
static bool parse_data_url(const char *url, char *mt, size_t mtsize, const char **ret_b64)
{
        if (strncmp(url, "data:", 5) != 0)
                return false;
        const char *p = url + 5;
        const char *semi = strchr(p, ';');
        const char *comma = strchr(p, ',');
        if (!semi || !comma || semi > comma || (size_t)(semi - p) >= mtsize || semi == p)
                return false;
        if (strncmp(semi, ";base64,", 8) != 0)
                return false;
        memcpy(mt, p, (size_t)(semi - p));
        mt[semi - p] = '\0';
        *ret_b64 = semi + 8;
        return true;
}

static json_t *base64_block(const char *mt, const char *b64)
{
        const char *type = strcmp(mt, "application/pdf") == 0 ? "document" : "image";
        return json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", type, "source", "type", "base64",
                         "media_type", mt, "data", b64);
}

enum parts {
        PARTS_TEXT,      /* system / developer: text only */
        PARTS_ASSISTANT, /* text and refusal */
        PARTS_USER,      /* text, image_url, file (user and tool messages) */
};

/* One OpenAI content part of a user/system/assistant/tool message -> Anthropic block. */
static int convert_part(const json_t *part, const char *param, enum parts mode, json_t **ret,
                        struct api_error *err)
{
        if (!json_is_object(part))
                return translate_bad(err, param, "%s: content part must be an object", param);
        const char *type = json_get_str(part, "type", NULL);
        if (!type)
                return translate_bad(err, param, "%s.type: missing", param);

        if (strcmp(type, "text") == 0 || (mode == PARTS_ASSISTANT && strcmp(type, "refusal") == 0)) {
                const char *key = strcmp(type, "text") == 0 ? "text" : "refusal";
                const char *t = json_get_str(part, key, NULL);
                if (!t)
                        return translate_bad(err, param, "%s.%s: must be a string", param, key);
                if (!*t) {
                        *ret = NULL; /* Anthropic refuses empty text blocks */
                        return 0;
                }
                *ret = text_block(t, part);
                return *ret ? 0 : -ENOMEM;
        }
        if (mode != PARTS_USER)
                return translate_bad(err, param, "%s: only text parts are allowed here (got '%s')",
                                     param, type);

        if (strcmp(type, "image_url") == 0) {
                const json_t *iu = json_object_get(part, "image_url");
                const char *url = json_is_string(iu) ? json_string_value(iu)
                                                     : json_get_str(iu, "url", NULL);
                if (!url)
                        return translate_bad(err, param, "%s.image_url.url: missing", param);
                char mt[128];
                const char *b64;
                if (parse_data_url(url, mt, sizeof(mt), &b64))
                        *ret = base64_block(mt, b64);
                else if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)
                        *ret = json_pack("{s:s, s:{s:s, s:s}}", "type", "image", "source", "type",
                                         "url", "url", url);
                else
                        return translate_bad(err, param,
                                             "%s.image_url.url: expected a base64 data URL or an "
                                             "http(s) URL", param);
                return *ret ? 0 : -ENOMEM;
        }
        if (strcmp(type, "file") == 0) {
                const json_t *f = json_object_get(part, "file");
                const char *fd = json_get_str(f, "file_data", NULL);
                char mt[128];
                const char *b64;
                if (!fd || !parse_data_url(fd, mt, sizeof(mt), &b64))
                        return translate_bad(err, param,
                                             "%s.file.file_data: expected a base64 data URL "
                                             "(file ids are not supported)", param);
                *ret = base64_block(mt, b64);
                return *ret ? 0 : -ENOMEM;
        }
        return translate_bad(err, param, "%s: unsupported content part type '%s'", param, type);
}

/* OpenAI message content (string, array of parts, null) -> appended blocks. */
static int convert_content(const json_t *content, const char *param, enum parts mode,
                           json_t *blocks, struct api_error *err)
{
        char p[128];
        int r;

        if (translate_absent(content))
                return 0;
        if (json_is_string(content)) {
                if (json_string_length(content) == 0)
                        return 0;
                return translate_append(blocks, text_block(json_string_value(content), NULL));
        }
        if (!json_is_array(content))
                return translate_bad(err, param, "%s: must be a string or an array of parts", param);
        size_t i;
        const json_t *part;
        json_array_foreach(content, i, part) {
                snprintf(p, sizeof(p), "%s[%zu]", param, i);
                json_t *b = NULL;
                r = convert_part(part, p, mode, &b, err);
                if (r < 0)
                        return r;
                if (b && (r = translate_append(blocks, b)) < 0)
                        return r;
        }
        return 0;
}

/* Arguments string -> object ("" -> {}). */
static int parse_arguments(const json_t *args, const char *param, json_t **ret, struct api_error *err)
{
        if (translate_absent(args)) {
                *ret = json_object();
                return *ret ? 0 : -ENOMEM;
        }
        if (json_is_object(args)) { /* some clients send an object already */
                *ret = json_deep_copy(args);
                return *ret ? 0 : -ENOMEM;
        }
        if (!json_is_string(args))
                return translate_bad(err, param, "%s: must be a JSON string", param);
        const char *s = json_string_value(args);
        if (is_blank(s)) {
                *ret = json_object();
                return *ret ? 0 : -ENOMEM;
        }
        json_error_t jerr;
        json_t *v = json_loadb(s, json_string_length(args), JSON_DECODE_ANY, &jerr);
        if (!v)
                return translate_bad(err, param, "%s: not valid JSON (%s)", param, jerr.text);
        if (!json_is_object(v)) {
                json_decref(v);
                return translate_bad(err, param, "%s: must encode a JSON object", param);
        }
        *ret = v;
        return 0;
}

static int convert_tool_calls(const json_t *calls, size_t mi, json_t *blocks, struct api_error *err)
{
        char p[128];
        int r;

        if (translate_absent(calls))
                return 0;
        snprintf(p, sizeof(p), "messages[%zu].tool_calls", mi);
        if (!json_is_array(calls))
                return translate_bad(err, p, "%s: must be an array", p);
        if (json_array_size(calls) > TRANSLATE_MAX_TOOLS)
                return translate_bad(err, p, "%s: too many tool calls", p);
        size_t j;
        const json_t *c;
        json_array_foreach(calls, j, c) {
                snprintf(p, sizeof(p), "messages[%zu].tool_calls[%zu]", mi, j);
                const json_t *fn = json_object_get(c, "function");
                const char *id = json_get_str(c, "id", NULL);
                const char *name = json_get_str(fn, "name", NULL);
                if (!json_is_object(c) || !json_is_object(fn))
                        return translate_bad(err, p, "%s: expected {id, type, function}", p);
                if (!id || !*id)
                        return translate_bad(err, p, "%s.id: missing", p);
                if (!name || !*name)
                        return translate_bad(err, p, "%s.function.name: missing", p);
                char ap[160];
                snprintf(ap, sizeof(ap), "%s.function.arguments", p);
                json_t *input = NULL;
                r = parse_arguments(json_object_get(fn, "arguments"), ap, &input, err);
                if (r < 0)
                        return r;
                r = translate_append(blocks, json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use",
                                                      "id", id, "name", name, "input", input));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int convert_tool_message(const json_t *m, size_t mi, json_t *blocks, struct api_error *err)
{
        char p[128];
        int r;

        snprintf(p, sizeof(p), "messages[%zu].tool_call_id", mi);
        const char *id = json_get_str(m, "tool_call_id", NULL);
        if (!id || !*id)
                return translate_bad(err, p, "%s: missing", p);
        const json_t *content = json_object_get(m, "content");
        json_t *rc;
        if (translate_absent(content) || json_is_string(content)) {
                rc = json_string(translate_absent(content) ? "" : json_string_value(content));
        } else {
                snprintf(p, sizeof(p), "messages[%zu].content", mi);
                rc = json_array();
                if (!rc)
                        return -ENOMEM;
                r = convert_content(content, p, PARTS_USER, rc, err);
                if (r < 0) {
                        json_decref(rc);
                        return r;
                }
        }
        if (!rc)
                return -ENOMEM;
        return translate_append(blocks, json_pack("{s:s, s:s, s:o}", "type", "tool_result",
                                                 "tool_use_id", id, "content", rc));
}

/* Collapse [{"type":"text","text":s}] to s (only a bare text block). */
static json_t *maybe_collapse(json_t *blocks)
{
        if (json_array_size(blocks) == 1) {
                json_t *b = json_array_get(blocks, 0);
                if (json_object_size(b) == 2 && strcmp(json_get_str(b, "type", ""), "text") == 0)
                        return json_incref(json_object_get(b, "text"));
        }
        return json_incref(blocks);
}

/* Stable partition: tool_result blocks first (Anthropic requires them to lead a user turn). */
static int tool_results_first(json_t *blocks)
{
        size_t n = json_array_size(blocks);
        _cleanup_json_ json_t *sorted = json_array();
        if (!sorted)
                return -ENOMEM;
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < n; i++) {
                        json_t *b = json_array_get(blocks, i);
                        bool tr = strcmp(json_get_str(b, "type", ""), "tool_result") == 0;
                        if (tr == (pass == 0)) {
                                if (json_array_append(sorted, b) < 0)
                                        return -ENOMEM;
                        }
                }
        return json_array_clear(blocks) < 0 || json_array_extend(blocks, sorted) < 0 ? -ENOMEM : 0;
}

static int convert_messages(const json_t *msgs, json_t *out, json_t *system, struct api_error *err)
{
        char p[128];
        int r;
        const char *cur_role = NULL;
        _cleanup_json_ json_t *cur = NULL; /* blocks of the message being merged */

        size_t i;
        const json_t *m;
        json_array_foreach(msgs, i, m) {
                snprintf(p, sizeof(p), "messages[%zu]", i);
                if (!json_is_object(m))
                        return translate_bad(err, p, "%s: must be an object", p);
                const char *role = json_get_str(m, "role", NULL);
                if (!role)
                        return translate_bad(err, p, "%s.role: missing", p);
                snprintf(p, sizeof(p), "messages[%zu].content", i);

                if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
                        r = convert_content(json_object_get(m, "content"), p, PARTS_TEXT, system,
                                            err);
                        if (r < 0)
                                return r;
                        continue;
                }

                const char *arole;
                _cleanup_json_ json_t *blocks = json_array();
                if (!blocks)
                        return -ENOMEM;
                if (strcmp(role, "user") == 0) {
                        arole = "user";
                        r = convert_content(json_object_get(m, "content"), p, PARTS_USER, blocks,
                                            err);
                } else if (strcmp(role, "assistant") == 0) {
                        arole = "assistant";
                        r = convert_content(json_object_get(m, "content"), p, PARTS_ASSISTANT,
                                            blocks, err);
                        if (r >= 0)
                                r = convert_tool_calls(json_object_get(m, "tool_calls"), i, blocks,
                                                       err);
                } else if (strcmp(role, "tool") == 0) {
                        arole = "user";
                        r = convert_tool_message(m, i, blocks, err);
                } else {
                        snprintf(p, sizeof(p), "messages[%zu].role", i);
                        return translate_bad(err, p, "%s: unsupported role '%s'", p, role);
                }
                if (r < 0)
                        return r;
                if (json_array_size(blocks) == 0)
                        continue; /* nothing to say (e.g. empty assistant turn) */

                if (cur && strcmp(cur_role, arole) == 0) {
                        if (json_array_extend(cur, blocks) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (cur) {
                        if (strcmp(cur_role, "user") == 0 && (r = tool_results_first(cur)) < 0)
                                return r;
                        r = translate_append(out, json_pack("{s:s, s:o}", "role", cur_role,
                                                           "content", maybe_collapse(cur)));
                        if (r < 0)
                                return r;
                        json_decref(cur);
                }
                cur = TAKE_PTR(blocks);
                cur_role = arole;
        }
        if (cur) {
                if (strcmp(cur_role, "user") == 0 && (r = tool_results_first(cur)) < 0)
                        return r;
                r = translate_append(out, json_pack("{s:s, s:o}", "role", cur_role, "content",
                                                   maybe_collapse(cur)));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* System blocks -> "system": a string joined with "\n", or blocks when cache_control is used. */
static int set_system(json_t *areq, json_t *system)
{
        size_t n = json_array_size(system);
        if (n == 0)
                return 0;
        size_t i;
        json_t *b;
        json_array_foreach(system, i, b)
                if (json_object_get(b, "cache_control"))
                        return json_object_set(areq, "system", system) < 0 ? -ENOMEM : 0;

        struct strbuf sb = STRBUF_INIT(64 * 1024 * 1024);
        int r = 0;
        json_array_foreach(system, i, b) {
                if (i > 0 && (r = strbuf_append(&sb, "\n", 1)) < 0)
                        break;
                if ((r = strbuf_appends(&sb, json_get_str(b, "text", ""))) < 0)
                        break;
        }
        if (r >= 0)
                r = translate_set(areq, "system", json_stringn(sb.data ? sb.data : "", sb.len));
        strbuf_free(&sb);
        return r;
}

static int convert_tools(const json_t *tools, json_t *areq, struct api_error *err)
{
        char p[64];
        int r;

        if (translate_absent(tools))
                return 0;
        if (!json_is_array(tools))
                return translate_bad(err, "tools", "tools: must be an array");
        if (json_array_size(tools) > TRANSLATE_MAX_TOOLS)
                return translate_bad(err, "tools", "tools: too many tools");
        if (json_array_size(tools) == 0)
                return 0;
        _cleanup_json_ json_t *out = json_array();
        if (!out)
                return -ENOMEM;
        size_t i;
        const json_t *t;
        json_array_foreach(tools, i, t) {
                snprintf(p, sizeof(p), "tools[%zu]", i);
                const char *type = json_get_str(t, "type", "function");
                const json_t *fn = json_object_get(t, "function");
                if (strcmp(type, "function") != 0 || !json_is_object(fn))
                        return translate_bad(err, p, "%s: only function tools are supported", p);
                const char *name = json_get_str(fn, "name", NULL);
                if (!name || !*name)
                        return translate_bad(err, p, "%s.function.name: missing", p);
                const json_t *params = json_object_get(fn, "parameters");
                json_t *schema;
                if (translate_absent(params))
                        schema = json_pack("{s:s, s:{}}", "type", "object", "properties");
                else if (json_is_object(params))
                        schema = json_deep_copy(params);
                else
                        return translate_bad(err, p, "%s.function.parameters: must be an object", p);
                json_t *at = json_pack("{s:s, s:o}", "name", name, "input_schema", schema);
                const char *desc = json_get_str(fn, "description", NULL);
                if (at && desc && (r = translate_set(at, "description", json_string(desc))) < 0) {
                        json_decref(at);
                        return r;
                }
                if ((r = translate_append(out, at)) < 0)
                        return r;
        }
        return json_object_set(areq, "tools", out) < 0 ? -ENOMEM : 0;
}

static int convert_tool_choice(const json_t *req, json_t *areq, struct api_error *err)
{
        const json_t *tc = json_object_get(req, "tool_choice");
        bool no_parallel = json_is_false(json_object_get(req, "parallel_tool_calls"));
        json_t *choice = NULL;

        if (!json_object_get(areq, "tools"))
                return 0; /* Anthropic rejects tool_choice without tools */

        if (translate_absent(tc)) {
                if (!no_parallel)
                        return 0;
                choice = json_pack("{s:s}", "type", "auto");
        } else if (json_is_string(tc)) {
                const char *s = json_string_value(tc);
                if (strcmp(s, "auto") == 0)
                        choice = json_pack("{s:s}", "type", "auto");
                else if (strcmp(s, "required") == 0)
                        choice = json_pack("{s:s}", "type", "any");
                else if (strcmp(s, "none") == 0)
                        choice = json_pack("{s:s}", "type", "none");
                else
                        return translate_bad(err, "tool_choice",
                                             "tool_choice: expected auto, required, none or a "
                                             "function object");
        } else if (json_is_object(tc)) {
                const char *name = json_get_str(json_object_get(tc, "function"), "name", NULL);
                if (strcmp(json_get_str(tc, "type", "function"), "function") != 0 || !name)
                        return translate_bad(err, "tool_choice",
                                             "tool_choice: expected {\"type\":\"function\","
                                             "\"function\":{\"name\":...}}");
                choice = json_pack("{s:s, s:s}", "type", "tool", "name", name);
        } else {
                return translate_bad(err, "tool_choice", "tool_choice: invalid value");
        }
        if (!choice)
                return -ENOMEM;
        if (no_parallel && strcmp(json_get_str(choice, "type", ""), "none") != 0 &&
            json_object_set_new(choice, "disable_parallel_tool_use", json_true()) < 0) {
                json_decref(choice);
                return -ENOMEM;
        }
        return translate_set(areq, "tool_choice", choice);
}

static int convert_stop(const json_t *stop, json_t *areq, struct api_error *err)
{
        if (translate_absent(stop))
                return 0;
        _cleanup_json_ json_t *seqs = json_array();
        if (!seqs)
                return -ENOMEM;
        if (json_is_string(stop)) {
                if (!is_blank(json_string_value(stop)) &&
                    json_array_append(seqs, (json_t *)stop) < 0)
                        return -ENOMEM;
        } else if (json_is_array(stop)) {
                if (json_array_size(stop) > 16)
                        return translate_bad(err, "stop", "stop: too many stop sequences");
                size_t i;
                const json_t *s;
                json_array_foreach(stop, i, s) {
                        if (!json_is_string(s))
                                return translate_bad(err, "stop", "stop[%zu]: must be a string", i);
                        if (!is_blank(json_string_value(s)) &&
                            json_array_append(seqs, (json_t *)s) < 0)
                                return -ENOMEM;
                }
        } else {
                return translate_bad(err, "stop", "stop: must be a string or an array of strings");
        }
        if (json_array_size(seqs) == 0)
                return 0;
        return json_object_set(areq, "stop_sequences", seqs) < 0 ? -ENOMEM : 0;
}

static int get_positive_int(const json_t *req, const char *key, int64_t *ret, struct api_error *err)
{
        const json_t *v = json_object_get(req, key);
        if (translate_absent(v))
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 1)
                return translate_bad(err, key, "%s: must be a positive integer", key);
        *ret = json_integer_value(v);
        return 1;
}

static int number_param(const json_t *req, const char *key, double lo, double hi, json_t *areq,
                        struct api_error *err)
{
        const json_t *v = json_object_get(req, key);
        if (translate_absent(v))
                return 0;
        if (!json_is_number(v))
                return translate_bad(err, key, "%s: must be a number", key);
        double d = json_number_value(v);
        if (!(d >= 0)) /* also NaN */
                return translate_bad(err, key, "%s: must be >= 0", key);
        if (d < lo)
                d = lo;
        if (d > hi)
                d = hi;
        return translate_set(areq, key, json_real(d));
}

int translate_request_openai_to_anthropic(const json_t *req, const struct translate_request_opts *o,
                                          json_t **ret, struct api_error *err)
{
        int r;

        if (!json_is_object(req))
                return translate_bad(err, NULL, "Request body must be a JSON object");

        const json_t *n = json_object_get(req, "n");
        if (!translate_absent(n) && !(json_is_integer(n) && json_integer_value(n) == 1))
                return translate_bad(err, "n", "n: only n=1 is supported");

        const json_t *msgs = json_object_get(req, "messages");
        if (!json_is_array(msgs))
                return translate_bad(err, "messages", "messages: must be an array");
        if (json_array_size(msgs) == 0)
                return translate_bad(err, "messages", "messages: must not be empty");
        if (json_array_size(msgs) > TRANSLATE_MAX_MESSAGES)
                return translate_bad(err, "messages", "messages: too many messages");

        _cleanup_json_ json_t *areq = json_object();
        _cleanup_json_ json_t *amsgs = json_array();
        _cleanup_json_ json_t *system = json_array();
        if (!areq || !amsgs || !system)
                return -ENOMEM;

        if ((r = translate_set(areq, "model", json_string(o && o->model ? o->model : ""))) < 0)
                return r;
        if ((r = convert_messages(msgs, amsgs, system, err)) < 0)
                return r;
        if (json_array_size(amsgs) == 0)
                return translate_bad(err, "messages",
                                     "messages: at least one user or assistant message is required");
        if ((r = set_system(areq, system)) < 0)
                return r;
        if (json_object_set(areq, "messages", amsgs) < 0)
                return -ENOMEM;

        int64_t max_tokens = o && o->default_max_tokens > 0 ? o->default_max_tokens
                                                             : TRANSLATE_DEFAULT_MAX_TOKENS;
        r = get_positive_int(req, "max_completion_tokens", &max_tokens, err);
        if (r == 0)
                r = get_positive_int(req, "max_tokens", &max_tokens, err);
        if (r < 0)
                return r;
        if ((r = translate_set(areq, "max_tokens", json_integer(max_tokens))) < 0)
                return r;

        if ((r = number_param(req, "temperature", 0, 1, areq, err)) < 0)
                return r;
        if ((r = number_param(req, "top_p", 0, 1, areq, err)) < 0)
                return r;
        int64_t top_k;
        if ((r = get_positive_int(req, "top_k", &top_k, err)) < 0)
                return r;
        if (r > 0 && (r = translate_set(areq, "top_k", json_integer(top_k))) < 0)
                return r;
        if ((r = convert_stop(json_object_get(req, "stop"), areq, err)) < 0)
                return r;

        const json_t *stream = json_object_get(req, "stream");
        if (!translate_absent(stream) && !json_is_boolean(stream))
                return translate_bad(err, "stream", "stream: must be a boolean");
        if (json_is_true(stream) && (r = translate_set(areq, "stream", json_true())) < 0)
                return r;

        if ((r = convert_tools(json_object_get(req, "tools"), areq, err)) < 0)
                return r;
        if ((r = convert_tool_choice(req, areq, err)) < 0)
                return r;

        const char *user = json_get_str(req, "user", NULL);
        if (user && *user && !strchr(user, '@') && strlen(user) <= 256 &&
            (r = translate_set(areq, "metadata", json_pack("{s:s}", "user_id", user))) < 0)
                return r;

        *ret = TAKE_PTR(areq);
        return 0;
}
