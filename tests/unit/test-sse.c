/* Unit tests for proxy/sse.c: splits at every byte, CRLF/CR/LF, comments, multi-line data,
 * missing space after the colon, BOM, EOF flush, limits. */
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "proxy/sse.h"
#include "tap.h"

/* Collected events rendered as "event|data|id\n" lines for easy comparison. */
struct collect {
        struct strbuf s;
        int n;
};

static int collect_cb(const struct sse_event *ev, void *userdata)
{
        struct collect *c = userdata;
        c->n++;
        strbuf_appendf(&c->s, "%s|", ev->event);
        strbuf_append(&c->s, ev->data, ev->data_len);
        strbuf_appendf(&c->s, "|%s\n", ev->id ? ev->id : "-");
        return 0;
}

/* Parse input split into pieces of `step` bytes (0 = whole), return rendering. */
static char *parse_split(const char *in, size_t len, size_t split_at, int *ret_n, int *ret_r)
{
        struct sse_parser *p = NULL;
        struct collect c = { .s = STRBUF_INIT(1 << 20) };
        int r = sse_parser_new(&p);
        if (r >= 0 && split_at > 0)
                r = sse_parser_feed(p, in, split_at, collect_cb, &c);
        if (r >= 0)
                r = sse_parser_feed(p, in + split_at, len - split_at, collect_cb, &c);
        if (r >= 0)
                r = sse_parser_finish(p, collect_cb, &c);
        sse_parser_free(p);
        *ret_n = c.n;
        *ret_r = r;
        char *out = NULL;
        strbuf_steal(&c.s, &out);
        return out;
}

static const struct {
        const char *name;
        const char *in;
        const char *expect;
} cases[] = {
        { "lf", "event: a\ndata: x\n\n", "a|x|-\n" },
        { "crlf", "event: a\r\ndata: x\r\n\r\n", "a|x|-\n" },
        { "cr", "event: a\rdata: x\r\r", "a|x|-\n" },
        { "mixed", "data: 1\r\n\ndata: 2\r\rdata: 3\n\r\n", "|1|-\n|2|-\n|3|-\n" },
        { "multiline", "data: l1\ndata: l2\ndata:\ndata: l4\n\n", "|l1\nl2\n\nl4|-\n" },
        { "nospace", "event:e\ndata:v\n\n", "e|v|-\n" },
        { "twospaces", "data:  v\n\n", "| v|-\n" },
        { "comment", ": keepalive\n\n: x\ndata: d\n: y\n\n", "|d|-\n" },
        { "no data not dispatched", "event: ping\n\nevent: b\ndata: z\n\n", "b|z|-\n" },
        { "id sticky", "id: 7\ndata: a\n\ndata: b\n\n", "|a|7\n|b|7\n" },
        { "unknown field", "retry: 10\nfoo: bar\ndata: q\n\n", "|q|-\n" },
        { "field without colon", "data\n\n", "||-\n" },
        { "eof flush", "event: last\ndata: tail", "last|tail|-\n" },
        { "bom", "\xEF\xBB\xBF" "data: b\n\n", "|b|-\n" },
        { "openai done", "data: {\"a\":1}\n\ndata: [DONE]\n\n", "|{\"a\":1}|-\n|[DONE]|-\n" },
        { "anthropic", "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
          "message_stop|{\"type\":\"message_stop\"}|-\n" },
        { "event reset", "event: a\ndata: 1\n\ndata: 2\n\n", "a|1|-\n|2|-\n" },
};

static void test_cases(void)
{
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t len = strlen(cases[i].in);
                /* Every split point, including between '\r' and '\n'. */
                for (size_t k = 0; k <= len; k++) {
                        int n, r;
                        _cleanup_free_ char *got = parse_split(cases[i].in, len, k, &n, &r);
                        CHECK(r == 0);
                        if (!got || strcmp(got, cases[i].expect) != 0) {
                                fprintf(stderr, "case %s split %zu\n", cases[i].name, k);
                                CHECK_STREQ(got, cases[i].expect);
                                break;
                        }
                }
        }
}

static void test_byte_by_byte(void)
{
        const char *in = "event: x\r\ndata: a\r\ndata: b\r\n\r\n:c\r\ndata: z\r\n\r\n";
        struct sse_parser *p = NULL;
        struct collect c = { .s = STRBUF_INIT(1 << 20) };
        CHECK(sse_parser_new(&p) == 0);
        for (size_t i = 0; in[i]; i++)
                CHECK(sse_parser_feed(p, in + i, 1, collect_cb, &c) == 0);
        CHECK(sse_parser_finish(p, collect_cb, &c) == 0);
        CHECK_STREQ(c.s.data, "x|a\nb|-\n|z|-\n");
        CHECK(c.n == 2);
        sse_parser_free(p);
        strbuf_free(&c.s);
}

static void test_limits(void)
{
        struct sse_parser *p = NULL;
        struct collect c = { .s = STRBUF_INIT(4 << 20) };
        size_t big = SSE_DATA_MAX / 2 + 10;
        char *chunk = malloc(big);
        memset(chunk, 'a', big);

        /* Two data lines that together exceed the event limit. */
        CHECK(sse_parser_new(&p) == 0);
        CHECK(sse_parser_feed(p, "data: ", 6, collect_cb, &c) == 0);
        CHECK(sse_parser_feed(p, chunk, big, collect_cb, &c) == 0);
        CHECK(sse_parser_feed(p, "\ndata: ", 7, collect_cb, &c) == 0);
        CHECK(sse_parser_feed(p, chunk, big, collect_cb, &c) == 0);
        CHECK(sse_parser_feed(p, "\n\n", 2, collect_cb, &c) == -E2BIG);
        /* Poisoned afterwards. */
        CHECK(sse_parser_feed(p, "data: x\n\n", 9, collect_cb, &c) == -E2BIG);
        CHECK(c.n == 0);
        sse_parser_free(p);

        /* One line longer than the line limit, fed in pieces without a newline. */
        CHECK(sse_parser_new(&p) == 0);
        int r = 0;
        for (int i = 0; i < 4 && r == 0; i++)
                r = sse_parser_feed(p, chunk, big, collect_cb, &c);
        CHECK(r == -E2BIG);
        sse_parser_free(p);

        /* Exactly at the limit is fine. */
        char *exact = malloc(SSE_DATA_MAX);
        memset(exact, 'b', SSE_DATA_MAX);
        CHECK(sse_parser_new(&p) == 0);
        CHECK(sse_parser_feed(p, "data:", 5, collect_cb, &c) == 0);
        CHECK(sse_parser_feed(p, exact, SSE_DATA_MAX, collect_cb, &c) == 0);
        CHECK(sse_parser_feed(p, "\n\n", 2, collect_cb, &c) == 0);
        CHECK(c.n == 1);
        sse_parser_free(p);

        /* Overlong event name refused. */
        CHECK(sse_parser_new(&p) == 0);
        CHECK(sse_parser_feed(p, "event: ", 7, collect_cb, &c) == 0);
        CHECK(sse_parser_feed(p, exact, SSE_NAME_MAX + 1, collect_cb, &c) == 0);
        CHECK(sse_parser_feed(p, "\n", 1, collect_cb, &c) == -E2BIG);
        sse_parser_free(p);

        free(exact);
        free(chunk);
        strbuf_free(&c.s);
}

static int stop_cb(const struct sse_event *ev, void *userdata)
{
        (*(int *)userdata)++;
        return -ECANCELED;
}

static void test_callback_error(void)
{
        struct sse_parser *p = NULL;
        int n = 0;
        CHECK(sse_parser_new(&p) == 0);
        CHECK(sse_parser_feed(p, "data: 1\n\ndata: 2\n\n", 18, stop_cb, &n) == -ECANCELED);
        CHECK(n == 1);
        CHECK(sse_parser_finish(p, stop_cb, &n) == -ECANCELED);
        sse_parser_reset(p);
        CHECK(sse_parser_feed(p, "data: 3\n\n", 9, stop_cb, &n) == -ECANCELED);
        CHECK(n == 2);
        sse_parser_free(p);
}

int main(void)
{
        test_cases();
        test_byte_by_byte();
        test_limits();
        test_callback_error();
        return TEST_DONE();
}
