/* Audit record fields as compact JSON member text (policy/audit-fields.h): escaping and UTF-8
 * repair done here once, so the writer can append the text as it is. Trust level: values may be
 * anything a caller sent (a model name, a client name); the output always parses. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "policy/audit-fields.h"
#include "policy/audit.h"

static bool reserve(struct audit_fields *f, size_t more)
{
        if (f->err < 0)
                return false;
        if (f->len + more <= f->cap)
                return true;
        if (f->len + more > AUDIT_LINE_MAX) {
                f->err = -E2BIG;
                return false;
        }
        size_t ncap = MAX(f->cap * 2, f->len + more);
        ncap = MAX(ncap, (size_t)256);
        char *nb = realloc(f->buf, ncap);
        if (!nb) {
                f->err = -ENOMEM;
                return false;
        }
        f->buf = nb;
        f->cap = ncap;
        return true;
}

static void put(struct audit_fields *f, const char *s, size_t n)
{
        if (reserve(f, n)) {
                memcpy(f->buf + f->len, s, n);
                f->len += n;
        }
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0: the rules jansson's reader
 * applies (no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
        unsigned char c = s[0];
        size_t len;
        uint32_t cp;
        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                len = 4, cp = c & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

static void put_string(struct audit_fields *f, const char *v)
{
        const unsigned char *s = (const unsigned char *)v;
        size_t n = strlen(v);
        /* worst case 6 output bytes per input byte (\u00XX) */
        if (!reserve(f, n * 6 + 2))
                return;
        char *o = f->buf + f->len;
        *o++ = '"';
        size_t i = 0;
        while (i < n) {
                unsigned char c = s[i];
                if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                        *o++ = (char)c;
                        i++;
                        continue;
                }
                if (c >= 0x80) {
                        size_t k = utf8_seq(s + i, n - i);
                        if (k == 0) { /* U+FFFD */
                                memcpy(o, "\xef\xbf\xbd", 3);
                                o += 3;
                                i++;
                        } else {
                                memcpy(o, s + i, k);
                                o += k;
                                i += k;
                        }
                        continue;
                }
                *o++ = '\\';
                switch (c) {
                case '"': *o++ = '"'; break;
                case '\\': *o++ = '\\'; break;
                case '\b': *o++ = 'b'; break;
                case '\f': *o++ = 'f'; break;
                case '\n': *o++ = 'n'; break;
                case '\r': *o++ = 'r'; break;
                case '\t': *o++ = 't'; break;
                default:
                        *o++ = 'u';
                        *o++ = '0';
                        *o++ = '0';
                        *o++ = "0123456789abcdef"[c >> 4];
                        *o++ = "0123456789abcdef"[c & 15];
                }
                i++;
        }
        *o++ = '"';
        f->len = (size_t)(o - f->buf);
}

static void put_key(struct audit_fields *f, const char *key)
{
        size_t k = strlen(key);
        if (!reserve(f, k + 4))
                return;
        char *o = f->buf + f->len;
        *o++ = ',';
        *o++ = '"';
        memcpy(o, key, k);
        o += k;
        *o++ = '"';
        *o++ = ':';
        f->len = (size_t)(o - f->buf);
}

void audit_fields_begin(struct audit_fields *f, const char *event)
{
        *f = (struct audit_fields){ 0 };
        put(f, "\"event\":", 8);
        put_string(f, event);
}

void audit_fields_str(struct audit_fields *f, const char *key, const char *value)
{
        put_key(f, key);
        if (value)
                put_string(f, value);
        else
                put(f, "null", 4);
}

void audit_fields_int(struct audit_fields *f, const char *key, int64_t value)
{
        char num[24];
        int n = snprintf(num, sizeof(num), "%" PRId64, value);
        put_key(f, key);
        put(f, num, (size_t)n);
}

void audit_fields_bool(struct audit_fields *f, const char *key, bool value)
{
        put_key(f, key);
        if (value)
                put(f, "true", 4);
        else
                put(f, "false", 5);
}

char *audit_fields_take(struct audit_fields *f, size_t *ret_len, int *ret_err)
{
        char *text = NULL;
        int err = f->err;
        if (err >= 0 && reserve(f, 1)) {
                f->buf[f->len] = 0;
                text = f->buf;
                *ret_len = f->len;
                f->buf = NULL;
        } else if (err >= 0)
                err = f->err;
        if (ret_err)
                *ret_err = text ? 0 : err;
        audit_fields_done(f);
        return text;
}

void audit_fields_done(struct audit_fields *f)
{
        free(f->buf);
        *f = (struct audit_fields){ 0 };
}

static bool reserved_key(const char *k)
{
        return strcmp(k, "seq") == 0 || strcmp(k, "ts") == 0 || strcmp(k, "prev") == 0 ||
               strcmp(k, "hash") == 0;
}

int audit_fields_from_json(const json_t *fields, char **ret_text, size_t *ret_len)
{
        if (!json_is_object(fields) || !json_is_string(json_object_get(fields, "event")))
                return -EINVAL;
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)fields, key, value) if (reserved_key(key)) return -EINVAL;

        _cleanup_json_ json_t *ordered = NULL;
        const json_t *src = fields;
        void *it = json_object_iter((json_t *)fields);
        if (strcmp(json_object_iter_key(it), "event") != 0) {
                ordered = json_object();
                if (!ordered ||
                    json_object_set(ordered, "event", json_object_get(fields, "event")) < 0)
                        return -ENOMEM;
                json_object_foreach((json_t *)fields, key,
                                    value) if (strcmp(key, "event") != 0 &&
                                               json_object_set(ordered, key, value) <
                                                   0) return -ENOMEM;
                src = ordered;
        }

        _cleanup_free_ char *buf = malloc(AUDIT_LINE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        size_t n = json_dumpb(src, buf, AUDIT_LINE_MAX + 1, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (n == 0)
                return -EINVAL;
        if (n > AUDIT_LINE_MAX)
                return -E2BIG;
        if (n < 2 || buf[0] != '{' || buf[n - 1] != '}')
                return -EINVAL;
        /* jansson can hold NUL in keys and strings; the strict reader refuses \u0000, so a
         * record carrying one could never verify. */
        if (memmem(buf, n, "\\u0000", 6))
                return -EINVAL;
        char *text = malloc(n - 1);
        if (!text)
                return -ENOMEM;
        memcpy(text, buf + 1, n - 2);
        text[n - 2] = 0;
        *ret_text = text;
        *ret_len = n - 2;
        return 0;
}
