/* Unit tests for the audit log (policy/audit.h): exact line format and hash rule, tamper
 * detection, rotation, reading from a seq, several writers at once, ENOSPC. Runs in a mkdtemp
 * directory; the ENOSPC case needs root for a private tmpfs and is skipped (reported) without. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
        _cleanup_json_ json_t *f =
            json_pack("{s:s, s:i, s:s}", "event", event, "i", i, "note", "x \"quoted\" \\ ü");
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
        _cleanup_json_ json_t *f2 =
            json_pack("{s:i, s:s, s:[i,i]}", "b", 2, "event", "deny", "a", 1, 2);
        CHECK(audit_log_append(log, f2, true, &seq) == 0);
        CHECK(seq == 2);

        /* refused: reserved keys, no event, not an object, too large */
        static const char *const reserved[] = {"seq", "ts", "prev", "hash"};
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
        snprintf(
            want, sizeof(want),
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
        snprintf(want, sizeof(want), "\",\"event\":\"deny\",\"b\":2,\"a\":[1,2],\"prev\":\"%s\"",
                 h1);
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
        T_FORGE_FIRST,
};

static void test_tamper(void)
{
        static const struct {
                const char *name;
                enum tamper t;
                enum audit_break want;
                uint64_t seq;
        } cases[] = {
            {"untouched", T_NONE, AUDIT_OK, 0},
            {"edit value of 7", T_EDIT, AUDIT_BREAK_HASH, 7},
            {"delete 7", T_DELETE, AUDIT_BREAK_SEQ_GAP, 7},
            {"delete 7..9", T_DELETE_RANGE, AUDIT_BREAK_SEQ_GAP, 7},
            {"swap 7 and 8", T_SWAP, AUDIT_BREAK_SEQ_ORDER, 7},
            {"swap 7 and 11", T_SWAP_FAR, AUDIT_BREAK_SEQ_ORDER, 7},
            {"duplicate 7 in place", T_DUP_ADJ, AUDIT_BREAK_SEQ_ORDER, 7},
            {"duplicate 3 after 7", T_DUP_LATER, AUDIT_BREAK_SEQ_ORDER, 3},
            {"truncate last (12) mid-way", T_TRUNCATE_LAST, AUDIT_BREAK_PARSE, 12},
            {"edit 7 and forge its hash", T_FORGE, AUDIT_BREAK_PREV, 8},
            {"garbage line after 7", T_GARBAGE, AUDIT_BREAK_PARSE, 8},
            {"empty line after 7", T_EMPTY_LINE, AUDIT_BREAK_PARSE, 8},
            {"edit seq of 7", T_EDIT_SEQ, AUDIT_BREAK_HASH, 7},
            /* a chain may start late (pruned files, a dom0 mirror): the range shows it */
            {"delete record 1", T_DELETE_FIRST, AUDIT_OK, 0},
            /* but a record 1 always starts a chain */
            {"record 1 with a forged prev", T_FORGE_FIRST, AUDIT_BREAK_PREV, 1},
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
                case T_FORGE_FIRST:
                        a = replace(
                            ls.l[0], zeros,
                            "1111111111111111111111111111111111111111111111111111111111111111");
                        ls.l[0] = b = reforge(a);
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
                if (cases[c].t == T_DELETE_FIRST)
                        CHECK(v.count == 11 && v.last_seq == 12);
        }
}

struct collected {
        unsigned n;
        uint64_t seqs[4096];
        unsigned zero_seq; /* lines passed with seq 0 (unparsable) */
};

static int collect(const char *line, size_t len, uint64_t seq, void *userdata)
{
        struct collected *c = userdata;
        if (seq == 0)
                c->zero_seq++;
        else if (c->n < ELEMENTSOF(c->seqs))
                c->seqs[c->n++] = seq;
        return 0;
}

static int stop_after_3(const char *line, size_t len, uint64_t seq, void *userdata)
{
        unsigned *n = userdata;
        return ++*n == 3 ? 7 : 0;
}

static unsigned count_rotated(const char *path)
{
        unsigned k = 0;
        char name[300];
        struct stat st;
        for (;;) {
                snprintf(name, sizeof(name), "%s.%u", path, k + 1);
                if (stat(name, &st) < 0)
                        return k;
                k++;
        }
}

static void test_rotation(void)
{
        char path[256];
        path_in(path, sizeof(path), "rot.jsonl");
        struct audit_options o = {.rotate_bytes = 4096, .keep_files = 0};
        struct audit_log *log = NULL;
        CHECK(audit_log_open(path, &o, &log) == 0);
        for (int i = 1; i <= 200; i++) {
                uint64_t seq = 0;
                CHECK(append_event(log, "rot", i, &seq) == 0);
                CHECK(seq == (uint64_t)i);
        }
        audit_log_close(log);
        unsigned files = count_rotated(path);
        CHECK(files >= 3);

        struct audit_verifier v;
        CHECK(audit_verify_path(path, &v) == 0);
        CHECK(v.broken == AUDIT_OK && v.count == 200 && v.last_seq == 200);

        /* every rotated file is smaller than the bound plus one record, FILE.N oldest */
        char name[300];
        snprintf(name, sizeof(name), "%s.%u", path, files);
        _cleanup_free_ char *oldest = slurp(name, NULL);
        CHECK(oldest && strncmp(oldest, "{\"seq\":1,", 9) == 0);

        static const uint64_t froms[] = {150, 1, 0, 200, 201, 2};
        for (size_t i = 0; i < ELEMENTSOF(froms); i++) {
                struct collected *c = calloc(1, sizeof(*c));
                CHECK(audit_read_from(path, froms[i], collect, c) == 0);
                uint64_t first = froms[i] ? froms[i] : 1;
                uint64_t want = first <= 200 ? 200 - first + 1 : 0;
                CHECK(c->n == want && c->zero_seq == 0);
                for (unsigned k = 0; k < c->n; k++)
                        CHECK(c->seqs[k] == first + k);
                free(c);
        }

        /* a stop from the callback is returned */
        unsigned seen = 0;
        CHECK(audit_read_from(path, 150, stop_after_3, &seen) == 7);
        CHECK(seen == 3);

        /* keep_files prunes: reopen with keep 2 and push past several rotations */
        o.keep_files = 2;
        CHECK(audit_log_open(path, &o, &log) == 0);
        for (int i = 201; i <= 400; i++)
                CHECK(append_event(log, "rot", i, NULL) == 0);
        audit_log_close(log);
        /* the first rotation with keep=2 pruned everything beyond FILE.2 */
        CHECK(count_rotated(path) == 2);
        snprintf(name, sizeof(name), "%s.3", path);
        CHECK(access(name, F_OK) < 0 && errno == ENOENT);
        CHECK(audit_verify_path(path, &v) == 0);
        CHECK(v.broken == AUDIT_OK && v.last_seq == 400);
        CHECK(v.count < 400 && v.count > 0); /* the chain starts at the first kept record */

        /* tamper inside a rotated file is found across files */
        snprintf(name, sizeof(name), "%s.1", path);
        size_t len;
        _cleanup_free_ char *text = slurp(name, &len);
        struct lines ls;
        lines_split(&ls, text);
        CHECK(ls.n >= 3);
        struct audit_record rec;
        CHECK(audit_record_parse(ls.l[1], strlen(ls.l[1]), &rec) == 0);
        uint64_t deleted = rec.seq;
        audit_record_done(&rec);
        memmove(&ls.l[1], &ls.l[2], (ls.n - 2) * sizeof(char *));
        ls.n--;
        lines_write(&ls, name, true);
        CHECK(audit_verify_path(path, &v) == 0);
        CHECK(v.broken == AUDIT_BREAK_SEQ_GAP && v.broken_seq == deleted);
}

static void test_two_handles(void)
{
        char path[256];
        path_in(path, sizeof(path), "two.jsonl");
        struct audit_log *a = NULL, *b = NULL;
        CHECK(audit_log_open(path, NULL, &a) == 0);
        CHECK(audit_log_open(path, NULL, &b) == 0);
        for (int i = 1; i <= 50; i++) {
                uint64_t seq = 0;
                CHECK(append_event(i % 3 ? a : b, "two", i, &seq) == 0);
                CHECK(seq == (uint64_t)i);
        }
        /* the same with rotation, where each handle must follow the other's renames */
        struct audit_options o = {.rotate_bytes = 2048};
        struct audit_log *c = NULL, *d = NULL;
        char rpath[256];
        path_in(rpath, sizeof(rpath), "two-rot.jsonl");
        CHECK(audit_log_open(rpath, &o, &c) == 0);
        CHECK(audit_log_open(rpath, &o, &d) == 0);
        for (int i = 1; i <= 100; i++) {
                uint64_t seq = 0;
                CHECK(append_event(i % 2 ? c : d, "two", i, &seq) == 0);
                CHECK(seq == (uint64_t)i);
        }
        audit_log_close(a);
        audit_log_close(b);
        audit_log_close(c);
        audit_log_close(d);
        struct audit_verifier v;
        CHECK(audit_verify_path(path, &v) == 0);
        CHECK(v.broken == AUDIT_OK && v.count == 50);
        CHECK(audit_verify_path(rpath, &v) == 0);
        CHECK(v.broken == AUDIT_OK && v.count == 100);
        CHECK(count_rotated(rpath) >= 3);
}

/* A writer died mid-write(2): the next writer ends the torn line and continues from the last
 * complete record, and the verifier reports the torn line where it is. */
static void test_torn_tail(void)
{
        char path[256];
        _cleanup_free_ char *text = make_log("torn.jsonl", 5, path, sizeof(path));
        _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        CHECK(fd_write_all(fd, "{\"seq\":6,\"ts\":\"20", 17) == 0);

        /* a reader passes the torn line with seq 0 */
        struct collected *c = calloc(1, sizeof(*c));
        CHECK(audit_read_from(path, 3, collect, c) == 0);
        CHECK(c->n == 3 && c->seqs[0] == 3 && c->zero_seq == 1);
        free(c);

        struct audit_log *log = NULL;
        uint64_t seq = 0;
        CHECK(audit_log_open(path, NULL, &log) == 0);
        CHECK(append_event(log, "after", 6, &seq) == 0);
        CHECK(seq == 6);
        CHECK(append_event(log, "after", 7, &seq) == 0);
        CHECK(seq == 7);
        audit_log_close(log);

        struct audit_verifier v;
        CHECK(audit_verify_path(path, &v) == 0);
        CHECK(v.broken == AUDIT_BREAK_PARSE && v.broken_seq == 6);

        /* the records after the torn line do chain on from record 5 */
        size_t len;
        _cleanup_free_ char *t2 = slurp(path, &len);
        struct lines ls;
        lines_split(&ls, t2);
        CHECK(ls.n == 8);
        audit_verifier_init(&v);
        for (unsigned i = 0; i < ls.n; i++)
                if (i != 5)
                        CHECK(audit_verifier_feed(&v, ls.l[i], strlen(ls.l[i])) == AUDIT_OK);
        CHECK(v.last_seq == 7);
}

/* A dom0-style verifier resumed at a known tail accepts exactly the continuation. */
static void test_resume(void)
{
        char path[256];
        _cleanup_free_ char *text = make_log("resume.jsonl", 6, path, sizeof(path));
        struct lines ls;
        lines_split(&ls, text);
        struct audit_record rec;
        CHECK(audit_record_parse(ls.l[2], strlen(ls.l[2]), &rec) == 0);
        struct audit_verifier v;
        audit_verifier_resume(&v, rec.seq, rec.hash);
        audit_record_done(&rec);
        for (unsigned i = 3; i < 6; i++)
                CHECK(audit_verifier_feed(&v, ls.l[i], strlen(ls.l[i])) == AUDIT_OK);
        CHECK(v.count == 3 && v.last_seq == 6);
        /* a VM that rewrote history: resuming at 3 but being sent a different chain */
        audit_verifier_resume(&v, 3, zeros);
        CHECK(audit_verifier_feed(&v, ls.l[3], strlen(ls.l[3])) == AUDIT_BREAK_PREV);
        CHECK(v.broken_seq == 4);
        /* later calls keep returning the first break */
        CHECK(audit_verifier_feed(&v, ls.l[4], strlen(ls.l[4])) == AUDIT_BREAK_PREV);
        CHECK(v.broken_seq == 4);
}

struct parse_case {
        const char *name;
        const char *line; /* %H = valid hash slot, filled in; %P = prev zeros */
        bool ok;
};

/* Lines built by hand; each is then given its correct hash so only the shape is tested. */
static void test_parse_table(void)
{
        static const struct parse_case cases[] = {
            {"minimal", "{\"seq\":1,\"ts\":\"t\",\"event\":\"e\",\"prev\":\"%P\",\"hash\":\"%H\"}",
             true},
            {"fields",
             "{\"seq\":9,\"ts\":\"t\",\"event\":\"e\",\"a\":[1,{\"b\":null}],\"prev\":\"%P\","
             "\"hash\":\"%H\"}",
             true},
            {"seq 0", "{\"seq\":0,\"ts\":\"t\",\"event\":\"e\",\"prev\":\"%P\",\"hash\":\"%H\"}",
             false},
            {"seq negative",
             "{\"seq\":-1,\"ts\":\"t\",\"event\":\"e\",\"prev\":\"%P\",\"hash\":\"%H\"}", false},
            {"seq real",
             "{\"seq\":1.0,\"ts\":\"t\",\"event\":\"e\",\"prev\":\"%P\",\"hash\":\"%H\"}", false},
            {"seq string",
             "{\"seq\":\"1\",\"ts\":\"t\",\"event\":\"e\",\"prev\":\"%P\",\"hash\":\"%H\"}", false},
            {"seq huge",
             "{\"seq\":99999999999999999999,\"ts\":\"t\",\"event\":\"e\",\"prev\":\"%P\",\"hash\":"
             "\"%H\"}",
             false},
            {"seq not first",
             "{\"ts\":\"t\",\"seq\":1,\"event\":\"e\",\"prev\":\"%P\",\"hash\":\"%H\"}", false},
            {"no event", "{\"seq\":1,\"ts\":\"t\",\"x\":\"e\",\"prev\":\"%P\",\"hash\":\"%H\"}",
             false},
            {"event not string",
             "{\"seq\":1,\"ts\":\"t\",\"event\":1,\"prev\":\"%P\",\"hash\":\"%H\"}", false},
            {"ts not string",
             "{\"seq\":1,\"ts\":1,\"event\":\"e\",\"prev\":\"%P\",\"hash\":\"%H\"}", false},
            {"duplicate key",
             "{\"seq\":1,\"ts\":\"t\",\"event\":\"e\",\"event\":\"f\",\"prev\":\"%P\",\"hash\":\"%"
             "H\"}",
             false},
            {"space before hash",
             "{\"seq\":1,\"ts\":\"t\",\"event\":\"e\",\"prev\":\"%P\", \"hash\":\"%H\"}", false},
            {"trailing space",
             "{\"seq\":1,\"ts\":\"t\",\"event\":\"e\",\"prev\":\"%P\",\"hash\":\"%H\"} ", false},
            {"raw newline",
             "{\"seq\":1,\"ts\":\"t\",\n\"event\":\"e\",\"prev\":\"%P\",\"hash\":\"%H\"}", false},
            {"uppercase prev",
             "{\"seq\":1,\"ts\":\"t\",\"event\":\"e\",\"prev\":\"%U\",\"hash\":\"%H\"}", false},
            {"escaped prev",
             "{\"seq\":1,\"ts\":\"t\",\"event\":\"e\",\"prev\":\"\\u0030%Q\",\"hash\":\"%H\"}",
             false},
            {"prev in a string",
             "{\"seq\":1,\"ts\":\"t\",\"event\":\"e\",\"x\":\",\\\"prev\\\":\\\"%P\",\"hash\":\"%"
             "H\"}",
             false},
            {"array", "[\"seq\",1,\"prev\":\"%P\",\"hash\":\"%H\"}", false},
            {"NUL escape",
             "{\"seq\":1,\"ts\":\"t\",\"event\":\"e\\u0000\",\"prev\":\"%P\",\"hash\":\"%H\"}",
             false},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char line[1024];
                size_t o = 0;
                for (const char *p = cases[i].line; *p && o < sizeof(line) - 80; p++) {
                        if (p[0] == '%' && p[1] == 'P') {
                                memcpy(line + o, zeros, 64), o += 64, p++;
                        } else if (p[0] == '%' && p[1] == 'U') {
                                memset(line + o, 'A', 64), o += 64, p++;
                        } else if (p[0] == '%' && p[1] == 'Q') {
                                memcpy(line + o, zeros, 63), o += 63, p++;
                        } else if (p[0] == '%' && p[1] == 'H') {
                                memset(line + o, '0', 64), o += 64, p++;
                        } else
                                line[o++] = *p;
                }
                line[o] = '\0';
                char *h = strstr(line, ",\"hash\":\"");
                if (h) {
                        char fixed[65];
                        expected_hash(line, fixed);
                        memcpy(h + 9, fixed, 64);
                }
                struct audit_record rec;
                int r = audit_record_parse(line, o, &rec);
                if ((r == 0) != cases[i].ok)
                        fprintf(stderr, "parse case '%s': r=%d\n", cases[i].name, r);
                CHECK((r == 0) == cases[i].ok);
                if (r == 0) {
                        CHECK(rec.hash_ok);
                        audit_record_done(&rec);
                }
        }

        /* over the size cap: refused before any JSON parsing */
        char *big = malloc(AUDIT_LINE_MAX + 2);
        memset(big, ' ', AUDIT_LINE_MAX + 1);
        struct audit_record rec;
        CHECK(audit_record_parse(big, AUDIT_LINE_MAX + 1, &rec) == -EBADMSG);
        free(big);
}

#define WRITERS 8
#define PER_WRITER 500

struct pairs {
        unsigned char seen[WRITERS][PER_WRITER];
        unsigned bad;
        uint64_t next_seq;
};

static int collect_pairs(const char *line, size_t len, uint64_t seq, void *userdata)
{
        struct pairs *p = userdata;
        struct audit_record rec;
        if (seq != p->next_seq++ || audit_record_parse(line, len, &rec) < 0) {
                p->bad++;
                return 0;
        }
        long long w = json_get_int(rec.json, "w", -1), i = json_get_int(rec.json, "i", -1);
        if (w >= 0 && w < WRITERS && i >= 0 && i < PER_WRITER)
                p->seen[w][i]++;
        else
                p->bad++;
        audit_record_done(&rec);
        return 0;
}

/* WRITERS processes append PER_WRITER records each at the same time, each with its own handle. */
static void test_concurrency(const char *name, uint64_t rotate_bytes)
{
        char path[256];
        path_in(path, sizeof(path), name);
        struct audit_options o = {.rotate_bytes = rotate_bytes};
        pid_t pids[WRITERS];
        for (int w = 0; w < WRITERS; w++) {
                pids[w] = fork();
                CHECK(pids[w] >= 0);
                if (pids[w] == 0) {
                        struct audit_log *log = NULL;
                        if (audit_log_open(path, &o, &log) < 0)
                                _exit(1);
                        for (int i = 0; i < PER_WRITER; i++) {
                                _cleanup_json_ json_t *f =
                                    json_pack("{s:s, s:i, s:i}", "event", "conc", "w", w, "i", i);
                                if (audit_log_append(log, f, false, NULL) < 0)
                                        _exit(2);
                        }
                        audit_log_close(log);
                        _exit(0);
                }
        }
        /* A reader verifying over and over meanwhile must never see a broken chain: no
         * half-written record, no file read twice or missed across a rotation. */
        char done[300];
        snprintf(done, sizeof(done), "%s.done", path);
        pid_t reader = fork();
        CHECK(reader >= 0);
        if (reader == 0) {
                unsigned rounds = 0, bad = 0;
                for (;;) {
                        bool last = access(done, F_OK) == 0;
                        struct audit_verifier rv;
                        int r = audit_verify_path(path, &rv);
                        if ((r < 0 && r != -ENOENT) || (r == 0 && rv.broken != AUDIT_OK)) {
                                fprintf(stderr, "reader: r=%d %s\n", r, r == 0 ? rv.reason : "");
                                bad++;
                        }
                        rounds++;
                        if (last)
                                break;
                }
                _exit(bad ? 1 : 0);
        }
        for (int w = 0; w < WRITERS; w++) {
                int status = -1;
                CHECK(waitpid(pids[w], &status, 0) == pids[w]);
                CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        spit(done, "", 0);
        int rstatus = -1;
        CHECK(waitpid(reader, &rstatus, 0) == reader);
        CHECK(WIFEXITED(rstatus) && WEXITSTATUS(rstatus) == 0);

        struct audit_verifier v;
        CHECK(audit_verify_path(path, &v) == 0);
        if (v.broken != AUDIT_OK)
                fprintf(stderr, "concurrency %s: %s\n", name, v.reason);
        CHECK(v.broken == AUDIT_OK);
        CHECK(v.count == WRITERS * PER_WRITER && v.last_seq == WRITERS * PER_WRITER);

        struct pairs *p = calloc(1, sizeof(*p));
        p->next_seq = 1;
        CHECK(audit_read_from(path, 1, collect_pairs, p) == 0);
        CHECK(p->bad == 0 && p->next_seq == WRITERS * PER_WRITER + 1);
        unsigned wrong = 0;
        for (int w = 0; w < WRITERS; w++)
                for (int i = 0; i < PER_WRITER; i++)
                        wrong += p->seen[w][i] != 1;
        CHECK(wrong == 0);
        free(p);
        if (rotate_bytes)
                CHECK(count_rotated(path) >= 3);
}

/* Runs in a child with a private mount namespace: a 64 KiB tmpfs fills up. Returns failures. */
static int enospc_child(void)
{
        int failures_before = tap_failures; /* inherited from the parent */
        if (unshare(CLONE_NEWNS) < 0)
                return 77;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return 77;
        char dir[256];
        path_in(dir, sizeof(dir), "small");
        if (mkdir(dir, 0700) < 0 || mount("tmpfs", dir, "tmpfs", 0, "size=64k") < 0)
                return 77;

        char filler[300], path[300];
        snprintf(filler, sizeof(filler), "%s/filler", dir);
        snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
        static char junk[16384];
        spit(filler, junk, sizeof(junk));

        struct audit_log *log = NULL;
        CHECK(audit_log_open(path, NULL, &log) == 0);
        uint64_t last = 0, seq = 0;
        int r = 0;
        for (int i = 0; i < 100000; i++) {
                r = append_event(log, "fill", i, &seq);
                if (r < 0)
                        break;
                CHECK(seq == last + 1);
                last = seq;
        }
        CHECK(r == -ENOSPC);
        CHECK(last > 10);
        /* a second attempt fails the same way and leaves nothing behind */
        CHECK(append_event(log, "fill", -1, &seq) == -ENOSPC);

        struct audit_verifier v;
        CHECK(audit_verify_path(path, &v) == 0);
        CHECK(v.broken == AUDIT_OK && v.last_seq == last && v.count == last);
        struct stat st;
        CHECK(stat(path, &st) == 0);
        size_t len;
        _cleanup_free_ char *text = slurp(path, &len);
        CHECK(text && len == (size_t)st.st_size && text[len - 1] == '\n');

        CHECK(unlink(filler) == 0);
        CHECK(append_event(log, "after", 1, &seq) == 0);
        CHECK(seq == last + 1);
        CHECK(append_event(log, "after", 2, &seq) == 0);
        CHECK(seq == last + 2);
        audit_log_close(log);
        CHECK(audit_verify_path(path, &v) == 0);
        CHECK(v.broken == AUDIT_OK && v.last_seq == last + 2);
        umount2(dir, MNT_DETACH);
        return tap_failures > failures_before ? 1 : 0;
}

static void test_enospc(void)
{
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
                _exit(enospc_child());
        int status = -1;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77) {
                const char *strict = getenv("QCLAW_NO_SKIP");
                fprintf(stderr, "ENOSPC test skipped: no private mount namespace (not root?)\n");
                CHECK(!(strict && strcmp(strict, "1") == 0));
                return;
        }
        CHECK(WEXITSTATUS(status) == 0);
}

/* Run qclaw-admin with stdout/stderr into files; returns the exit status or -1. */
static int run_admin(const char *admin, const char *const *args, char **out, char **err)
{
        char opath[300], epath[300];
        path_in(opath, sizeof(opath), "admin.out");
        path_in(epath, sizeof(epath), "admin.err");
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
                        _exit(127);
                char *argv[8] = {(char *)admin};
                for (int i = 0; args[i] && i < 6; i++)
                        argv[i + 1] = (char *)args[i];
                execv(admin, argv);
                _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
                return -1;
        *out = slurp(opath, NULL);
        *err = slurp(epath, NULL);
        return WEXITSTATUS(status);
}

/* qclaw-admin verify against files the library wrote and then tampered with. */
static void test_admin_verify(void)
{
        const char *build = getenv("QCLAW_BUILD_DIR");
        char admin[512];
        snprintf(admin, sizeof(admin), "%s/rpc/qclaw-admin", build ? build : "");
        if (!build || access(admin, X_OK) < 0) {
                fprintf(stderr, "qclaw-admin verify test skipped: no built qclaw-admin\n");
                return;
        }
        char path[256], missing[256], want[512];
        _cleanup_free_ char *text = make_log("admin.jsonl", 12, path, sizeof(path));
        path_in(missing, sizeof(missing), "no-such.jsonl");
        struct audit_verifier v;
        CHECK(audit_verify_path(path, &v) == 0 && v.broken == AUDIT_OK);

        _cleanup_free_ char *o1 = NULL, *e1 = NULL;
        CHECK(run_admin(admin, (const char *[]){"verify", path, NULL}, &o1, &e1) == 0);
        snprintf(want, sizeof(want), "%s: ok, 12 records, seq 1..12, last hash %s\n", path,
                 v.last_hash);
        CHECK_STREQ(o1, want);

        struct lines ls;
        lines_split(&ls, text);
        _cleanup_free_ char *edited = replace(ls.l[6], "\"i\":7", "\"i\":9");
        ls.l[6] = edited;
        lines_write(&ls, path, true);
        _cleanup_free_ char *o2 = NULL, *e2 = NULL;
        CHECK(run_admin(admin, (const char *[]){"verify", path, NULL}, &o2, &e2) == 1);
        snprintf(want, sizeof(want),
                 "%s: chain broken at seq 7: record 7 was modified (hash mismatch)\n", path);
        CHECK_STREQ(e2, want);
        CHECK_STREQ(o2, "");

        _cleanup_free_ char *o3 = NULL, *e3 = NULL, *o4 = NULL, *e4 = NULL, *o5 = NULL, *e5 = NULL;
        CHECK(run_admin(admin, (const char *[]){"verify", missing, NULL}, &o3, &e3) == 2);
        CHECK(run_admin(admin, (const char *[]){"verify", path, path, NULL}, &o4, &e4) == 2);
        CHECK(run_admin(admin, (const char *[]){"verify", "--bogus", NULL}, &o5, &e5) == 2);
}

/* A handle opened before fork() and used by parent and children: each process must take a
 * file description (and so a flock) of its own. */
static void test_fork_shared_handle(void)
{
        char path[256];
        path_in(path, sizeof(path), "forked.jsonl");
        struct audit_log *log = NULL;
        CHECK(audit_log_open(path, NULL, &log) == 0);
        CHECK(append_event(log, "parent", 0, NULL) == 0);
        pid_t pids[4];
        for (int c = 0; c < 4; c++) {
                pids[c] = fork();
                if (pids[c] == 0) {
                        for (int i = 0; i < 300; i++)
                                if (append_event(log, "child", i, NULL) < 0)
                                        _exit(1);
                        _exit(0);
                }
        }
        for (int i = 0; i < 300; i++)
                CHECK(append_event(log, "parent", i, NULL) == 0);
        for (int c = 0; c < 4; c++) {
                int status = -1;
                CHECK(waitpid(pids[c], &status, 0) == pids[c]);
                CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        audit_log_close(log);
        struct audit_verifier v;
        CHECK(audit_verify_path(path, &v) == 0);
        CHECK(v.broken == AUDIT_OK && v.count == 1 + 5 * 300);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path) < 0 ? -1 : 0;
}

/* append_many: one write(2) of consecutive chained records, interleaved with another handle's
 * single appends (each handle must notice the other's writes even on its fast path), and a
 * batch that holds an invalid record writes nothing. An unlinked log is noticed at once. */
static void test_batch(void)
{
        char path[256];
        path_in(path, sizeof(path), "batch.jsonl");
        struct audit_log *a = NULL, *b = NULL;
        CHECK(audit_log_open(path, NULL, &a) == 0);
        CHECK(audit_log_open(path, NULL, &b) == 0);
        uint64_t seq = 0;
        int i = 0;
        for (int round = 0; round < 20; round++) {
                json_t *f[5];
                size_t n = 1 + (size_t)round % 5;
                for (size_t k = 0; k < n; k++)
                        f[k] = json_pack("{s:s, s:i}", "event", "batch", "i", ++i);
                CHECK(audit_log_append_many(a, (const json_t *const *)f, n, false, &seq) == 0);
                CHECK(seq == (uint64_t)i);
                for (size_t k = 0; k < n; k++)
                        json_decref(f[k]);
                CHECK(append_event(b, "single", ++i, &seq) == 0);
                CHECK(seq == (uint64_t)i);
        }
        /* all or nothing: the third record is not an object with an event */
        json_t *bad[3] = { json_pack("{s:s}", "event", "x"), json_pack("{s:s}", "event", "y"),
                           json_pack("{s:i}", "i", 1) };
        CHECK(audit_log_append_many(a, (const json_t *const *)bad, 3, false, &seq) == -EINVAL);
        for (size_t k = 0; k < 3; k++)
                json_decref(bad[k]);
        CHECK(append_event(a, "after", ++i, &seq) == 0);
        CHECK(seq == (uint64_t)i);

        struct audit_verifier v;
        CHECK(audit_verify_path(path, &v) == 0);
        CHECK(v.broken == AUDIT_OK && v.count == (uint64_t)i && v.last_seq == (uint64_t)i);

        /* the log is deleted under a writer: the next append creates it again */
        CHECK(unlink(path) == 0);
        CHECK(append_event(a, "recreated", 1, &seq) == 0);
        CHECK(access(path, F_OK) == 0);
        audit_log_close(a);
        audit_log_close(b);
}

int main(void)
{
        CHECK(mkdtemp(tmpdir) != NULL);
        test_format();
        test_tamper();
        test_parse_table();
        test_rotation();
        test_two_handles();
        test_batch();
        test_torn_tail();
        test_resume();
        test_concurrency("conc.jsonl", 0);
        test_concurrency("conc-rot.jsonl", 64 * 1024);
        test_fork_shared_handle();
        test_enospc();
        test_admin_verify();
        CHECK(nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
        return TEST_DONE();
}
