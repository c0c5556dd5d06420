/* Unit tests for policy/audit-fields.h and audit_log_append_text: every value, whatever its
 * bytes, makes a record the strict reader accepts with the value it should hold (escaped, or
 * with invalid UTF-8 replaced by U+FFFD); the text form writes the same bytes as the jansson
 * form; malformed or oversized text is refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json-util.h"
#include "common/macro.h"
#include "policy/audit-fields.h"
#include "policy/audit.h"
#include "tap.h"

static char tmpdir[] = "/tmp/qclaw-test-audit-fields-XXXXXX";
static char logpath[256];

/* The last line of the log. */
static char *last_line(void)
{
        FILE *f = fopen(logpath, "re");
        if (!f)
                return NULL;
        char *line = NULL, *last = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, f)) > 0) {
                free(last);
                last = strndup(line, (size_t)n - (line[n - 1] == '\n'));
        }
        free(line);
        fclose(f);
        return last;
}

/* Append one record {"event":"t","v":VALUE} through the text path; return the parsed value of
 * "v" as written (NULL if the record did not parse or verify). */
static char *roundtrip(struct audit_log *log, const char *value, size_t *ret_len)
{
        struct audit_fields f;
        audit_fields_begin(&f, "t");
        audit_fields_str(&f, "v", value);
        size_t len;
        int err;
        char *text = audit_fields_take(&f, &len, &err);
        if (!text)
                return NULL;
        const char *b = text;
        int r = audit_log_append_text(log, &b, &len, 1, false, NULL);
        free(text);
        if (r < 0)
                return NULL;
        _cleanup_free_ char *line = last_line();
        struct audit_record rec;
        if (!line || audit_record_parse(line, strlen(line), &rec) < 0)
                return NULL;
        char *out = NULL;
        json_t *v = json_object_get(rec.json, "v");
        if (rec.hash_ok && json_is_string(v)) {
                *ret_len = json_string_length(v);
                out = malloc(*ret_len + 1);
                memcpy(out, json_string_value(v), *ret_len + 1);
        }
        audit_record_done(&rec);
        return out;
}

static const struct {
        const char *in;
        const char *want;
} cases[] = {
        { "plain", "plain" },
        { "", "" },
        { "quote\" and back\\slash", "quote\" and back\\slash" },
        { "ctl \b\f\n\r\t\x01\x1f end", "ctl \b\f\n\r\t\x01\x1f end" },
        { "del \x7f", "del \x7f" },
        { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
        { "lone \x80 cont", "lone \xef\xbf\xbd cont" },
        { "overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd" },
        { "overlong3 \xe0\x80\xaf", "overlong3 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "surrogate \xed\xa0\x80", "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "too big \xf4\x90\x80\x80", "too big \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
        { "cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd" },
        { "\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd" },
        { "max \xf4\x8f\xbf\xbf", "max \xf4\x8f\xbf\xbf" },
        { "u+2028 \xe2\x80\xa8", "u+2028 \xe2\x80\xa8" },
};

int main(void)
{
        if (!mkdtemp(tmpdir))
                return 99;
        snprintf(logpath, sizeof(logpath), "%s/audit.jsonl", tmpdir);
        struct audit_log *log = NULL;
        CHECK(audit_log_open(logpath, NULL, &log) == 0);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t len = 0;
                _cleanup_free_ char *got = roundtrip(log, cases[i].in, &len);
                CHECK(got != NULL);
                if (got) {
                        CHECK(len == strlen(cases[i].want));
                        CHECK_STREQ(got, cases[i].want);
                }
        }

        /* Random bytes: every record parses and verifies. */
        srand(7);
        int bad = 0;
        for (int i = 0; i < 3000; i++) {
                char s[40];
                size_t n = (size_t)(rand() % 39);
                for (size_t k = 0; k < n; k++)
                        s[k] = (char)(1 + rand() % 255);
                s[n] = 0;
                size_t len;
                _cleanup_free_ char *got = roundtrip(log, s, &len);
                if (!got)
                        bad++;
        }
        CHECK(bad == 0);

        /* Text and jansson forms write the same bytes for the same fields. */
        struct audit_fields f;
        audit_fields_begin(&f, "egress");
        audit_fields_str(&f, "session", "s-1");
        audit_fields_str(&f, "model", "gpt-\"4\"");
        audit_fields_bool(&f, "stream", true);
        audit_fields_bool(&f, "x", false);
        audit_fields_int(&f, "bytes_up", -12345678901LL);
        audit_fields_str(&f, "finish_reason", NULL);
        size_t tlen;
        int err;
        _cleanup_free_ char *text = audit_fields_take(&f, &tlen, &err);
        CHECK(text != NULL);
        _cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:b, s:I, s:n}", "event",
                                             "egress", "session", "s-1", "model", "gpt-\"4\"",
                                             "stream", 1, "x", 0, "bytes_up",
                                             (json_int_t)-12345678901LL, "finish_reason");
        char *jtext = NULL;
        size_t jlen = 0;
        CHECK(audit_fields_from_json(j, &jtext, &jlen) == 0);
        CHECK(jtext && text && jlen == tlen && memcmp(jtext, text, tlen) == 0);
        free(jtext);

        /* "event" is moved first; reserved keys and a NUL are refused. */
        _cleanup_json_ json_t *j2 = json_pack("{s:i, s:s}", "a", 1, "event", "e");
        CHECK(audit_fields_from_json(j2, &jtext, &jlen) == 0);
        CHECK_STREQ(jtext, "\"event\":\"e\",\"a\":1");
        free(jtext);
        _cleanup_json_ json_t *j3 = json_pack("{s:s, s:i}", "event", "e", "seq", 1);
        CHECK(audit_fields_from_json(j3, &jtext, &jlen) == -EINVAL);
        _cleanup_json_ json_t *j4 = json_pack("{s:s, s:s%}", "event", "e", "v", "a\0b", (size_t)3);
        CHECK(audit_fields_from_json(j4, &jtext, &jlen) == -EINVAL);

        /* Malformed text is refused before anything is written. */
        const char *badtexts[] = { "\"model\":\"m\"", "\"event\":\"e\"\n,\"x\":1", "" };
        for (size_t i = 0; i < ELEMENTSOF(badtexts); i++) {
                size_t l = strlen(badtexts[i]);
                CHECK(audit_log_append_text(log, &badtexts[i], &l, 1, false, NULL) == -EINVAL);
        }

        /* A batch: consecutive seqs, one verified chain. */
        const char *b3[] = { "\"event\":\"a\"", "\"event\":\"b\",\"n\":2", "\"event\":\"c\"" };
        size_t l3[] = { strlen(b3[0]), strlen(b3[1]), strlen(b3[2]) };
        uint64_t seq = 0;
        CHECK(audit_log_append_text(log, b3, l3, 3, false, &seq) == 0);
        CHECK(seq == ELEMENTSOF(cases) + 3000 + 3);

        /* Too large: the builder reports -E2BIG, nothing half-built is returned. */
        _cleanup_free_ char *big = malloc(AUDIT_LINE_MAX);
        memset(big, 'a', AUDIT_LINE_MAX - 1);
        big[AUDIT_LINE_MAX - 1] = 0;
        audit_fields_begin(&f, "t");
        audit_fields_str(&f, "v", big);
        char *none = audit_fields_take(&f, &tlen, &err);
        CHECK(none == NULL && err == -E2BIG);

        struct audit_verifier v;
        audit_verifier_init(&v);
        CHECK(audit_verify_path(logpath, &v) == 0);
        CHECK(v.broken == AUDIT_OK);
        CHECK(v.count == seq);

        audit_log_close(log);
        unlink(logpath);
        rmdir(tmpdir);
        return TEST_DONE();
}
