/* Token usage extraction from OpenAI / Anthropic bodies and events, and a passthrough-stream
 * observer for budgets. Trust level: parses untrusted upstream JSON; counts are clamped to
 * [0, USAGE_COUNT_MAX]. Pure: no I/O. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "proxy/jscan.h"
#include "proxy/usage.h"

#define USAGE_COUNT_MAX ((int64_t)1 << 40)

/* Non-negative integer field; false if absent or not a number. */
static bool get_count(const json_t *obj, const char *key, int64_t *ret)
{
        const json_t *v = json_object_get(obj, key);
        json_int_t n;
        if (json_is_integer(v))
                n = json_integer_value(v);
        else if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1e13)
                n = (json_int_t)json_real_value(v);
        else
                return false;
        *ret = n < 0 ? 0 : (n > USAGE_COUNT_MAX ? USAGE_COUNT_MAX : (int64_t)n);
        return true;
}

int usage_from_openai(const json_t *obj, struct llm_usage *ret)
{
        const json_t *u = json_object_get(obj, "usage");
        if (!json_is_object(u))
                return 0;
        struct llm_usage r = { .present = true };
        if (!get_count(u, "prompt_tokens", &r.input_tokens))
                get_count(u, "input_tokens", &r.input_tokens); /* Responses API */
        if (!get_count(u, "completion_tokens", &r.output_tokens))
                get_count(u, "output_tokens", &r.output_tokens);
        const json_t *d = json_object_get(u, "prompt_tokens_details");
        if (!json_is_object(d))
                d = json_object_get(u, "input_tokens_details");
        if (json_is_object(d))
                get_count(d, "cached_tokens", &r.cached_tokens);
        if (r.cached_tokens > r.input_tokens)
                r.cached_tokens = r.input_tokens;
        *ret = r;
        return 1;
}

/* Anthropic keeps input/cache fields separately; we keep them raw inside and sum on output. */
int usage_from_anthropic(const json_t *obj, struct llm_usage *ret)
{
        const json_t *u = NULL;
        const json_t *msg = json_object_get(obj, "message");
        if (json_is_object(msg))
                u = json_object_get(msg, "usage"); /* message_start */
        if (!json_is_object(u))
                u = json_object_get(obj, "usage"); /* message body, message_delta */
        if (!json_is_object(u))
                return 0;

        /* Recover the raw Anthropic "input_tokens" from what we stored (input includes caches). */
        int64_t in = ret->input_tokens - ret->cached_tokens - ret->cache_creation_tokens;
        if (!ret->present || in < 0)
                in = 0;
        int64_t cread = ret->present ? ret->cached_tokens : 0;
        int64_t ccreate = ret->present ? ret->cache_creation_tokens : 0;
        int64_t out = ret->present ? ret->output_tokens : 0;

        get_count(u, "input_tokens", &in);
        get_count(u, "cache_read_input_tokens", &cread);
        get_count(u, "cache_creation_input_tokens", &ccreate);
        get_count(u, "output_tokens", &out);

        ret->input_tokens = in + cread + ccreate;
        ret->cached_tokens = cread;
        ret->cache_creation_tokens = ccreate;
        ret->output_tokens = out;
        ret->present = true;
        return 1;
}

int usage_from_body(enum llm_api api, const void *body, size_t len, struct llm_usage *ret)
{
        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loadb(body, len, 0, &jerr);
        if (!json_is_object(j))
                return -EBADMSG;
        if (api == LLM_API_ANTHROPIC) {
                struct llm_usage u = { 0 };
                int r = usage_from_anthropic(j, &u);
                if (r > 0)
                        *ret = u;
                return r;
        }
        return usage_from_openai(j, ret);
}

/* ------------------------------------------------------------------------------------------ */

struct usage_observer {
        enum llm_api api;
        struct sse_parser *parser;
        struct usage_result res;
};

int usage_observer_new(struct usage_observer **ret, enum llm_api api)
{
        struct usage_observer *o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        int r = sse_parser_new(&o->parser);
        if (r < 0) {
                free(o);
                return r;
        }
        o->api = api;
        *ret = o;
        return 0;
}

struct usage_observer *usage_observer_free(struct usage_observer *o)
{
        if (!o)
                return NULL;
        sse_parser_free(o->parser);
        free(o);
        return NULL;
}

static void set_finish(struct usage_observer *o, const json_t *v)
{
        if (!json_is_string(v))
                return;
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        if (n >= sizeof(o->res.finish_reason))
                n = sizeof(o->res.finish_reason) - 1;
        for (size_t i = 0; i < n; i++)
                o->res.finish_reason[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        o->res.finish_reason[n] = '\0';
}

/* What a stream event is read for (below); the rest of it is validated, not built (jscan
 * accepts exactly what json_loadb does). */
static const struct jscan_keep keep_usage[] = { { "usage", NULL }, { NULL, NULL } };
static const struct jscan_keep keep_finish[] = { { "finish_reason", NULL }, { NULL, NULL } };
static const struct jscan_keep keep_stop[] = { { "stop_reason", NULL }, { NULL, NULL } };
static const struct jscan_keep keep_openai_event[] = {
        { "error", NULL },    { "usage", NULL }, { "choices", keep_finish },
        { "response", keep_usage }, { "type", NULL },  { NULL, NULL },
};
static const struct jscan_keep keep_anthropic_event[] = {
        { "type", NULL },  { "usage", NULL }, { "message", keep_usage },
        { "delta", keep_stop }, { NULL, NULL },
};

void usage_observer_event(struct usage_observer *o, const struct sse_event *ev)
{
        if (o->api == LLM_API_OPENAI && strcmp(ev->data, "[DONE]") == 0) {
                o->res.completed = true;
                return;
        }
        _cleanup_json_ json_t *j = NULL;
        if (jscan_load(ev->data, ev->data_len,
                       o->api == LLM_API_OPENAI ? keep_openai_event : keep_anthropic_event,
                       &j) < 0 ||
            !json_is_object(j))
                return;

        if (o->api == LLM_API_OPENAI) {
                if (json_object_get(j, "error") && !json_is_null(json_object_get(j, "error")))
                        o->res.error = true;
                struct llm_usage u;
                if (usage_from_openai(j, &u) > 0)
                        o->res.usage = u;
                const json_t *choices = json_object_get(j, "choices");
                size_t i;
                const json_t *c;
                json_array_foreach(choices, i, c) {
                        const json_t *fr = json_object_get(c, "finish_reason");
                        if (json_is_string(fr))
                                set_finish(o, fr);
                }
                /* Responses API streams: response.completed carries response.usage. */
                const json_t *resp = json_object_get(j, "response");
                if (json_is_object(resp) && usage_from_openai(resp, &u) > 0)
                        o->res.usage = u;
                const char *type = json_get_str(j, "type", "");
                if (strcmp(type, "response.completed") == 0)
                        o->res.completed = true;
                return;
        }

        const char *type = json_get_str(j, "type", ev->event);
        if (strcmp(type, "message_start") == 0 || strcmp(type, "message_delta") == 0) {
                usage_from_anthropic(j, &o->res.usage);
                const json_t *delta = json_object_get(j, "delta");
                if (json_is_object(delta))
                        set_finish(o, json_object_get(delta, "stop_reason"));
        } else if (strcmp(type, "message_stop") == 0) {
                o->res.completed = true;
        } else if (strcmp(type, "error") == 0) {
                o->res.error = true;
        }
}

static int observer_cb(const struct sse_event *ev, void *userdata)
{
        usage_observer_event(userdata, ev);
        return 0;
}

int usage_observer_feed(struct usage_observer *o, const void *data, size_t len)
{
        if (o->res.parse_failed)
                return 0;
        if (sse_parser_feed(o->parser, data, len, observer_cb, o) < 0)
                o->res.parse_failed = true;
        return 0;
}

void usage_observer_result(struct usage_observer *o, struct usage_result *ret)
{
        if (!o->res.parse_failed && sse_parser_finish(o->parser, observer_cb, o) < 0)
                o->res.parse_failed = true;
        *ret = o->res;
}
