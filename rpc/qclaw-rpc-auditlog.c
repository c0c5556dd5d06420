/* qclaw.AuditLog (VM, /etc/qubes-rpc/qclaw.AuditLog): prints the audit records with seq >= SEQ,
 * oldest first, across rotated files, at most AUDITLOG_MAX_RECORDS records / AUDITLOG_MAX_BYTES
 * per call (dom0 calls again from where it got to). Argument: `+SEQ`, 1-19 digits.
 * Trust level: the argument comes from the caller and is checked here, whatever qrexec did;
 * anything unexpected exits 2 with nothing on stdout. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "policy/audit.h"
#include "rpc/logs-pull.h"
#include "rpc/rpc-arg.h"
#include "rpc/rpc-conf.h"

struct emit {
        size_t records;
        size_t bytes;
};

static int emit_line(const char *line, size_t len, uint64_t seq, void *userdata)
{
        struct emit *e = userdata;

        if (e->records >= AUDITLOG_MAX_RECORDS || e->bytes + len + 1 > AUDITLOG_MAX_BYTES)
                return 1; /* the rest on the next call */
        if (fwrite(line, 1, len, stdout) != len || fputc('\n', stdout) == EOF)
                return -EIO;
        e->records++;
        e->bytes += len + 1;
        return 0;
}

int main(int argc, char **argv)
{
        struct rpc_conf conf;
        struct emit e = { 0 };
        const char *arg = NULL;
        uint64_t seq;
        int r;

        log_init("qclaw.AuditLog");
        if (rpc_arg_get(argc, argv, &arg) < 0 || !arg ||
            rpc_arg_parse_seq(arg, strlen(arg), &seq) < 0) {
                log_error("argument must be +SEQ (1-%d digits)", RPC_SEQ_DIGITS_MAX);
                return 2;
        }
        r = rpc_conf_load(&conf);
        if (r < 0) {
                log_error("cannot load rpc.conf: %s", strerror(-r));
                return 1;
        }
        r = audit_read_from(conf.audit_log, seq, emit_line, &e);
        if (r == -ENOENT)
                r = 0; /* no log yet: nothing to send */
        if (r < 0) {
                log_error("reading %s: %s", conf.audit_log, strerror(-r));
                return 1;
        }
        if (fflush(stdout) == EOF || ferror(stdout)) {
                log_error("writing output failed");
                return 1;
        }
        return 0;
}
