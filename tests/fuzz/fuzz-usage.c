/* Fuzz target: token usage extraction (proxy/usage.c) from untrusted upstream bodies and the
 * passthrough-stream observer that feeds budgets and the audit record. First byte: bit 0 = API
 * (Anthropic), bit 1 = stream mode, rest = slice size. Oracles: counts are clamped and
 * consistent; the observer's result does not depend on how the bytes were split, equals what
 * usage_observer_event() gives for the same events, and is stable when asked twice. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/sse.h"
#include "proxy/usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
        do {                                                                                       \
                if (!(x))                                                                          \
                        abort();                                                                   \
        } while (0)

#define COUNT_MAX ((int64_t)1 << 40)

static void check_usage(const struct llm_usage *u, enum llm_api api)
{
        CHECK(u->input_tokens >= 0 && u->output_tokens >= 0 && u->cached_tokens >= 0 &&
              u->cache_creation_tokens >= 0);
        CHECK(u->output_tokens <= COUNT_MAX && u->cached_tokens <= COUNT_MAX &&
              u->cache_creation_tokens <= COUNT_MAX);
        if (api == LLM_API_OPENAI) {
                CHECK(u->input_tokens <= COUNT_MAX && u->cached_tokens <= u->input_tokens);
                CHECK(u->cache_creation_tokens == 0);
        } else {
                CHECK(u->input_tokens <= 3 * COUNT_MAX);
                CHECK(u->cached_tokens + u->cache_creation_tokens <= u->input_tokens);
        }
}

static void check_result(const struct usage_result *r, enum llm_api api)
{
        check_usage(&r->usage, api);
        const char *f = r->finish_reason;
        CHECK(memchr(f, 0, sizeof(r->finish_reason)));
        for (; *f; f++)
                CHECK(*f >= 0x20 && *f < 0x7f);
}

static bool same_result(const struct usage_result *a, const struct usage_result *b)
{
        return a->usage.input_tokens == b->usage.input_tokens &&
               a->usage.output_tokens == b->usage.output_tokens &&
               a->usage.cached_tokens == b->usage.cached_tokens &&
               a->usage.cache_creation_tokens == b->usage.cache_creation_tokens &&
               a->usage.present == b->usage.present &&
               strcmp(a->finish_reason, b->finish_reason) == 0 && a->completed == b->completed &&
               a->error == b->error && a->parse_failed == b->parse_failed;
}

static void observe(enum llm_api api, const uint8_t *data, size_t size, size_t step,
                    struct usage_result *ret)
{
        _cleanup_(usage_observer_freep) struct usage_observer *o = NULL;
        if (usage_observer_new(&o, api) < 0)
                abort();
        for (size_t i = 0; i < size; i += step)
                CHECK(usage_observer_feed(o, data + i, MIN(step, size - i)) == 0);
        usage_observer_result(o, ret);
        struct usage_result again;
        usage_observer_result(o, &again);
        CHECK(same_result(ret, &again));
}

static int event_cb(const struct sse_event *ev, void *userdata)
{
        usage_observer_event(userdata, ev);
        return 0;
}

static void fuzz_stream(enum llm_api api, size_t step, const uint8_t *data, size_t size)
{
        struct usage_result whole, sliced;
        observe(api, data, size, size ? size : 1, &whole);
        observe(api, data, size, step, &sliced);
        check_result(&whole, api);
        CHECK(same_result(&whole, &sliced));

        /* The same events handed over one by one from the caller's own parser. */
        _cleanup_(usage_observer_freep) struct usage_observer *o = NULL;
        _cleanup_(sse_parser_freep) struct sse_parser *p = NULL;
        if (usage_observer_new(&o, api) < 0 || sse_parser_new(&p) < 0)
                abort();
        int r = sse_parser_feed(p, data, size, event_cb, o);
        if (r == 0)
                r = sse_parser_finish(p, event_cb, o);
        if (r == 0) {
                struct usage_result ev;
                usage_observer_result(o, &ev);
                CHECK(!whole.parse_failed && same_result(&whole, &ev));
        } else {
                CHECK(whole.parse_failed);
        }
}

static void fuzz_body(enum llm_api api, const uint8_t *data, size_t size)
{
        struct llm_usage u = { .input_tokens = -1 };
        int r = usage_from_body(api, data, size, &u);
        CHECK(r == 1 || r == 0 || r == -EBADMSG);
        if (r == 1) {
                CHECK(u.present);
                check_usage(&u, api);
        } else {
                CHECK(u.input_tokens == -1); /* untouched */
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size == 0)
                return 0;
        uint8_t ctl = data[0];
        enum llm_api api = ctl & 1 ? LLM_API_ANTHROPIC : LLM_API_OPENAI;
        if (ctl & 2)
                fuzz_stream(api, (size_t)(ctl >> 2) + 1, data + 1, size - 1);
        else
                fuzz_body(api, data + 1, size - 1);
        return 0;
}
