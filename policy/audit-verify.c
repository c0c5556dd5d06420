/* Audit record parsing and hash-chain verification. Trust level: runs in dom0 on lines that come
 * from the VM; every line is untrusted, size-capped, strictly parsed and fuzzed
 * (tests/fuzz/fuzz-audit-line.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "policy/audit-internal.h"
#include "policy/audit.h"
#include "policy/sha256.h"

static const char zero_hash[AUDIT_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static bool is_hex64(const char *s)
{
        for (unsigned i = 0; i < AUDIT_HASH_HEX; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* The exact bytes the line must end with: `,"prev":"<hex>","hash":"<hex>"}`. */
static bool tail_shape_ok(const char *line, size_t len)
{
        if (len < AUDIT_PREV_PART_LEN + AUDIT_HASH_SUFFIX_LEN + 8)
                return false;
        const char *h = line + len - AUDIT_HASH_SUFFIX_LEN;
        const char *p = h - AUDIT_PREV_PART_LEN;
        return memcmp(p, ",\"prev\":\"", 9) == 0 && is_hex64(p + 9) &&
               p[9 + AUDIT_HASH_HEX] == '"' && memcmp(h, ",\"hash\":\"", 9) == 0 &&
               is_hex64(h + 9) && h[9 + AUDIT_HASH_HEX] == '"' && h[10 + AUDIT_HASH_HEX] == '}';
}

int audit_record_parse(const char *line, size_t len, struct audit_record *ret)
{
        if (!line || !ret || len > AUDIT_LINE_MAX || !tail_shape_ok(line, len))
                return -EBADMSG;
        if (memcmp(line, "{\"seq\":", 7) != 0)
                return -EBADMSG;
        /* One line: no raw line breaks or NULs anywhere (JSON would allow some as whitespace). */
        if (memchr(line, '\n', len) || memchr(line, '\r', len) || memchr(line, '\0', len))
                return -EBADMSG;

        json_error_t err;
        json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
        if (!j)
                return -EBADMSG;
        if (!json_is_object(j) || json_object_size(j) < 5)
                goto bad;

        /* Key order: seq, ts, event first; prev, hash last. */
        const char *keys[3] = {}, *last2[2] = {};
        unsigned i = 0;
        for (void *it = json_object_iter(j); it; it = json_object_iter_next(j, it), i++) {
                const char *k = json_object_iter_key(it);
                if (i < 3)
                        keys[i] = k;
                last2[0] = last2[1];
                last2[1] = k;
        }
        if (strcmp(keys[0], "seq") != 0 || strcmp(keys[1], "ts") != 0 ||
            strcmp(keys[2], "event") != 0 || strcmp(last2[0], "prev") != 0 ||
            strcmp(last2[1], "hash") != 0)
                goto bad;

        json_t *seq = json_object_get(j, "seq");
        if (!json_is_integer(seq) || json_integer_value(seq) <= 0)
                goto bad;
        if (!json_is_string(json_object_get(j, "ts")) ||
            !json_is_string(json_object_get(j, "event")))
                goto bad;

        /* The JSON values must be the bytes the tail check saw (no escapes, no tricks). */
        const char *htext = line + len - AUDIT_HASH_SUFFIX_LEN + 9;
        const char *ptext = htext - 9 - AUDIT_PREV_PART_LEN + 9;
        json_t *jp = json_object_get(j, "prev"), *jh = json_object_get(j, "hash");
        if (!json_is_string(jp) || json_string_length(jp) != AUDIT_HASH_HEX ||
            memcmp(json_string_value(jp), ptext, AUDIT_HASH_HEX) != 0)
                goto bad;
        if (!json_is_string(jh) || json_string_length(jh) != AUDIT_HASH_HEX ||
            memcmp(json_string_value(jh), htext, AUDIT_HASH_HEX) != 0)
                goto bad;

        /* hash = SHA-256 of the line without `,"hash":"<hex>"`, i.e. prefix + "}". */
        struct sha256_ctx *c;
        char computed[AUDIT_HASH_HEX + 1];
        if (sha256_begin(&c) < 0)
                goto bad;
        if (sha256_update(c, line, len - AUDIT_HASH_SUFFIX_LEN) < 0 ||
            sha256_update(c, "}", 1) < 0) {
                sha256_end(c, computed);
                goto bad;
        }
        if (sha256_end(c, computed) < 0)
                goto bad;

        *ret = (struct audit_record){.seq = (uint64_t)json_integer_value(seq), .json = j};
        memcpy(ret->prev, ptext, AUDIT_HASH_HEX);
        ret->prev[AUDIT_HASH_HEX] = '\0';
        memcpy(ret->hash, htext, AUDIT_HASH_HEX);
        ret->hash[AUDIT_HASH_HEX] = '\0';
        ret->hash_ok = memcmp(computed, htext, AUDIT_HASH_HEX) == 0;
        return 0;
bad:
        json_decref(j);
        return -EBADMSG;
}

void audit_record_done(struct audit_record *rec)
{
        if (!rec)
                return;
        json_decref(rec->json);
        rec->json = NULL;
}

const char *audit_break_to_string(enum audit_break b)
{
        switch (b) {
        case AUDIT_OK:
                return "ok";
        case AUDIT_BREAK_PARSE:
                return "malformed record";
        case AUDIT_BREAK_HASH:
                return "record modified";
        case AUDIT_BREAK_PREV:
                return "chain link broken";
        case AUDIT_BREAK_SEQ_GAP:
                return "records missing";
        case AUDIT_BREAK_SEQ_ORDER:
                return "records reordered or duplicated";
        }
        return "unknown";
}

void audit_verifier_init(struct audit_verifier *v)
{
        *v = (struct audit_verifier){};
}

void audit_verifier_resume(struct audit_verifier *v, uint64_t seq, const char *hash)
{
        audit_verifier_init(v);
        v->started = true;
        v->last_seq = seq;
        snprintf(v->last_hash, sizeof(v->last_hash), "%s", hash ? hash : zero_hash);
}

static enum audit_break fail(struct audit_verifier *v, enum audit_break b, uint64_t seq)
{
        v->broken = b;
        v->broken_seq = seq;
        return b;
}

/* After a SEQ_GAP: a later record inside the gap means lines were moved, not deleted. */
static void refine_gap(struct audit_verifier *v, const char *line, size_t len)
{
        uint64_t seq;
        if (audit_line_peek_seq(line, len, &seq) < 0 || seq < v->broken_seq || seq >= v->gap_to)
                return;
        struct audit_record rec;
        if (audit_record_parse(line, len, &rec) < 0)
                return;
        bool ok = rec.hash_ok;
        audit_record_done(&rec);
        if (!ok)
                return;
        v->broken = AUDIT_BREAK_SEQ_ORDER;
        snprintf(v->reason, sizeof(v->reason),
                 "records are out of order (seq jumps from %" PRIu64 " to %" PRIu64
                 ", record %" PRIu64 " comes later)",
                 v->last_seq, v->gap_to, seq);
}

enum audit_break audit_verifier_feed(struct audit_verifier *v, const char *line, size_t len)
{
        if (v->broken == AUDIT_BREAK_SEQ_GAP)
                refine_gap(v, line, len);
        if (v->broken != AUDIT_OK)
                return v->broken;

        uint64_t expect = v->last_seq + 1;
        struct audit_record rec;
        if (audit_record_parse(line, len, &rec) < 0) {
                snprintf(v->reason, sizeof(v->reason),
                         "the line after record %" PRIu64
                         " is not a well-formed record (truncated or garbage)",
                         v->last_seq);
                if (!v->started || v->last_seq == 0)
                        snprintf(
                            v->reason, sizeof(v->reason),
                            "the first line is not a well-formed record (truncated or garbage)");
                return fail(v, AUDIT_BREAK_PARSE, expect);
        }
        uint64_t seq = rec.seq;
        bool hash_ok = rec.hash_ok;
        char prev[AUDIT_HASH_HEX + 1], hash[AUDIT_HASH_HEX + 1];
        memcpy(prev, rec.prev, sizeof(prev));
        memcpy(hash, rec.hash, sizeof(hash));
        audit_record_done(&rec);

        if (!hash_ok) {
                if (v->started && seq != expect) {
                        snprintf(v->reason, sizeof(v->reason),
                                 "the record after %" PRIu64 " (claiming seq %" PRIu64
                                 ") was modified (hash mismatch)",
                                 v->last_seq, seq);
                        return fail(v, AUDIT_BREAK_HASH, expect);
                }
                snprintf(v->reason, sizeof(v->reason),
                         "record %" PRIu64 " was modified (hash mismatch)", seq);
                return fail(v, AUDIT_BREAK_HASH, seq);
        }

        if (!v->started) {
                /* A chain may start later (older files pruned), but a record 1 starts a log. */
                if (seq == 1 && strcmp(prev, zero_hash) != 0) {
                        snprintf(v->reason, sizeof(v->reason),
                                 "record 1 does not start a chain (prev is not zero)");
                        return fail(v, AUDIT_BREAK_PREV, seq);
                }
        } else if (seq > expect) {
                if (seq - expect == 1)
                        snprintf(v->reason, sizeof(v->reason),
                                 "record %" PRIu64 " is missing (seq jumps from %" PRIu64
                                 " to %" PRIu64 ")",
                                 expect, v->last_seq, seq);
                else
                        snprintf(v->reason, sizeof(v->reason),
                                 "records %" PRIu64 "..%" PRIu64
                                 " are missing (seq jumps from %" PRIu64 " to %" PRIu64 ")",
                                 expect, seq - 1, v->last_seq, seq);
                v->gap_to = seq;
                return fail(v, AUDIT_BREAK_SEQ_GAP, expect);
        } else if (seq < expect) {
                if (seq == v->last_seq && strcmp(hash, v->last_hash) == 0)
                        snprintf(v->reason, sizeof(v->reason),
                                 "record %" PRIu64 " appears twice (duplicated)", seq);
                else
                        snprintf(v->reason, sizeof(v->reason),
                                 "record %" PRIu64
                                 " is out of order or duplicated (seq goes back from %" PRIu64
                                 " to %" PRIu64 ")",
                                 seq, v->last_seq, seq);
                return fail(v, AUDIT_BREAK_SEQ_ORDER, seq);
        } else if (strcmp(prev, v->last_hash) != 0) {
                snprintf(v->reason, sizeof(v->reason),
                         "record %" PRIu64 " does not link to record %" PRIu64
                         " (prev mismatch: the chain was rewritten)",
                         seq, v->last_seq);
                return fail(v, AUDIT_BREAK_PREV, seq);
        }

        v->started = true;
        v->last_seq = seq;
        memcpy(v->last_hash, hash, sizeof(hash));
        v->count++;
        return AUDIT_OK;
}

static int verify_line(const char *line, size_t len, void *userdata)
{
        struct audit_verifier *v = userdata;
        enum audit_break b = audit_verifier_feed(v, line, len);
        /* keep going after a gap only, to tell deletion from reordering */
        return b == AUDIT_OK || b == AUDIT_BREAK_SEQ_GAP ? 0 : 1;
}

int audit_verify_path(const char *path, struct audit_verifier *v)
{
        audit_verifier_init(v);
        struct audit_snapshot s;
        int r = audit_snapshot_open(path, &s);
        if (r < 0)
                return r;
        /* The chain may start after 1 even without rotated files (a dom0 mirror that began
         * pulling after the VM pruned): callers show the range (seq A..B) so a missing start is
         * visible. A record 1 must still have prev = zeros (checked in the feed). */
        for (unsigned i = 0; i < s.n; i++) {
                r = audit_stream_fd(s.fds[i], s.sizes[i], verify_line, v);
                if (r < 0)
                        break;
                if (r > 0) {
                        r = 0;
                        break;
                }
        }
        audit_snapshot_close(&s);
        return r;
}
