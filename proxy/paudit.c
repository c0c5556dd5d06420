/* The proxy's audit records (DESIGN.md "Audit log"): config at start/reload; egress, egress_done
 * and deny are built by the request code and queued here, then written by paudit_flush() once
 * per loop pass, all queued records in ONE write(2) (policy/audit.c append_many: one flock, one
 * write, hash-chained in queue order). Requests whose egress record is queued wait: their
 * upstream transfer starts only after the write(2) (and the fsync in "egress" mode) returned,
 * and a failed append refuses them with 503. Never a key, a header or a body.
 * Trust level: internal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json-util.h"
#include "common/log.h"
#include "proxy/proxy.h"
#include "proxy/relay.h"

struct queued {
        char *text; /* the record's fields as compact JSON member text (policy/audit-fields.h) */
        size_t len;
        struct request *waiter; /* egress: start its transfer once written */
};
static struct queued *queue;
static size_t n_queue, cap_queue, n_waiters;

static void log_failure(int r)
{
        log_error("audit log %s: cannot append a record: %s; refusing requests until it can be "
                  "written", P.audit_path, strerror(-r));
}

static int queue_text(char *text, size_t len, struct request *waiter)
{
        if (n_queue == cap_queue) {
                size_t ncap = cap_queue ? cap_queue * 2 : 64;
                struct queued *nq = realloc(queue, ncap * sizeof(*nq));
                if (!nq) {
                        free(text);
                        return -ENOMEM;
                }
                queue = nq;
                cap_queue = ncap;
        }
        queue[n_queue++] = (struct queued){ .text = text, .len = len, .waiter = waiter };
        if (waiter)
                n_waiters++;
        return 0;
}

int paudit_queue_fields(struct audit_fields *f, struct request *waiter)
{
        size_t len;
        int err;
        char *text = audit_fields_take(f, &len, &err);
        if (!text)
                return err < 0 ? err : -ENOMEM;
        return queue_text(text, len, waiter);
}

int paudit_queue(json_t *fields, struct request *waiter)
{
        _cleanup_json_ json_t *f = fields;
        if (!f)
                return -ENOMEM;
        char *text;
        size_t len;
        int r = audit_fields_from_json(f, &text, &len);
        if (r < 0)
                return r;
        return queue_text(text, len, waiter);
}

bool paudit_waiting(void)
{
        return n_waiters > 0;
}

bool paudit_pending(void)
{
        return n_queue > 0;
}

void paudit_forget(struct request *waiter)
{
        for (size_t i = 0; i < n_queue; i++)
                if (queue[i].waiter == waiter) {
                        /* never started: no egress record for it */
                        free(queue[i].text);
                        queue[i].text = NULL;
                        queue[i].waiter = NULL;
                        n_waiters--;
                }
}

void paudit_flush(void)
{
        if (n_queue == 0)
                return;
        /* Take the queue: starting transfers may queue records (a failed start's egress_done). */
        struct queued *q = queue;
        size_t n = n_queue;
        queue = NULL;
        n_queue = cap_queue = n_waiters = 0;

        static const char *batch[AUDIT_BATCH_MAX];
        static size_t lens[AUDIT_BATCH_MAX];
        size_t first = 0;
        while (first < n) {
                size_t k = 0, last = first;
                bool sync = false;
                for (; last < n && k < AUDIT_BATCH_MAX; last++)
                        if (q[last].text) {
                                batch[k] = q[last].text;
                                lens[k++] = q[last].len;
                                if (q[last].waiter &&
                                    P.snap->config->audit_fsync == AUDIT_FSYNC_EGRESS)
                                        sync = true;
                        }
                int r = k == 0 ? 0 : !P.audit ? -EBADF
                                                : audit_log_append_text(P.audit, batch, lens, k,
                                                                        sync, NULL);
                bool each = k > 1 && (r == -EINVAL || r == -E2BIG);
                if (r < 0 && !each)
                        log_failure(r);
                for (size_t i = first; i < last; i++) {
                        int ri = r;
                        /* A record refused as such (too large, not encodable) must not take the
                         * others of its batch down with it: then one append each. */
                        if (each && q[i].text) {
                                bool s1 = q[i].waiter &&
                                          P.snap->config->audit_fsync == AUDIT_FSYNC_EGRESS;
                                const char *t = q[i].text;
                                ri = audit_log_append_text(P.audit, &t, &q[i].len, 1, s1, NULL);
                                if (ri < 0)
                                        log_failure(ri);
                        }
                        free(q[i].text);
                        if (q[i].waiter)
                                relay_egress_written(q[i].waiter, ri);
                }
                first = last;
        }
        free(q);
}

int paudit_now(json_t *fields, bool sync)
{
        _cleanup_json_ json_t *f = fields;
        if (!f)
                return -ENOMEM;
        paudit_flush(); /* keep the order records were produced in */
        if (!P.audit)
                return -EBADF;
        int r = audit_log_append(P.audit, f, sync, NULL);
        if (r < 0)
                log_failure(r);
        return r;
}

int paudit_config(const char *reason)
{
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "event", "config", "reason",
                              reason, "version", QCLAW_VERSION, "config_hash",
                              P.snap->config->hash, "profiles_hash", P.snap->profiles->hash,
                              "pid", (json_int_t)getpid());
        return paudit_now(j, true);
}
