/* proxy/jscan.c: verdicts (each also checked against json_loadb) and what a keep-list keeps. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/jscan.h"
#include "tests/unit/tap.h"

static const struct jscan_keep fr[] = { { "finish_reason", NULL }, { NULL, NULL } };
static const struct jscan_keep keep[] = {
        { "usage", NULL }, { "choices", fr }, { "stop_reason", NULL }, { NULL, NULL },
};

static const struct {
        const char *text;
        bool ok;
        const char *kept; /* compact dump of the kept tree (sorted keys), NULL: not checked */
} cases[] = {
        { "{}", true, "{}" },
        { "[]", true, "[]" },
        { " \t\r\n{ } \n", true, "{}" },
        { "", false, NULL },
        { "   ", false, NULL },
        { "1", false, NULL },              /* top level must be object or array */
        { "\"s\"", false, NULL },
        { "{\"a\":1}x", false, NULL },
        { "{\"a\":1}{}", false, NULL },
        { "{\"a\":1,}", false, NULL },
        { "[1,]", false, NULL },
        { "{\"a\" 1}", false, NULL },
        { "{a:1}", false, NULL },
        { "{\"a\":01}", false, NULL },
        { "{\"a\":-}", false, NULL },
        { "{\"a\":1.}", false, NULL },
        { "{\"a\":.5}", false, NULL },
        { "{\"a\":1e}", false, NULL },
        { "{\"a\":+1}", false, NULL },
        { "{\"a\":-0}", true, "{}" },
        { "[1e308, -1.5E-400, 0.0]", true, NULL },
        { "[1e309]", false, NULL },        /* real overflow */
        { "[9223372036854775807,-9223372036854775808]", true, NULL },
        { "[9223372036854775808]", false, NULL },
        { "[truex]", false, NULL },
        { "[true,false,null]", true, NULL },
        { "[nul]", false, NULL },
        { "[\"\\u0000\"]", false, NULL },
        { "[\"\\ud83d\\ude00\"]", true, NULL },
        { "[\"\\ud83d\"]", false, NULL },
        { "[\"\\ude00\"]", false, NULL },
        { "[\"\\ud83dx\"]", false, NULL },
        { "[\"\\x\"]", false, NULL },
        { "[\"\\u12G4\"]", false, NULL },
        { "[\"a\tb\"]", false, NULL },     /* raw control character */
        { "[\"\x7f\"]", true, NULL },
        { "[\"\xc3\xa9\"]", true, NULL },
        { "[\"\xc0\xaf\"]", false, NULL }, /* overlong */
        { "[\"\xed\xa0\x80\"]", false, NULL }, /* UTF-8 encoded surrogate */
        { "[\"\xf4\x90\x80\x80\"]", false, NULL }, /* above U+10FFFF */
        { "[\"\xe2\x82\"]", false, NULL }, /* truncated sequence */
        { "[\"abc", false, NULL },
        { "[\xc3\xa9]", false, NULL },
        { "{\"choices\":[{\"index\":0,\"message\":{\"content\":\"x\"},\"finish_reason\":\"stop\"},"
          "7,[{\"finish_reason\":null}]],\"usage\":{\"prompt_tokens\":3},\"id\":\"x\"}",
          true,
          "{\"choices\":[{\"finish_reason\":\"stop\"},7,[{\"finish_reason\":null}]],"
          "\"usage\":{\"prompt_tokens\":3}}" },
        /* duplicate keys: the last wins, as in jansson */
        { "{\"usage\":{\"a\":1},\"usage\":{\"b\":2},\"stop_reason\":\"x\",\"stop_reason\":null}",
          true, "{\"stop_reason\":null,\"usage\":{\"b\":2}}" },
        /* escaped key names are compared decoded */
        { "{\"us\\u0061ge\":5,\"choices\":\"s\"}", true, "{\"choices\":\"s\",\"usage\":5}" },
        { "{\"stop_reason\":\"a\\\"b\\\\c\\/d\\n\\u00e9\"}", true,
          "{\"stop_reason\":\"a\\\"b\\\\c/d\\n\\u00E9\"}" },
};

static char *nest(unsigned n, const char *mid)
{
        size_t ml = strlen(mid);
        char *s = malloc(2 * n + ml + 1);
        memset(s, '[', n);
        memcpy(s + n, mid, ml);
        memset(s + n + ml, ']', n);
        s[2 * n + ml] = 0;
        return s;
}

int main(void)
{
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *t = cases[i].text;
                json_t *got = NULL, *ref = json_loadb(t, strlen(t), 0, NULL);
                int r = jscan_load(t, strlen(t), keep, &got);
                if ((r == 0) != cases[i].ok || (ref != NULL) != cases[i].ok)
                        fprintf(stderr, "case %zu: %s\n", i, t);
                CHECK((r == 0) == cases[i].ok);
                CHECK(r == 0 || r == -EBADMSG);
                CHECK((ref != NULL) == cases[i].ok); /* the table agrees with jansson */
                if (r == 0 && cases[i].kept) {
                        char *d = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
                        CHECK_STREQ(d, cases[i].kept);
                        free(d);
                }
                json_decref(got);
                json_decref(ref);
        }
        /* jansson's depth limit counts every value: 2048 empty arrays nest, a scalar at the
         * bottom makes 2049 */
        static const struct {
                unsigned n;
                const char *mid;
                bool ok;
        } deep[] = { { 2048, "", true }, { 2049, "", false }, { 2047, "1", true },
                     { 2048, "1", false } };
        for (size_t i = 0; i < sizeof(deep) / sizeof(deep[0]); i++) {
                char *s = nest(deep[i].n, deep[i].mid);
                json_t *got = NULL, *ref = json_loadb(s, strlen(s), 0, NULL);
                CHECK((jscan_load(s, strlen(s), keep, &got) == 0) == deep[i].ok);
                CHECK((ref != NULL) == deep[i].ok);
                json_decref(got);
                json_decref(ref);
                free(s);
        }
        /* NUL bytes inside the length */
        json_t *got = NULL;
        CHECK(jscan_load("[\"a\0b\"]", 7, keep, &got) == -EBADMSG);
        CHECK(jscan_load("[1]\0", 4, keep, &got) == -EBADMSG);
        /* jansson drops one NUL right after a number or literal (see skip_ungot_nul) */
        CHECK(jscan_load("[1\0,true\0]", 10, keep, &got) == 0);
        json_decref(got);
        got = NULL;
        json_t *ref = json_loadb("[1\0,true\0]", 10, 0, NULL);
        CHECK(ref != NULL);
        json_decref(ref);
        CHECK(jscan_load("[1\0\0]", 6, keep, &got) == -EBADMSG);
        CHECK(jscan_load(NULL, 0, keep, &got) == -EBADMSG);

        /* JSCAN_REJECT_DUPLICATES: a member read twice is refused (the request's "model" must
         * mean one thing to the proxy and the upstream); duplicates the proxy skips are not its
         * business; inside a value kept whole they are refused as jansson refuses them. */
        static const struct jscan_keep rk[] = {
                { "model", NULL }, { "stream", NULL }, { "stream_options", NULL }, { NULL, NULL },
        };
        static const struct {
                const char *text;
                int want;
        } dups[] = {
                { "{\"model\":\"a\",\"model\":\"b\"}", -EBADMSG },
                { "{\"model\":\"a\",\"stream\":true,\"stream\":false}", -EBADMSG },
                { "{\"model\":\"a\",\"stream_options\":{\"include_usage\":true,"
                  "\"include_usage\":false}}", -EBADMSG },
                { "{\"model\":\"a\",\"messages\":[],\"messages\":[1]}", 0 },
                { "{\"model\":\"a\",\"messages\":[{\"x\":1,\"x\":2}]}", 0 },
                { "{\"model\":\"a\",\"stream\":true}", 0 },
        };
        for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
                got = NULL;
                int r = jscan_load_flags(dups[i].text, strlen(dups[i].text), rk,
                                         JSCAN_REJECT_DUPLICATES, &got);
                CHECK(r == dups[i].want);
                json_decref(got);
                /* without the flag jansson's rule: the last one wins */
                got = NULL;
                CHECK(jscan_load(dups[i].text, strlen(dups[i].text), rk, &got) == 0);
                json_decref(got);
        }
        return TEST_DONE();
}
