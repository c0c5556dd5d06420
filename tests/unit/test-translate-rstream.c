/* Unit tests for proxy/translate-rstream.c: OpenAI chunk streams -> Anthropic events, in
 * particular parallel tool calls whose argument pieces interleave (one contiguous block per call,
 * later calls held back within a cap) and upstreams that send calls one after another (every
 * piece goes out with the chunk that brought it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "proxy/translate-internal.h"
#include "proxy/translate.h"
#include "tests/unit/tap.h"

/* One line per Anthropic event, "|" after the events of each upstream chunk:
 *   ms  message_start        s1:tool(id,name) / s0:text   content_block_start
 *   d1:<piece>  delta        x1  content_block_stop        md:<stop_reason>  mx  message_stop
 *   err:<message>            error event */
static void render_event(const char *name, const json_t *j, struct strbuf *r)
{
        int idx = (int)json_integer_value(json_object_get(j, "index"));
        if (strcmp(name, "message_start") == 0) {
                strbuf_appends(r, "ms ");
        } else if (strcmp(name, "content_block_start") == 0) {
                const json_t *b = json_object_get(j, "content_block");
                if (strcmp(json_get_str(b, "type", ""), "tool_use") == 0)
                        strbuf_appendf(r, "s%d:tool(%s,%s) ", idx, json_get_str(b, "id", "?"),
                                       json_get_str(b, "name", "?"));
                else
                        strbuf_appendf(r, "s%d:%s ", idx, json_get_str(b, "type", "?"));
        } else if (strcmp(name, "content_block_delta") == 0) {
                const json_t *d = json_object_get(j, "delta");
                const char *t = json_get_str(d, "partial_json", NULL);
                if (!t)
                        t = json_get_str(d, "text", "?");
                strbuf_appendf(r, "d%d:%s ", idx, t);
        } else if (strcmp(name, "content_block_stop") == 0) {
                strbuf_appendf(r, "x%d ", idx);
        } else if (strcmp(name, "message_delta") == 0) {
                strbuf_appendf(r, "md:%s ",
                               json_get_str(json_object_get(j, "delta"), "stop_reason", "?"));
        } else if (strcmp(name, "message_stop") == 0) {
                strbuf_appends(r, "mx ");
        } else if (strcmp(name, "error") == 0) {
                strbuf_appendf(r, "err:%s ",
                               json_get_str(json_object_get(j, "error"), "message", "?"));
        } else {
                strbuf_appendf(r, "?%s ", name);
        }
}

/* Render the SSE bytes in [from, out->len) of out. */
static void render(const struct strbuf *out, size_t from, struct strbuf *r)
{
        const char *p = out->data ? out->data + from : "";
        while (*p) {
                const char *nl = strchr(p, '\n');
                const char *end = strstr(p, "\n\n");
                if (strncmp(p, "event: ", 7) != 0 || !nl || !end ||
                    strncmp(nl + 1, "data: ", 6) != 0) {
                        strbuf_appends(r, "BAD ");
                        return;
                }
                char name[64];
                snprintf(name, sizeof(name), "%.*s", (int)(nl - p - 7), p + 7);
                json_error_t jerr;
                json_t *j = json_loadb(nl + 7, (size_t)(end - nl - 7), 0, &jerr);
                if (!j || strcmp(json_get_str(j, "type", ""), name) != 0)
                        strbuf_appends(r, "BADJSON ");
                else
                        render_event(name, j, r);
                json_decref(j);
                p = end + 2;
        }
}

/* Feed each chunk as one SSE event, then "[DONE]" (unless the chunks end the stream) and a clean
 * finish; returns the rendering. */
static char *run(const char *const *chunks, size_t cap, bool *ret_failed)
{
        struct translate_stream *s = NULL;
        struct translate_stream_opts o = { .id = "msg_t", .model = "m" };
        CHECK(translate_stream_new(&s, TRANSLATE_OPENAI_TO_ANTHROPIC, &o) == 0);
        s->rpending_max = cap;
        struct strbuf out = STRBUF_INIT(64 * 1024 * 1024), r = STRBUF_INIT(1 << 20);
        for (size_t i = 0; chunks[i]; i++) {
                size_t from = out.len;
                _cleanup_free_ char *ev = NULL;
                CHECK(asprintf(&ev, "data: %s\n\n", chunks[i]) > 0);
                int k = translate_stream_feed(s, ev, strlen(ev), &out);
                CHECK(k == 0 || k == -EBADMSG);
                render(&out, from, &r);
                strbuf_appends(&r, "| ");
        }
        size_t from = out.len;
        CHECK(translate_stream_feed(s, "data: [DONE]\n\n", 14, &out) >= -EBADMSG);
        CHECK(translate_stream_finish(s, true, &out) == 0);
        CHECK(translate_stream_done(s));
        render(&out, from, &r);
        if (ret_failed)
                *ret_failed = translate_stream_failed(s);
        translate_stream_free(s);
        strbuf_free(&out);
        char *ret = NULL;
        CHECK(strbuf_steal(&r, &ret) == 0);
        return ret;
}

#define TC(i, id, name, args) \
        "{\"index\":" #i ",\"id\":\"" id "\",\"type\":\"function\",\"function\":{\"name\":\"" name \
        "\",\"arguments\":\"" args "\"}}"
#define TA(i, args) "{\"index\":" #i ",\"function\":{\"arguments\":\"" args "\"}}"
#define CALLS(...) "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[" __VA_ARGS__ "]}}]}"
#define TEXT(t) "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" t "\"}}]}"
#define FINISH(fr) "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"" fr "\"}]}"

static const struct {
        const char *name;
        size_t cap; /* rpending_max; 0 = TRANSLATE_MAX_PENDING */
        const char *chunks[12];
        const char *want;
        bool failed;
} cases[] = {
        { "one after another: every piece leaves with its chunk", 0,
          { TEXT("Hi"), CALLS(TC(0, "c0", "f", "")), CALLS(TA(0, "{\\\"a\\\":")),
            CALLS(TA(0, "1}")),
            CALLS(TC(1, "c1", "g", "{}")), FINISH("tool_calls"), NULL },
          "ms s0:text d0:Hi | x0 s1:tool(c0,f) | d1:{\"a\": | d1:1} | x1 s2:tool(c1,g) d2:{} | | "
          "x2 md:tool_use mx " },
        { "text then tools", 0,
          { TEXT("Let me "), TEXT("look."), CALLS(TC(0, "c0", "read", "{\\\"p\\\":1}")),
            CALLS(TC(1, "c1", "list", "{\\\"d\\\":2}")), FINISH("tool_calls"), NULL },
          "ms s0:text d0:Let me  | d0:look. | x0 s1:tool(c0,read) d1:{\"p\":1} | "
          "x1 s2:tool(c1,list) d2:{\"d\":2} | | x2 md:tool_use mx " },
        { "two interleaved calls (0, 1, 0, 1)", 0,
          { CALLS(TC(0, "c0", "f", "{\\\"a\\\":")), CALLS(TC(1, "c1", "g", "{\\\"b\\\":")),
            CALLS(TA(0, "1}")), CALLS(TA(1, "2}")), FINISH("tool_calls"), NULL },
          "ms s0:tool(c0,f) d0:{\"a\": | | d0:1} x0 s1:tool(c1,g) d1:{\"b\": | d1:2} | | "
          "x1 md:tool_use mx " },
        { "two interleaved calls, headers in one chunk, pieces in one chunk", 0,
          { CALLS(TC(0, "c0", "f", "") "," TC(1, "c1", "g", "")),
            CALLS(TA(0, "{\\\"a\\\":") "," TA(1, "{\\\"b\\\":")),
            CALLS(TA(1, "2}") "," TA(0, "1}")), FINISH("stop"), NULL },
          "ms s0:tool(c0,f) | d0:{\"a\": | d0:1} x0 s1:tool(c1,g) d1:{\"b\":2} | | "
          "x1 md:tool_use mx " },
        { "three interleaved calls, the last one completes first", 0,
          { CALLS(TC(0, "c0", "f", "") "," TC(1, "c1", "g", "") "," TC(2, "c2", "h", "")),
            CALLS(TA(0, "{\\\"a\\\"") "," TA(1, "{\\\"b\\\"") "," TA(2, "{\\\"c\\\"")),
            CALLS(TA(2, ":3}")), CALLS(TA(1, ":2}")), CALLS(TA(0, ":1}")),
            FINISH("tool_calls"), NULL },
          "ms s0:tool(c0,f) | d0:{\"a\" | | | d0::1} x0 s1:tool(c1,g) d1:{\"b\":2} x1 "
          "s2:tool(c2,h) d2:{\"c\":3} | | x2 md:tool_use mx " },
        { "three interleaved calls, the middle one keeps streaming once open", 0,
          { CALLS(TC(0, "c0", "f", "[")), CALLS(TC(1, "c1", "g", "{\\\"s\\\":\\\"}")),
            CALLS(TC(2, "c2", "h", "{}")), CALLS(TA(0, "]")), CALLS(TA(1, "x\\\"")),
            CALLS(TA(1, "}")), FINISH("tool_calls"), NULL },
          "ms s0:tool(c0,f) d0:[ | | | d0:] x0 s1:tool(c1,g) d1:{\"s\":\"} | d1:x\" | "
          "d1:} x1 s2:tool(c2,h) d2:{} | | x2 md:tool_use mx " },
        { "tool call with empty arguments", 0,
          { TEXT("ok"), CALLS(TC(0, "c0", "now", "")), FINISH("tool_calls"), NULL },
          "ms s0:text d0:ok | x0 s1:tool(c0,now) | | x1 md:tool_use mx " },
        { "empty arguments, then another call: held back until the end", 0,
          { CALLS(TC(0, "c0", "now", "")), CALLS(TC(1, "c1", "g", "{\\\"z\\\":")),
            CALLS(TA(1, "0}")), FINISH("stop"), NULL },
          "ms s0:tool(c0,now) | | | | x0 s1:tool(c1,g) d1:{\"z\":0} x1 md:tool_use mx " },
        { "text while an interleaved call is incomplete waits its turn", 0,
          { CALLS(TC(0, "c0", "f", "{")), TEXT("a"), TEXT("b"), CALLS(TA(0, "}")), TEXT("c"),
            FINISH("stop"), NULL },
          "ms s0:tool(c0,f) d0:{ | | | d0:} x0 s1:text d1:ab | d1:c | | x1 md:tool_use mx " },
        { "servers numbering every call 0: a new id is a new call", 0,
          { CALLS(TC(0, "c1", "f", "{")), CALLS(TC(0, "c2", "g", "{}")), FINISH("tool_calls"),
            NULL },
          "ms s0:tool(c1,f) d0:{ | x0 s1:tool(c2,g) d1:{} | | x1 md:tool_use mx " },
        { "Ollama: whole argument objects, no index, no id", 0,
          { "{\"choices\":[{\"delta\":{\"tool_calls\":["
            "{\"function\":{\"name\":\"f\",\"arguments\":{\"x\":1}}},"
            "{\"function\":{\"name\":\"g\",\"arguments\":{}}}]}}]}",
            FINISH("stop"), NULL },
          "ms s0:tool(toolu_0,f) d0:{\"x\":1} x0 s1:tool(toolu_1,g) d1:{} | | "
          "x1 md:tool_use mx " },
        { "buffer cap exceeded: error event, nothing after", 16,
          { CALLS(TC(0, "c0", "f", "{")), CALLS(TC(1, "c1", "g", "{\\\"long\\\":")),
            CALLS(TA(1, "\\\"0123456789\\\"}")), CALLS(TA(0, "}")), FINISH("tool_calls"), NULL },
          "ms s0:tool(c0,f) d0:{ | | "
          "err:upstream interleaved tool calls beyond the proxy's buffer limit | | | ",
          true },
        { "buffer cap reached exactly: fine", 16,
          { CALLS(TC(0, "c0", "f", "{")), CALLS(TC(1, "c1", "g", "{\\\"lon\\\":1}")),
            CALLS(TA(0, "}")), FINISH("tool_calls"), NULL },
          "ms s0:tool(c0,f) d0:{ | | d0:} x0 s1:tool(c1,g) d1:{\"lon\":1} | | x1 md:tool_use mx " },
        { "arguments for a call whose block ended: error event", 0,
          { CALLS(TC(0, "c0", "f", "{}")), CALLS(TC(1, "c1", "g", "{}")), CALLS(TA(0, "1")),
            FINISH("tool_calls"), NULL },
          "ms s0:tool(c0,f) d0:{} | x0 s1:tool(c1,g) d1:{} | "
          "err:upstream sent tool call arguments after the call had ended | | ",
          true },
};

static void test_cases(void)
{
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                bool failed = !cases[i].failed;
                _cleanup_free_ char *got = run(cases[i].chunks, cases[i].cap, &failed);
                if (!got || strcmp(got, cases[i].want) != 0)
                        fprintf(stderr, "case \"%s\":\n  got:  %s\n  want: %s\n", cases[i].name,
                                got ? got : "(null)", cases[i].want);
                CHECK_STREQ(got, cases[i].want);
                CHECK(failed == cases[i].failed);
        }
}

/* The real cap (TRANSLATE_MAX_PENDING): a held-back call just below it comes through whole;
 * one byte more ends the stream with an error event. */
static void test_default_cap(void)
{
        for (int over = 0; over <= 1; over++) {
                const size_t piece = 64 * 1024;
                /* held: slot ids "c0" + "c1", id "c1" + name "g" of the queued call, pieces */
                size_t total = TRANSLATE_MAX_PENDING - 2 - 2 - 2 - 1 + (size_t)over;
                struct translate_stream *s = NULL;
                struct translate_stream_opts o = { .id = "msg_t", .model = "m" };
                CHECK(translate_stream_new(&s, TRANSLATE_OPENAI_TO_ANTHROPIC, &o) == 0);
                struct strbuf out = STRBUF_INIT(64 * 1024 * 1024);
                const char *head = "data: " CALLS(TC(0, "c0", "f", "{")) "\n\n"
                                   "data: " CALLS(TC(1, "c1", "g", "\\\"")) "\n\n";
                CHECK(translate_stream_feed(s, head, strlen(head), &out) == 0);
                size_t sent = 1;
                int r = 0;
                char *x = malloc(piece + 1);
                CHECK(x != NULL);
                while (r == 0 && sent < total) {
                        size_t n = total - sent < piece ? total - sent : piece;
                        memset(x, 'x', n);
                        x[n] = '\0';
                        _cleanup_free_ char *ev = NULL;
                        CHECK(asprintf(&ev, "data: " CALLS(TA(1, "%s")) "\n\n", x) > 0);
                        r = translate_stream_feed(s, ev, strlen(ev), &out);
                        sent += n;
                }
                free(x);
                const char *tail = "data: " CALLS(TA(0, "}") "," TA(1, "\\\"")) "\n\n"
                                   "data: [DONE]\n\n";
                if (r == 0)
                        r = translate_stream_feed(s, tail, strlen(tail), &out);
                CHECK(r == (over ? -EBADMSG : 0));
                CHECK(translate_stream_done(s));
                CHECK(translate_stream_failed(s) == (bool)over);
                CHECK((strstr(out.data, "beyond the proxy's buffer limit") != NULL) == (bool)over);
                if (!over) {
                        /* The held-back call: one delta with all of it ("..." + x * n + "..."). */
                        const char *d =
                                strstr(out.data, "{\"type\":\"content_block_delta\",\"index\":1,");
                        CHECK(d != NULL);
                        const char *pj = d ? strstr(d, "\"partial_json\":\"\\\"x") : NULL;
                        size_t xs = 0;
                        for (const char *p = pj ? pj + 18 : ""; *p == 'x'; p++)
                                xs++;
                        CHECK(xs == total - 1);
                        CHECK(strstr(out.data, "event: message_stop\n") != NULL);
                }
                translate_stream_free(s);
                strbuf_free(&out);
        }
}

/* However the upstream bytes are split, the output is the same (the table's first rows). */
static void test_split(void)
{
        const char *in = "data: " CALLS(TC(0, "c0", "f", "{\\\"a\\\":")) "\n\n"
                         "data: " CALLS(TC(1, "c1", "g", "{\\\"b\\\":")) "\n\n"
                         "data: " TEXT("t") "\n\n"
                         "data: " CALLS(TA(0, "1}")) "\n\n"
                         "data: " CALLS(TA(1, "2}")) "\n\n"
                         "data: " FINISH("tool_calls") "\n\n"
                         "data: [DONE]\n\n";
        size_t len = strlen(in);
        char *ref = NULL;
        for (size_t at = 0; at <= len; at++) {
                struct translate_stream *s = NULL;
                CHECK(translate_stream_new(&s, TRANSLATE_OPENAI_TO_ANTHROPIC, NULL) == 0);
                struct strbuf out = STRBUF_INIT(1 << 20);
                CHECK(translate_stream_feed(s, in, at, &out) == 0);
                CHECK(translate_stream_feed(s, in + at, len - at, &out) == 0);
                CHECK(translate_stream_finish(s, true, &out) == 0);
                struct strbuf r = STRBUF_INIT(1 << 20);
                render(&out, 0, &r);
                if (!ref) {
                        CHECK_STREQ(r.data, "ms s0:tool(c0,f) d0:{\"a\": d0:1} x0 s1:tool(c1,g) "
                                            "d1:{\"b\": d1:2} x1 s2:text d2:t x2 md:tool_use mx ");
                        ref = strdup(r.data);
                } else if (strcmp(ref, r.data) != 0) {
                        CHECK(!"split changes the output");
                        at = len;
                }
                strbuf_free(&r);
                strbuf_free(&out);
                translate_stream_free(s);
        }
        free(ref);
}

int main(void)
{
        test_cases();
        test_default_cap();
        test_split();
        return TEST_DONE();
}
