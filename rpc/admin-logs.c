/* qclaw-admin logs VM: pull the VM's audit log over qrexec into dom0's mirror, verify that it
 * continues the chain, and show the mirror as a table or JSON lines.
 * Trust level: dom0. Everything that came from the VM (also once mirrored) is untrusted: it is
 * size-capped and strictly parsed (logs-pull.c) and escaped before it reaches the terminal. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fd-util.h"
#include "common/json-util.h"
#include "common/macro.h"
#include "common/strbuf.h"
#include "policy/audit.h"
#include "rpc/admin.h"
#include "rpc/logs-pull.h"
#include "rpc/mirror.h"
#include "rpc/qrexec-call.h"
#include "rpc/rpc-arg.h"
#include "rpc/term-escape.h"

#define FOLLOW_INTERVAL_SEC 2

struct logs_opts {
        const char *vm;
        const char *client;
        const char *mirror_dir;
        const char *profile;
        const char *event;
        uint64_t since;
        bool follow;
        bool json;
        bool quiet;
        bool no_pull;
};

struct show_ctx {
        const struct logs_opts *o;
        uint64_t last_shown;
        bool header_done;
        unsigned bad_lines;
};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: qclaw-admin logs VM [--follow] [--since SEQ] [--profile P] [--event E]\n"
                "                           [--json] [--quiet] [--no-pull]\n"
                "                           [--qrexec-client PATH] [--mirror-dir DIR]\n"
                "Pulls VM's audit log via qclaw.AuditLog into DIR/VM/audit.jsonl (default %s),\n"
                "verifies it continues the chain, and prints it. Exit 1 if the chain is broken\n"
                "or the pull failed. The client defaults to $QCLAW_QREXEC_CLIENT or %s.\n",
                MIRROR_DIR_DEFAULT, QREXEC_CLIENT_DEFAULT);
}

/* One column: escaped, cut to `width` characters ("..." ending a cut one) and padded, so the
 * columns after it stay aligned. The escaped text is printable ASCII: cutting it anywhere is
 * safe. */
static void cell(struct strbuf *row, const char *s, int width)
{
        struct strbuf esc = STRBUF_INIT(4096);
        size_t w = (size_t)width, n;

        (void)term_escape_appends(&esc, s && *s ? s : "-", w + 1);
        if (esc.len <= w) {
                (void)strbuf_append(row, esc.data, esc.len);
                n = esc.len;
        } else {
                (void)strbuf_append(row, esc.data, w - 3);
                (void)strbuf_append(row, "...", 3);
                n = w;
        }
        strbuf_free(&esc);
        for (; n < w + 1; n++)
                (void)strbuf_append(row, " ", 1);
}

static void int_pair(char *buf, size_t len, const json_t *rec, const char *a, const char *b)
{
        json_t *x = json_object_get(rec, a), *y = json_object_get(rec, b);
        char xs[24] = "-", ys[24] = "-";
        if (json_is_integer(x))
                snprintf(xs, sizeof(xs), "%lld", (long long)json_integer_value(x));
        if (json_is_integer(y))
                snprintf(ys, sizeof(ys), "%lld", (long long)json_integer_value(y));
        if (!json_is_integer(x) && !json_is_integer(y))
                snprintf(buf, len, "-");
        else
                snprintf(buf, len, "%s/%s", xs, ys);
}

static void tokens(char *buf, size_t len, const json_t *rec)
{
        static const char *const names[][2] = {
                { "tokens_in", "tokens_out" },
                { "input_tokens", "output_tokens" },
                { "prompt_tokens", "completion_tokens" },
        };
        const json_t *src = rec;
        json_t *usage = json_object_get(rec, "usage");
        for (int pass = 0; pass < 2; pass++, src = usage) {
                if (!json_is_object(src))
                        break;
                for (size_t i = 0; i < ELEMENTSOF(names); i++)
                        if (json_object_get(src, names[i][0]) || json_object_get(src, names[i][1])) {
                                int_pair(buf, len, src, names[i][0], names[i][1]);
                                return;
                        }
        }
        json_t *t = json_object_get(rec, "tokens");
        if (json_is_integer(t))
                snprintf(buf, len, "%lld", (long long)json_integer_value(t));
        else
                snprintf(buf, len, "-");
}

static void print_header(void)
{
        printf("%-8s %-19s %-12s %-14s %-32s %-10s %-15s %s\n", "SEQ", "TIME", "PROFILE", "EVENT",
               "PROVIDER/MODEL", "STATUS", "BYTES(UP/DN)", "TOKENS(IN/OUT)");
}

static void print_row(const struct audit_record *rec)
{
        const json_t *j = rec->json;
        struct strbuf row = STRBUF_INIT(4096);
        char num[64], ts[20] = "-", pm[160] = "", status[64] = "";
        const char *t = json_get_str(j, "ts", NULL);
        const char *provider = json_get_str(j, "provider", NULL);
        const char *model = json_get_str(j, "model", NULL);
        json_t *st = json_object_get(j, "status");

        snprintf(num, sizeof(num), "%llu", (unsigned long long)rec->seq);
        cell(&row, num, 8);
        if (t) {
                /* 2026-12-03T16:00:00.123Z -> 2026-12-03 16:00:00 */
                snprintf(ts, sizeof(ts), "%s", t);
                if (strlen(ts) > 10 && ts[10] == 'T')
                        ts[10] = ' ';
        }
        cell(&row, ts, 19);
        cell(&row, json_get_str(j, "profile", NULL), 12);
        cell(&row, json_get_str(j, "event", NULL), 14);
        if (provider && model)
                snprintf(pm, sizeof(pm), "%.64s/%.64s", provider, model);
        else if (provider || model) /* deny records carry the model as requested */
                snprintf(pm, sizeof(pm), "%.128s", provider ? provider : model);
        cell(&row, pm, 32);
        if (json_is_integer(st))
                snprintf(status, sizeof(status), "%lld", (long long)json_integer_value(st));
        else if (json_is_string(st))
                snprintf(status, sizeof(status), "%.32s", json_string_value(st));
        else if (json_get_str(j, "reason", NULL))
                snprintf(status, sizeof(status), "%.40s", json_get_str(j, "reason", NULL));
        else if (json_get_str(j, "syscall", NULL))
                snprintf(status, sizeof(status), "%.40s", json_get_str(j, "syscall", NULL));
        cell(&row, status, 10);
        int_pair(num, sizeof(num), j, "bytes_up", "bytes_down");
        cell(&row, num, 15);
        tokens(num, sizeof(num), j);
        (void)term_escape_appends(&row, num, 24);
        if (row.data)
                printf("%s\n", row.data);
        strbuf_free(&row);
}

static int show_line(const char *line, size_t len, uint64_t seq, void *userdata)
{
        struct show_ctx *c = userdata;
        struct audit_record rec = { 0 };

        if (seq <= c->last_shown && seq != 0)
                return 0;
        if (audit_record_parse(line, len, &rec) < 0) {
                c->bad_lines++;
                return 0;
        }
        c->last_shown = MAX(c->last_shown, rec.seq);
        const char *profile = json_get_str(rec.json, "profile", "");
        const char *event = json_get_str(rec.json, "event", "");
        if ((c->o->profile && strcmp(profile, c->o->profile) != 0) ||
            (c->o->event && strcmp(event, c->o->event) != 0)) {
                audit_record_done(&rec);
                return 0;
        }
        if (c->o->json) {
                _cleanup_free_ char *s =
                        json_dumps(rec.json, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
                if (s)
                        printf("%s\n", s);
        } else {
                if (!c->header_done) {
                        print_header();
                        c->header_done = true;
                }
                print_row(&rec);
        }
        audit_record_done(&rec);
        return 0;
}

static int show(struct show_ctx *c, const char *log_path)
{
        uint64_t from = MAX(c->o->since, c->last_shown + 1);
        int r = audit_read_from(log_path, from, show_line, c);
        if (r == -ENOENT)
                r = 0;
        if (r < 0)
                fprintf(stderr, "qclaw-admin: reading %s: %s\n", log_path, strerror(-r));
        if (c->bad_lines) {
                fprintf(stderr, "qclaw-admin: %u unparseable line(s) in the mirror skipped\n",
                        c->bad_lines);
                c->bad_lines = 0;
        }
        fflush(stdout);
        return r;
}

/* One locked pull. Returns 0 clean, 1 chain broken (or the mirror is unusable), 3 the pull
 * failed (VM unreachable, service error): --follow keeps trying after 3. */
static int pull_once(const struct logs_opts *o, char **ret_log_path)
{
        struct mirror *m = NULL;
        struct pull_result res;
        char reason[512] = "";
        int r;

        r = mirror_open(o->mirror_dir, o->vm, &m, reason, sizeof(reason));
        if (r < 0) {
                if (r == -EBADMSG)
                        fprintf(stderr, "qclaw-admin: %s\n", reason);
                else
                        fprintf(stderr, "qclaw-admin: cannot open mirror in %s/%s: %s\n",
                                o->mirror_dir, o->vm, strerror(-r));
                return 1;
        }
        if (!*ret_log_path)
                *ret_log_path = strdup(m->log_path);
        if (o->no_pull) {
                mirror_free(m);
                return 0;
        }
        r = logs_pull(m, qrexec_client_path(o->client), o->vm, &res);
        if (res.first_seq > 1)
                fprintf(stderr, "qclaw-admin: note: %s's log starts at seq %llu in dom0's mirror "
                        "(older records were gone before the first pull)\n", o->vm,
                        (unsigned long long)res.first_seq);
        if (res.new_records > 0 && o->quiet)
                printf("%s: pulled %llu new record(s), mirror at seq %llu\n", o->vm,
                       (unsigned long long)res.new_records, (unsigned long long)m->last_seq);
        if (r < 0) {
                fprintf(stderr, "qclaw-admin: %s\n", res.error[0] ? res.error : strerror(-r));
                mirror_free(m);
                return 3;
        }
        if (res.broken) {
                fprintf(stderr,
                        "qclaw-admin: *** CHAIN BROKEN in VM %s at seq %llu: %s ***\n"
                        "qclaw-admin: dom0's mirror %s is kept as it was (last good seq %llu).\n",
                        o->vm, (unsigned long long)res.broken_seq, res.reason, m->log_path,
                        (unsigned long long)m->last_seq);
                mirror_free(m);
                return 1;
        }
        mirror_free(m);
        return 0;
}

int admin_logs(int argc, char **argv)
{
        static const struct option options[] = {
                { "follow", no_argument, NULL, 'f' },
                { "since", required_argument, NULL, 's' },
                { "profile", required_argument, NULL, 'p' },
                { "event", required_argument, NULL, 'e' },
                { "json", no_argument, NULL, 'j' },
                { "quiet", no_argument, NULL, 'q' },
                { "no-pull", no_argument, NULL, 'n' },
                { "qrexec-client", required_argument, NULL, 'C' },
                { "mirror-dir", required_argument, NULL, 'M' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct logs_opts o = { .mirror_dir = MIRROR_DIR_DEFAULT, .since = 1 };
        _cleanup_free_ char *log_path = NULL;
        unsigned long long v;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "fs:p:e:jqnh", options, NULL)) != -1) {
                switch (c) {
                case 'f': o.follow = true; break;
                case 's':
                        if (parse_u64(optarg, &v) < 0) {
                                fprintf(stderr, "qclaw-admin: --since wants a number\n");
                                return 2;
                        }
                        o.since = v;
                        break;
                case 'p': o.profile = optarg; break;
                case 'e': o.event = optarg; break;
                case 'j': o.json = true; break;
                case 'q': o.quiet = true; break;
                case 'n': o.no_pull = true; break;
                case 'C': o.client = optarg; break;
                case 'M': o.mirror_dir = optarg; break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        }
        if (optind != argc - 1) {
                usage(stderr);
                return 2;
        }
        o.vm = argv[optind];
        if (!vm_name_is_valid(o.vm)) {
                fprintf(stderr, "qclaw-admin: invalid VM name (Qubes names: a letter, then "
                        "[A-Za-z0-9_.-], at most %d characters)\n", VM_NAME_MAX);
                return 2;
        }

        struct show_ctx ctx = { .o = &o };
        for (;;) {
                int r = pull_once(&o, &log_path);
                if (r == 1 || (r == 3 && !o.follow))
                        return 1;
                if (!o.quiet && log_path)
                        show(&ctx, log_path);
                if (!o.follow)
                        return 0;
                struct timespec ts = { .tv_sec = FOLLOW_INTERVAL_SEC };
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
        }
}
