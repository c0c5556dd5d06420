/* qclaw-admin status VM: calls qclaw.Status in the VM and shows the proxy's state, its
 * sessions and the audit log's tail compared with dom0's mirror.
 * Trust level: dom0; the reply is untrusted: size cap, strict JSON (no duplicate keys, one
 * object), every string escaped before it is printed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fd-util.h"
#include "common/json-util.h"
#include "common/macro.h"
#include "common/strbuf.h"
#include "rpc/admin.h"
#include "rpc/mirror.h"
#include "rpc/qrexec-call.h"
#include "rpc/rpc-arg.h"
#include "rpc/term-escape.h"

#define STATUS_REPLY_MAX (1024 * 1024)

static void put(const char *label, const json_t *v)
{
        struct strbuf b = STRBUF_INIT(4096);
        char num[32];

        if (json_is_string(v))
                (void)term_escape_append(&b, json_string_value(v), json_string_length(v), 200);
        else if (json_is_integer(v)) {
                snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
                (void)strbuf_appends(&b, num);
        } else if (json_is_boolean(v))
                (void)strbuf_appends(&b, json_is_true(v) ? "yes" : "no");
        else if (v) {
                _cleanup_free_ char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
                (void)term_escape_appends(&b, s, 200);
        } else
                (void)strbuf_appends(&b, "-");
        printf("  %-16s %s\n", label, b.data ? b.data : "");
        strbuf_free(&b);
}

static void print_sessions(const json_t *sessions)
{
        size_t i;
        json_t *s;

        if (!json_is_array(sessions) || json_array_size(sessions) == 0) {
                printf("  sessions         none\n");
                return;
        }
        printf("  sessions         %zu\n", json_array_size(sessions));
        printf("    %-14s %-14s %-8s %-24s %s\n", "SESSION", "PROFILE", "PID", "STARTED",
               "REQUESTS");
        json_array_foreach(sessions, i, s) {
                struct strbuf row = STRBUF_INIT(1024);
                static const char *const keys[] = { "session", "profile", "pid", "start",
                                                    "requests" };
                static const int widths[] = { 14, 14, 8, 24, 12 };
                if (i >= 1000) {
                        printf("    ...\n");
                        break;
                }
                for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                        json_t *v = json_object_get(s, keys[k]);
                        char num[32] = "-";
                        const char *text = num;
                        if (!v && strcmp(keys[k], "session") == 0)
                                v = json_object_get(s, "id");
                        if (!v && strcmp(keys[k], "start") == 0)
                                v = json_object_get(s, "started");
                        if (json_is_string(v))
                                text = json_string_value(v);
                        else if (json_is_integer(v))
                                snprintf(num, sizeof(num), "%lld",
                                         (long long)json_integer_value(v));
                        size_t start = row.len;
                        (void)term_escape_appends(&row, text, (size_t)widths[k]);
                        for (size_t n = row.len - start; n < (size_t)widths[k] + 1; n++)
                                (void)strbuf_append(&row, " ", 1);
                }
                printf("    %s\n", row.data ? row.data : "");
                strbuf_free(&row);
        }
}

int admin_status(int argc, char **argv)
{
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "qrexec-client", required_argument, NULL, 'C' },
                { "mirror-dir", required_argument, NULL, 'M' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *client = NULL, *mirror_dir = MIRROR_DIR_DEFAULT;
        struct qrexec_reply reply = { 0 };
        bool json = false;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "jh", options, NULL)) != -1) {
                switch (c) {
                case 'j': json = true; break;
                case 'C': client = optarg; break;
                case 'M': mirror_dir = optarg; break;
                case 'h':
                        printf("usage: qclaw-admin status VM [--json] [--qrexec-client PATH] "
                               "[--mirror-dir DIR]\n");
                        return 0;
                default: return 2;
                }
        }
        if (optind != argc - 1 || !vm_name_is_valid(argv[optind])) {
                fprintf(stderr, "usage: qclaw-admin status VM [--json] (VM: a valid qube name)\n");
                return 2;
        }
        const char *vm = argv[optind];
        r = qrexec_call(qrexec_client_path(client), vm, "qclaw.Status", "", STATUS_REPLY_MAX,
                        &reply);
        if (r < 0) {
                fprintf(stderr, "qclaw-admin: calling qclaw.Status in %s: %s\n", vm,
                        r == -E2BIG ? "reply larger than the size cap" : strerror(-r));
                return 1;
        }
        if (reply.status != 0) {
                struct strbuf e = STRBUF_INIT(1024);
                (void)term_escape_append(&e, reply.err, reply.err_len, 300);
                fprintf(stderr, "qclaw-admin: qclaw.Status in %s failed (exit %d): %s\n", vm,
                        reply.status, e.data ? e.data : "");
                strbuf_free(&e);
                qrexec_reply_done(&reply);
                return 1;
        }
        json_error_t jerr;
        _cleanup_json_ json_t *st = json_loadb(reply.out, reply.out_len, JSON_REJECT_DUPLICATES,
                                               &jerr);
        qrexec_reply_done(&reply);
        if (!json_is_object(st)) {
                fprintf(stderr, "qclaw-admin: qclaw.Status in %s sent something that is not one "
                        "JSON object\n", vm);
                return 1;
        }
        if (json) {
                _cleanup_free_ char *s =
                        json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
                printf("%s\n", s ? s : "{}");
                return 0;
        }
        printf("%s:\n", vm);
        put("proxy up", json_object_get(st, "proxy_up"));
        if (json_object_get(st, "error"))
                put("error", json_object_get(st, "error"));
        put("version", json_object_get(st, "version"));
        put("config hash", json_object_get(st, "config_hash"));
        put("profiles hash", json_object_get(st, "profiles_hash"));
        put("started", json_object_get(st, "started"));
        put("uptime (s)", json_object_get(st, "uptime_s"));
        put("requests", json_object_get(st, "requests_total"));
        put("egress", json_object_get(st, "egress_total"));
        put("denied", json_object_get(st, "denied_total"));
        put("active", json_object_get(st, "active"));
        print_sessions(json_object_get(st, "sessions"));

        json_t *audit = json_object_get(st, "audit");
        put("audit last seq", json_object_get(audit, "last_seq"));
        put("audit last hash", json_object_get(audit, "last_hash"));

        /* compare with dom0's mirror without pulling (read-only peek at the state file) */
        _cleanup_free_ char *state = NULL, *path = NULL;
        size_t len;
        if (asprintf(&path, "%s/%s/state", mirror_dir, vm) >= 0 &&
            read_file_bounded(path, 256, &state, &len) >= 0) {
                unsigned long long seq = 0;
                if (sscanf(state, "%llu", &seq) == 1) {
                        json_t *vs = json_object_get(audit, "last_seq");
                        printf("  %-16s %llu", "dom0 mirror seq", seq);
                        if (json_is_integer(vs) && (unsigned long long)json_integer_value(vs) < seq)
                                printf("  (VM is BEHIND dom0's mirror: history truncated?)");
                        printf("\n");
                }
        }
        return 0;
}
