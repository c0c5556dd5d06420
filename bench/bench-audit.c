/* bench-audit: audit log appends per second (fsync off / per record / caller-requested, one
 * writer and several processes sharing the chain) and verification throughput.
 * Trust level: a developer tool; writes only into a fresh temporary directory.
 * usage: bench-audit [DIR] (default /var/tmp, disk-backed so fsync costs what it costs) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/json-util.h"
#include "common/time-util.h"
#include "policy/audit-fields.h"
#include "policy/audit.h"

static json_t *egress_fields(int i)
{
        /* the shape of a typical "egress" record written before a request leaves */
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:i}", "event", "egress",
                         "session", "s-7f3a", "profile", "coder", "request_id", "r-19c2",
                         "endpoint", "/v1/chat/completions", "provider", "anthropic", "model",
                         "claude-sonnet-4-5", "stream", 1, "bytes_up", 1834 + i);
}

/* The same record built as text (policy/audit-fields.h), as the proxy does per request. */
static int append_text(struct audit_log *log, int i, bool sync)
{
        struct audit_fields f;
        audit_fields_begin(&f, "egress");
        audit_fields_str(&f, "session", "s-7f3a");
        audit_fields_str(&f, "profile", "coder");
        audit_fields_str(&f, "request_id", "r-19c2");
        audit_fields_str(&f, "endpoint", "/v1/chat/completions");
        audit_fields_str(&f, "provider", "anthropic");
        audit_fields_str(&f, "model", "claude-sonnet-4-5");
        audit_fields_bool(&f, "stream", true);
        audit_fields_int(&f, "bytes_up", 1834 + i);
        size_t len;
        int err;
        char *text = audit_fields_take(&f, &len, &err);
        if (!text)
                return err;
        const char *t = text;
        int r = audit_log_append_text(log, &t, &len, 1, sync, NULL);
        free(text);
        return r;
}

static bool use_text;

static int append_n(const char *path, const struct audit_options *o, int n, bool sync)
{
        struct audit_log *log = NULL;
        int r = audit_log_open(path, o, &log);
        if (r < 0)
                return r;
        for (int i = 0; i < n && r >= 0; i++) {
                if (use_text) {
                        r = append_text(log, i, sync);
                        continue;
                }
                json_t *f = egress_fields(i);
                r = audit_log_append(log, f, sync, NULL);
                json_decref(f);
        }
        audit_log_close(log);
        return r;
}

static void run(const char *dir, const char *name, struct audit_options o, int procs, int n,
                bool sync)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/%s.jsonl", dir, name);
        uint64_t t0 = now_usec();
        if (procs == 1) {
                if (append_n(path, &o, n, sync) < 0) {
                        fprintf(stderr, "%s: append failed\n", name);
                        return;
                }
        } else {
                for (int p = 0; p < procs; p++)
                        if (fork() == 0)
                                _exit(append_n(path, &o, n / procs, sync) < 0);
                int status, bad = 0;
                while (wait(&status) > 0)
                        bad += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
                if (bad)
                        fprintf(stderr, "%s: %d writers failed\n", name, bad);
        }
        double secs = (double)(now_usec() - t0) / 1e6;

        struct audit_verifier v;
        uint64_t t1 = now_usec();
        int r = audit_verify_path(path, &v);
        double vsecs = (double)(now_usec() - t1) / 1e6;
        printf("%-28s %7d records %9.0f appends/s %7.1f us/append   verify %s %9.0f records/s\n",
               name, n, n / secs, secs * 1e6 / n, r == 0 && v.broken == AUDIT_OK ? "ok" : "BROKEN",
               (double)v.count / vsecs);
}

/* The peer: a plain O_APPEND write(2) of a same-sized, preformatted line (no JSON, no lock,
 * no hash): what logging costs without the chain. */
static void baseline(const char *dir, int n)
{
        char path[600], line[400];
        snprintf(path, sizeof(path), "%s/baseline.jsonl", dir);
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
                return;
        memset(line, 'x', sizeof(line));
        line[sizeof(line) - 1] = '\n';
        uint64_t t0 = now_usec();
        for (int i = 0; i < n; i++)
                if (write(fd, line, sizeof(line)) != (ssize_t)sizeof(line))
                        break;
        double secs = (double)(now_usec() - t0) / 1e6;
        close(fd);
        unlink(path);
        printf("%-28s %7d records %9.0f appends/s %7.1f us/append\n", "peer: raw write(2)", n,
               n / secs, secs * 1e6 / n);
}

int main(int argc, char **argv)
{
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/bench-audit-XXXXXX", argc > 1 ? argv[1] : "/var/tmp");
        if (!mkdtemp(dir)) {
                perror("mkdtemp");
                return 1;
        }
        printf("bench-audit in %s\n", dir);
        baseline(dir, 50000);
        run(dir, "fsync-none", (struct audit_options){}, 1, 50000, false);
        run(dir, "fsync-none-rotate-1MiB",
            (struct audit_options){.rotate_bytes = 1 << 20, .keep_files = 3}, 1, 50000, false);
        run(dir, "fsync-none-4-procs", (struct audit_options){}, 4, 40000, false);
        run(dir, "fsync-always", (struct audit_options){.fsync = AUDIT_SYNC_ALWAYS}, 1, 1000,
            false);
        run(dir, "fsync-always-4-procs", (struct audit_options){.fsync = AUDIT_SYNC_ALWAYS}, 4,
            1000, false);
        run(dir, "fsync-caller-no-sync", (struct audit_options){.fsync = AUDIT_SYNC_CALLER}, 1,
            50000, false);
        use_text = true; /* the proxy's per-request path: fields built as text */
        run(dir, "fsync-none-text", (struct audit_options){}, 1, 50000, false);
        use_text = false;

        /* remove the files we made */
        const char *names[] = {"fsync-none",   "fsync-none-rotate-1MiB", "fsync-none-4-procs",
                               "fsync-always", "fsync-always-4-procs",   "fsync-caller-no-sync",
                               "fsync-none-text"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                for (int k = 0; k <= 3; k++) {
                        char p[600];
                        if (k == 0)
                                snprintf(p, sizeof(p), "%s/%s.jsonl", dir, names[i]);
                        else
                                snprintf(p, sizeof(p), "%s/%s.jsonl.%d", dir, names[i], k);
                        unlink(p);
                }
        rmdir(dir);
        return 0;
}
