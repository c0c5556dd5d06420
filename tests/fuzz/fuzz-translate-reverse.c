/* Fuzz target: the reverse translation direction (proxy/translate-reverse.c, translate-rstream.c):
 * an agent's Anthropic Messages request -> OpenAI chat request, and an upstream OpenAI chunk
 * stream -> Anthropic events. First byte: bit 0 = stream mode, bit 1 = clean end, rest = slice.
 * Oracles: the request output is a well-formed OpenAI request; the event stream obeys the
 * Anthropic grammar (message_start, each block started once with increasing indexes, deltas only
 * into the open block and of its kind, message_delta + message_stop or a final error) and does not
 * depend on how the upstream bytes were split; a stream that ends without an error carries every
 * upstream tool call as one block, in order of appearance, whose arguments equal the
 * concatenation the upstream sent for that call (also when calls interleave), and all the text. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "proxy/sse.h"
#include "proxy/translate-internal.h"
#include "proxy/translate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
        do {                                                                                       \
                if (!(x))                                                                          \
                        abort();                                                                   \
        } while (0)

static bool str_in(const char *s, const char *const *set)
{
        for (; s && *set; set++)
                if (strcmp(s, *set) == 0)
                        return true;
        return false;
}

static void check_request(const json_t *in, const json_t *out)
{
        static const char *const roles[] = { "system", "user", "assistant", "tool", NULL };
        CHECK(json_is_object(out));
        CHECK(strcmp(json_get_str(out, "model", ""), "upstream-model") == 0);
        const json_t *msgs = json_object_get(out, "messages");
        CHECK(json_is_array(msgs));
        size_t i;
        const json_t *m;
        json_array_foreach(msgs, i, m) {
                const char *role = json_get_str(m, "role", NULL);
                CHECK(str_in(role, roles));
                const json_t *c = json_object_get(m, "content");
                CHECK(json_is_string(c) || json_is_array(c) || json_is_null(c));
                if (strcmp(role, "tool") == 0)
                        CHECK(json_is_string(json_object_get(m, "tool_call_id")));
                size_t k;
                const json_t *tc;
                json_array_foreach(json_object_get(m, "tool_calls"), k, tc) {
                        CHECK(strcmp(role, "assistant") == 0);
                        const char *args = json_get_str(json_object_get(tc, "function"),
                                                        "arguments", NULL);
                        CHECK(args);
                        json_error_t jerr;
                        json_t *a = json_loads(args, 0, &jerr);
                        CHECK(json_is_object(a)); /* arguments are always a JSON object */
                        json_decref(a);
                }
        }
        if (json_is_true(json_object_get(in, "stream"))) {
                CHECK(json_is_true(json_object_get(out, "stream")));
                CHECK(json_is_true(json_object_get(json_object_get(out, "stream_options"),
                                                   "include_usage")));
        } else {
                CHECK(!json_object_get(out, "stream"));
        }
        /* The output serialises and reads back unchanged. */
        char *s = json_dump_compact(out);
        if (s) {
                json_error_t jerr;
                json_t *back = json_loads(s, 0, &jerr);
                CHECK(back && json_equal(back, out));
                json_decref(back);
                free(s);
        }
}

static void fuzz_request(const uint8_t *data, size_t size)
{
        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loadb((const char *)data, size, 0, &jerr);
        if (!j)
                return;
        struct translate_request_opts o = { .model = "upstream-model", .default_max_tokens = 0 };
        struct api_error err;
        memset(&err, 0xAA, sizeof(err));
        json_t *out = NULL;
        int r = translate_request_anthropic_to_openai(j, &o, &out, &err);
        if (r < 0) {
                CHECK(r == -EINVAL || r == -ENOMEM);
                CHECK(!out);
                if (r == -EINVAL) {
                        CHECK(err.status == 400);
                        CHECK(memchr(err.message, 0, sizeof(err.message)) && err.message[0]);
                        CHECK(memchr(err.param, 0, sizeof(err.param)));
                }
                return;
        }
        check_request(j, out);
        /* Our own output goes through the forward direction without crashing. */
        json_t *back = NULL;
        if (translate_request_openai_to_anthropic(out, &o, &back, &err) == 0)
                json_decref(back);
        json_decref(out);
}

/* ---- Anthropic event grammar over the translator's output bytes ---- */

enum { BLOCK_TEXT = 1, BLOCK_TOOL = 2 };

#define MAX_CALLS 4097 /* TRANSLATE_MAX_BLOCKS + 1 */

/* A tool call as the client received it, or as the upstream sent it. */
struct call {
        char *id, *name;
        struct strbuf args;
};

struct calls {
        struct call v[MAX_CALLS];
        int n;
        struct strbuf text; /* all text, concatenated */
};

static struct call *calls_add(struct calls *c, const char *id, const char *name)
{
        CHECK(c->n < MAX_CALLS);
        struct call *k = &c->v[c->n++];
        k->id = strdup(id);
        k->name = strdup(name);
        CHECK(k->id && k->name);
        k->args = (struct strbuf)STRBUF_INIT(16 * 1024 * 1024);
        return k;
}

static void calls_free(struct calls *c)
{
        for (int i = 0; i < c->n; i++) {
                free(c->v[i].id);
                free(c->v[i].name);
                strbuf_free(&c->v[i].args);
        }
        strbuf_free(&c->text);
}

struct grammar {
        bool started, ended, delta_seen, error;
        int open;       /* open block index, -1 none */
        int next_index; /* next content_block_start index */
        int open_kind;
        unsigned char kind[4096 + 1]; /* per block index (TRANSLATE_MAX_BLOCKS) */
        struct calls got;             /* tool blocks in order, text */
};

static void check_event(struct grammar *g, const char *name, json_t *j)
{
        CHECK(json_is_object(j));
        CHECK(strcmp(json_get_str(j, "type", ""), name) == 0);
        CHECK(!g->ended); /* nothing after message_stop / error */
        if (strcmp(name, "error") == 0) {
                const json_t *e = json_object_get(j, "error");
                CHECK(json_get_str(e, "type", NULL) && json_get_str(e, "message", NULL));
                g->ended = g->error = true;
                return;
        }
        if (strcmp(name, "message_start") == 0) {
                CHECK(!g->started);
                g->started = true;
                const json_t *m = json_object_get(j, "message");
                CHECK(strcmp(json_get_str(m, "role", ""), "assistant") == 0);
                CHECK(strcmp(json_get_str(m, "model", ""), "m") == 0);
                CHECK(json_is_array(json_object_get(m, "content")));
                return;
        }
        CHECK(g->started);
        CHECK(!g->delta_seen || strcmp(name, "message_stop") == 0);
        const json_t *vi = json_object_get(j, "index");
        int idx = json_is_integer(vi) ? (int)json_integer_value(vi) : -2;
        if (strcmp(name, "content_block_start") == 0) {
                CHECK(g->open < 0 && idx == g->next_index && idx <= 4096);
                const json_t *b = json_object_get(j, "content_block");
                const char *bt = json_get_str(b, "type", "");
                if (strcmp(bt, "text") == 0) {
                        g->open_kind = BLOCK_TEXT;
                } else {
                        CHECK(strcmp(bt, "tool_use") == 0);
                        CHECK(*json_get_str(b, "id", "") && *json_get_str(b, "name", ""));
                        CHECK(json_is_object(json_object_get(b, "input")));
                        g->open_kind = BLOCK_TOOL;
                        calls_add(&g->got, json_get_str(b, "id", ""), json_get_str(b, "name", ""));
                }
                g->kind[g->next_index] = (unsigned char)g->open_kind;
                g->open = g->next_index++;
        } else if (strcmp(name, "content_block_delta") == 0) {
                /* Only into the open block (interleaved upstream tool calls included). */
                CHECK(idx >= 0 && idx == g->open);
                const json_t *d = json_object_get(j, "delta");
                const char *dt = json_get_str(d, "type", "");
                if (g->kind[idx] == BLOCK_TEXT) {
                        const json_t *t = json_object_get(d, "text");
                        CHECK(strcmp(dt, "text_delta") == 0 && json_is_string(t));
                        CHECK(strbuf_append(&g->got.text, json_string_value(t),
                                            json_string_length(t)) == 0);
                } else {
                        const json_t *pj = json_object_get(d, "partial_json");
                        CHECK(strcmp(dt, "input_json_delta") == 0 && json_is_string(pj));
                        CHECK(strbuf_append(&g->got.v[g->got.n - 1].args, json_string_value(pj),
                                            json_string_length(pj)) == 0);
                }
        } else if (strcmp(name, "content_block_stop") == 0) {
                CHECK(idx >= 0 && idx == g->open);
                g->open = -1;
        } else if (strcmp(name, "message_delta") == 0) {
                static const char *const reasons[] = { "end_turn", "max_tokens", "tool_use",
                                                       "refusal", NULL };
                CHECK(g->open < 0);
                CHECK(str_in(json_get_str(json_object_get(j, "delta"), "stop_reason", NULL),
                             reasons));
                const json_t *u = json_object_get(j, "usage");
                CHECK(json_integer_value(json_object_get(u, "output_tokens")) >= 0);
                CHECK(json_integer_value(json_object_get(u, "input_tokens")) >= 0);
                g->delta_seen = true;
        } else if (strcmp(name, "message_stop") == 0) {
                CHECK(g->delta_seen);
                g->ended = true;
        } else {
                abort(); /* unknown event name */
        }
}

/* The translator writes exactly "event: NAME\ndata: JSON\n\n" per event. */
static void check_stream_bytes(const char *p, size_t len, struct grammar *g)
{
        const char *end = p + len;
        while (p < end) {
                CHECK((size_t)(end - p) > 7 && memcmp(p, "event: ", 7) == 0);
                p += 7;
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                CHECK(nl && nl - p < 64);
                char name[64];
                memcpy(name, p, (size_t)(nl - p));
                name[nl - p] = '\0';
                p = nl + 1;
                CHECK((size_t)(end - p) > 6 && memcmp(p, "data: ", 6) == 0);
                p += 6;
                nl = memchr(p, '\n', (size_t)(end - p));
                CHECK(nl && nl + 1 < end && nl[1] == '\n');
                json_error_t jerr;
                json_t *j = json_loadb(p, (size_t)(nl - p), 0, &jerr);
                CHECK(j);
                check_event(g, name, j);
                json_decref(j);
                p = nl + 2;
        }
}

/* ---- What the upstream sent: tool calls (same identity rule as the translator: a new call
 * when the index is new, its id differs from the index's last one, or a name comes without an
 * id) with their argument pieces concatenated, and the text. ---- */

struct upstream {
        struct calls calls;
        int call_of[TRANSLATE_MAX_TOOLS]; /* OpenAI index -> calls.v position + 1 */
        char *id_of[TRANSLATE_MAX_TOOLS];
};

static void upstream_call(struct upstream *u, const json_t *tc, size_t pos)
{
        const json_t *vi = json_object_get(tc, "index");
        json_int_t ti = json_is_integer(vi) ? json_integer_value(vi) : (json_int_t)pos;
        if (ti < 0 || ti >= TRANSLATE_MAX_TOOLS)
                return; /* the translator fails the stream */
        const json_t *fn = json_object_get(tc, "function");
        const char *id = json_get_str(tc, "id", "");
        const char *name = json_get_str(fn, "name", "");
        const json_t *args = json_object_get(fn, "arguments");
        if (!u->id_of[ti] || (*id && strcmp(id, u->id_of[ti]) != 0) || (!*id && *name)) {
                if (!*name || u->calls.n == MAX_CALLS)
                        return; /* the translator fails the stream */
                free(u->id_of[ti]);
                CHECK((u->id_of[ti] = strdup(id)));
                calls_add(&u->calls, id, name);
                u->call_of[ti] = u->calls.n;
        }
        struct strbuf *a = &u->calls.v[u->call_of[ti] - 1].args;
        if (json_is_string(args)) {
                CHECK(strbuf_appends(a, json_string_value(args)) == 0);
        } else if (json_is_object(args)) {
                char *d = json_dump_compact(args);
                CHECK(d && strbuf_appends(a, d) == 0);
                free(d);
        }
}

static int upstream_event(const struct sse_event *ev, void *userdata)
{
        struct upstream *u = userdata;
        if (strcmp(ev->data, "[DONE]") == 0)
                return -ECANCELED; /* the translator reads no further either */
        json_error_t jerr;
        _cleanup_json_ json_t *j = json_loadb(ev->data, ev->data_len, 0, &jerr);
        const json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
        const json_t *delta = json_object_get(choice, "delta");
        const json_t *text = json_object_get(delta, "content");
        if (json_is_string(text))
                CHECK(strbuf_append(&u->calls.text, json_string_value(text),
                                    json_string_length(text)) == 0);
        size_t i;
        const json_t *tc;
        json_array_foreach(json_object_get(delta, "tool_calls"), i, tc)
                upstream_call(u, tc, i);
        return 0;
}

/* For a stream the translator closed without an error. */
static void check_calls(const uint8_t *data, size_t size, const struct calls *got)
{
        struct upstream *u = calloc(1, sizeof(*u));
        CHECK(u);
        u->calls.text = (struct strbuf)STRBUF_INIT(16 * 1024 * 1024);
        _cleanup_(sse_parser_freep) struct sse_parser *p = NULL;
        CHECK(sse_parser_new(&p) == 0);
        int r = sse_parser_feed(p, data, size, upstream_event, u);
        if (r == 0)
                r = sse_parser_finish(p, upstream_event, u);
        CHECK(r == 0 || r == -ECANCELED);

        CHECK(got->n == u->calls.n);
        for (int i = 0; i < got->n; i++) {
                const struct call *g = &got->v[i], *w = &u->calls.v[i];
                CHECK(strcmp(g->name, w->name) == 0);
                CHECK(!*w->id || strcmp(g->id, w->id) == 0);
                CHECK(g->args.len == w->args.len &&
                      (g->args.len == 0 || memcmp(g->args.data, w->args.data, g->args.len) == 0));
        }
        CHECK(got->text.len == u->calls.text.len &&
              (got->text.len == 0 ||
               memcmp(got->text.data, u->calls.text.data, got->text.len) == 0));
        calls_free(&u->calls);
        for (size_t i = 0; i < TRANSLATE_MAX_TOOLS; i++)
                free(u->id_of[i]);
        free(u);
}

/* Run the whole stream through a translator in slices of step bytes. Odd-sized inputs run with
 * a small cap on the bytes held back for interleaved tool calls, so the fuzzer reaches it. */
static bool run_stream(const uint8_t *data, size_t size, size_t step, bool clean,
                       struct strbuf *out, struct translate_stream **ret)
{
        struct translate_stream_opts o = { .id = "msg_fuzz", .model = "m", .created = 1 };
        if (translate_stream_new(ret, TRANSLATE_OPENAI_TO_ANTHROPIC, &o) < 0)
                return false;
        if (size & 1)
                (*ret)->rpending_max = 200;
        bool full = false;
        for (size_t i = 0; i < size; i += step) {
                size_t n = size - i < step ? size - i : step;
                int r = translate_stream_feed(*ret, data + i, n, out);
                CHECK(r == 0 || r == -EBADMSG || r == -E2BIG || r == -ENOMEM);
                if (r == -E2BIG || r == -ENOMEM)
                        full = true;
        }
        int r = translate_stream_finish(*ret, clean, out);
        CHECK(r == 0 || r == -E2BIG || r == -ENOMEM);
        return !full && r == 0;
}

static void fuzz_stream(uint8_t ctl, const uint8_t *data, size_t size)
{
        bool clean = ctl & 2;
        size_t step = (size_t)(ctl >> 2) + 1;
        struct strbuf whole = STRBUF_INIT(4 * 1024 * 1024), sliced = STRBUF_INIT(4 * 1024 * 1024);
        _cleanup_(translate_stream_freep) struct translate_stream *a = NULL;
        _cleanup_(translate_stream_freep) struct translate_stream *b = NULL;
        bool ok_a = run_stream(data, size, size ? size : 1, clean, &whole, &a);
        bool ok_b = run_stream(data, size, step, clean, &sliced, &b);
        if (ok_a && ok_b) {
                /* The split points of upstream bytes never change what the client sees. */
                CHECK(whole.len == sliced.len &&
                      (whole.len == 0 || memcmp(whole.data, sliced.data, whole.len) == 0));
                struct grammar *g = calloc(1, sizeof(*g));
                CHECK(g);
                g->open = -1;
                g->got.text = (struct strbuf)STRBUF_INIT(16 * 1024 * 1024);
                check_stream_bytes(whole.data, whole.len, g);
                CHECK(g->ended); /* every stream is closed, one way or the other */
                CHECK(translate_stream_done(a));
                CHECK(translate_stream_failed(a) == g->error);
                const char *fr = translate_stream_finish_reason(a);
                CHECK(g->error || fr);
                struct llm_usage u;
                translate_stream_usage(a, &u);
                CHECK(u.input_tokens >= 0 && u.output_tokens >= 0 && u.cached_tokens >= 0 &&
                      u.cached_tokens <= u.input_tokens);
                if (!g->error)
                        check_calls(data, size, &g->got);
                calls_free(&g->got);
                free(g);
        }
        strbuf_free(&whole);
        strbuf_free(&sliced);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size == 0)
                return 0;
        uint8_t ctl = data[0];
        if (ctl & 1)
                fuzz_stream(ctl, data + 1, size - 1);
        else
                fuzz_request(data + 1, size - 1);
        return 0;
}
