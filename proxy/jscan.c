/* Validating JSON reader that builds only the members a keep-list names (proxy/jscan.h). Mirrors
 * jansson 2.14's load.c rule for rule so that "valid" means the same thing for both; fuzzed
 * against json_loadb (tests/fuzz/fuzz-jscan.c). Trust level: parses untrusted upstream bytes. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/jscan.h"

enum mode {
        SKIP,  /* validate only */
        FULL,  /* build the whole value */
        PRUNE, /* build containers, keep only the members in spec */
};

struct ctx {
        const unsigned char *p, *end;
        unsigned depth;
        char *buf; /* decoded string */
        size_t cap;
        int err;   /* -EBADMSG or -ENOMEM */
        bool reject_duplicates;
};

static const struct jscan_keep keep_nothing[] = { { NULL, NULL } };

static bool fail(struct ctx *c, int err)
{
        if (c->err == 0)
                c->err = err;
        return false;
}

static void skip_ws(struct ctx *c)
{
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
                c->p++;
}

/* One UTF-8 sequence at p (first byte >= 0x80), strict as jansson's utf8_check_full: no
 * overlongs, no surrogates, nothing above U+10FFFF. Length or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
        unsigned char b = p[0];
        size_t n;
        uint32_t v;
        if (b >= 0xC2 && b <= 0xDF) {
                n = 2;
                v = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
                n = 3;
                v = b & 0x0F;
        } else if (b >= 0xF0 && b <= 0xF4) {
                n = 4;
                v = b & 0x07;
        } else
                return 0;
        if ((size_t)(end - p) < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
                v = (v << 6) | (p[i] & 0x3F);
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) ||
            (n == 4 && v < 0x10000))
                return 0;
        return n;
}

static int hexval(unsigned char ch)
{
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

/* "\uXXXX" at p (p[0] == '\\'): the code unit, or -1. */
static int32_t read_u(const unsigned char *p, const unsigned char *end)
{
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                return -1;
        int32_t v = 0;
        for (int i = 2; i < 6; i++) {
                int h = hexval(p[i]);
                if (h < 0)
                        return -1;
                v = (v << 4) | h;
        }
        return v;
}

static bool buf_reserve(struct ctx *c, size_t need)
{
        if (need <= c->cap)
                return true;
        size_t n = c->cap ? c->cap : 256;
        while (n < need)
                n *= 2;
        char *b = realloc(c->buf, n);
        if (!b)
                return fail(c, -ENOMEM);
        c->buf = b;
        c->cap = n;
        return true;
}

static size_t put_utf8(char *o, uint32_t v)
{
        if (v < 0x80) {
                o[0] = (char)v;
                return 1;
        }
        if (v < 0x800) {
                o[0] = (char)(0xC0 | (v >> 6));
                o[1] = (char)(0x80 | (v & 0x3F));
                return 2;
        }
        if (v < 0x10000) {
                o[0] = (char)(0xE0 | (v >> 12));
                o[1] = (char)(0x80 | ((v >> 6) & 0x3F));
                o[2] = (char)(0x80 | (v & 0x3F));
                return 3;
        }
        o[0] = (char)(0xF0 | (v >> 18));
        o[1] = (char)(0x80 | ((v >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((v >> 6) & 0x3F));
        o[3] = (char)(0x80 | (v & 0x3F));
        return 4;
}

/* Does the 8-byte word hold a byte a string scan must look at: '"', '\\', < 0x20 or >= 0x80?
 * (Bit Twiddling Hacks: "determine if a word has a byte less than n", exact for n <= 128.) */
static inline bool word_special(uint64_t w)
{
        const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        uint64_t zq = (q - ones) & ~q, zb = (b - ones) & ~b, lt = (w - ones * 0x20) & ~w;
        return ((zq | zb | lt) & high) || (w & high);
}

/* A string at c->p (on the opening quote). Validates; when decode, the value is in
 * ret and ret_len (pointing into the text when it has no escapes, else into c->buf). */
static bool parse_string(struct ctx *c, bool decode, const char **ret, size_t *ret_len)
{
        const unsigned char *start = ++c->p, *p = start, *end = c->end;
        bool escaped = false;
        for (;;) {
                /* Plain ASCII runs (most of an agent's context) 8 bytes at a time: skip a word
                 * with no '"', no '\\', no control character and no byte >= 0x80. */
                while (end - p >= 8) {
                        uint64_t w;
                        memcpy(&w, p, 8);
                        if (word_special(w))
                                break;
                        p += 8;
                }
                if (p >= end)
                        return fail(c, -EBADMSG);
                unsigned char ch = *p;
                if (ch == '"')
                        break;
                if (ch < 0x20)
                        return fail(c, -EBADMSG); /* control character */
                if (ch < 0x80) {
                        if (ch == '\\') {
                                escaped = true;
                                if (p + 1 >= end)
                                        return fail(c, -EBADMSG);
                                unsigned char e = p[1];
                                if (e == 'u') {
                                        int32_t v = read_u(p, end);
                                        if (v < 0)
                                                return fail(c, -EBADMSG);
                                        if (v == 0)
                                                return fail(c, -EBADMSG); /* no JSON_ALLOW_NUL */
                                        if (v >= 0xD800 && v <= 0xDBFF) {
                                                int32_t lo = read_u(p + 6, end);
                                                if (lo < 0xDC00 || lo > 0xDFFF)
                                                        return fail(c, -EBADMSG);
                                                p += 12;
                                        } else if (v >= 0xDC00 && v <= 0xDFFF)
                                                return fail(c, -EBADMSG);
                                        else
                                                p += 6;
                                        continue;
                                }
                                if (!strchr("\"\\/bfnrt", e) || e == 0)
                                        return fail(c, -EBADMSG);
                                p += 2;
                                continue;
                        }
                        p++;
                        continue;
                }
                size_t n = utf8_len(p, end);
                if (n == 0)
                        return fail(c, -EBADMSG);
                p += n;
        }
        c->p = p + 1;
        if (!decode)
                return true;
        size_t raw = (size_t)(p - start);
        if (!escaped) {
                *ret = (const char *)start;
                *ret_len = raw;
                return true;
        }
        /* decoded text is never longer than the raw text */
        if (!buf_reserve(c, raw + 1))
                return false;
        char *o = c->buf;
        for (const unsigned char *q = start; q < p;) {
                if (*q != '\\') {
                        *o++ = (char)*q++;
                        continue;
                }
                switch (q[1]) {
                case 'u': {
                        uint32_t v = (uint32_t)read_u(q, p);
                        q += 6;
                        if (v >= 0xD800 && v <= 0xDBFF) {
                                uint32_t lo = (uint32_t)read_u(q, p);
                                q += 6;
                                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                        }
                        o += put_utf8(o, v);
                        continue;
                }
                case 'b': *o++ = '\b'; break;
                case 'f': *o++ = '\f'; break;
                case 'n': *o++ = '\n'; break;
                case 'r': *o++ = '\r'; break;
                case 't': *o++ = '\t'; break;
                default: *o++ = (char)q[1]; break; /* the quote, backslash, slash */
                }
                q += 2;
        }
        *ret = c->buf;
        *ret_len = (size_t)(o - c->buf);
        return true;
}

/* A jansson quirk kept for an identical verdict: the lexer reads one byte past a number or a
 * literal and puts it back; a NUL byte put back is taken for the end of its look-ahead buffer and
 * lost, so "[1\0,2]" loads. */
static void skip_ungot_nul(struct ctx *c)
{
        if (c->p < c->end && *c->p == 0)
                c->p++;
}

static bool is_digit(unsigned char ch)
{
        return ch >= '0' && ch <= '9';
}

/* jansson's lex_scan_number, then strtoll / strtod with its range checks. */
static bool parse_number(struct ctx *c, bool build, json_t **ret)
{
        const unsigned char *s = c->p, *p = s, *end = c->end;
        bool real = false;
        if (p < end && *p == '-')
                p++;
        if (p < end && *p == '0') {
                p++;
                if (p < end && is_digit(*p))
                        return fail(c, -EBADMSG);
        } else if (p < end && is_digit(*p)) {
                while (p < end && is_digit(*p))
                        p++;
        } else
                return fail(c, -EBADMSG);
        if (p < end && *p == '.') {
                real = true;
                p++;
                if (p >= end || !is_digit(*p))
                        return fail(c, -EBADMSG);
                while (p < end && is_digit(*p))
                        p++;
        }
        if (p < end && (*p == 'e' || *p == 'E')) {
                real = true;
                p++;
                if (p < end && (*p == '+' || *p == '-'))
                        p++;
                if (p >= end || !is_digit(*p))
                        return fail(c, -EBADMSG);
                while (p < end && is_digit(*p))
                        p++;
        }
        size_t n = (size_t)(p - s);
        c->p = p;
        skip_ungot_nul(c);
        /* Short integers cannot overflow and are not needed unless built. */
        if (!real && n <= 18 && !build)
                return true;
        char tmp[64], *heap = NULL, *t = tmp;
        if (n >= sizeof(tmp)) {
                heap = malloc(n + 1);
                if (!heap)
                        return fail(c, -ENOMEM);
                t = heap;
        }
        memcpy(t, s, n);
        t[n] = 0;
        bool ok = true;
        errno = 0;
        if (!real) {
                long long v = strtoll(t, NULL, 10);
                if (errno == ERANGE)
                        ok = false;
                else if (build && !(*ret = json_integer(v)))
                        ok = fail(c, -ENOMEM);
        } else {
                double v = strtod(t, NULL);
                if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE)
                        ok = false;
                else if (build && !(*ret = json_real(v)))
                        ok = fail(c, -ENOMEM);
        }
        free(heap);
        return ok ? true : fail(c, -EBADMSG);
}

static bool literal(struct ctx *c, const char *word, size_t n)
{
        if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
                return fail(c, -EBADMSG);
        c->p += n;
        /* jansson reads a whole run of letters as one token: "truex" is not "true" */
        if (c->p < c->end && ((*c->p | 0x20) >= 'a' && (*c->p | 0x20) <= 'z'))
                return fail(c, -EBADMSG);
        skip_ungot_nul(c);
        return true;
}

static const struct jscan_keep *keep_find(const struct jscan_keep *spec, const char *k, size_t n)
{
        for (; spec->key; spec++)
                if (strlen(spec->key) == n && memcmp(spec->key, k, n) == 0)
                        return spec;
        return NULL;
}

static bool parse_value(struct ctx *c, enum mode m, const struct jscan_keep *spec, json_t **ret);

static bool parse_object(struct ctx *c, enum mode m, const struct jscan_keep *spec, json_t **ret)
{
        json_t *o = NULL;
        if (m != SKIP && !(o = json_object()))
                return fail(c, -ENOMEM);
        c->p++; /* { */
        skip_ws(c);
        if (c->p < c->end && *c->p == '}') {
                c->p++;
                *ret = o;
                return true;
        }
        for (;;) {
                if (c->p >= c->end || *c->p != '"')
                        goto bad;
                const char *k = NULL;
                size_t kn = 0;
                if (!parse_string(c, m != SKIP, &k, &kn))
                        goto err;
                /* jansson keeps keys as C strings: the key ends at a NUL (none can be in
                 * valid text: \u0000 is refused) */
                char key[64];
                const struct jscan_keep *kept = NULL;
                enum mode vm = SKIP;
                if (m == FULL)
                        vm = FULL;
                else if (m == PRUNE && (kept = keep_find(spec, k, kn)))
                        vm = kept->sub ? PRUNE : FULL;
                char *heapkey = NULL;
                const char *kz = NULL;
                if (vm != SKIP) {
                        if (kn < sizeof(key)) {
                                memcpy(key, k, kn);
                                key[kn] = 0;
                                kz = key;
                        } else {
                                heapkey = strndup(k, kn);
                                if (!heapkey) {
                                        fail(c, -ENOMEM);
                                        goto err;
                                }
                                kz = heapkey;
                        }
                }
                skip_ws(c);
                if (c->p >= c->end || *c->p != ':') {
                        free(heapkey);
                        goto bad;
                }
                c->p++;
                skip_ws(c);
                json_t *v = NULL;
                bool ok = parse_value(c, vm, kept ? kept->sub : NULL, &v);
                if (ok && vm != SKIP && c->reject_duplicates && json_object_get(o, kz)) {
                        json_decref(v);
                        ok = fail(c, -EBADMSG);
                } else if (ok && vm != SKIP && json_object_set_new_nocheck(o, kz, v) < 0)
                        ok = fail(c, -ENOMEM);
                free(heapkey);
                if (!ok)
                        goto err;
                skip_ws(c);
                if (c->p < c->end && *c->p == ',') {
                        c->p++;
                        skip_ws(c);
                        continue;
                }
                if (c->p < c->end && *c->p == '}') {
                        c->p++;
                        *ret = o;
                        return true;
                }
                goto bad;
        }
bad:
        fail(c, -EBADMSG);
err:
        json_decref(o);
        return false;
}

static bool parse_array(struct ctx *c, enum mode m, const struct jscan_keep *spec, json_t **ret)
{
        json_t *a = NULL;
        if (m != SKIP && !(a = json_array()))
                return fail(c, -ENOMEM);
        c->p++; /* [ */
        skip_ws(c);
        if (c->p < c->end && *c->p == ']') {
                c->p++;
                *ret = a;
                return true;
        }
        for (;;) {
                json_t *v = NULL;
                if (!parse_value(c, m, spec, &v))
                        goto err;
                if (m != SKIP && json_array_append_new(a, v) < 0) {
                        fail(c, -ENOMEM);
                        goto err;
                }
                skip_ws(c);
                if (c->p < c->end && *c->p == ',') {
                        c->p++;
                        skip_ws(c);
                        continue;
                }
                if (c->p < c->end && *c->p == ']') {
                        c->p++;
                        *ret = a;
                        return true;
                }
                fail(c, -EBADMSG);
                goto err;
        }
err:
        json_decref(a);
        return false;
}

/* jansson counts every value, scalars too, against its depth limit. */
static bool parse_value_at(struct ctx *c, enum mode m, const struct jscan_keep *spec, json_t **ret)
{
        bool build = m != SKIP;
        switch (*c->p) {
        case '{':
                return parse_object(c, m, spec, ret);
        case '[':
                return parse_array(c, m, spec, ret);
        case '"': {
                const char *s = NULL;
                size_t n = 0;
                if (!parse_string(c, build, &s, &n))
                        return false;
                if (build && !(*ret = json_stringn_nocheck(s, n)))
                        return fail(c, -ENOMEM);
                return true;
        }
        case 't':
                if (!literal(c, "true", 4))
                        return false;
                if (build)
                        *ret = json_true();
                return true;
        case 'f':
                if (!literal(c, "false", 5))
                        return false;
                if (build)
                        *ret = json_false();
                return true;
        case 'n':
                if (!literal(c, "null", 4))
                        return false;
                if (build)
                        *ret = json_null();
                return true;
        default:
                return parse_number(c, build, ret);
        }
}

static bool parse_value(struct ctx *c, enum mode m, const struct jscan_keep *spec, json_t **ret)
{
        if (c->p >= c->end || ++c->depth > JSCAN_DEPTH_MAX)
                return fail(c, -EBADMSG);
        bool ok = parse_value_at(c, m, spec, ret);
        c->depth--;
        return ok;
}

int jscan_load(const char *text, size_t len, const struct jscan_keep *keep, json_t **ret)
{
        return jscan_load_flags(text, len, keep, 0, ret);
}

int jscan_load_flags(const char *text, size_t len, const struct jscan_keep *keep, unsigned flags,
                     json_t **ret)
{
        struct ctx c = {
                .p = (const unsigned char *)text,
                .end = (const unsigned char *)text + len,
                .reject_duplicates = flags & JSCAN_REJECT_DUPLICATES,
        };
        json_t *v = NULL;
        if (!text)
                return -EBADMSG;
        skip_ws(&c);
        /* without JSON_DECODE_ANY the text must be an object or an array */
        if (c.p >= c.end || (*c.p != '{' && *c.p != '['))
                return -EBADMSG;
        if (!parse_value(&c, PRUNE, keep ? keep : keep_nothing, &v)) {
                free(c.buf);
                return c.err ? c.err : -EBADMSG;
        }
        free(c.buf);
        skip_ws(&c);
        if (c.p != c.end) {
                json_decref(v);
                return -EBADMSG;
        }
        *ret = v;
        return 0;
}
