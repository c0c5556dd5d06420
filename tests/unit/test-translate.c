/* Unit tests for proxy/translate-*.c and proxy/usage.c: request rows of llm-protocols.md 5.2
 * checked field by field, error rows, responses (5.3), streams (5.4) split at every byte boundary,
 * truncated streams, and the reverse direction. */
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "common/strbuf.h"
#include "proxy/translate.h"
#include "proxy/usage.h"
#include "tap.h"

/* "a.0.b" -> value (NULL when absent). */
static json_t *jpath(json_t *j, const char *path)
{
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", path);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save)) {
                if (json_is_array(j)) {
                        char *end;
                        unsigned long i = strtoul(tok, &end, 10);
                        j = *end ? NULL : json_array_get(j, i);
                } else {
                        j = json_object_get(j, tok);
                }
        }
        return j;
}

static json_t *parse(const char *s)
{
        json_error_t e;
        json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
        if (!j)
                fprintf(stderr, "bad test JSON: %s: %s\n", e.text, s);
        return j;
}

/* expect: JSON text, or NULL meaning "absent". */
static void check_path(const char *row, json_t *out, const char *path, const char *expect)
{
        json_t *got = jpath(out, path);
        tap_checks++;
        if (!expect) {
                if (got) {
                        tap_failures++;
                        _cleanup_free_ char *g = json_dump_compact(got);
                        fprintf(stderr, "[%s] %s: expected absent, got %s\n", row, path, g);
                }
                return;
        }
        _cleanup_json_ json_t *want = parse(expect);
        if (!got || !want || !json_equal(got, want)) {
                tap_failures++;
                _cleanup_free_ char *g = got ? json_dump_compact(got) : strdup("(absent)");
                fprintf(stderr, "[%s] %s: expected %s, got %s\n", row, path, expect, g);
        }
}

struct kv {
        const char *path;
        const char *expect;
};

/* check_path() for every row of a table. */
#define check_paths(row, out, table) check_paths_n(row, out, table, ELEMENTSOF(table))
static void check_paths_n(const char *row, json_t *out, const struct kv *kv, size_t n)
{
        for (size_t i = 0; i < n; i++)
                check_path(row, out, kv[i].path, kv[i].expect);
}

#define MAXKV 12
static const struct {
        const char *name;
        const char *req;
        struct kv kv[MAXKV];
} request_rows[] = {
        { "model replaced, default max_tokens, ignored fields dropped",
          "{\"model\":\"gpt-x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
          "\"logprobs\":true,\"seed\":1,\"presence_penalty\":1,\"frequency_penalty\":1,"
          "\"response_format\":{\"type\":\"json_object\"},\"store\":true,\"metadata\":{\"a\":\"b\"},"
          "\"service_tier\":\"auto\",\"logit_bias\":{},\"reasoning_effort\":\"low\",\"n\":1}",
          { { "model", "\"claude-up\"" }, { "max_tokens", "1000" }, { "messages.0.role", "\"user\"" },
            { "messages.0.content", "\"hi\"" }, { "logprobs", NULL }, { "seed", NULL },
            { "response_format", NULL }, { "metadata", NULL }, { "n", NULL },
            { "presence_penalty", NULL }, { "reasoning_effort", NULL }, { "system", NULL } } },
        { "system+developer hoisted and joined",
          "{\"messages\":[{\"role\":\"system\",\"content\":\"A\"},{\"role\":\"developer\","
          "\"content\":[{\"type\":\"text\",\"text\":\"B\"}]},{\"role\":\"user\",\"content\":\"u\"},"
          "{\"role\":\"system\",\"content\":\"C\"}]}",
          { { "system", "\"A\\nB\\nC\"" }, { "messages.0.content", "\"u\"" }, { "messages.1", NULL } } },
        { "system cache_control kept as blocks",
          "{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"S\","
          "\"cache_control\":{\"type\":\"ephemeral\"}}]},{\"role\":\"user\",\"content\":\"u\"}]}",
          { { "system", "[{\"type\":\"text\",\"text\":\"S\",\"cache_control\":{\"type\":\"ephemeral\"}}]" } } },
        { "user parts: text, data-url image, https image, pdf",
          "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"look\"},"
          "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBO\"}},"
          "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x.test/a.jpg\",\"detail\":\"low\"}},"
          "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:application/pdf;base64,JVBE\"}}]}]}",
          { { "messages.0.content.0", "{\"type\":\"text\",\"text\":\"look\"}" },
            { "messages.0.content.1", "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBO\"}}" },
            { "messages.0.content.2", "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x.test/a.jpg\"}}" },
            { "messages.0.content.3.type", "\"document\"" },
            { "messages.0.content.3.source.media_type", "\"application/pdf\"" } } },
        { "assistant tool_calls -> tool_use; empty args -> {}; tool results merged, first",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"w?\"},"
          "{\"role\":\"assistant\",\"content\":\"checking\",\"tool_calls\":["
          "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"loc\\\":\\\"Oslo\\\"}\"}},"
          "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"now\",\"arguments\":\"\"}}]},"
          "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"5C\"},"
          "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":[{\"type\":\"text\",\"text\":\"noon\"}]},"
          "{\"role\":\"user\",\"content\":\"thanks\"}]}",
          { { "messages.1.role", "\"assistant\"" },
            { "messages.1.content.0", "{\"type\":\"text\",\"text\":\"checking\"}" },
            { "messages.1.content.1", "{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"get\",\"input\":{\"loc\":\"Oslo\"}}" },
            { "messages.1.content.2.input", "{}" },
            { "messages.2.role", "\"user\"" },
            { "messages.2.content.0", "{\"type\":\"tool_result\",\"tool_use_id\":\"call_1\",\"content\":\"5C\"}" },
            { "messages.2.content.1.tool_use_id", "\"call_2\"" },
            { "messages.2.content.1.content", "[{\"type\":\"text\",\"text\":\"noon\"}]" },
            { "messages.2.content.2", "{\"type\":\"text\",\"text\":\"thanks\"}" },
            { "messages.3", NULL } } },
        { "consecutive same-role merged",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"},"
          "{\"role\":\"assistant\",\"content\":\"c\"},{\"role\":\"assistant\",\"content\":null},"
          "{\"role\":\"user\",\"content\":\"d\"}]}",
          { { "messages.0.content", "[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]" },
            { "messages.1.content", "\"c\"" }, { "messages.2.content", "\"d\"" }, { "messages.3", NULL } } },
        { "max_completion_tokens wins, temperature clamped, top_p, stop list filtered, stream",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":5,"
          "\"max_completion_tokens\":77,\"temperature\":1.7,\"top_p\":0.5,\"stop\":[\"END\",\" \",\"\\n\"],"
          "\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
          { { "max_tokens", "77" }, { "temperature", "1.0" }, { "top_p", "0.5" },
            { "stop_sequences", "[\"END\"]" }, { "stream", "true" }, { "stream_options", NULL } } },
        { "max_tokens and stop string; whitespace stop dropped entirely",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":9,\"temperature\":0.3,"
          "\"stop\":\"  \"}",
          { { "max_tokens", "9" }, { "temperature", "0.3" }, { "stop_sequences", NULL }, { "stream", NULL } } },
        { "stop string kept",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":\"###\"}",
          { { "stop_sequences", "[\"###\"]" } } },
        { "tools: parameters, missing parameters, strict dropped; tool_choice required",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":["
          "{\"type\":\"function\",\"function\":{\"name\":\"a\",\"description\":\"d\",\"strict\":true,"
          "\"parameters\":{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}}}},"
          "{\"type\":\"function\",\"function\":{\"name\":\"b\"}}],\"tool_choice\":\"required\"}",
          { { "tools.0", "{\"name\":\"a\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}},\"description\":\"d\"}" },
            { "tools.1", "{\"name\":\"b\",\"input_schema\":{\"type\":\"object\",\"properties\":{}}}" },
            { "tools.0.strict", NULL }, { "tool_choice", "{\"type\":\"any\"}" } } },
        { "tool_choice auto",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
          "\"function\":{\"name\":\"a\"}}],\"tool_choice\":\"auto\"}",
          { { "tool_choice", "{\"type\":\"auto\"}" } } },
        { "tool_choice none",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
          "\"function\":{\"name\":\"a\"}}],\"tool_choice\":\"none\",\"parallel_tool_calls\":false}",
          { { "tool_choice", "{\"type\":\"none\"}" } } },
        { "tool_choice function + parallel_tool_calls false",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
          "\"function\":{\"name\":\"a\"}}],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"a\"}},"
          "\"parallel_tool_calls\":false}",
          { { "tool_choice", "{\"type\":\"tool\",\"name\":\"a\",\"disable_parallel_tool_use\":true}" } } },
        { "parallel_tool_calls false alone -> auto + disable",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
          "\"function\":{\"name\":\"a\"}}],\"parallel_tool_calls\":false}",
          { { "tool_choice", "{\"type\":\"auto\",\"disable_parallel_tool_use\":true}" } } },
        { "tool_choice without tools dropped",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"auto\"}",
          { { "tool_choice", NULL }, { "tools", NULL } } },
        { "user -> metadata.user_id",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"user\":\"agent-7\"}",
          { { "metadata", "{\"user_id\":\"agent-7\"}" } } },
        { "email user skipped",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"user\":\"a@b.example\"}",
          { { "metadata", NULL } } },
};

static const struct {
        const char *name;
        const char *req;
        const char *param;
} request_errors[] = {
        { "n=2", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}", "n" },
        { "bad tool arguments",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"tool_calls\":"
          "[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{nope\"}}]}]}",
          "messages[1].tool_calls[0].function.arguments" },
        { "arguments not an object",
          "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"function\":"
          "{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}",
          "messages[0].tool_calls[0].function.arguments" },
        { "unknown role", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", "messages[0].role" },
        { "empty messages", "{\"messages\":[]}", "messages" },
        { "no messages", "{\"model\":\"m\"}", "messages" },
        { "only system", "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}", "messages" },
        { "tool without id", "{\"messages\":[{\"role\":\"tool\",\"content\":\"s\"}]}",
          "messages[0].tool_call_id" },
        { "bad image url",
          "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
          "{\"url\":\"file:///etc/passwd\"}}]}]}", "messages[0].content[0]" },
        { "bad part type",
          "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\"}]}]}",
          "messages[0].content[0]" },
        { "max_tokens 0", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}",
          "max_tokens" },
        { "temperature string",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}", "temperature" },
        { "stop number", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":5}", "stop" },
        { "tool_choice bogus",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
          "\"function\":{\"name\":\"a\"}}],\"tool_choice\":\"always\"}", "tool_choice" },
        { "image in an assistant message",
          "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":"
          "[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y\"}}]}]}", "messages[1].content[0]" },
        { "image in a system message",
          "{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
          "{\"url\":\"https://x/y\"}}]},{\"role\":\"user\",\"content\":\"x\"}]}", "messages[0].content[0]" },
        { "not an object", "[1,2]", NULL },
};

static void test_requests(void)
{
        struct translate_request_opts o = { .model = "claude-up", .default_max_tokens = 1000 };
        for (size_t i = 0; i < ELEMENTSOF(request_rows); i++) {
                _cleanup_json_ json_t *req = parse(request_rows[i].req);
                json_t *out = NULL;
                struct api_error err;
                int r = translate_request_openai_to_anthropic(req, &o, &out, &err);
                if (r < 0)
                        fprintf(stderr, "[%s] failed: %s\n", request_rows[i].name, err.message);
                CHECK(r == 0);
                if (r < 0)
                        continue;
                check_path(request_rows[i].name, out, "model", "\"claude-up\"");
                for (size_t k = 0; k < MAXKV && request_rows[i].kv[k].path; k++)
                        check_path(request_rows[i].name, out, request_rows[i].kv[k].path,
                                   request_rows[i].kv[k].expect);
                json_decref(out);
        }
        for (size_t i = 0; i < ELEMENTSOF(request_errors); i++) {
                _cleanup_json_ json_t *req = parse(request_errors[i].req);
                json_t *out = NULL;
                struct api_error err;
                int r = translate_request_openai_to_anthropic(req, &o, &out, &err);
                CHECK(r == -EINVAL);
                if (r != -EINVAL) {
                        fprintf(stderr, "[%s] expected -EINVAL, got %d\n", request_errors[i].name, r);
                        json_decref(out);
                        continue;
                }
                CHECK(err.status == 400);
                CHECK(err.message[0] != '\0');
                if (request_errors[i].param)
                        CHECK_STREQ(err.param, request_errors[i].param);
        }
        /* Default when the provider gives none. */
        _cleanup_json_ json_t *req = parse("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        struct translate_request_opts o2 = { .model = "m" };
        json_t *out = NULL;
        struct api_error err;
        CHECK(translate_request_openai_to_anthropic(req, &o2, &out, &err) == 0);
        check_path("default", out, "max_tokens", "4096");
        json_decref(out);

        bool stream, usage;
        _cleanup_json_ json_t *sreq = parse("{\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        translate_openai_stream_flags(sreq, &stream, &usage);
        CHECK(stream && usage);
}

/* ------------------------------------------------------------------------------------------ */

static void test_responses(void)
{
        static const struct { const char *sr, *fr; } stops[] = {
                { "end_turn", "stop" }, { "stop_sequence", "stop" }, { "max_tokens", "length" },
                { "tool_use", "tool_calls" }, { "refusal", "content_filter" },
                { "model_context_window_exceeded", "length" }, { "pause_turn", "stop" },
                { "something_new", "stop" },
        };
        struct translate_response_opts o = { .id = "chatcmpl-q", .model = "asked-model", .created = 42 };
        for (size_t i = 0; i < ELEMENTSOF(stops); i++) {
                char body[512];
                snprintf(body, sizeof(body),
                         "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\","
                         "\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],\"stop_reason\":\"%s\","
                         "\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}", stops[i].sr);
                _cleanup_json_ json_t *resp = parse(body);
                json_t *out = NULL;
                CHECK(translate_response_anthropic_to_openai(resp, &o, &out, NULL) == 0);
                char fr[64];
                snprintf(fr, sizeof(fr), "\"%s\"", stops[i].fr);
                check_path(stops[i].sr, out, "choices.0.finish_reason", fr);
                json_decref(out);
        }

        _cleanup_json_ json_t *resp = parse(
                "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\","
                "\"content\":[{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"s\"},"
                "{\"type\":\"text\",\"text\":\"Let me \"},{\"type\":\"text\",\"text\":\"check.\"},"
                "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get\",\"input\":{\"loc\":\"Oslo\"}},"
                "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"now\",\"input\":{}}],"
                "\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":10,\"output_tokens\":20,"
                "\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":5}}");
        json_t *out = NULL;
        struct llm_usage u;
        CHECK(translate_response_anthropic_to_openai(resp, &o, &out, &u) == 0);
        const char *row = "tool_use response";
        static const struct kv tool_use_response[] = {
                { "id", "\"chatcmpl-q\"" },
                { "object", "\"chat.completion\"" },
                { "created", "42" },
                { "model", "\"asked-model\"" },
                { "choices.0.index", "0" },
                { "choices.0.message.role", "\"assistant\"" },
                { "choices.0.message.content", "\"Let me check.\"" },
                { "choices.0.message.tool_calls.0",
                  "{\"id\":\"toolu_1\",\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"loc\\\":\\\"Oslo\\\"}\"}}" },
                { "choices.0.message.tool_calls.1.function.arguments", "\"{}\"" },
                { "choices.0.message.reasoning_content", NULL },
                { "choices.0.finish_reason", "\"tool_calls\"" },
                { "choices.0.logprobs", "null" },
                { "choices.1", NULL },
                { "usage.prompt_tokens", "115" },
                { "usage.completion_tokens", "20" },
                { "usage.total_tokens", "135" },
                { "usage.prompt_tokens_details.cached_tokens", "100" },
        };
        check_paths(row, out, tool_use_response);
        CHECK(u.input_tokens == 115 && u.output_tokens == 20 && u.cached_tokens == 100);
        json_decref(out);

        /* No text blocks -> content null; no tool_calls key. */
        _cleanup_json_ json_t *r2 = parse("{\"type\":\"message\",\"content\":[],\"stop_reason\":\"end_turn\"}");
        CHECK(translate_response_anthropic_to_openai(r2, &o, &out, NULL) == 0);
        check_path("empty", out, "choices.0.message.content", "null");
        check_path("empty", out, "choices.0.message.tool_calls", NULL);
        json_decref(out);

        _cleanup_json_ json_t *bad = parse("{\"type\":\"error\"}");
        CHECK(translate_response_anthropic_to_openai(bad, &o, &out, NULL) == -EBADMSG);
}

/* ------------------------------------------------------------------------------------------ */
/* Streams */

static const char anthropic_stream[] =
        "event: message_start\r\n"
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
        "\"content\":[],\"model\":\"claude\",\"stop_reason\":null,\"stop_sequence\":null,"
        "\"usage\":{\"input_tokens\":25,\"output_tokens\":1,\"cache_read_input_tokens\":7}}}\r\n\r\n"
        "event: content_block_start\n"
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: ping\n"
        "data: {\"type\": \"ping\"}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo \\u00e9\"}}\n\n"
        "event: content_block_stop\n"
        "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "event: some_future_event\n"
        "data: {\"type\":\"some_future_event\"}\n\n"
        "event: content_block_start\n"
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
        "\"id\":\"toolu_A\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"loc\"}}\n\n"
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ation\\\": \\\"Oslo\\\"}\"}}\n\n"
        "event: content_block_stop\n"
        "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
        "event: message_delta\n"
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
        "\"usage\":{\"output_tokens\":31}}\n\n"
        "event: message_stop\n"
        "data: {\"type\":\"message_stop\"}\n\n";

/* Split produced SSE bytes into events ("data: ..." payloads, ": ..." comments kept as is). */
static int split_events(const char *bytes, char ***ret)
{
        int n = 0;
        char **v = NULL;
        const char *p = bytes;
        while (*p) {
                const char *e = strstr(p, "\n\n");
                if (!e)
                        break;
                v = realloc(v, sizeof(char *) * (n + 1));
                v[n++] = strndup(p, (size_t)(e - p));
                p = e + 2;
        }
        CHECK(*p == '\0'); /* nothing after the last complete event */
        *ret = v;
        return n;
}

static void free_events(char **v, int n)
{
        for (int i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* Run a recorded stream split at `at` through a translator, return the produced bytes. */
static char *run_split(enum translate_dir dir, const struct translate_stream_opts *o,
                       const char *in, size_t len, size_t at, bool clean,
                       struct translate_stream **ret_s)
{
        struct translate_stream *s = NULL;
        struct strbuf out = STRBUF_INIT(1 << 20);
        CHECK(translate_stream_new(&s, dir, o) == 0);
        CHECK(translate_stream_feed(s, in, at, &out) == 0);
        CHECK(translate_stream_feed(s, in + at, len - at, &out) == 0);
        CHECK(translate_stream_finish(s, clean, &out) == 0);
        char *r = NULL;
        strbuf_steal(&out, &r);
        if (ret_s)
                *ret_s = s;
        else
                translate_stream_free(s);
        return r;
}

static char *run_a2o(const char *in, size_t len, size_t at, bool include_usage, bool clean,
                     struct translate_stream **ret_s)
{
        struct translate_stream_opts o = { .id = "chatcmpl-1", .model = "m", .created = 1,
                                           .include_usage = include_usage };
        return run_split(TRANSLATE_ANTHROPIC_TO_OPENAI, &o, in, len, at, clean, ret_s);
}

/* Check the OpenAI chunk stream semantically; returns 0 if all good. */
static int check_openai_stream(const char *bytes, bool include_usage, bool verbose)
{
        char **ev;
        int n = split_events(bytes, &ev);
        int bad = 0;
#define EXPECT(c) do { if (!(c)) { bad++; if (verbose) fprintf(stderr, "stream: %s\n", #c); } } while (0)
        struct strbuf content = STRBUF_INIT(1 << 16), args = STRBUF_INIT(1 << 16);
        int data_events = 0, finish_seen = 0, usage_seen = 0, tool_heads = 0, pings = 0;
        bool done_last = n > 0 && strcmp(ev[n - 1], "data: [DONE]") == 0;
        EXPECT(done_last);
        for (int i = 0; i < n; i++) {
                if (strncmp(ev[i], ": ", 2) == 0) {
                        pings++;
                        continue;
                }
                EXPECT(strncmp(ev[i], "data: ", 6) == 0);
                if (strcmp(ev[i], "data: [DONE]") == 0) {
                        EXPECT(i == n - 1);
                        continue;
                }
                _cleanup_json_ json_t *j = parse(ev[i] + 6);
                EXPECT(j != NULL);
                if (!j)
                        continue;
                EXPECT(strcmp(json_get_str(j, "object", ""), "chat.completion.chunk") == 0);
                EXPECT(strcmp(json_get_str(j, "id", ""), "chatcmpl-1") == 0);
                json_t *choices = json_object_get(j, "choices");
                json_t *usage = json_object_get(j, "usage");
                if (include_usage)
                        EXPECT(usage != NULL);
                else
                        EXPECT(usage == NULL);
                if (json_array_size(choices) == 0) {
                        /* usage chunk: choices [] and a real usage object, after the finish */
                        EXPECT(include_usage && json_is_object(usage));
                        EXPECT(finish_seen == 1);
                        EXPECT(json_integer_value(json_object_get(usage, "prompt_tokens")) == 32);
                        EXPECT(json_integer_value(json_object_get(usage, "completion_tokens")) == 31);
                        EXPECT(json_integer_value(json_object_get(usage, "total_tokens")) == 63);
                        EXPECT(json_integer_value(jpath(usage, "prompt_tokens_details.cached_tokens")) == 7);
                        usage_seen++;
                        continue;
                }
                if (include_usage)
                        EXPECT(json_is_null(usage));
                json_t *c0 = json_array_get(choices, 0);
                json_t *delta = json_object_get(c0, "delta");
                EXPECT(json_is_object(delta));
                if (data_events++ == 0) {
                        EXPECT(strcmp(json_get_str(delta, "role", ""), "assistant") == 0);
                        EXPECT(strcmp(json_get_str(delta, "content", "x"), "") == 0);
                } else {
                        EXPECT(json_object_get(delta, "role") == NULL);
                }
                const char *fr = json_get_str(c0, "finish_reason", NULL);
                if (fr) {
                        EXPECT(strcmp(fr, "tool_calls") == 0);
                        EXPECT(json_object_size(delta) == 0);
                        finish_seen++;
                } else {
                        EXPECT(json_is_null(json_object_get(c0, "finish_reason")));
                }
                EXPECT(finish_seen == 0 || fr); /* nothing after the finish chunk but usage */
                const char *ct = json_get_str(delta, "content", NULL);
                if (ct && data_events > 1)
                        strbuf_appends(&content, ct);
                json_t *tcs = json_object_get(delta, "tool_calls");
                if (tcs) {
                        EXPECT(json_array_size(tcs) == 1);
                        json_t *tc = json_array_get(tcs, 0);
                        EXPECT(json_integer_value(json_object_get(tc, "index")) == 0);
                        if (json_object_get(tc, "id")) {
                                tool_heads++;
                                EXPECT(strcmp(json_get_str(tc, "id", ""), "toolu_A") == 0);
                                EXPECT(strcmp(json_get_str(tc, "type", ""), "function") == 0);
                                EXPECT(strcmp(json_get_str(jpath(tc, "function"), "name", ""), "get_weather") == 0);
                                EXPECT(strcmp(json_get_str(jpath(tc, "function"), "arguments", "x"), "") == 0);
                        } else {
                                EXPECT(tool_heads == 1);
                                EXPECT(json_object_get(tc, "type") == NULL);
                                const char *a = json_get_str(jpath(tc, "function"), "arguments", NULL);
                                EXPECT(a && *a);
                                if (a)
                                        strbuf_appends(&args, a);
                        }
                }
        }
        EXPECT(content.data && strcmp(content.data, "Hello \xc3\xa9") == 0);
        EXPECT(tool_heads == 1);
        EXPECT(finish_seen == 1);
        EXPECT(usage_seen == (include_usage ? 1 : 0));
        EXPECT(pings == 1);
        json_error_t jerr;
        _cleanup_json_ json_t *parsed = args.data ? json_loads(args.data, 0, &jerr) : NULL;
        EXPECT(parsed && strcmp(json_get_str(parsed, "location", ""), "Oslo") == 0);
        strbuf_free(&content);
        strbuf_free(&args);
        free_events(ev, n);
#undef EXPECT
        return bad;
}

static void test_stream_a2o(void)
{
        size_t len = strlen(anthropic_stream);
        for (int iu = 0; iu < 2; iu++) {
                int failures = 0;
                _cleanup_free_ char *ref = run_a2o(anthropic_stream, len, 0, iu, true, NULL);
                for (size_t at = 0; at <= len; at++) {
                        _cleanup_free_ char *got = run_a2o(anthropic_stream, len, at, iu, true, NULL);
                        if (strcmp(got, ref) != 0) {
                                failures++;
                                fprintf(stderr, "split at %zu differs\n", at);
                                break;
                        }
                }
                CHECK(failures == 0);
                CHECK(check_openai_stream(ref, iu, true) == 0);
        }

        /* Usage and finish reason exposed for the audit record. */
        struct translate_stream *s = NULL;
        _cleanup_free_ char *b = run_a2o(anthropic_stream, len, 0, false, true, &s);
        CHECK(b && strstr(b, "data: [DONE]") != NULL);
        struct llm_usage u;
        translate_stream_usage(s, &u);
        CHECK(u.input_tokens == 32 && u.output_tokens == 31 && u.cached_tokens == 7);
        CHECK_STREQ(translate_stream_finish_reason(s), "tool_calls");
        CHECK(translate_stream_done(s) && !translate_stream_failed(s));
        translate_stream_free(s);
}

static void test_stream_truncated(void)
{
        /* Cut before message_stop (at every event boundary and mid-event): error chunk, [DONE]. */
        const char *cut = strstr(anthropic_stream, "event: message_delta");
        size_t cuts[] = { 0, 10, (size_t)(cut - anthropic_stream), (size_t)(cut - anthropic_stream) + 30 };
        for (size_t i = 0; i < ELEMENTSOF(cuts); i++)
                for (int clean = 0; clean < 2; clean++) {
                        struct translate_stream *s = NULL;
                        _cleanup_free_ char *got = run_a2o(anthropic_stream, cuts[i], 0, true, clean, &s);
                        char **ev;
                        int n = split_events(got, &ev);
                        CHECK(n >= 2);
                        if (n >= 2) {
                                CHECK_STREQ(ev[n - 1], "data: [DONE]");
                                CHECK(strncmp(ev[n - 2], "data: {\"error\":{", 16) == 0);
                                _cleanup_json_ json_t *j = parse(ev[n - 2] + 6);
                                CHECK_STREQ(json_get_str(jpath(j, "error"), "code", NULL), "upstream_error");
                        }
                        CHECK(translate_stream_failed(s) && translate_stream_done(s));
                        free_events(ev, n);
                        /* finish is idempotent */
                        struct strbuf more = STRBUF_INIT(1024);
                        CHECK(translate_stream_finish(s, true, &more) == 0);
                        CHECK(more.len == 0);
                        strbuf_free(&more);
                        translate_stream_free(s);
                }

        /* Upstream error event -> OpenAI error chunk, then [DONE]; later events ignored. */
        const char *err_stream =
                "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":1}}}\n\n"
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"late\"}}\n\n";
        _cleanup_free_ char *got = run_a2o(err_stream, strlen(err_stream), 0, false, true, NULL);
        char **ev;
        int n = split_events(got, &ev);
        CHECK(n == 3);
        if (n == 3) {
                CHECK(strstr(ev[0], "\"role\":\"assistant\"") != NULL);
                CHECK(strstr(ev[1], "data: {\"error\":{\"message\":\"Overloaded\"") == ev[1]);
                CHECK_STREQ(ev[2], "data: [DONE]");
        }
        CHECK(strstr(got, "late") == NULL);
        free_events(ev, n);

        /* Malformed JSON in a known event -> error chunk + [DONE], feed reports -EBADMSG. */
        struct translate_stream *s = NULL;
        struct translate_stream_opts o = { .id = "x", .model = "m" };
        struct strbuf out = STRBUF_INIT(4096);
        CHECK(translate_stream_new(&s, TRANSLATE_ANTHROPIC_TO_OPENAI, &o) == 0);
        const char *bad = "event: content_block_delta\ndata: {not json\n\n";
        CHECK(translate_stream_feed(s, bad, strlen(bad), &out) == -EBADMSG);
        CHECK(strstr(out.data, "upstream_error") && strstr(out.data, "data: [DONE]\n\n"));
        CHECK(translate_stream_done(s));
        translate_stream_free(s);
        strbuf_free(&out);
}

/* ------------------------------------------------------------------------------------------ */
/* Reverse direction */

static const char openai_stream[] =
        "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
        ": keepalive\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi \"},\"finish_reason\":null}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"there\"},\"finish_reason\":null}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":\"}}]},\"finish_reason\":null}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]},\"finish_reason\":null}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"now\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":8,\"total_tokens\":20}}\n\n"
        "data: [DONE]\n\n";

static char *run_o2a(const char *in, size_t len, size_t at, bool clean, struct translate_stream **ret_s)
{
        struct translate_stream_opts o = { .id = "msg_q", .model = "m" };
        return run_split(TRANSLATE_OPENAI_TO_ANTHROPIC, &o, in, len, at, clean, ret_s);
}

static void test_stream_o2a(void)
{
        size_t len = strlen(openai_stream);
        _cleanup_free_ char *ref = run_o2a(openai_stream, len, 0, true, NULL);
        for (size_t at = 0; at <= len; at++) {
                _cleanup_free_ char *got = run_o2a(openai_stream, len, at, true, NULL);
                if (strcmp(got, ref) != 0) {
                        CHECK(!"o2a split differs");
                        break;
                }
        }
        char **ev;
        int n = split_events(ref, &ev);
        static const char *const want[] = {
                "message_start", "content_block_start", "content_block_delta", "content_block_delta",
                "content_block_stop", "content_block_start", "content_block_delta",
                "content_block_delta", "content_block_stop", "content_block_start",
                "content_block_delta", "content_block_stop", "message_delta", "message_stop",
        };
        /* what each event (by its position) must carry */
        static const struct {
                int event;
                struct kv kv;
        } event_checks[] = {
                { 0, { "message.id", "\"msg_q\"" } },
                { 0, { "message.role", "\"assistant\"" } },
                { 0, { "message.content", "[]" } },
                { 1, { "content_block", "{\"type\":\"text\",\"text\":\"\"}" } },
                { 2, { "delta", "{\"type\":\"text_delta\",\"text\":\"Hi \"}" } },
                { 5, { "index", "1" } },
                { 5, { "content_block",
                       "{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"get\",\"input\":{}}" } },
                { 6, { "index", "1" } },
                { 6, { "delta.type", "\"input_json_delta\"" } },
                { 7, { "index", "1" } },
                { 7, { "delta.type", "\"input_json_delta\"" } },
                { 9, { "content_block.name", "\"now\"" } },
                { 10, { "index", "2" } },
                { 12, { "delta.stop_reason", "\"tool_use\"" } },
                { 12, { "usage.output_tokens", "8" } },
                { 12, { "usage.input_tokens", "12" } },
        };
        CHECK(n == (int)ELEMENTSOF(want));
        struct strbuf args = STRBUF_INIT(4096);
        for (int i = 0; i < n && i < (int)ELEMENTSOF(want); i++) {
                char prefix[64];
                snprintf(prefix, sizeof(prefix), "event: %s\ndata: ", want[i]);
                CHECK(strncmp(ev[i], prefix, strlen(prefix)) == 0);
                _cleanup_json_ json_t *j = parse(ev[i] + strlen(prefix));
                CHECK_STREQ(json_get_str(j, "type", NULL), want[i]);
                for (size_t k = 0; k < ELEMENTSOF(event_checks); k++)
                        if (event_checks[k].event == i)
                                check_path("o2a", j, event_checks[k].kv.path,
                                           event_checks[k].kv.expect);
                if (i == 6 || i == 7)
                        strbuf_appends(&args, json_get_str(jpath(j, "delta"), "partial_json", ""));
        }
        CHECK_STREQ(args.data, "{\"a\":1}");
        strbuf_free(&args);
        free_events(ev, n);

        /* Stop reasons. */
        static const struct { const char *fr, *sr; } stops[] = {
                { "stop", "end_turn" }, { "length", "max_tokens" }, { "tool_calls", "tool_use" },
                { "content_filter", "refusal" },
        };
        for (size_t i = 0; i < ELEMENTSOF(stops); i++) {
                char in[512];
                snprintf(in, sizeof(in),
                         "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"%s\"}]}\n\n"
                         "data: [DONE]\n\n", stops[i].fr);
                struct translate_stream *s = NULL;
                _cleanup_free_ char *got = run_o2a(in, strlen(in), 0, true, &s);
                char want_sr[64];
                snprintf(want_sr, sizeof(want_sr), "\"stop_reason\":\"%s\"", stops[i].sr);
                CHECK(strstr(got, want_sr) != NULL);
                CHECK_STREQ(translate_stream_finish_reason(s), stops[i].sr);
                translate_stream_free(s);
        }

        /* finish_reason but no [DONE] and a clean end: closed normally. */
        const char *nodone = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\n";
        struct translate_stream *s = NULL;
        _cleanup_free_ char *g1 = run_o2a(nodone, strlen(nodone), 0, true, &s);
        CHECK(strstr(g1, "event: message_stop\n") != NULL);
        CHECK(!translate_stream_failed(s));
        translate_stream_free(s);

        /* Cut mid-stream: Anthropic error event, no message_stop. */
        _cleanup_free_ char *g2 = run_o2a(openai_stream, 300, 0, true, &s);
        CHECK(strstr(g2, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"") != NULL);
        CHECK(strstr(g2, "message_stop") == NULL);
        CHECK(translate_stream_failed(s));
        translate_stream_free(s);

        /* Servers that number every call 0 (distinct ids), arguments as objects: two blocks. */
        const char *zero =
                "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1}}}]}}]}\n\n"
                "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c2\",\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n"
                "data: [DONE]\n\n";
        _cleanup_free_ char *gz = run_o2a(zero, strlen(zero), 0, true, NULL);
        CHECK(strstr(gz, "\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"c1\",\"name\":\"f\"") != NULL);
        CHECK(strstr(gz, "\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"c2\",\"name\":\"g\"") != NULL);
        CHECK(strstr(gz, "\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":1}\"}") != NULL);

        /* OpenAI error chunk -> event: error. */
        const char *errs = "data: {\"error\":{\"message\":\"model overloaded\",\"type\":\"server_error\",\"code\":null}}\n\n";
        _cleanup_free_ char *g3 = run_o2a(errs, strlen(errs), 0, true, NULL);
        CHECK(strncmp(g3, "event: error\ndata: {\"type\":\"error\",\"error\":{", 44) == 0);
        CHECK(strstr(g3, "model overloaded") != NULL);
}

static void test_reverse_request(void)
{
        _cleanup_json_ json_t *req = parse(
                "{\"model\":\"claude-x\",\"max_tokens\":100,\"system\":[{\"type\":\"text\",\"text\":\"S1\"},"
                "{\"type\":\"text\",\"text\":\"S2\"}],\"messages\":["
                "{\"role\":\"user\",\"content\":\"hi\"},"
                "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\",\"signature\":\"s\"},"
                "{\"type\":\"text\",\"text\":\"ok\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get\",\"input\":{\"a\":1}}]},"
                "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\","
                "\"content\":[{\"type\":\"text\",\"text\":\"r1\"}]},{\"type\":\"text\",\"text\":\"more\"},"
                "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"AAA\"}}]}],"
                "\"tools\":[{\"name\":\"get\",\"description\":\"d\",\"input_schema\":{\"type\":\"object\"}}],"
                "\"tool_choice\":{\"type\":\"any\",\"disable_parallel_tool_use\":true},"
                "\"stop_sequences\":[\"X\"],\"temperature\":0.5,\"stream\":true,\"metadata\":{\"user_id\":\"u1\"}}");
        struct translate_request_opts o = { .model = "llama3" };
        json_t *out = NULL;
        struct api_error err;
        CHECK(translate_request_anthropic_to_openai(req, &o, &out, &err) == 0);
        const char *row = "reverse request";
        static const struct kv reverse_request[] = {
                { "model", "\"llama3\"" },
                { "messages.0", "{\"role\":\"system\",\"content\":\"S1\\nS2\"}" },
                { "messages.1", "{\"role\":\"user\",\"content\":\"hi\"}" },
                { "messages.2.role", "\"assistant\"" },
                { "messages.2.content", "\"ok\"" },
                { "messages.2.tool_calls.0",
                  "{\"id\":\"toolu_1\",\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"a\\\":1}\"}}" },
                { "messages.3",
                  "{\"role\":\"tool\",\"tool_call_id\":\"toolu_1\",\"content\":\"r1\"}" },
                { "messages.4.role", "\"user\"" },
                { "messages.4.content.0", "{\"type\":\"text\",\"text\":\"more\"}" },
                { "messages.4.content.1",
                  "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAA\"}}" },
                { "tools.0",
                  "{\"type\":\"function\",\"function\":{\"name\":\"get\",\"parameters\":{\"type\":\"object\"},\"description\":\"d\"}}" },
                { "tool_choice", "\"required\"" },
                { "parallel_tool_calls", "false" },
                { "stop", "[\"X\"]" },
                { "max_tokens", "100" },
                { "temperature", "0.5" },
                { "stream", "true" },
                { "stream_options", "{\"include_usage\":true}" },
                { "user", "\"u1\"" },
        };
        check_paths(row, out, reverse_request);
        json_decref(out);

        _cleanup_json_ json_t *bad = parse("{\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}");
        CHECK(translate_request_anthropic_to_openai(bad, &o, &out, &err) == -EINVAL);
        CHECK_STREQ(err.param, "messages[0].role");
}

static void test_reverse_response(void)
{
        _cleanup_json_ json_t *resp = parse(
                "{\"id\":\"chatcmpl-7\",\"object\":\"chat.completion\",\"model\":\"llama3\",\"choices\":[{\"index\":0,"
                "\"message\":{\"role\":\"assistant\",\"content\":\"Sure\",\"tool_calls\":[{\"id\":\"call_1\","
                "\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"a\\\":1}\"}},"
                "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"bad\",\"arguments\":\"{oops\"}}]},"
                "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,"
                "\"total_tokens\":15,\"prompt_tokens_details\":{\"cached_tokens\":4}}}");
        struct translate_response_opts o = { .model = "claude-asked" };
        json_t *out = NULL;
        struct llm_usage u;
        CHECK(translate_response_openai_to_anthropic(resp, &o, &out, &u) == 0);
        const char *row = "reverse response";
        static const struct kv reverse_response[] = {
                { "id", "\"msg_chatcmpl-7\"" },
                { "type", "\"message\"" },
                { "role", "\"assistant\"" },
                { "model", "\"claude-asked\"" },
                { "content.0", "{\"type\":\"text\",\"text\":\"Sure\"}" },
                { "content.1",
                  "{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"get\",\"input\":{\"a\":1}}" },
                { "content.2.input", "{}" },
                { "stop_reason", "\"tool_use\"" },
                { "stop_sequence", "null" },
                { "usage.input_tokens", "6" },
                { "usage.cache_read_input_tokens", "4" },
                { "usage.output_tokens", "5" },
        };
        check_paths(row, out, reverse_response);
        CHECK(u.input_tokens == 10 && u.output_tokens == 5 && u.cached_tokens == 4);
        json_decref(out);

        static const struct { const char *fr, *sr; } stops[] = {
                { "stop", "end_turn" }, { "length", "max_tokens" }, { "content_filter", "refusal" },
                { "tool_calls", "tool_use" },
        };
        for (size_t i = 0; i < ELEMENTSOF(stops); i++)
                CHECK_STREQ(translate_stop_reason_from_openai(stops[i].fr), stops[i].sr);
}

/* ------------------------------------------------------------------------------------------ */
/* Usage extraction and the passthrough observer */

static void test_usage(void)
{
        struct llm_usage u = { 0 };
        _cleanup_json_ json_t *ms = parse("{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,"
                                          "\"cache_read_input_tokens\":3,\"cache_creation_input_tokens\":2,\"output_tokens\":1}}}");
        _cleanup_json_ json_t *md = parse("{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":40}}");
        CHECK(usage_from_anthropic(ms, &u) == 1);
        CHECK(usage_from_anthropic(md, &u) == 1);
        CHECK(u.input_tokens == 15 && u.cached_tokens == 3 && u.cache_creation_tokens == 2);
        CHECK(u.output_tokens == 40);
        CHECK(llm_usage_total(&u) == 55);

        const char *ob = "{\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":2}}}";
        CHECK(usage_from_body(LLM_API_OPENAI, ob, strlen(ob), &u) == 1);
        CHECK(u.input_tokens == 7 && u.output_tokens == 9 && u.cached_tokens == 2);
        CHECK(usage_from_body(LLM_API_OPENAI, "{}", 2, &u) == 0);
        CHECK(usage_from_body(LLM_API_OPENAI, "[", 1, &u) == -EBADMSG);
        const char *neg = "{\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":1e300}}";
        CHECK(usage_from_body(LLM_API_OPENAI, neg, strlen(neg), &u) == 1);
        CHECK(u.input_tokens == 0 && u.output_tokens == 0);

        /* Observer, Anthropic stream split byte by byte. */
        struct usage_observer *o = NULL;
        CHECK(usage_observer_new(&o, LLM_API_ANTHROPIC) == 0);
        for (size_t i = 0; anthropic_stream[i]; i++)
                usage_observer_feed(o, anthropic_stream + i, 1);
        struct usage_result res;
        usage_observer_result(o, &res);
        CHECK(res.usage.input_tokens == 32 && res.usage.output_tokens == 31);
        CHECK_STREQ(res.finish_reason, "tool_use");
        CHECK(res.completed && !res.error && !res.parse_failed);
        usage_observer_free(o);

        /* Observer, OpenAI stream. */
        CHECK(usage_observer_new(&o, LLM_API_OPENAI) == 0);
        usage_observer_feed(o, openai_stream, strlen(openai_stream));
        usage_observer_result(o, &res);
        CHECK(res.usage.input_tokens == 12 && res.usage.output_tokens == 8);
        CHECK_STREQ(res.finish_reason, "tool_calls");
        CHECK(res.completed && !res.error);
        usage_observer_free(o);

        /* Truncated OpenAI stream: not completed. */
        CHECK(usage_observer_new(&o, LLM_API_OPENAI) == 0);
        usage_observer_feed(o, openai_stream, 200);
        usage_observer_result(o, &res);
        CHECK(!res.completed);
        usage_observer_free(o);
}

int main(void)
{
        test_requests();
        test_responses();
        test_stream_a2o();
        test_stream_truncated();
        test_stream_o2a();
        test_reverse_request();
        test_reverse_response();
        test_usage();
        return TEST_DONE();
}
