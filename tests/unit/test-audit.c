/* Unit tests for the audit log (policy/audit.h): exact line format and hash rule, tamper
 * detection, rotation, reading from a seq, several writers at once, ENOSPC. Runs in a mkdtemp
 * directory; the ENOSPC case needs root for a private tmpfs and is skipped (reported) without. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fd-util.h"
#include "common/json-util.h"
#include "common/macro.h"
#include "policy/audit.h"
#include "policy/sha256.h"
#include "tap.h"

static char tmpdir[] = "/tmp/qclaw-test-audit-XXXXXX";
static const char zeros[] = "0000000000000000000000000000000000000000000000000000000000000000";

static void path_in(char *buf, size_t len, const char *name)
{
        snprintf(buf, len, "%s/%s", tmpdir, name);
}

static int append_event(struct audit_log *log, const char *event, int i, uint64_t *seq)
{
        _cleanup_json_ json_t *f = json_pack("{s:s, s:i, s:s}", "event", event, "i", i, "note",
                                             "x \"quoted\" \\ ü");
        return audit_log_append(log, f, false, seq);
}

static char *slurp(const char *path, size_t *len)
{
        char *buf = NULL;
        size_t n = 0;
        if (read_file_bounded(path, 64 * 1024 * 1024, &buf, &n) < 0)
                return NULL;
        if (len)
                *len = n;
        return buf;
}

static void spit(const char *path, const char *data, size_t len)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        CHECK(fd >= 0);
        CHECK(fd_write_all(fd, data, len) == 0);
}

/* Split text into lines (without '\n'); a last segment without '\n' counts as a line. */
struct lines {
        unsigned n;
        char *l[8192];
};

static void lines_split(struct lines *ls, char *text)
{
        ls->n = 0;
        char *p = text;
        while (*p && ls->n < ELEMENTSOF(ls->l)) {
                char *nl = strchr(p, '\n');
                ls->l[ls->n++] = p;
                if (!nl)
                        break;
                *nl = '\0';
                p = nl + 1;
        }
}

static void lines_write(const struct lines *ls, const char *path, bool final_newline)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        CHECK(fd >= 0);
        for (unsigned i = 0; i < ls->n; i++) {
                CHECK(fd_write_all(fd, ls->l[i], strlen(ls->l[i])) == 0);
                if (i + 1 < ls->n || final_newline)
                        CHECK(fd_write_all(fd, "\n", 1) == 0);
        }
}

/* Recompute a line's hash the way audit.h describes it, independently of the library. */
static void expected_hash(const char *line, char out[SHA256_HEX_LEN + 1])
{
        const char *h = strstr(line, ",\"hash\":\"");
        size_t n = (size_t)(h - line);
        char *buf = malloc(n + 2);
        memcpy(buf, line, n);
        buf[n] = '}';
        buf[n + 1] = '\0';
        sha256_hex(buf, n + 1, out);
        free(buf);
}

static void test_format(void)
{
        char path[256];
        path_in(path, sizeof(path), "format.jsonl");
        struct audit_log *log = NULL;
        CHECK(audit_log_open(path, NULL, &log) == 0);

        uint64_t seq = 0;
        _cleanup_json_ json_t *f1 = json_pack("{s:s, s:i, s:s, s:b}", "event", "egress", "zeta", 1,
                                              "alpha", "a", "stream", 1);
        CHECK(audit_log_append(log, f1, false, &seq) == 0);
        CHECK(seq == 1);
        /* "event" not first: the writer puts it third anyway; the rest keep their order */
        _cleanup_json_ json_t *f2 = json_pack("{s:i, s:s, s:[i,i]}", "b", 2, "event", "deny",
                                              "a", 1, 2);
        CHECK(audit_log_append(log, f2, true, &seq) == 0);
        CHECK(seq == 2);

        /* refused: reserved keys, no event, not an object, too large */
        static const char *const reserved[] = { "seq", "ts", "prev", "hash" };
        for (size_t i = 0; i < ELEMENTSOF(reserved); i++) {
                _cleanup_json_ json_t *bad = json_pack("{s:s, s:i}", "event", "x", reserved[i], 1);
                CHECK(audit_log_append(log, bad, false, &seq) == -EINVAL);
        }
        _cleanup_json_ json_t *noev = json_pack("{s:i}", "x", 1);
        CHECK(audit_log_append(log, noev, false, &seq) == -EINVAL);
        _cleanup_json_ json_t *intev = json_pack("{s:i}", "event", 1);
        CHECK(audit_log_append(log, intev, false, &seq) == -EINVAL);
        _cleanup_json_ json_t *arr = json_array();
        CHECK(audit_log_append(log, arr, false, &seq) == -EINVAL);
        char *big = malloc(AUDIT_LINE_MAX);
        memset(big, 'a', AUDIT_LINE_MAX - 100);
        big[AUDIT_LINE_MAX - 100] = '\0';
        _cleanup_json_ json_t *fbig = json_pack("{s:s, s:s}", "event", "x", "blob", big);
        CHECK(audit_log_append(log, fbig, false, &seq) == -E2BIG);
        free(big);
        CHECK(seq == 2);
        audit_log_close(log);

        size_t len;
        _cleanup_free_ char *text = slurp(path, &len);
        CHECK(text && len > 0 && text[len - 1] == '\n');
        struct lines ls;
        lines_split(&ls, text);
        CHECK(ls.n == 2);

        /* exact shape of line 1 */
        const char *l1 = ls.l[0];
        CHECK(strncmp(l1, "{\"seq\":1,\"ts\":\"", 15) == 0);
        CHECK(strlen(l1) > 40 && l1[15 + 4] == '-' && l1[15 + 10] == 'T' && l1[15 + 23] == 'Z' &&
              l1[15 + 24] == '"');
        char want[512];
        snprintf(want, sizeof(want),
                 "\",\"event\":\"egress\",\"zeta\":1,\"alpha\":\"a\",\"stream\":true,\"prev\":\"%s\","
                 "\"hash\":\"",
                 zeros);
        CHECK(strstr(l1, want) == l1 + 15 + 24);
        char h1[65];
        expected_hash(l1, h1);
        CHECK(strlen(l1) == 15 + 24 + strlen(want) + 64 + 2);
        CHECK(strncmp(l1 + strlen(l1) - 66, h1, 64) == 0);

        /* line 2: event moved first, prev = hash of line 1 */
        const char *l2 = ls.l[1];
        CHECK(strncmp(l2, "{\"seq\":2,\"ts\":\"", 15) == 0);
        snprintf(want, sizeof(want), "\",\"event\":\"deny\",\"b\":2,\"a\":[1,2],\"prev\":\"%s\"", h1);
        CHECK(strstr(l2, want) == l2 + 15 + 24);
        char h2[65];
        expected_hash(l2, h2);
        CHECK(strncmp(l2 + strlen(l2) - 66, h2, 64) == 0);

        /* the parser agrees */
        struct audit_record rec;
        CHECK(audit_record_parse(l2, strlen(l2), &rec) == 0);
        CHECK(rec.seq == 2 && rec.hash_ok);
        CHECK_STREQ(rec.prev, h1);
        CHECK_STREQ(rec.hash, h2);
        CHECK_STREQ(json_get_str(rec.json, "event", NULL), "deny");
        audit_record_done(&rec);

        struct audit_verifier v;
        CHECK(audit_verify_path(path, &v) == 0);
        CHECK(v.broken == AUDIT_OK && v.count == 2 && v.last_seq == 2);
        CHECK_STREQ(v.last_hash, h2);
}

/* Write n records to a fresh file, return its text. */
static char *make_log(const char *name, int n, char *path, size_t plen)
{
        path_in(path, plen, name);
        unlink(path);
        struct audit_log *log = NULL;
        CHECK(audit_log_open(path, NULL, &log) == 0);
        for (int i = 1; i <= n; i++)
                CHECK(append_event(log, "test", i, NULL) == 0);
        audit_log_close(log);
        return slurp(path, NULL);
}

/* Replace the first occurrence of `from` with `to` in line (same buffer, new allocation). */
static char *replace(const char *line, const char *from, const char *to)
{
        const char *p = strstr(line, from);
        CHECK(p != NULL);
        if (!p)
                return strdup(line);
        size_t n = strlen(line) - strlen(from) + strlen(to) + 1;
        char *out = malloc(n);
        snprintf(out, n, "%.*s%s%s", (int)(p - line), line, to, p + strlen(from));
        return out;
}

/* Rewrite a line's hash so it matches its (edited) bytes: a forger who knows the rule. */
static char *reforge(const char *line)
{
        char h[65];
        expected_hash(line, h);
        char *out = strdup(line);
        memcpy(out + strlen(out) - 66, h, 64);
        return out;
}

enum tamper {
        T_NONE,
        T_EDIT,
        T_DELETE,
        T_DELETE_RANGE,
        T_SWAP,
        T_SWAP_FAR,
        T_DUP_ADJ,
        T_DUP_LATER,
        T_TRUNCATE_LAST,
        T_FORGE,
        T_GARBAGE,
        T_EMPTY_LINE,
        T_EDIT_SEQ,
        T_DELETE_FIRST,
};

static void test_tamper(void)
{
        static const struct {
                const char *name;
                enum tamper t;
                enum audit_break want;
                uint64_t seq;
        } cases[] = {
                { "untouched", T_NONE, AUDIT_OK, 0 },
                { "edit value of 7", T_EDIT, AUDIT_BREAK_HASH, 7 },
                { "delete 7", T_DELETE, AUDIT_BREAK_SEQ_GAP, 7 },
                { "delete 7..9", T_DELETE_RANGE, AUDIT_BREAK_SEQ_GAP, 7 },
                { "swap 7 and 8", T_SWAP, AUDIT_BREAK_SEQ_ORDER, 7 },
                { "swap 7 and 11", T_SWAP_FAR, AUDIT_BREAK_SEQ_ORDER, 7 },
                { "duplicate 7 in place", T_DUP_ADJ, AUDIT_BREAK_SEQ_ORDER, 7 },
                { "duplicate 3 after 7", T_DUP_LATER, AUDIT_BREAK_SEQ_ORDER, 3 },
                { "truncate last (12) mid-way", T_TRUNCATE_LAST, AUDIT_BREAK_PARSE, 12 },
                { "edit 7 and forge its hash", T_FORGE, AUDIT_BREAK_PREV, 8 },
                { "garbage line after 7", T_GARBAGE, AUDIT_BREAK_PARSE, 8 },
                { "empty line after 7", T_EMPTY_LINE, AUDIT_BREAK_PARSE, 8 },
                { "edit seq of 7", T_EDIT_SEQ, AUDIT_BREAK_HASH, 7 },
                /* no rotated files: the log must start at 1 */
                { "delete record 1", T_DELETE_FIRST, AUDIT_BREAK_SEQ_GAP, 1 },
        };

        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                char path[256];
                _cleanup_free_ char *text = make_log("tamper.jsonl", 12, path, sizeof(path));
                struct lines ls;
                lines_split(&ls, text);
                CHECK(ls.n == 12);
                _cleanup_free_ char *a = NULL, *b = NULL;
                bool final_nl = true;
                char *tmp;

                switch (cases[c].t) {
                case T_NONE:
                        break;
                case T_EDIT:
                        ls.l[6] = a = replace(ls.l[6], "\"i\":7", "\"i\":8");
                        break;
                case T_DELETE:
                        memmove(&ls.l[6], &ls.l[7], (ls.n - 7) * sizeof(char *));
                        ls.n--;
                        break;
                case T_DELETE_RANGE:
                        memmove(&ls.l[6], &ls.l[9], (ls.n - 9) * sizeof(char *));
                        ls.n -= 3;
                        break;
                case T_SWAP:
                        tmp = ls.l[6], ls.l[6] = ls.l[7], ls.l[7] = tmp;
                        break;
                case T_SWAP_FAR:
                        tmp = ls.l[6], ls.l[6] = ls.l[10], ls.l[10] = tmp;
                        break;
                case T_DUP_ADJ:
                        memmove(&ls.l[7], &ls.l[6], (ls.n - 6) * sizeof(char *));
                        ls.n++;
                        break;
                case T_DUP_LATER:
                        memmove(&ls.l[8], &ls.l[7], (ls.n - 7) * sizeof(char *));
                        ls.l[7] = ls.l[2];
                        ls.n++;
                        break;
                case T_TRUNCATE_LAST:
                        ls.l[11][strlen(ls.l[11]) / 2] = '\0';
                        final_nl = false;
                        break;
                case T_FORGE:
                        a = replace(ls.l[6], "\"i\":7", "\"i\":8");
                        ls.l[6] = b = reforge(a);
                        break;
                case T_GARBAGE:
                case T_EMPTY_LINE:
                        memmove(&ls.l[8], &ls.l[7], (ls.n - 7) * sizeof(char *));
                        ls.l[7] = cases[c].t == T_GARBAGE ? "rm -rf / # not a record" : "";
                        ls.n++;
                        break;
                case T_EDIT_SEQ:
                        ls.l[6] = a = replace(ls.l[6], "{\"seq\":7,", "{\"seq\":70,");
                        break;
                case T_DELETE_FIRST:
                        memmove(&ls.l[0], &ls.l[1], (ls.n - 1) * sizeof(char *));
                        ls.n--;
                        break;
                }
                lines_write(&ls, path, final_nl);

                struct audit_verifier v;
                CHECK(audit_verify_path(path, &v) == 0);
                if (v.broken != cases[c].want || v.broken_seq != cases[c].seq)
                        fprintf(stderr, "tamper case '%s': got %s at %" PRIu64 " (%s)\n",
                                cases[c].name, audit_break_to_string(v.broken), v.broken_seq,
                                v.reason);
                CHECK(v.broken == cases[c].want);
                CHECK(v.broken_seq == cases[c].seq);
                CHECK((v.broken == AUDIT_OK) == (v.reason[0] == '\0'));
        }
}

int main(void)
{
        CHECK(mkdtemp(tmpdir) != NULL);
        test_format();
        test_tamper();
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "%s", tmpdir);
        return TEST_DONE();
}
