/* Fuzz target for the audit line parser and chain verifier: the code dom0 runs on lines that come
 * from the VM. Input: one or more '\n'-separated lines. Trust level: input is fully untrusted. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/macro.h"
#include "policy/audit-internal.h"
#include "policy/audit.h"

static int feed(const char *line, size_t len, void *userdata)
{
        audit_verifier_feed(userdata, line, len);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size > 4 * AUDIT_LINE_MAX)
                return 0;

        /* the whole input as one line */
        struct audit_record rec;
        if (audit_record_parse((const char *)data, size, &rec) == 0) {
                /* a parsed record always carries what the format promises */
                if (rec.seq == 0 || strlen(rec.prev) != AUDIT_HASH_HEX ||
                    strlen(rec.hash) != AUDIT_HASH_HEX || !json_is_object(rec.json))
                        __builtin_trap();
                audit_record_done(&rec);
        }
        uint64_t seq;
        (void)audit_line_peek_seq((const char *)data, size, &seq);

        /* as a file: the bounded line splitter feeding a verifier */
        int fd = memfd_create("fuzz-audit", MFD_CLOEXEC);
        if (fd < 0)
                return 0;
        if (write(fd, data, size) == (ssize_t)size) {
                struct audit_verifier v;
                audit_verifier_init(&v);
                (void)audit_stream_fd(fd, size, feed, &v);
                if (v.broken != AUDIT_OK && v.reason[0] == '\0')
                        __builtin_trap();
        }
        close(fd);
        return 0;
}
