/* Helpers shared by the audit log's writer (audit.c), reader (audit-read.c) and verifier
 * (audit-verify.c). Not a public interface: programs use policy/audit.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/audit.h"

/* `,"hash":"<64 hex>"}` and `,"prev":"<64 hex>"` */
#define AUDIT_HASH_SUFFIX_LEN (9 + AUDIT_HASH_HEX + 2)
#define AUDIT_PREV_PART_LEN (9 + AUDIT_HASH_HEX + 1)
/* Rotated files beyond this index are not looked at (a sanity bound, not a feature). */
#define AUDIT_ROTATED_MAX 100000u

/* "PATH.k" into buf. 0 or -ENAMETOOLONG. */
int audit_rotated_name(const char *path, unsigned k, char *buf, size_t len);
/* Highest k such that PATH.1 .. PATH.k all exist (0 if PATH.1 does not). */
unsigned audit_rotated_count(const char *path);

/* The last complete, parseable record of the first `size` bytes of fd, found by reading
 * backwards from `size` (at most 2 * (AUDIT_LINE_MAX + 1) bytes). Returns 1 with seq/hash
 * filled, 0 if no record is there (empty file, or only garbage in a file shorter than the
 * bound), -EBADMSG if no record lies within the bound, -errno on I/O error.
 * ret_torn (may be NULL): the byte at size - 1 is not '\n' (a partial last line). */
int audit_tail_last(int fd, uint64_t size, uint64_t *ret_seq, char ret_hash[AUDIT_HASH_HEX + 1],
                    bool *ret_torn);

/* A consistent view of a log and its rotated predecessors, oldest first; the last entry is
 * PATH itself. PATH's size is taken under flock(LOCK_SH), so every byte below it belongs to a
 * finished write(2), and the rotated files are opened while that lock holds (no rotation can
 * run meanwhile). */
struct audit_snapshot {
        unsigned n;
        int *fds;
        uint64_t *sizes;
};
int audit_snapshot_open(const char *path, struct audit_snapshot *ret);
void audit_snapshot_close(struct audit_snapshot *s);

/* Call cb for every line (without '\n') in fd's first `size` bytes from offset 0. A last
 * segment without '\n' is passed too (a torn line). Lines longer than AUDIT_LINE_MAX are passed
 * cut to AUDIT_LINE_MAX + 1 bytes (so parsers reject them). Stops when cb returns non-zero and
 * returns that value; 0 at the end; -errno on I/O error. */
typedef int (*audit_raw_line_cb)(const char *line, size_t len, void *userdata);
int audit_stream_fd(int fd, uint64_t size, audit_raw_line_cb cb, void *userdata);

/* "{"seq":DIGITS," prefix, cheap and non-validating: 0 and the number, or -EBADMSG. */
int audit_line_peek_seq(const char *line, size_t len, uint64_t *ret);
