/* rpc/: service argument checks, VM names, terminal escaping, and dom0's check of a pulled
 * reply against its mirror tail (logs_check_reply) on real chained records. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fd-util.h"
#include "common/json-util.h"
#include "common/strbuf.h"
#include "policy/audit.h"
#include "rpc/logs-pull.h"
#include "rpc/rpc-arg.h"
#include "rpc/term-escape.h"
#include "tests/unit/tap.h"

static void test_seq_arg(void)
{
        static const struct {
                const char *arg;
                int ok;
                unsigned long long v;
        } t[] = {
                { "0", 1, 0 },
                { "1", 1, 1 },
                { "42", 1, 42 },
                { "0042", 1, 42 },
                { "9999999999999999999", 1, 9999999999999999999ull },
                { "", 0, 0 },
                { "+1", 0, 0 },
                { "-1", 0, 0 },
                { "1x", 0, 0 },
                { "abc", 0, 0 },
                { " 1", 0, 0 },
                { "1 ", 0, 0 },
                { "12345678901234567890", 0, 0 },
                { "1+2", 0, 0 },
                { "--help", 0, 0 },
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                uint64_t v = 7;
                int r = rpc_arg_parse_seq(t[i].arg, strlen(t[i].arg), &v);
                CHECK((r == 0) == t[i].ok);
                if (t[i].ok)
                        CHECK(v == t[i].v);
        }
        /* embedded NUL is not a digit */
        uint64_t v;
        CHECK(rpc_arg_parse_seq("1\0002", 3, &v) < 0);

        const char *arg = NULL;
        char *argv2[] = { "svc", "5", NULL };
        char *argv3[] = { "svc", "5", "6", NULL };
        unsetenv("QREXEC_SERVICE_ARGUMENT");
        CHECK(rpc_arg_get(1, argv2, &arg) == 0 && arg == NULL);
        CHECK(rpc_arg_get(2, argv2, &arg) == 0 && strcmp(arg, "5") == 0);
        CHECK(rpc_arg_get(3, argv3, &arg) < 0);
        setenv("QREXEC_SERVICE_ARGUMENT", "5", 1);
        CHECK(rpc_arg_get(1, argv2, &arg) == 0 && strcmp(arg, "5") == 0);
        CHECK(rpc_arg_get(2, argv2, &arg) == 0);
        setenv("QREXEC_SERVICE_ARGUMENT", "6", 1);
        CHECK(rpc_arg_get(2, argv2, &arg) < 0);
        unsetenv("QREXEC_SERVICE_ARGUMENT");
}

static void test_vm_names(void)
{
        static const struct {
                const char *name;
                bool ok;
        } t[] = {
                { "work", true }, { "a", true }, { "sys-net", true }, { "A.b_c-9", true },
                { "abcdefghijabcdefghijabcdefghij1", true },
                { "abcdefghijabcdefghijabcdefghij12", false },
                { "", false }, { "1work", false }, { "-work", false }, { ".work", false },
                { "dom0", false }, { "none", false }, { "default", false }, { "work-dm", false },
                { "wo rk", false }, { "work;id", false }, { "w/k", false }, { "w+k", false },
                { "w\nk", false }, { "@anyvm", false },
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                CHECK(vm_name_is_valid(t[i].name) == t[i].ok);
        CHECK(!vm_name_is_valid(NULL));
}

static void test_escape(void)
{
        struct strbuf b = STRBUF_INIT(1024);
        CHECK(term_escape_append(&b, "a\x1b[31mb\\c\n\x7f\xc3\xa9", 13, 0) == 0);
        CHECK_STREQ(b.data, "a\\x1b[31mb\\\\c\\x0a\\x7f\\xc3\\xa9");
        strbuf_reset(&b);
        CHECK(term_escape_append(&b, "abcdefgh", 8, 4) == 0);
        CHECK_STREQ(b.data, "abcd...");
        strbuf_reset(&b);
        CHECK(term_escape_appends(&b, NULL, 0) == 0);
        CHECK_STREQ(b.data, "-");
        strbuf_free(&b);
}

/* Writes n records with the real audit writer and returns the file's bytes. */
static void make_log(const char *dir, unsigned n, char **ret, size_t *ret_len)
{
        char path[512];
        struct audit_log *log = NULL;
        struct audit_options opts = { 0 };
        snprintf(path, sizeof(path), "%s/a.jsonl", dir);
        unlink(path);
        CHECK(audit_log_open(path, &opts, &log) == 0);
        for (unsigned i = 0; i < n; i++) {
                json_t *f = json_pack("{s:s, s:s, s:i}", "event", "egress", "profile", "p",
                                      "bytes_up", (int)i);
                uint64_t seq;
                CHECK(audit_log_append(log, f, false, &seq) == 0);
                json_decref(f);
        }
        audit_log_close(log);
        CHECK(read_file_bounded(path, 1 << 20, ret, ret_len) == 0);
}

/* offset of line k (1-based) */
static size_t line_off(const char *s, unsigned k)
{
        size_t off = 0;
        for (unsigned i = 1; i < k; i++)
                off = (size_t)(strchr(s + off, '\n') - s) + 1;
        return off;
}

static void hash_of_line(const char *s, unsigned k, char out[AUDIT_HASH_HEX + 1])
{
        size_t off = line_off(s, k);
        size_t len = (size_t)(strchr(s + off, '\n') - (s + off));
        struct audit_record rec = { 0 };
        CHECK(audit_record_parse(s + off, len, &rec) == 0);
        memcpy(out, rec.hash, AUDIT_HASH_HEX + 1);
        audit_record_done(&rec);
}

static void test_check_reply(void)
{
        char dir[] = "/tmp/qclaw-test-rpc.XXXXXX";
        size_t len, good;
        uint64_t last;
        char h3[AUDIT_HASH_HEX + 1], lh[AUDIT_HASH_HEX + 1];
        bool more;

        CHECK(mkdtemp(dir) != NULL);
        char *log = NULL;
        make_log(dir, 6, &log, &len);
        if (!log)
                return;
        hash_of_line(log, 3, h3);

        /* empty mirror: everything is new and verified */
        struct pull_result res = { 0 };
        last = 0;
        CHECK(logs_check_reply(0, NULL, log, len, &res, &good, &last, lh, &more) == 0);
        CHECK(!res.broken && good == len && last == 6 && more);

        /* mirror at 3: reply from 3 on (overlap + 3 new) */
        size_t o3 = line_off(log, 3);
        res = (struct pull_result){ 0 };
        last = 3;
        CHECK(logs_check_reply(3, h3, log + o3, len - o3, &res, &good, &last, lh, &more) == 0);
        CHECK(!res.broken && good == len - o3 && last == 6 && more);

        /* only the overlap record: nothing new, no more pulls */
        size_t o4 = line_off(log, 4);
        res = (struct pull_result){ 0 };
        last = 3;
        CHECK(logs_check_reply(3, h3, log + o3, o4 - o3, &res, &good, &last, lh, &more) == 0);
        CHECK(!res.broken && !more && last == 3);

        /* nothing at all although dom0 holds seq 3: truncated */
        res = (struct pull_result){ 0 };
        CHECK(logs_check_reply(3, h3, "", 0, &res, &good, &last, lh, &more) == 0);
        CHECK(res.broken && res.broken_seq == 3 && strstr(res.reason, "truncated"));

        /* reply starts after the overlap record: records gone */
        res = (struct pull_result){ 0 };
        CHECK(logs_check_reply(3, h3, log + o4, len - o4, &res, &good, &last, lh, &more) == 0);
        CHECK(res.broken && strstr(res.reason, "no longer has"));

        /* reply starts before what was asked */
        res = (struct pull_result){ 0 };
        CHECK(logs_check_reply(3, h3, log, len, &res, &good, &last, lh, &more) == 0);
        CHECK(res.broken && good == 0);

        /* overlap record differs from the mirror (other hash): rewritten */
        char other[AUDIT_HASH_HEX + 1];
        memset(other, 'a', AUDIT_HASH_HEX);
        other[AUDIT_HASH_HEX] = '\0';
        res = (struct pull_result){ 0 };
        CHECK(logs_check_reply(3, other, log + o3, len - o3, &res, &good, &last, lh, &more) == 0);
        CHECK(res.broken && res.broken_seq == 3 && strstr(res.reason, "rewritten") && good == 0);

        /* record 5 edited: records 4 are verified and kept, the break is at 5 */
        char *ed = strdup(log);
        size_t o5 = line_off(ed, 5);
        char *p = strstr(ed + o5, "\"egress\"");
        CHECK(p != NULL);
        if (p)
                memcpy(p, "\"egresz\"", 8);
        res = (struct pull_result){ 0 };
        last = 3;
        CHECK(logs_check_reply(3, h3, ed + o3, len - o3, &res, &good, &last, lh, &more) == 0);
        CHECK(res.broken && res.broken_seq == 5);
        CHECK(good == o5 - o3 && last == 4);
        free(ed);

        /* partial last line and garbage */
        res = (struct pull_result){ 0 };
        last = 3;
        CHECK(logs_check_reply(3, h3, log + o3, len - o3 - 1, &res, &good, &last, lh, &more) == 0);
        CHECK(res.broken && strstr(res.reason, "partial") && last == 5);
        res = (struct pull_result){ 0 };
        CHECK(logs_check_reply(0, NULL, "garbage\n", 8, &res, &good, &last, lh, &more) == 0);
        CHECK(res.broken && good == 0);

        free(log);
        char path[600];
        snprintf(path, sizeof(path), "%s/a.jsonl", dir);
        unlink(path);
        rmdir(dir);
}

int main(void)
{
        test_seq_arg();
        test_vm_names();
        test_escape();
        test_check_reply();
        return TEST_DONE();
}
