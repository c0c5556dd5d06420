/* Fuzz target: non-streaming response translation on untrusted upstream JSON
 * (proxy/translate-response.c, translate-reverse.c): Anthropic message -> OpenAI chat.completion
 * and OpenAI chat.completion -> Anthropic message. First byte: bit 0 picks the direction.
 * Oracles: the output has the client API's shape, the reported usage equals the usage in the
 * output, and translating our output back keeps text, tool calls and token counts. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "proxy/translate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
        do {                                                                                       \
                if (!(x))                                                                          \
                        abort();                                                                   \
        } while (0)

#define COUNT_MAX ((int64_t)1 << 40) /* usage.c clamps every count to this */

static const struct translate_response_opts opts = { .id = NULL, .model = NULL, .created = 7 };

static bool str_in(const char *s, const char *const *set)
{
        for (; s && *set; set++)
                if (strcmp(s, *set) == 0)
                        return true;
        return false;
}

static int64_t int_at(const json_t *o, const char *key)
{
        const json_t *v = json_object_get(o, key);
        CHECK(json_is_integer(v));
        return json_integer_value(v);
}

static void check_usage_range(const struct llm_usage *u)
{
        CHECK(u->input_tokens >= 0 && u->output_tokens >= 0 && u->cached_tokens >= 0 &&
              u->cache_creation_tokens >= 0);
        CHECK(u->output_tokens <= COUNT_MAX && u->input_tokens <= 3 * COUNT_MAX);
}

/* Checks an OpenAI chat.completion we produced; returns its message. */
static const json_t *check_openai(const json_t *out, const struct llm_usage *u)
{
        static const char *const finish[] = { "stop", "length", "tool_calls", "content_filter",
                                               NULL };
        CHECK(json_is_object(out));
        CHECK(strcmp(json_get_str(out, "object", ""), "chat.completion") == 0);
        CHECK(json_is_string(json_object_get(out, "id")) && int_at(out, "created") == 7);
        const json_t *choices = json_object_get(out, "choices");
        CHECK(json_is_array(choices) && json_array_size(choices) == 1);
        const json_t *c = json_array_get(choices, 0);
        CHECK(str_in(json_get_str(c, "finish_reason", NULL), finish));
        const json_t *m = json_object_get(c, "message");
        CHECK(strcmp(json_get_str(m, "role", ""), "assistant") == 0);
        const json_t *content = json_object_get(m, "content");
        CHECK(json_is_string(content) || json_is_null(content));
        size_t i;
        const json_t *tc;
        json_array_foreach(json_object_get(m, "tool_calls"), i, tc) {
                const json_t *fn = json_object_get(tc, "function");
                CHECK(json_get_str(tc, "id", NULL) && json_get_str(fn, "name", NULL));
                json_error_t jerr;
                json_t *a = json_loads(json_get_str(fn, "arguments", ""), 0, &jerr);
                CHECK(json_is_object(a));
                json_decref(a);
        }
        const json_t *ou = json_object_get(out, "usage");
        CHECK(int_at(ou, "prompt_tokens") == u->input_tokens);
        CHECK(int_at(ou, "completion_tokens") == u->output_tokens);
        CHECK(int_at(ou, "total_tokens") == u->input_tokens + u->output_tokens);
        CHECK(int_at(json_object_get(ou, "prompt_tokens_details"), "cached_tokens") ==
              u->cached_tokens);
        return m;
}

/* Checks an Anthropic message we produced. */
static void check_anthropic(const json_t *out, const struct llm_usage *u)
{
        static const char *const stop[] = { "end_turn", "max_tokens", "tool_use", "refusal", NULL };
        CHECK(json_is_object(out));
        CHECK(strcmp(json_get_str(out, "type", ""), "message") == 0);
        CHECK(strcmp(json_get_str(out, "role", ""), "assistant") == 0);
        CHECK(json_is_string(json_object_get(out, "id")));
        CHECK(str_in(json_get_str(out, "stop_reason", NULL), stop));
        const json_t *content = json_object_get(out, "content");
        CHECK(json_is_array(content));
        size_t i;
        const json_t *b;
        json_array_foreach(content, i, b) {
                const char *t = json_get_str(b, "type", "");
                if (strcmp(t, "text") == 0) {
                        CHECK(json_string_length(json_object_get(b, "text")) > 0);
                } else {
                        CHECK(strcmp(t, "tool_use") == 0);
                        CHECK(json_get_str(b, "id", NULL) && json_get_str(b, "name", NULL));
                        CHECK(json_is_object(json_object_get(b, "input")));
                }
        }
        const json_t *au = json_object_get(out, "usage");
        CHECK(int_at(au, "output_tokens") == u->output_tokens);
        CHECK(int_at(au, "cache_read_input_tokens") == u->cached_tokens);
        CHECK(int_at(au, "input_tokens") >= 0);
        CHECK(int_at(au, "input_tokens") + u->cached_tokens + u->cache_creation_tokens ==
              u->input_tokens);
}

static void same_usage(const struct llm_usage *a, const struct llm_usage *b)
{
        CHECK(a->input_tokens == b->input_tokens && a->output_tokens == b->output_tokens &&
              a->cached_tokens == b->cached_tokens);
}

static void fuzz_anthropic_to_openai(const json_t *j)
{
        json_t *out = NULL;
        struct llm_usage u;
        int r = translate_response_anthropic_to_openai(j, &opts, &out, &u);
        if (r < 0) {
                CHECK(r == -EBADMSG || r == -ENOMEM);
                return;
        }
        check_usage_range(&u);
        const json_t *m = check_openai(out, &u);
        /* Back to Anthropic: same text, same tool calls, same counts. */
        json_t *back = NULL;
        struct llm_usage u2;
        CHECK(translate_response_openai_to_anthropic(out, &opts, &back, &u2) == 0);
        check_anthropic(back, &u2);
        if (u.input_tokens <= COUNT_MAX)
                same_usage(&u, &u2);
        const json_t *text = json_object_get(m, "content");
        const json_t *bc = json_object_get(back, "content");
        size_t n_calls = json_array_size(json_object_get(m, "tool_calls"));
        bool has_text = json_is_string(text) && json_string_length(text) > 0;
        CHECK(json_array_size(bc) == n_calls + has_text);
        if (has_text)
                CHECK(json_equal(json_object_get(json_array_get(bc, 0), "text"), text));
        json_decref(back);
        json_decref(out);
}

static void fuzz_openai_to_anthropic(const json_t *j)
{
        json_t *out = NULL;
        struct llm_usage u;
        int r = translate_response_openai_to_anthropic(j, &opts, &out, &u);
        if (r < 0) {
                CHECK(r == -EBADMSG || r == -ENOMEM);
                return;
        }
        check_usage_range(&u);
        CHECK(u.cache_creation_tokens == 0);
        check_anthropic(out, &u);
        json_t *back = NULL;
        struct llm_usage u2;
        CHECK(translate_response_anthropic_to_openai(out, &opts, &back, &u2) == 0);
        const json_t *m = check_openai(back, &u2);
        same_usage(&u, &u2);
        /* Every tool_use block comes back as a tool call with the same input. */
        const json_t *content = json_object_get(out, "content");
        size_t n_tools = 0, i;
        const json_t *b;
        json_array_foreach(content, i, b) {
                if (strcmp(json_get_str(b, "type", ""), "tool_use") != 0)
                        continue;
                const json_t *tc = json_array_get(json_object_get(m, "tool_calls"), n_tools++);
                const json_t *fn = json_object_get(tc, "function");
                CHECK(strcmp(json_get_str(fn, "name", ""), json_get_str(b, "name", "")) == 0);
                json_error_t jerr;
                json_t *a = json_loads(json_get_str(fn, "arguments", ""), 0, &jerr);
                CHECK(json_equal(a, json_object_get(b, "input")));
                json_decref(a);
        }
        CHECK(json_array_size(json_object_get(m, "tool_calls")) == n_tools);
        json_decref(back);
        json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size == 0)
                return 0;
        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loadb((const char *)data + 1, size - 1, 0, &jerr);
        if (!j)
                return 0;
        if (data[0] & 1)
                fuzz_openai_to_anthropic(j);
        else
                fuzz_anthropic_to_openai(j);
        return 0;
}
