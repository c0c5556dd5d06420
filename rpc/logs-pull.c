/* dom0 pulls a VM's audit log: `qclaw.AuditLog+LAST` where LAST is the mirror's last seq.
 * The VM must send that record again first (byte-identical hash), then the records after it;
 * so a VM that truncated, pruned or rewrote its history (re-chaining from the edit on changes
 * the last hash too) is caught on the next pull, and new records must continue the chain.
 * Trust level: dom0; every byte of the reply is untrusted: size-capped by qrexec_call, lines
 * capped at AUDIT_LINE_MAX and parsed strictly (audit_record_parse / audit_verifier_feed). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "common/strbuf.h"
#include "rpc/logs-pull.h"
#include "rpc/qrexec-call.h"
#include "rpc/term-escape.h"

#define PULL_CALLS_MAX 10000

_printf_(3, 4) static void set_break(struct pull_result *res, uint64_t seq, const char *fmt, ...)
{
        va_list ap;
        res->broken = true;
        res->broken_seq = seq;
        va_start(ap, fmt);
        vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
        va_end(ap);
        /* reasons may quote verifier text; keep them printable */
        for (char *p = res->reason; *p; p++)
                if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                        *p = '?';
}

int logs_check_reply(uint64_t last_seq, const char *last_hash, const char *out, size_t out_len,
                     struct pull_result *res, size_t *ret_good_len, uint64_t *ret_last_seq,
                     char ret_last_hash[AUDIT_HASH_HEX + 1], bool *ret_more)
{
        struct audit_verifier v;
        size_t pos = 0, good = 0;
        bool resumed = false;
        uint64_t fresh = 0;

        *ret_good_len = 0;
        *ret_more = false;
        if (last_seq > 0 && out_len == 0) {
                set_break(res, last_seq, "the VM no longer has record %llu (history truncated)",
                          (unsigned long long)last_seq);
                return 0;
        }
        while (pos < out_len) {
                const char *line = out + pos;
                const char *nl = memchr(line, '\n', out_len - pos);
                size_t len;

                if (!nl) {
                        set_break(res, last_seq + 1, "reply ends in a partial line");
                        break;
                }
                len = (size_t)(nl - line);
                if (len > AUDIT_LINE_MAX) {
                        set_break(res, last_seq + 1, "line longer than %d bytes", AUDIT_LINE_MAX);
                        break;
                }
                if (!resumed) {
                        struct audit_record rec = { 0 };
                        int r = audit_record_parse(line, len, &rec);
                        if (r < 0) {
                                set_break(res, last_seq + 1, "malformed record in reply");
                                break;
                        }
                        uint64_t seq = rec.seq;
                        bool hash_ok = rec.hash_ok;
                        bool same = strcmp(rec.hash, last_hash ? last_hash : "") == 0;
                        char prev[AUDIT_HASH_HEX + 1];
                        memcpy(prev, rec.prev, sizeof(prev));
                        audit_record_done(&rec);

                        audit_verifier_init(&v);
                        if (last_seq > 0) {
                                if (seq < last_seq) {
                                        set_break(res, seq, "asked for records from %llu, the VM "
                                                  "sent %llu", (unsigned long long)last_seq,
                                                  (unsigned long long)seq);
                                        break;
                                }
                                if (seq > last_seq) {
                                        set_break(res, last_seq, "the VM no longer has records "
                                                  "%llu..%llu (history truncated or pruned)",
                                                  (unsigned long long)last_seq,
                                                  (unsigned long long)seq - 1);
                                        break;
                                }
                                if (!hash_ok || !same) {
                                        set_break(res, seq, "record %llu differs from dom0's "
                                                  "mirror (history rewritten)",
                                                  (unsigned long long)seq);
                                        break;
                                }
                                /* the overlap record matches: continue the chain after it */
                                audit_verifier_resume(&v, last_seq, last_hash);
                                resumed = true;
                                pos += len + 1;
                                good = pos;
                                continue;
                        }
                        /* empty mirror: the chain starts with the first record the VM still has */
                        if (seq > 1) {
                                audit_verifier_resume(&v, seq - 1, prev);
                                res->first_seq = seq;
                        }
                        resumed = true;
                }
                enum audit_break b = audit_verifier_feed(&v, line, len);
                if (b != AUDIT_OK) {
                        set_break(res, v.broken_seq, "%s: %s", audit_break_to_string(b), v.reason);
                        break;
                }
                fresh++;
                pos += len + 1;
                good = pos;
                *ret_last_seq = v.last_seq;
                memcpy(ret_last_hash, v.last_hash, AUDIT_HASH_HEX + 1);
        }
        *ret_good_len = good;
        *ret_more = fresh > 0 && !res->broken;
        return 0;
}

int logs_pull(struct mirror *m, const char *client, const char *vm, struct pull_result *res)
{
        *res = (struct pull_result){ 0 };
        for (uint64_t i = 0; i < PULL_CALLS_MAX; i++) {
                struct qrexec_reply reply = { 0 };
                char arg[24];
                uint64_t last_seq = m->last_seq;
                char last_hash[AUDIT_HASH_HEX + 1];
                size_t good = 0;
                bool more = false;
                int r;

                snprintf(arg, sizeof(arg), "%llu", (unsigned long long)(last_seq ? last_seq : 1));
                memcpy(last_hash, m->last_hash, sizeof(last_hash));
                r = qrexec_call(client, vm, "qclaw.AuditLog", arg, AUDITLOG_REPLY_MAX, &reply);
                res->calls++;
                if (r < 0) {
                        snprintf(res->error, sizeof(res->error), "calling qclaw.AuditLog in %s: %s",
                                 vm, r == -E2BIG ? "reply larger than the size cap" : strerror(-r));
                        return r;
                }
                if (reply.status != 0) {
                        struct strbuf esc = STRBUF_INIT(sizeof(res->error));
                        (void)term_escape_append(&esc, reply.err, reply.err_len, 300);
                        snprintf(res->error, sizeof(res->error),
                                 "qclaw.AuditLog in %s failed (exit %d): %s", vm, reply.status,
                                 esc.data ? esc.data : "");
                        strbuf_free(&esc);
                        qrexec_reply_done(&reply);
                        return -EPROTO;
                }
                r = logs_check_reply(m->last_seq, m->last_seq ? m->last_hash : NULL, reply.out,
                                     reply.out_len, res, &good, &last_seq, last_hash, &more);
                if (r >= 0 && good > 0 && last_seq != m->last_seq) {
                        /* skip the overlap record: the mirror already holds it */
                        size_t skip = 0;
                        if (m->last_seq > 0) {
                                const char *nl = memchr(reply.out, '\n', reply.out_len);
                                skip = (size_t)(nl - reply.out) + 1;
                        }
                        r = mirror_append(m, reply.out + skip, good - skip, last_seq, last_hash);
                        if (r >= 0)
                                for (size_t k = skip; k < good; k++)
                                        res->new_records += reply.out[k] == '\n';
                        if (r < 0)
                                snprintf(res->error, sizeof(res->error),
                                         "appending to %s: %s", m->log_path, strerror(-r));
                }
                qrexec_reply_done(&reply);
                if (r < 0)
                        return r;
                if (res->broken || !more)
                        return 0;
        }
        return 0;
}
