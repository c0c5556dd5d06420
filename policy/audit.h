/* The audit log (DESIGN.md "Audit log"): hash-chained JSON lines shared by several writers.
 *
 * Line format (exact bytes, one '\n'-terminated line per record, at most AUDIT_LINE_MAX):
 *   {"seq":N,"ts":"2026-12-03T16:00:00.123Z","event":"...",<fields...>,"prev":"<64 hex>","hash":"<64 hex>"}
 * hash = SHA-256 (lowercase hex) of the line's bytes with the trailing `,"hash":"<64 hex>"`
 * removed, i.e. of `{"seq":...,"prev":"<64 hex>"}`. prev = the previous record's hash; the first
 * record of a log has prev = 64 zeros and seq = 1. seq increases by exactly 1 per record.
 *
 * Writers: O_APPEND, flock(LOCK_EX) around "read tail, compute, write(2) once, rotate", so the
 * proxy and any number of supervisors share one chain. Rotation renames FILE -> FILE.1 -> FILE.2
 * ... (FILE.N oldest) when FILE exceeds rotate_bytes; the chain continues across files. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_LINE_MAX (64 * 1024)
#define AUDIT_HASH_HEX 64

enum audit_fsync_mode {
        AUDIT_SYNC_NONE,   /* no fsync */
        AUDIT_SYNC_ALWAYS, /* fsync after every record */
        AUDIT_SYNC_CALLER, /* fsync when audit_log_append is called with sync=true */
};

struct audit_options {
        uint64_t rotate_bytes; /* 0 = never rotate */
        unsigned keep_files;   /* rotated files to keep (FILE.1..FILE.keep); 0 = keep all */
        enum audit_fsync_mode fsync;
};

struct audit_log;

/* Open (create 0640 if missing) for appending. 0 or -errno. */
int audit_log_open(const char *path, const struct audit_options *opts, struct audit_log **ret);
struct audit_log *audit_log_close(struct audit_log *log);
/* Bytes the log's file system has free for this process (root may use the reserved blocks):
 * for readiness checks. 0 or -errno. */
int audit_log_space(struct audit_log *log, uint64_t *ret_bytes);

/* Append one record. `fields` is an object holding "event" and the event's fields (no seq, ts,
 * prev or hash: those are added, seq/ts first, prev/hash last). One write(2) under flock.
 * sync: fsync before returning (honoured in AUDIT_SYNC_CALLER mode; ALWAYS always syncs).
 * Returns 0 and the record's seq, or -errno (-ENOSPC, -EIO, ...): the caller must then refuse
 * whatever the record was meant to cover. */
int audit_log_append(struct audit_log *log, const json_t *fields, bool sync, uint64_t *ret_seq);
/* Append n records (consecutive seqs, in array order) in ONE write(2) under one lock: all are
 * written or none (-errno as above). ret_seq: the last record's seq. n <= AUDIT_BATCH_MAX.
 * What callers batch is theirs to decide; each record gets its own ts at write time. */
#define AUDIT_BATCH_MAX 4096
int audit_log_append_many(struct audit_log *log, const json_t *const *fields, size_t n,
                          bool sync, uint64_t *ret_seq);
/* The same with each record's fields already as compact JSON member text, "event" first
 * (`"event":"egress","model":"m"`, no braces; build it with policy/audit-fields.h): no jansson
 * object is built or dumped. The text is trusted to be well-formed; it is only checked to start
 * with "event", hold no newline and fit (-EINVAL, -E2BIG otherwise). */
int audit_log_append_text(struct audit_log *log, const char *const *bodies, const size_t *lens,
                          size_t n, bool sync, uint64_t *ret_seq);

/* ---- parsing and verification (also used by dom0 on untrusted data) ---- */

struct audit_record {
        uint64_t seq;
        char prev[AUDIT_HASH_HEX + 1];
        char hash[AUDIT_HASH_HEX + 1];
        bool hash_ok;     /* hash matches the line's bytes */
        json_t *json;     /* the whole parsed object (owned) */
};

/* Strict parse of one line (without the '\n'): size cap, valid JSON object, seq a positive
 * integer first, prev/hash 64 lowercase hex in last position, hash recomputed into hash_ok.
 * 0 or -EBADMSG. */
int audit_record_parse(const char *line, size_t len, struct audit_record *ret);
void audit_record_done(struct audit_record *rec);

enum audit_break {
        AUDIT_OK,
        AUDIT_BREAK_PARSE,     /* a line is not a well-formed record (truncated, garbage) */
        AUDIT_BREAK_HASH,      /* a record's hash does not match its bytes (edited) */
        AUDIT_BREAK_PREV,      /* prev does not match the previous record's hash */
        AUDIT_BREAK_SEQ_GAP,   /* seq jumps forward (records deleted) */
        AUDIT_BREAK_SEQ_ORDER, /* seq goes backwards or repeats (reordered/duplicated) */
};

/* Incremental verifier: feed records in order (from one file or several). Keeps the state of
 * the last good record so dom0 can continue a chain across pulls. */
struct audit_verifier {
        bool started;
        uint64_t last_seq;
        char last_hash[AUDIT_HASH_HEX + 1];
        uint64_t count;
        /* first failure */
        enum audit_break broken;
        uint64_t broken_seq;   /* seq of the offending record (or last good seq + 1) */
        char reason[256];
        /* internal: after a SEQ_GAP, the seq that jumped; a later record inside the gap turns
         * the verdict into SEQ_ORDER (lines swapped rather than deleted) */
        uint64_t gap_to;
};
void audit_verifier_init(struct audit_verifier *v);
/* Start from a known point (dom0 mirror tail), so the next record must be seq+1 with prev=hash. */
void audit_verifier_resume(struct audit_verifier *v, uint64_t seq, const char *hash);
/* Feed one raw line. Returns AUDIT_OK or the break (also stored in v; later calls return it). */
enum audit_break audit_verifier_feed(struct audit_verifier *v, const char *line, size_t len);

/* Verify a log file and all its rotated predecessors (FILE.N ... FILE.1, FILE). 0 with v filled
 * (check v->broken), or -errno on I/O error. If only FILE.k exists from some k on (older ones
 * pruned), the chain starts at the first record available. */
int audit_verify_path(const char *path, struct audit_verifier *v);

const char *audit_break_to_string(enum audit_break b);

/* ---- reading ---- */

/* Call cb for every raw line with seq >= from_seq, oldest first, across rotated files. Stops
 * early if cb returns non-zero (that value is returned). Lines that fail to parse are passed
 * with seq 0 so verifiers see them. */
typedef int (*audit_line_cb)(const char *line, size_t len, uint64_t seq, void *userdata);
int audit_read_from(const char *path, uint64_t from_seq, audit_line_cb cb, void *userdata);
