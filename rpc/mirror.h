/* dom0's mirror of a VM's audit log: MIRROR_DIR/VM/audit.jsonl (verified records only, in order)
 * plus MIRROR_DIR/VM/state ("SEQ HASH SIZE\n": the last record and the mirror's size), under an
 * exclusive lock (MIRROR_DIR/VM/.lock) so the logsync timer and a manual pull never interleave. */
#pragma once

#include <stdint.h>
#include <stddef.h>

#include "policy/audit.h"

#define MIRROR_DIR_DEFAULT "/var/lib/qclaw/dom0"

struct mirror {
        char *dir;
        char *log_path;
        char *state_path;
        int lock_fd;
        uint64_t last_seq;                 /* 0: empty mirror */
        char last_hash[AUDIT_HASH_HEX + 1];
        uint64_t size;                     /* bytes in audit.jsonl */
};

/* Create MIRROR_DIR/VM (0750) if needed, take the lock, load the state. When the state file is
 * missing or disagrees with the mirror's size (crash between append and state update), the
 * mirror is re-verified from scratch. -EBADMSG if the mirror itself does not verify (reason in
 * ret_reason), -EINVAL for a bad VM name, else -errno. */
int mirror_open(const char *base, const char *vm, struct mirror **ret, char *ret_reason,
                size_t reason_len);
struct mirror *mirror_free(struct mirror *m);

/* Append verified lines (each '\n'-terminated) ending with record (seq, hash); fsync; then
 * replace the state file atomically. 0 or -errno. */
int mirror_append(struct mirror *m, const char *data, size_t len, uint64_t seq, const char *hash);
