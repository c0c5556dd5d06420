/* One dom0 pull of a VM's audit log into the mirror (see logs-pull.c for the protocol). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "rpc/mirror.h"

/* What qclaw.AuditLog returns at most per call (the VM service enforces the same numbers). */
#define AUDITLOG_MAX_RECORDS 10000
#define AUDITLOG_MAX_BYTES (16u * 1024 * 1024)
/* dom0's cap on one reply: the service's byte limit plus one line. */
#define AUDITLOG_REPLY_MAX (AUDITLOG_MAX_BYTES + AUDIT_LINE_MAX + 1)

struct pull_result {
        uint64_t new_records;
        uint64_t calls;
        bool broken;            /* history in the VM does not continue dom0's mirror */
        uint64_t broken_seq;
        char reason[512];       /* printable ASCII only */
        char error[512];        /* transport error (VM unreachable, service failed), escaped */
        uint64_t first_seq;     /* first record of a mirror that was empty before (0: n/a) */
};

/* Pull until the VM has nothing newer, appending verified records to m. 0 (check res->broken),
 * or -errno with res->error set. Never modifies records already in the mirror. */
int logs_pull(struct mirror *m, const char *client, const char *vm, struct pull_result *res);

/* The pure part, for tests and fuzzing: check one reply (the bytes qclaw.AuditLog printed)
 * against the mirror tail (last_seq 0: empty mirror) and return how many leading bytes are
 * verified new records. Fills res->broken / reason; *ret_last_seq and ret_last_hash describe the
 * last verified record (unchanged when none). *ret_more is true if the reply held new records
 * (pull again). */
int logs_check_reply(uint64_t last_seq, const char *last_hash, const char *out, size_t out_len,
                     struct pull_result *res, size_t *ret_good_len, uint64_t *ret_last_seq,
                     char ret_last_hash[AUDIT_HASH_HEX + 1], bool *ret_more);
