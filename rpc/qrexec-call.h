/* dom0 -> VM qrexec calls: `QREXEC_CLIENT -d VM "DEFAULT:QUBESRPC SERVICE+ARG dom0"`, run with
 * fork/exec (no shell), stdin from /dev/null, stdout captured with a size cap. */
#pragma once

#include <stddef.h>

#define QREXEC_CLIENT_DEFAULT "qrexec-client"
#define QREXEC_CALL_TIMEOUT_SEC 120

struct qrexec_reply {
        char *out;       /* NUL-terminated; may contain NULs (use out_len) */
        size_t out_len;
        char *err;       /* the client's stderr, capped at 4 KiB, NUL-terminated */
        size_t err_len;
        int status;      /* exit status of the client (128+N when killed by signal N) */
};

/* The client to use: the explicit option, else $QCLAW_QREXEC_CLIENT, else "qrexec-client". */
const char *qrexec_client_path(const char *option);

/* vm must satisfy vm_name_is_valid(); service and arg must be [A-Za-z0-9._-] (arg may be empty).
 * Returns 0 with reply filled (caller calls qrexec_reply_done), -E2BIG when stdout exceeded
 * max_out (the client is killed), -ETIMEDOUT, -EINVAL for bad names, or -errno. */
int qrexec_call(const char *client, const char *vm, const char *service, const char *arg,
                size_t max_out, struct qrexec_reply *reply);
void qrexec_reply_done(struct qrexec_reply *reply);
